package sql

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []Statement
	}{
		{"one per line group", "CREATE TABLE a (x UInt8)\nENGINE = Memory;\nSELECT 1;\n",
			[]Statement{{"CREATE TABLE a (x UInt8)\nENGINE = Memory", 1}, {"SELECT 1", 3}}},
		{"last statement without semicolon", "SELECT 1;\nSELECT 2\n\n", []Statement{{"SELECT 1", 1}, {"SELECT 2", 2}}},
		{"leading comments dropped, inner kept", "-- about a\n/* block\n comment */\nSELECT 1 -- one\n, 2;\n",
			[]Statement{{"SELECT 1 -- one\n, 2", 4}}},
		{"semicolon followed by a comment ends the statement", "SELECT 1; -- done\nSELECT 2;", []Statement{{"SELECT 1", 1}, {"SELECT 2", 2}}},
		{"semicolons in strings and identifiers are text", "SELECT 'a;\n', \"b;\n\", `c;\n`;\n",
			[]Statement{{"SELECT 'a;\n', \"b;\n\", `c;\n`", 1}}},
		{"escaped and doubled quotes", "SELECT 'it''s;\n', 'a\\';\n';\nSELECT 2;",
			[]Statement{{"SELECT 'it''s;\n', 'a\\';\n'", 1}, {"SELECT 2", 4}}},
		{"semicolon in comments is text", "SELECT 1 -- a; b\n/* c;\n*/ + 1;\n", []Statement{{"SELECT 1 -- a; b\n/* c;\n*/ + 1", 1}}},
		{"comments only", "-- nothing\n/* here */\n", nil},
		{"empty statements skipped", ";\n;\nSELECT 1;\n", []Statement{{"SELECT 1", 3}}},
		{"minus and slash are operators", "SELECT 4 - 2 / 1;", []Statement{{"SELECT 4 - 2 / 1", 1}}},
		{"CRLF line ends", "SELECT 1;\r\nSELECT 2;\r\n", []Statement{{"SELECT 1", 1}, {"SELECT 2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Split(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Split(%q)\n got %#v\nwant %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestSplitRejects(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"two statements on a line", "SELECT 1;\nSELECT 2; SELECT 3;\n", 2, "must end its line"},
		{"unterminated string", "SELECT 1;\n\nSELECT 'abc;\n", 3, "unterminated ' quote"},
		{"unterminated identifier", "SELECT `abc", 1, "unterminated ` quote"},
		{"unterminated comment", "SELECT 1;\n/* never\nends", 2, "unterminated /* comment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Split(tt.src)
			var se *SplitError
			if !errors.As(err, &se) {
				t.Fatalf("error %v, want a *SplitError", err)
			}
			if se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("got line %d %q, want line %d containing %q", se.Line, se.Msg, tt.line, tt.msg)
			}
		})
	}
}

// FuzzSplit checks that splitting never panics, that statements are never empty, and that
// re-joining statements with a terminator on its own line splits back into the same statements.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"SELECT 1;\nSELECT 2",
		"-- c\nCREATE TABLE t (s String COMMENT 'it''s; ok') ENGINE = Memory;\n",
		"SELECT `a\\`;\n`, \"x\" /* ; */;\n",
		"SELECT 1 -- trailing",
	} {
		f.Add(s)
	}
	for _, f1 := range Files() {
		f.Add(f1.body)
	}
	f.Fuzz(func(t *testing.T, src string) {
		st, err := Split(src)
		if err != nil {
			return
		}
		var joined strings.Builder
		for _, s := range st {
			if strings.TrimSpace(s.SQL) == "" {
				t.Fatalf("empty statement from %q", src)
			}
			joined.WriteString(s.SQL + "\n;\n")
		}
		again, err := Split(joined.String())
		if err != nil {
			t.Fatalf("re-split of %q: %v", joined.String(), err)
		}
		if len(again) != len(st) {
			t.Fatalf("re-split gives %d statements, want %d\nsrc %q\njoined %q", len(again), len(st), src, joined.String())
		}
		for i := range st {
			if again[i].SQL != st[i].SQL {
				t.Fatalf("statement %d re-split as %q, was %q", i, again[i].SQL, st[i].SQL)
			}
		}
	})
}
