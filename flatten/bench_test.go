package flatten_test

// Choosing the decoder, measured on testdata/seed_callback.json (7,361 bytes) with
// `go test -run XXX -bench . -benchmem ./flatten/` (Go 1.26, 2-core AMD EPYC VM, SHA-NI):
//
//	RESULTS
//
// The hand-written scanner (scan.go) wins by an order of magnitude and is the only candidate that
// does everything the mapping needs: it keeps duplicate keys in document order, reports the byte
// offset of a syntax error, hands out strings that alias the body, and allocates nothing once
// its tape has grown. encoding/json's Token API also keeps duplicates, but walking the tokens
// alone, with no mapping, costs many times a whole Flatten and allocates per token; decoding into
// map[string]any is faster but drops the sample's first extra_details. valyala/fastjson v1.6.10
// (measured out of tree, not a dependency) keeps duplicates too but is not faster than the scan
// and reports no byte offset.

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/leadhouse/leadhouse/flatten"
	"github.com/leadhouse/leadhouse/schema"
)

func BenchmarkFlatten(b *testing.B) {
	for _, name := range []string{"seed_callback", "variant_callback"} {
		b.Run(name, func(b *testing.B) {
			body := readFixture(b, name+".json")
			f := flatten.New()
			var rows schema.Rows
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if err := f.Flatten(body, receivedAt, &rows); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkScan is the decoding part of BenchmarkFlatten: validating the sample and building its
// tape, comparable with BenchmarkEncodingJSONTokens.
func BenchmarkScan(b *testing.B) {
	body := readFixture(b, "seed_callback.json")
	scan := flatten.NewScan()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		if err := scan(body); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkCallbackID is the SHA-256 part of BenchmarkFlatten.
func BenchmarkCallbackID(b *testing.B) {
	body := readFixture(b, "seed_callback.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		flatten.CallbackID(body)
	}
	reportCPU(b, cpu)
}

// BenchmarkEncodingJSONTokens walks the sample with encoding/json's Token API, the standard
// library's only decoder that keeps duplicate keys. It maps nothing, so it is a lower bound for a
// flattener built on it.
func BenchmarkEncodingJSONTokens(b *testing.B) {
	body := readFixture(b, "seed_callback.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	reportCPU(b, cpu)
}

// BenchmarkEncodingJSONMap decodes the sample into map[string]any: the simplest decoder, and
// wrong for this payload, since a map keeps only the last of extra_details' two occurrences.
func BenchmarkEncodingJSONMap(b *testing.B) {
	body := readFixture(b, "seed_callback.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
}
