package schema

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var timestampMS = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}

// arrowType is the Arrow type a column is carried in. ClickHouse's ArrowStream input converts
// plain strings into LowCardinality(String) and timestamps into DateTime64 columns itself.
func (k kind) arrowType() (arrow.DataType, bool) {
	switch k {
	case kUint64:
		return arrow.PrimitiveTypes.Uint64, false
	case kUint32:
		return arrow.PrimitiveTypes.Uint32, false
	case kUint16:
		return arrow.PrimitiveTypes.Uint16, false
	case kInt64:
		return arrow.PrimitiveTypes.Int64, false
	case kFloat64:
		return arrow.PrimitiveTypes.Float64, false
	case kBool:
		return arrow.FixedWidthTypes.Boolean, false
	case kString:
		return arrow.BinaryTypes.String, false
	case kMillis:
		return timestampMS, false
	case kOptUint64:
		return arrow.PrimitiveTypes.Uint64, true
	case kOptUint32:
		return arrow.PrimitiveTypes.Uint32, true
	case kOptInt64:
		return arrow.PrimitiveTypes.Int64, true
	case kOptFloat64:
		return arrow.PrimitiveTypes.Float64, true
	case kOptBool:
		return arrow.FixedWidthTypes.Boolean, true
	case kOptMillis:
		return timestampMS, true
	case kMap:
		// A map's keys are field names that repeat from row to row: a dictionary.
		return arrow.MapOf(dictType, arrow.BinaryTypes.String), false
	case kStrings:
		return arrow.ListOf(arrow.BinaryTypes.String), false
	}
	panic("schema: unknown column kind")
}

// dictType is the Arrow type of a dictionary-encoded string column. 32-bit indexes cannot
// overflow within a batch, which a builder's memo would otherwise have to be watched for.
var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// arrowType is the Arrow type column c is carried in, its encoding included.
func (c *Column) arrowType() (arrow.DataType, bool) {
	typ, nullable := c.kind.arrowType()
	switch c.enc {
	case encDict:
		return dictType, nullable
	case encRuns:
		return arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, typ), nullable
	}
	return typ, nullable
}

// ArrowSchema is the table's layout as an Arrow schema, one field per column in table order.
// Columns whose values repeat are dictionary-encoded or run-end encoded (see encoding, and the
// arrow tags in rows.go): Decode turns either into a plain array.
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		typ, nullable := c.arrowType()
		fields[i] = arrow.Field{Name: c.Name, Type: typ, Nullable: nullable}
	}
	return arrow.NewSchema(fields, nil)
}

// NewBuilder returns a record builder for the table's Arrow schema.
func (t *Table) NewBuilder(mem memory.Allocator) *array.RecordBuilder {
	return array.NewRecordBuilder(mem, t.ArrowSchema())
}

// Append adds rows to b, which must have been made by t.NewBuilder. R must be the table's row
// type; anything else is a programming error and panics.
func Append[R any](t *Table, b *array.RecordBuilder, rows []R) {
	if len(rows) == 0 {
		return
	}
	t.checkRow(reflect.TypeFor[R]())
	size := unsafe.Sizeof(rows[0])
	base := unsafe.Pointer(unsafe.SliceData(rows))
	for i := range t.Columns {
		c := &t.Columns[i]
		fb := b.Field(i)
		switch c.enc {
		case encRuns:
			appendRuns(fb.(*array.RunEndEncodedBuilder), c, base, size, len(rows))
		case encDict:
			db := fb.(*array.BinaryDictionaryBuilder)
			for j := range rows {
				appendDict(db, *field[string](unsafe.Add(base, uintptr(j)*size), c))
			}
		default:
			fb.Reserve(len(rows))
			for j := range rows {
				appendValue(fb, c, unsafe.Add(base, uintptr(j)*size))
			}
		}
	}
}

// appendRuns appends column c of n rows, laid out size bytes apart from base, one run per
// stretch of equal values. Rows are not compared with those appended before: a run never spans
// two calls, which costs one run per callback and table, not per row, and needs no look back
// into the builder.
func appendRuns(rb *array.RunEndEncodedBuilder, c *Column, base unsafe.Pointer, size uintptr, n int) {
	vb := rb.ValueBuilder()
	for j := 0; j < n; {
		p := unsafe.Add(base, uintptr(j)*size)
		run := 1
		for j+run < n && sameValue(c, p, unsafe.Add(base, uintptr(j+run)*size)) {
			run++
		}
		rb.Append(uint64(run))
		vb.Reserve(1)
		appendValue(vb, c, p)
		j += run
	}
}

