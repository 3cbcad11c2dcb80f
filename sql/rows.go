package sql

import (
	"bytes"
	"context"
	"strings"
)

// queryRows runs q and returns its TabSeparated rows, each a slice of unescaped fields.
func queryRows(ctx context.Context, db DB, q string) ([][]string, error) {
	var buf bytes.Buffer
	if err := db.Query(ctx, q, &buf); err != nil {
		return nil, err
	}
	var rows [][]string
	for line := range strings.Lines(buf.String()) {
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		for i := range f {
			f[i] = unescapeField(f[i])
		}
		rows = append(rows, f)
	}
	return rows, nil
}

// tsvEscapes are the sequences TabSeparated escapes a field with.
var tsvEscapes = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r", `\0`, "\x00", `\b`, "\b", `\f`, "\f", `\'`, "'")

func unescapeField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return tsvEscapes.Replace(s)
}
