package clickhouse

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/leadhouse/leadhouse/schema"
)

// columnValues converts one Arrow column into the slice clickhouse-go's column of type chType
// takes in a single column-wise Append: []T for a plain column, []*T (nil for NULL) for a
// Nullable one, []time.Time for DateTime64, [][]string for Array(String) and a slice of
// order-keeping maps for Map(String, String).
//
// Plain numeric columns are returned as the Arrow array's own values without copying: the driver
// copies them into its column buffer on Append, so the slice must not outlive arr. Strings alias
// Arrow's buffers for the same reason and under the same rule.
//
// Encoded columns (schema.Decode) are sent as their values: a dictionary of strings straight into
// a LowCardinality column, anything else decoded first.
func columnValues(arr arrow.Array, chType string) (any, error) {
	base, lowCard := unwrapType(chType, "LowCardinality")
	base, nullable := unwrapType(base, "Nullable")
	if !nullable && arr.NullN() > 0 {
		return nil, fmt.Errorf("%d NULL values for non-Nullable ClickHouse %s", arr.NullN(), chType)
	}
	if d, ok := arr.(*array.Dictionary); ok && lowCard && base == "String" {
		return dictValues(d)
	}
	// Any other encoded column (runs, a map's dictionary keys) is decoded; a plain one comes back
	// as it is. The Go allocator's memory is the garbage collector's: the values returned, which
	// alias the decoded array, keep it alive after its release.
	arr, err := schema.Decode(arr, memory.NewGoAllocator())
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	mismatch := func() error {
		return fmt.Errorf("cannot write arrow %s to ClickHouse %s", arr.DataType(), chType)
	}
	switch {
	case base == "UInt64":
		a, ok := arr.(*array.Uint64)
		if !ok {
			return nil, mismatch()
		}
		return fixedValues(a.Uint64Values(), arr, nullable), nil
	case base == "UInt32":
		a, ok := arr.(*array.Uint32)
		if !ok {
			return nil, mismatch()
		}
		return fixedValues(a.Uint32Values(), arr, nullable), nil
	case base == "UInt16":
		a, ok := arr.(*array.Uint16)
		if !ok {
			return nil, mismatch()
		}
		return fixedValues(a.Uint16Values(), arr, nullable), nil
	case base == "Int64":
		a, ok := arr.(*array.Int64)
		if !ok {
			return nil, mismatch()
		}
		return fixedValues(a.Int64Values(), arr, nullable), nil
	case base == "Float64":
		a, ok := arr.(*array.Float64)
		if !ok {
			return nil, mismatch()
		}
		return fixedValues(a.Float64Values(), arr, nullable), nil
	case base == "Bool":
		a, ok := arr.(*array.Boolean)
		if !ok {
			return nil, mismatch()
		}
		vals := make([]bool, a.Len())
		for i := range vals {
			vals[i] = a.Value(i)
		}
		return fixedValues(vals, arr, nullable), nil
	case base == "String":
		a, ok := arr.(*array.String)
		if !ok {
			return nil, mismatch()
		}
		return stringValues(a, nullable, lowCard), nil
	case strings.HasPrefix(base, "DateTime64(") || base == "DateTime" || strings.HasPrefix(base, "DateTime("):
		a, ok := arr.(*array.Timestamp)
		if !ok {
			return nil, mismatch()
		}
		return timeValues(a, nullable)
	case base == "Map(String, String)" && !nullable:
		a, ok := arr.(*array.Map)
		if !ok {
			return nil, mismatch()
		}
		return mapValues(a)
	case base == "Array(String)" && !nullable:
		a, ok := arr.(*array.List)
		if !ok {
			return nil, mismatch()
		}
		return listValues(a)
	}
	return nil, fmt.Errorf("cannot write ClickHouse %s: leadhouse has no conversion for it", chType)
}

// unwrapType strips one wrapper such as Nullable(...) from a ClickHouse type name.
func unwrapType(t, wrapper string) (string, bool) {
	if strings.HasPrefix(t, wrapper+"(") && strings.HasSuffix(t, ")") {
		return t[len(wrapper)+1 : len(t)-1], true
	}
	return t, false
}

// fixedValues returns vals itself for a plain column and pointers into vals, nil where arr is
// NULL, for a Nullable one.
func fixedValues[T any](vals []T, arr arrow.Array, nullable bool) any {
	if !nullable {
		return vals
	}
	ptrs := make([]*T, len(vals))
	for i := range vals {
		if arr.IsValid(i) {
			ptrs[i] = &vals[i]
		}
	}
	return ptrs
}

// dictValues is stringValues for a LowCardinality column whose values come dictionary-encoded:
// each dictionary entry is boxed once.
func dictValues(d *array.Dictionary) (any, error) {
	dict, ok := d.Dictionary().(*array.String)
	if !ok {
		return nil, fmt.Errorf("cannot write a dictionary of arrow %s to ClickHouse LowCardinality(String)", d.Dictionary().DataType())
	}
	boxed := make([]any, dict.Len())
	for i := range boxed {
		boxed[i] = dict.Value(i)
	}
	vals := make([]any, d.Len())
	for i := range vals {
		if d.IsNull(i) {
			continue
		}
		k := d.GetValueIndex(i)
		if k < 0 || k >= len(boxed) {
			return nil, fmt.Errorf("row %d: dictionary index %d outside a dictionary of %d", i, k, len(boxed))
		}
		vals[i] = boxed[k]
	}
	return vals, nil
}

