// Package native encodes Arrow record batches as blocks of ClickHouse's Native format.
//
// Native is the engine's own column layout, so it is the input the engine parses with the least
// work: fixed-width columns are copied, strings are length-prefixed, and nothing is converted.
// Measured on chDB 26.7 with generated callbacks, inserting from Native took a third less CPU
// than from the same batches as Arrow IPC streams (BENCHMARKS.md), and encoding Native in Go is
// a copy where the Arrow IPC writer is not.
//
// The encoder knows the handful of column types the warehouse uses (schema.Column.Type) and the
// Arrow types schema/ carries them in; anything else is an error, not a guess.
package native

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// Column names and types one column of a block.
type Column struct {
	Name string
	// Type is the ClickHouse type of the destination column, such as "Nullable(UInt64)".
	Type string
	// Values, when set, supplies a String column's values instead of the record batches, whose
	// column is then not read: the value of row `row` of batch `rec`, valid until the next call.
	// It lets a caller keep large values out of its batches until they are encoded.
	Values func(rec, row int) ([]byte, error)
}

// wireType is the type a column is declared with in the block. A LowCardinality column is sent as
// its plain type: the engine builds the dictionary while it converts the block to the table's
// types (input_format_native_allow_types_conversion, on by default), which costs it about what
// parsing a dictionary would, and spares the encoder a hash table per column.
// Nested LowCardinality types (Array(LowCardinality(String)), a map's values) are unwrapped too.
func wireType(t string) string {
	const lc = "LowCardinality("
	for {
		i := strings.Index(t, lc)
		if i < 0 {
			return t
		}
		// Drop the wrapper and the parenthesis that closes it.
		depth, end := 1, -1
		for j := i + len(lc); j < len(t) && end < 0; j++ {
			switch t[j] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = j
				}
			}
		}
		if end < 0 {
			return t // unbalanced: left for the engine to reject
		}
		t = t[:i] + t[i+len(lc):end] + t[end+1:]
	}
}

// AppendBlock appends rows [lo, hi) of rec to dst as one Native block with the given columns, in
// order, and returns the extended buffer. rec's fields must match cols one to one.
func AppendBlock(dst []byte, rec arrow.RecordBatch, cols []Column, lo, hi int) ([]byte, error) {
	if lo < 0 || hi < lo || int64(hi) > rec.NumRows() {
		return dst, fmt.Errorf("native block: rows [%d, %d) outside a batch of %d", lo, hi, rec.NumRows())
	}
	o := &out{buf: dst}
	err := o.block([]arrow.RecordBatch{rec}, cols, lo, hi)
	return o.buf, err
}

// WriteBlock encodes the rows of every batch in recs, in order, as ONE Native block, and passes
// it to write in pieces of about flushAt bytes, encoding into buf (whose grown storage it
// returns for reuse). A block's bytes can be split anywhere: the engine reads them as a stream.
//
// One block, however many batches: the engine derives an insert's deduplication identity from
// its token and the number of blocks, so a batch must give the same blocks however it happens to
// be chunked in memory (after a restart, the same rows are chunked differently).
func WriteBlock(buf []byte, recs []arrow.RecordBatch, cols []Column, flushAt int, write func([]byte) error) ([]byte, error) {
	if write == nil {
		return buf, ErrNoWriter
	}
	o := &out{buf: buf[:0], flushAt: flushAt, write: write}
	err := o.block(recs, cols, 0, -1)
	if err == nil && len(o.buf) > 0 {
		err = o.flush()
	}
	return o.buf[:0], err
}

// out is the block being encoded: a buffer, and where to hand it when it fills.
type out struct {
	buf     []byte
	flushAt int
	write   func([]byte) error // nil: keep everything in buf
	// hold keeps spill from flushing while bytes already in buf are still to be adjusted.
	hold bool
}

// flush hands the buffer to write and empties it.
func (o *out) flush() error {
	err := o.write(o.buf)
	o.buf = o.buf[:0]
	return err
}