// sameValue reports whether column c holds the same value in the rows at p and q. Only the kinds
// Meta has are compared; any other is never the same, which costs a run per row, not a wrong
// value.
func sameValue(c *Column, p, q unsafe.Pointer) bool {
	switch c.kind {
	case kUint64:
		return *field[uint64](p, c) == *field[uint64](q, c)
	case kUint16:
		return *field[uint16](p, c) == *field[uint16](q, c)
	case kString:
		// A callback's rows share their Meta strings, the same bytes: equal without reading them.
		a, b := *field[string](p, c), *field[string](q, c)
		return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
	case kMillis:
		return *field[Millis](p, c) == *field[Millis](q, c)
	}
	return false
}

// appendDict appends s to a dictionary column without copying it to a []byte first. An empty
// string is a non-nil empty slice: a nil one would append a null.
func appendDict(db *array.BinaryDictionaryBuilder, s string) {
	v := []byte{}
	if len(s) > 0 {
		v = unsafe.Slice(unsafe.StringData(s), len(s))
	}
	if err := db.Append(v); err != nil {
		// The memo table fails only for values of a type it does not hold; strings it holds.
		panic("schema: dictionary append: " + err.Error())
	}
}

// AppendOne adds one row to b.
func AppendOne[R any](t *Table, b *array.RecordBuilder, row *R) {
	Append(t, b, unsafe.Slice(row, 1))
}

func appendValue(fb array.Builder, c *Column, p unsafe.Pointer) {
	switch c.kind {
	case kUint64:
		fb.(*array.Uint64Builder).UnsafeAppend(*field[uint64](p, c))
	case kUint32:
		fb.(*array.Uint32Builder).UnsafeAppend(*field[uint32](p, c))
	case kUint16:
		fb.(*array.Uint16Builder).UnsafeAppend(*field[uint16](p, c))
	case kInt64:
		fb.(*array.Int64Builder).UnsafeAppend(*field[int64](p, c))
	case kFloat64:
		fb.(*array.Float64Builder).UnsafeAppend(*field[float64](p, c))
	case kBool:
		fb.(*array.BooleanBuilder).UnsafeAppend(*field[bool](p, c))
	case kString:
		fb.(*array.StringBuilder).Append(*field[string](p, c))
	case kMillis:
		fb.(*array.TimestampBuilder).UnsafeAppend(arrow.Timestamp(*field[Millis](p, c)))
	case kOptUint64:
		appendOpt(fb.(*array.Uint64Builder), field[Opt[uint64]](p, c))
	case kOptUint32:
		appendOpt(fb.(*array.Uint32Builder), field[Opt[uint32]](p, c))
	case kOptInt64:
		appendOpt(fb.(*array.Int64Builder), field[Opt[int64]](p, c))
	case kOptFloat64:
		appendOpt(fb.(*array.Float64Builder), field[Opt[float64]](p, c))
	case kOptBool:
		appendOpt(fb.(*array.BooleanBuilder), field[Opt[bool]](p, c))
	case kOptMillis:
		v := field[Opt[Millis]](p, c)
		tb := fb.(*array.TimestampBuilder)
		if v.Valid {
			tb.UnsafeAppend(arrow.Timestamp(v.V))
		} else {
			tb.UnsafeAppendBoolToBitmap(false)
		}
	case kMap:
		mb := fb.(*array.MapBuilder)
		kvs := *field[[]KV](p, c)
		mb.Append(true)
		kb, vb := mb.KeyBuilder().(*array.BinaryDictionaryBuilder), mb.ItemBuilder().(*array.StringBuilder)
		for _, kv := range kvs {
			appendDict(kb, kv.Key)
			vb.Append(kv.Value)
		}
	case kStrings:
		lb := fb.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range *field[[]string](p, c) {
			vb.Append(s)
		}
	}
}

