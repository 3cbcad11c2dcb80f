package flatten_test

// Choosing the decoder, measured on testdata/seed_callback.json (7,361 bytes) with
// `go test -run XXX -bench . -benchmem ./flatten/` (Go 1.26.8, 2-vCPU AMD EPYC VM with SHA-NI,
// best of 5 interleaved runs once the shared machine was quiet; cpu-ns/op is process CPU time,
// which stays meaningful when other work competes for the cores):
//
//	benchmark                     ns/op     MB/s  allocs/op  B/op   callbacks/s per core
//	Flatten (everything)         14,803      497          3   104   67,000
//	  Scan (decode, our scanner)  5,910    1,246          0     0
//	  CallbackID (SHA-256)        4,521    1,628          1    32
//	EncodingJSONTokens          158,282       47      2,960  58 KB   (decode only)
//	EncodingJSONMap              74,890       98        756  27 KB   (decode only)
//	fastjson v1.6.10 parse        5,149    1,430          0     0   (out of tree, decode only)
//	fastjson parse + walk         7,360    1,000          0     0   (out of tree, decode only)
//
// The hand-written scanner (scan.go) is the only candidate that does everything the mapping
// needs: it keeps duplicate keys in document order, reports the byte offset of a syntax error,
// validates escapes, hands out strings that alias the body and allocates nothing once its tape
// has grown. encoding/json's Token API keeps duplicates too, but walking its tokens alone, with
// no mapping, costs ten whole Flattens and allocates per token; decoding into map[string]any is
// faster but drops the sample's first extra_details. fastjson keeps duplicates and parses a
// little faster than the scanner, but once its tree is walked, as any mapping must, it is slower,
// and its errors carry no byte offset; it would also be a new dependency.

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