// spill flushes once the buffer holds flushAt bytes, between segments, unless hold is set.
func (o *out) spill() error {
	if o.write == nil || o.hold || len(o.buf) < o.flushAt {
		return nil
	}
	return o.flush()
}

// segment is rows [lo, hi) of one array: a column of a block is the segments of all its batches.
type segment struct {
	arr    arrow.Array
	lo, hi int
}

// block encodes rows [lo, hi) of each batch (hi < 0: all its rows) as one block.
func (o *out) block(recs []arrow.RecordBatch, cols []Column, lo, hi int) error {
	rows := 0
	for _, rec := range recs {
		if int(rec.NumCols()) != len(cols) {
			return fmt.Errorf("native block: batch has %d columns, want %d", rec.NumCols(), len(cols))
		}
		if hi < 0 {
			rows += int(rec.NumRows())
		} else {
			rows += hi - lo
		}
	}
	o.buf = binary.AppendUvarint(o.buf, uint64(len(cols)))
	o.buf = binary.AppendUvarint(o.buf, uint64(rows))
	segs := make([]segment, len(recs))
	for i, c := range cols {
		for k, rec := range recs {
			end := hi
			if hi < 0 {
				end = int(rec.NumRows())
			}
			segs[k] = segment{rec.Column(i), lo, end}
		}
		wt := wireType(c.Type)
		o.buf = appendString(o.buf, c.Name)
		o.buf = appendString(o.buf, wt)
		var err error
		if c.Values != nil {
			err = o.supplied(segs, wt, c.Values)
		} else {
			err = o.column(segs, wt)
		}
		if err != nil {
			return fmt.Errorf("native block: column %s: %w", c.Name, err)
		}
	}
	return nil
}

// supplied encodes a String column whose values come from values rather than from segs, which
// give only the rows. The buffer may be handed over after any value: one can be megabytes.
func (o *out) supplied(segs []segment, t string, values func(rec, row int) ([]byte, error)) error {
	if t != "String" {
		return fmt.Errorf("supplied values are strings, the column is %s", t)
	}
	for k, s := range segs {
		for i := s.lo; i < s.hi; i++ {
			v, err := values(k, i)
			if err != nil {
				return fmt.Errorf("row %d of batch %d: %w", i, k, err)
			}
			o.buf = binary.AppendUvarint(o.buf, uint64(len(v)))
			o.buf = append(o.buf, v...)
			if err := o.spill(); err != nil {
				return err
			}
		}
	}
	return nil
}

// column encodes segs, one after another, as ClickHouse type t.
func (o *out) column(segs []segment, t string) error {
	if inner, ok := unwrap(t, "Nullable"); ok {
		for _, s := range segs {
			o.buf = appendNullMap(o.buf, s)
			if err := o.spill(); err != nil {
				return err
			}
		}
		for _, s := range segs {
			start, held := len(o.buf), o.hold
			o.hold = true // the values stay in buf until zeroNulls has seen them
			err := o.values([]segment{s}, inner)
			o.hold = held
			if err != nil {
				return err
			}
			zeroNulls(o.buf[start:], s)
			if err := o.spill(); err != nil {
				return err
			}
		}
		return nil
	}
	for _, s := range segs {
		if s.arr.NullN() == 0 {
			continue
		}
		for i := s.lo; i < s.hi; i++ {
			if s.arr.IsNull(i) {
				return fmt.Errorf("row %d is null but the column is %s", i, t)
			}
		}
	}
	return o.values(segs, t)
}