type unsafeAppender[T any] interface {
	UnsafeAppend(T)
	UnsafeAppendBoolToBitmap(bool)
}

func appendOpt[T any](b unsafeAppender[T], v *Opt[T]) {
	if v.Valid {
		b.UnsafeAppend(v.V)
	} else {
		b.UnsafeAppendBoolToBitmap(false)
	}
}

// Decode returns arr as a plain array of its values: a dictionary-encoded string column as
// strings, a run-end encoded column as one value per row, a map with dictionary-encoded keys
// with string keys. Any other array is returned as is, retained. The caller releases the result.
func Decode(arr arrow.Array, mem memory.Allocator) (arrow.Array, error) {
	switch a := arr.(type) {
	case *array.Map:
		if _, ok := a.Keys().(*array.Dictionary); ok {
			return decodeMapKeys(a, mem)
		}
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return nil, fmt.Errorf("decode a dictionary of %s: only strings are", a.Dictionary().DataType())
		}
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(a.Len())
		for i := range a.Len() {
			if a.IsNull(i) {
				b.AppendNull()
				continue
			}
			b.Append(dict.Value(a.GetValueIndex(i)))
		}
		return b.NewArray(), nil
	case *array.RunEndEncoded:
		return decodeRuns(a, mem)
	}
	arr.Retain()
	return arr, nil
}

// decodeMapKeys returns m with its keys decoded: the same offsets, validity and items, over a
// key column of strings.
func decodeMapKeys(m *array.Map, mem memory.Allocator) (arrow.Array, error) {
	keys, err := Decode(m.Keys(), mem)
	if err != nil {
		return nil, fmt.Errorf("map keys: %w", err)
	}
	defer keys.Release()
	mt := m.DataType().(*arrow.MapType)
	plain := arrow.MapOf(keys.DataType(), mt.ItemType())
	// Keys() and Items() are the whole child arrays, whatever rows m is a slice of, so the
	// entries keep m's offsets.
	entries := array.NewData(plain.Elem(), keys.Len(), []*memory.Buffer{nil},
		[]arrow.ArrayData{keys.Data(), m.Items().Data()}, 0, 0)
	defer entries.Release()
	d := m.Data()
	out := array.NewData(plain, d.Len(), d.Buffers(), []arrow.ArrayData{entries}, d.NullN(), d.Offset())
	defer out.Release()
	return array.NewMapData(out), nil
}

// decodeRuns expands a run-end encoded array of the value types the tables run-encode.
func decodeRuns(a *array.RunEndEncoded, mem memory.Allocator) (arrow.Array, error) {
	switch v := a.Values().(type) {
	case *array.Uint64:
		return expandRuns(a, array.NewUint64Builder(mem), v.Value, v.IsNull)
	case *array.Uint16:
		return expandRuns(a, array.NewUint16Builder(mem), v.Value, v.IsNull)
	case *array.String:
		return expandRuns(a, array.NewStringBuilder(mem), v.Value, v.IsNull)
	case *array.Timestamp:
		return expandRuns(a, array.NewTimestampBuilder(mem, v.DataType().(*arrow.TimestampType)), v.Value, v.IsNull)
	}
	return nil, fmt.Errorf("decode runs of %s: not a type the tables run-encode", a.Values().DataType())
}

type valueBuilder[T any] interface {
	array.Builder
	Append(T)
}

func expandRuns[T any, B valueBuilder[T]](a *array.RunEndEncoded, b B, value func(int) T, isNull func(int) bool) (arrow.Array, error) {
	defer b.Release()
	b.Reserve(a.Len())
	ends, ok := a.RunEndsArr().(*array.Int32)
	if !ok {
		return nil, fmt.Errorf("decode runs ending in %s: only int32 ends are", a.RunEndsArr().DataType())
	}
	if a.Len() == 0 {
		return b.NewArray(), nil
	}
	off := a.Data().Offset()
	for row, p := 0, a.GetPhysicalIndex(0); row < a.Len(); p++ {
		n := min(int(ends.Value(p))-off, a.Len()) - row
		if isNull(p) {
			b.AppendNulls(n)
		} else {
			v := value(p)
			for range n {
				b.Append(v)
			}
		}
		row += n
	}
	return b.NewArray(), nil
}
