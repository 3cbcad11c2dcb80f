package schema

import (
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
		return arrow.MapOf(arrow.BinaryTypes.String, arrow.BinaryTypes.String), false
	case kStrings:
		return arrow.ListOf(arrow.BinaryTypes.String), false
	}
	panic("schema: unknown column kind")
}

// ArrowSchema is the table's layout as an Arrow schema, one field per column in table order.
func (t *Table) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		typ, nullable := c.kind.arrowType()
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
		fb.Reserve(len(rows))
		for j := range rows {
			appendValue(fb, c, unsafe.Add(base, uintptr(j)*size))
		}
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
		kb, vb := mb.KeyBuilder().(*array.StringBuilder), mb.ItemBuilder().(*array.StringBuilder)
		for _, kv := range kvs {
			kb.Append(kv.Key)
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