// values encodes the values of segs, whatever their validity. Every segment holds the same Arrow
// type, that of the first.
func (o *out) values(segs []segment, t string) error {
	if len(segs) == 0 {
		return nil
	}
	for _, s := range segs[1:] {
		if !arrow.TypeEqual(s.arr.DataType(), segs[0].arr.DataType()) {
			return fmt.Errorf("batches disagree: %s and %s", segs[0].arr.DataType(), s.arr.DataType())
		}
	}
	switch a := segs[0].arr.(type) {
	case *array.Uint64:
		return eachFixed(o, segs, t, "UInt64", (*array.Uint64).Uint64Values)
	case *array.Uint32:
		return eachFixed(o, segs, t, "UInt32", (*array.Uint32).Uint32Values)
	case *array.Uint16:
		return eachFixed(o, segs, t, "UInt16", (*array.Uint16).Uint16Values)
	case *array.Int64:
		return eachFixed(o, segs, t, "Int64", (*array.Int64).Int64Values)
	case *array.Float64:
		return eachFixed(o, segs, t, "Float64", (*array.Float64).Float64Values)
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		if unit != arrow.Millisecond || !strings.HasPrefix(t, "DateTime64(3") {
			return fmt.Errorf("cannot send Arrow %s as %s", a.DataType(), t)
		}
		return eachFixed(o, segs, t, t, (*array.Timestamp).TimestampValues)
	case *array.Boolean:
		if t != "Bool" && t != "UInt8" {
			return fmt.Errorf("cannot send Arrow bool as %s", t)
		}
		for _, s := range segs {
			b := s.arr.(*array.Boolean)
			for i := s.lo; i < s.hi; i++ {
				var v byte
				if b.Value(i) {
					v = 1
				}
				o.buf = append(o.buf, v)
			}
			if err := o.spill(); err != nil {
				return err
			}
		}
		return nil
	case *array.String:
		if t != "String" {
			return fmt.Errorf("cannot send Arrow string as %s", t)
		}
		for _, s := range segs {
			o.buf = appendStrings(o.buf, s.arr.(*array.String), s.lo, s.hi)
			if err := o.spill(); err != nil {
				return err
			}
		}
		return nil
	case *array.Dictionary:
		if t != "String" {
			return fmt.Errorf("cannot send an Arrow dictionary as %s", t)
		}
		for _, s := range segs {
			if err := o.dictionary(s); err != nil {
				return err
			}
			if err := o.spill(); err != nil {
				return err
			}
		}
		return nil
	case *array.RunEndEncoded:
		for _, s := range segs {
			if err := o.runs(s, t); err != nil {
				return err
			}
		}
		return nil
	case *array.Map:
		return o.maps(segs, t)
	case *array.List:
		inner, ok := unwrap(t, "Array")
		if !ok {
			return fmt.Errorf("cannot send Arrow list as %s", t)
		}
		elems, err := o.offsets(segs, func(a arrow.Array) (arrow.Array, []int32) {
			l := a.(*array.List)
			return l.ListValues(), listOffsets(l.Offsets(), l)
		})
		if err != nil {
			return err
		}
		return o.column(elems, inner)
	}
	return fmt.Errorf("cannot send Arrow %s as %s", segs[0].arr.DataType(), t)
}

// eachFixed copies fixed-width values. Native is little-endian: on a little-endian host (every
// platform leadhouse is built for) that is a copy of Arrow's buffer as it lies in memory.
func eachFixed[A arrow.Array, T uint16 | uint32 | uint64 | int64 | float64 | arrow.Timestamp](o *out, segs []segment, t, want string, values func(A) []T) error {
	if t != want {
		var zero T
		return fmt.Errorf("cannot send Arrow %T as %s", zero, t)
	}
	for _, s := range segs {
		o.buf = appendFixed(o.buf, values(s.arr.(A))[s.lo:s.hi])
		if err := o.spill(); err != nil {
			return err
		}
	}
	return nil
}