func stringValues(a *array.String, nullable, lowCard bool) any {
	n := a.Len()
	switch {
	case lowCard:
		// clickhouse-go's LowCardinality column appends row by row through an interface and
		// keys its dictionary by that interface value. Boxing each distinct string once,
		// rather than once a row as a []string would be, saves an allocation per row; a NULL
		// is an untyped nil, since a *string would be a dictionary key of its own per row.
		vals := make([]any, n)
		boxed := make(map[string]any)
		for i := range vals {
			if a.IsNull(i) {
				continue
			}
			s := a.Value(i)
			v, ok := boxed[s]
			if !ok {
				v = s
				boxed[s] = v
			}
			vals[i] = v
		}
		return vals
	case !nullable:
		vals := make([]string, n)
		for i := range vals {
			vals[i] = a.Value(i)
		}
		return vals
	default:
		backing := make([]string, n)
		ptrs := make([]*string, n)
		for i := range ptrs {
			if a.IsValid(i) {
				backing[i] = a.Value(i)
				ptrs[i] = &backing[i]
			}
		}
		return ptrs
	}
}

// ErrTimeOutOfRange reports a timestamp the driver cannot send. clickhouse-go converts
// DateTime64 values through time.Time.UnixNano, which only holds 1677-09-21..2262-04-11 and
// silently wraps outside it, while ClickHouse's DateTime64(3) reaches 2299-12-31.
var ErrTimeOutOfRange = errors.New("timestamp outside 1677-09-21..2262-04-11, which clickhouse-go cannot send")

var (
	minSendable = time.Unix(0, math.MinInt64)
	maxSendable = time.Unix(0, math.MaxInt64)
)

func timeValues(a *array.Timestamp, nullable bool) (any, error) {
	unit := a.DataType().(*arrow.TimestampType).Unit
	raw := a.TimestampValues()
	vals := make([]time.Time, len(raw))
	for i, v := range raw {
		if a.IsValid(i) {
			t := v.ToTime(unit).UTC()
			if t.Before(minSendable) || t.After(maxSendable) {
				return nil, fmt.Errorf("row %d: %s: %w", i, t.Format(time.RFC3339Nano), ErrTimeOutOfRange)
			}
			vals[i] = t
		}
	}
	return fixedValues(vals, a, nullable), nil
}

func mapValues(a *array.Map) (any, error) {
	keys, ok := a.Keys().(*array.String)
	if !ok {
		return nil, fmt.Errorf("cannot write arrow %s to ClickHouse Map(String, String)", a.DataType())
	}
	items, ok := a.Items().(*array.String)
	if !ok {
		return nil, fmt.Errorf("cannot write arrow %s to ClickHouse Map(String, String)", a.DataType())
	}
	if keys.NullN() > 0 || items.NullN() > 0 {
		return nil, fmt.Errorf("NULL key or value for ClickHouse Map(String, String)")
	}
	if a.Len() == 0 {
		return []*orderedMap[string, string]{}, nil
	}
	first, _ := a.ValueOffsets(0)
	_, last := a.ValueOffsets(a.Len() - 1)
	// One backing array for every row's entries keeps this at four allocations per column.
	k := make([]string, last-first)
	v := make([]string, last-first)
	for j := range k {
		k[j] = keys.Value(int(first) + j)
		v[j] = items.Value(int(first) + j)
	}
	maps := make([]orderedMap[string, string], a.Len())
	ptrs := make([]*orderedMap[string, string], a.Len())
	for i := range maps {
		start, end := a.ValueOffsets(i)
		start, end = start-first, end-first
		maps[i] = orderedMap[string, string]{keys: k[start:end:end], values: v[start:end:end]}
		ptrs[i] = &maps[i]
	}
	return ptrs, nil
}

func listValues(a *array.List) (any, error) {
	elems, ok := a.ListValues().(*array.String)
	if !ok {
		return nil, fmt.Errorf("cannot write arrow %s to ClickHouse Array(String)", a.DataType())
	}
	if elems.NullN() > 0 {
		return nil, fmt.Errorf("NULL element for ClickHouse Array(String)")
	}
	if a.Len() == 0 {
		return [][]string{}, nil
	}
	first, _ := a.ValueOffsets(0)
	_, last := a.ValueOffsets(a.Len() - 1)
	all := make([]string, last-first)
	for j := range all {
		all[j] = elems.Value(int(first) + j)
	}
	rows := make([][]string, a.Len())
	for i := range rows {
		start, end := a.ValueOffsets(i)
		start, end = start-first, end-first
		rows[i] = all[start:end:end]
	}
	return rows, nil
}

// orderedMap is one Map value that keeps its entries' order. ClickHouse stores a Map as the
// list of entries it was given and shows them in that order, which a Go map would scramble.
// It satisfies clickhouse-go's column.IterableOrderedMap both for appending and scanning.
type orderedMap[K, V any] struct {
	keys   []K
	values []V
}

var _ column.IterableOrderedMap = (*orderedMap[any, any])(nil)

// Put appends an entry. A key or value of the wrong type is stored as the zero value: the
// driver only calls Put while scanning, with the types the column declares.
func (m *orderedMap[K, V]) Put(key, value any) {
	k, _ := key.(K)
	v, _ := value.(V)
	m.keys = append(m.keys, k)
	m.values = append(m.values, v)
}

// Iterator returns an iterator over the entries in order.
func (m *orderedMap[K, V]) Iterator() column.MapIterator { return &mapIterator[K, V]{m: m, i: -1} }

func (m *orderedMap[K, V]) reset() {
	m.keys, m.values = m.keys[:0], m.values[:0]
}

type mapIterator[K, V any] struct {
	m *orderedMap[K, V]
	i int
}

func (it *mapIterator[K, V]) Next() bool {
	it.i++
	return it.i < len(it.m.keys)
}

func (it *mapIterator[K, V]) Key() any   { return it.m.keys[it.i] }
func (it *mapIterator[K, V]) Value() any { return it.m.values[it.i] }
