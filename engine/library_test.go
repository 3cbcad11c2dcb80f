package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindLibrarySearchOrder(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string) string {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("elf"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	envLib := mk("env/libchdb.so")
	chdbEnvLib := mk("chdbenv/libchdb.so")
	repoLib := mk("repo/" + cacheLib)
	exeLib := mk("app/" + cacheLib)
	systemLib := mk("usr/local/lib/libchdb.so")
	pkgDir := filepath.Join(root, "repo/engine")
	if err := os.MkdirAll(pkgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(root, "app/bin/leadhouse")
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name string
		s    libSearch
		want string
	}{
		{"leadhouse env wins", libSearch{env("LEADHOUSE_CHDB_LIB", envLib, "CHDB_LIB_PATH", chdbEnvLib), pkgDir, exe, systemLib}, envLib},
		{"chdb env next", libSearch{env("CHDB_LIB_PATH", chdbEnvLib), pkgDir, exe, systemLib}, chdbEnvLib},
		{"cache in parent of cwd", libSearch{env(), pkgDir, exe, systemLib}, repoLib},
		{"cache in cwd", libSearch{env(), filepath.Join(root, "repo"), exe, systemLib}, repoLib},
		{"next to executable", libSearch{env(), root, exe, systemLib}, exeLib},
		{"system", libSearch{env(), root, filepath.Join(root, "bin/x"), systemLib}, systemLib},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.find()
			if err != nil || got != tt.want {
				t.Errorf("find() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestFindLibraryMissing(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		name string
		s    libSearch
		want string // part of the message
	}{
		{"nothing anywhere", libSearch{func(string) string { return "" }, root, filepath.Join(root, "bin/x"), filepath.Join(root, "none.so")}, "make deps"},
		{"env names a missing file", libSearch{func(k string) string {
			if k == "LEADHOUSE_CHDB_LIB" {
				return filepath.Join(root, "gone.so")
			}
			return ""
		}, root, "", ""}, "LEADHOUSE_CHDB_LIB=" + filepath.Join(root, "gone.so")},
		{"env names a directory", libSearch{func(k string) string {
			if k == "CHDB_LIB_PATH" {
				return root
			}
			return ""
		}, "", "", ""}, "CHDB_LIB_PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.find()
			if !errors.Is(err, ErrLibraryMissing) {
				t.Fatalf("find() = %q, %v, want ErrLibraryMissing", got, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "make deps") {
				t.Errorf("error %q, want it to mention %q and make deps", err, tt.want)
			}
		})
	}
}
