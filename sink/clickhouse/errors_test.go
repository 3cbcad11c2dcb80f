package clickhouse

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCopyResultSeparatesTheErrorBlock(t *testing.T) {
	const tag = "abcdefghijklmnop"
	block := func(msg string) string {
		return "\r\n__exception__\r\n" + tag + "\r\n" + msg + "\n" + "99 " + tag + "\r\n__exception__\r\n"
	}
	big := strings.Repeat("1\t2\n", 40_000)
	for _, c := range []struct {
		name, body, tag, want, err string
	}{
		{"plain result", "1\n2\n", tag, "1\n2\n", ""},
		{"no tag header", "1\n" + block("Code: 1. x"), "", "1\n" + block("Code: 1. x"), ""},
		{"error after rows", "1\n2\n" + block("Code: 395. DB::Exception: boom. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO) (version 26.7.2.1)"), tag, "1\n2\n", "boom"},
		{"error after many rows", big + block("Code: 241. DB::Exception: memory. (MEMORY_LIMIT_EXCEEDED)"), tag, big, "memory"},
		{"marker of another tag", "x" + block("Code: 1.")[:20], tag, "x" + block("Code: 1.")[:20], ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := copyResult(&out, strings.NewReader(c.body), c.tag)
			if out.String() != c.want {
				t.Errorf("output %d bytes, want %d", out.Len(), len(c.want))
			}
			var ex *Exception
			switch {
			case c.err == "" && err != nil:
				t.Errorf("error %v", err)
			case c.err != "" && (!errors.As(err, &ex) || !strings.Contains(ex.Message, c.err)):
				t.Errorf("error %v, want an Exception with %q", err, c.err)
			}
		})
	}
}

func FuzzCopyResult(f *testing.F) {
	const tag = "abcdefghijklmnop"
	f.Add([]byte("1\n\r\n__exception__\r\n" + tag + "\r\nCode: 1. bad\n5 " + tag + "\r\n__exception__\r\n"))
	f.Add([]byte("plain\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		var out bytes.Buffer
		err := copyResult(&out, bytes.NewReader(body), tag)
		if err == nil && !bytes.Equal(out.Bytes(), body) {
			t.Fatalf("a result without an error block was changed")
		}
		if !bytes.HasPrefix(body, out.Bytes()) {
			t.Fatalf("output is not a prefix of the body")
		}
	})
}

func TestNewExceptionReadsCodeAndName(t *testing.T) {
	e := newException("Code: 60. DB::Exception: Unknown table expression identifier 'x'. (UNKNOWN_TABLE) (version 26.7.2.1)", 0, 404)
	if e.Code != 60 || e.Name != "UNKNOWN_TABLE" || strings.Contains(e.Message, "version") {
		t.Errorf("exception %+v", e)
	}
	if e := newException("something else", 0, 500); e.Code != 0 || e.Name != "" {
		t.Errorf("exception %+v", e)
	}
}