func appendFixed[T uint16 | uint32 | uint64 | int64 | float64 | arrow.Timestamp](dst []byte, s []T) []byte {
	if len(s) == 0 {
		return dst
	}
	size := int(unsafe.Sizeof(s[0]))
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*size)
	if littleEndian() {
		return append(dst, raw...)
	}
	for i := 0; i < len(raw); i += size {
		for j := size - 1; j >= 0; j-- {
			dst = append(dst, raw[i+j])
		}
	}
	return dst
}

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// dictionary writes the values of a dictionary-encoded string segment, each looked up: the wire
// type is the plain one (see wireType).
func (o *out) dictionary(s segment) error {
	d := s.arr.(*array.Dictionary)
	dict, ok := d.Dictionary().(*array.String)
	if !ok {
		return fmt.Errorf("cannot send a dictionary of Arrow %s as String", d.Dictionary().DataType())
	}
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return fmt.Errorf("cannot read a dictionary indexed by Arrow %s", d.Indices().DataType())
	}
	keys, nulls := idx.Int32Values(), d.NullN() > 0
	for i := s.lo; i < s.hi; i++ {
		if nulls && d.IsNull(i) {
			o.buf = append(o.buf, 0) // a null's slot of a Nullable column: the empty string
			continue
		}
		k := int(keys[i])
		if k < 0 || k >= dict.Len() {
			return fmt.Errorf("row %d: dictionary index %d outside a dictionary of %d", i, k, dict.Len())
		}
		o.buf = appendString(o.buf, dict.Value(k))
	}
	return nil
}

// runs writes a run-end encoded segment: each run's value is encoded once and its bytes repeated
// for the rest of the run.
func (o *out) runs(s segment, t string) error {
	a := s.arr.(*array.RunEndEncoded)
	vals := a.Values()
	if vals.NullN() > 0 {
		return fmt.Errorf("cannot send runs of nulls as %s", t)
	}
	ends, ok := a.RunEndsArr().(*array.Int32)
	if !ok {
		return fmt.Errorf("cannot read runs ending in Arrow %s", a.RunEndsArr().DataType())
	}
	if s.hi == s.lo {
		return nil
	}
	off := a.Data().Offset()
	for row, p := s.lo, a.GetPhysicalIndex(s.lo); row < s.hi; p++ {
		n := min(int(ends.Value(p))-off, s.hi) - row
		start, held := len(o.buf), o.hold
		o.hold = true // the value's bytes stay in buf until they are repeated
		err := o.values([]segment{{vals, p, p + 1}}, t)
		o.hold = held
		if err != nil {
			return err
		}
		w := len(o.buf) - start
		o.buf = grow(o.buf, w*(n-1))
		for range n - 1 {
			o.buf = append(o.buf, o.buf[start:start+w]...)
		}
		row += n
		if err := o.spill(); err != nil {
			return err
		}
	}
	return nil
}

// offsets writes the Native offsets of list-like segments, one column across all of them: for
// each row, the end of its elements counted from the block's first element. It returns the
// segments of the elements, for the nested column(s) that follow.
func (o *out) offsets(segs []segment, split func(arrow.Array) (arrow.Array, []int32)) ([]segment, error) {
	elems := make([]segment, len(segs))
	var base uint64
	for k, s := range segs {
		values, offs := split(s.arr)
		if s.hi == s.lo {
			// An array of no rows may have no offsets at all.
			elems[k] = segment{arr: values}
			continue
		}
		for i := s.lo; i < s.hi; i++ {
			o.buf = binary.LittleEndian.AppendUint64(o.buf, base+uint64(offs[i+1]-offs[s.lo]))
		}
		base += uint64(offs[s.hi] - offs[s.lo])
		elems[k] = segment{values, int(offs[s.lo]), int(offs[s.hi])}
		if err := o.spill(); err != nil {
			return nil, err
		}
	}
	return elems, nil
}

