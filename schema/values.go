package schema

import (
	"reflect"
	"unsafe"
)

// Values returns row's column values in table order, as plain Go values: nil for an absent
// value, time.Time for timestamps, map[string]string for maps and []string for arrays. It is for
// tools and tests that show rows (`leadhouse flatten`, golden files); the hot path uses Append.
func Values[R any](t *Table, row *R) []any {
	t.checkRow(reflect.TypeFor[R]())
	p := unsafe.Pointer(row)
	out := make([]any, len(t.Columns))
	for i := range t.Columns {
		out[i] = value(&t.Columns[i], p)
	}
	return out
}

func value(c *Column, p unsafe.Pointer) any {
	switch c.kind {
	case kUint64:
		return *field[uint64](p, c)
	case kUint32:
		return *field[uint32](p, c)
	case kUint16:
		return *field[uint16](p, c)
	case kInt64:
		return *field[int64](p, c)
	case kFloat64:
		return *field[float64](p, c)
	case kBool:
		return *field[bool](p, c)
	case kString:
		return *field[string](p, c)
	case kMillis:
		return field[Millis](p, c).Time()
	case kOptUint64:
		return optValue(field[Opt[uint64]](p, c))
	case kOptUint32:
		return optValue(field[Opt[uint32]](p, c))
	case kOptInt64:
		return optValue(field[Opt[int64]](p, c))
	case kOptFloat64:
		return optValue(field[Opt[float64]](p, c))
	case kOptBool:
		return optValue(field[Opt[bool]](p, c))
	case kOptMillis:
		if v := field[Opt[Millis]](p, c); v.Valid {
			return v.V.Time()
		}
		return nil
	case kMap:
		kvs := *field[[]KV](p, c)
		m := make(map[string]string, len(kvs))
		for _, kv := range kvs {
			m[kv.Key] = kv.Value
		}
		return m
	case kStrings:
		s := *field[[]string](p, c)
		if s == nil {
			s = []string{}
		}
		return s
	}
	return nil
}

func optValue[T any](v *Opt[T]) any {
	if v.Valid {
		return v.V
	}
	return nil
}