// maps writes Map(K, V) columns the way the engine stores them, as Array(Tuple(K, V)): the
// offsets, then every key, then every value.
func (o *out) maps(segs []segment, t string) error {
	inner, ok := unwrap(t, "Map")
	if !ok {
		return fmt.Errorf("cannot send Arrow map as %s", t)
	}
	kt, vt, ok := splitPair(inner)
	if !ok {
		return fmt.Errorf("cannot parse map type %s", t)
	}
	var keys, items []segment
	elems, err := o.offsets(segs, func(a arrow.Array) (arrow.Array, []int32) {
		m := a.(*array.Map)
		keys = append(keys, segment{arr: m.Keys()})
		items = append(items, segment{arr: m.Items()})
		return m.Keys(), listOffsets(m.Offsets(), m)
	})
	if err != nil {
		return err
	}
	for k, e := range elems {
		keys[k].lo, keys[k].hi = e.lo, e.hi
		items[k].lo, items[k].hi = e.lo, e.hi
	}
	if err := o.column(keys, wireType(kt)); err != nil {
		return fmt.Errorf("map keys: %w", err)
	}
	if err := o.column(items, wireType(vt)); err != nil {
		return fmt.Errorf("map values: %w", err)
	}
	return nil
}

// splitPair splits "K, V" at the comma outside parentheses.
func splitPair(s string) (string, string, bool) {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
			}
		}
	}
	return "", "", false
}

// zeroNulls sets the values of a Nullable column's null rows to zero. Arrow leaves a null slot of
// a fixed-width array holding whatever its buffer held (reused memory, for the pipeline's
// builders), and the engine stores that value under the NULL, where assumeNotNull and the like
// would show it. Variable-width values of null rows are already empty.
func zeroNulls(vals []byte, s segment) {
	if s.arr.NullN() == 0 || s.hi == s.lo {
		return
	}
	var width int
	switch s.arr.(type) {
	case *array.Uint64, *array.Int64, *array.Float64, *array.Timestamp:
		width = 8
	case *array.Uint32:
		width = 4
	case *array.Uint16:
		width = 2
	case *array.Boolean:
		width = 1
	default:
		return
	}
	for i := s.lo; i < s.hi; i++ {
		if s.arr.IsNull(i) {
			clear(vals[(i-s.lo)*width : (i-s.lo+1)*width])
		}
	}
}

// appendNullMap appends one byte per row, 1 where the row is null.
func appendNullMap(dst []byte, s segment) []byte {
	n := len(dst)
	dst = grow(dst, s.hi-s.lo)[:n+s.hi-s.lo]
	m := dst[n:]
	if s.arr.NullN() == 0 {
		clear(m)
		return dst
	}
	bits, off := s.arr.NullBitmapBytes(), s.arr.Data().Offset()
	for i := s.lo; i < s.hi; i++ {
		var b byte
		if !bitutil.BitIsSet(bits, off+i) {
			b = 1
		}
		m[i-s.lo] = b
	}
	return dst
}

func appendStrings(dst []byte, a *array.String, lo, hi int) []byte {
	if hi == lo {
		return dst
	}
	bytes := a.ValueOffset(hi-1) + a.ValueLen(hi-1) - a.ValueOffset(lo)
	dst = grow(dst, bytes+(hi-lo)*binary.MaxVarintLen32)
	for i := lo; i < hi; i++ {
		dst = appendString(dst, a.Value(i))
	}
	return dst
}

// listOffsets returns a list or map array's offsets from its first row: Arrow's Offsets() is the
// whole buffer, also when the array is a slice that starts further in.
func listOffsets(offs []int32, arr arrow.Array) []int32 {
	return offs[arr.Data().Offset():]
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// unwrap returns T for "wrapper(T)".
func unwrap(t, wrapper string) (string, bool) {
	inner, ok := strings.CutPrefix(t, wrapper+"(")
	if !ok || !strings.HasSuffix(inner, ")") {
		return "", false
	}
	return inner[:len(inner)-1], true
}

// grow makes room for n more bytes without changing len(dst).
func grow(dst []byte, n int) []byte {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	c := max(2*cap(dst), len(dst)+n)
	nd := make([]byte, len(dst), c)
	copy(nd, dst)
	return nd
}

// ErrNoWriter is returned by WriteBlock when write is nil.
var ErrNoWriter = errors.New("native: WriteBlock needs a write function")
