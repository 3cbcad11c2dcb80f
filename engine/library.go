package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrLibraryMissing reports that libchdb.so could not be found. Callers that
// can run without the embedded engine (tests, other stores) branch on it.
var ErrLibraryMissing = errors.New("chdb library libchdb.so not found")

// libEnvVars name the variables that point at the library, in priority order.
// A variable that is set is authoritative: a wrong path is an error rather
// than a silent fallback to some other copy.
var libEnvVars = []string{"LEADHOUSE_CHDB_LIB", "CHDB_LIB_PATH"}

// cacheLib is where `make deps` unpacks the library, relative to the repo root.
const cacheLib = ".cache/chdb/libchdb.so"

// systemLib is where chDB's own installer puts the library.
const systemLib = "/usr/local/lib/libchdb.so"

// FindLibrary returns the path of libchdb.so. It looks, in order, at
// $LEADHOUSE_CHDB_LIB, $CHDB_LIB_PATH, .cache/chdb/libchdb.so in the current
// directory or any parent (so both `go test` in a package directory and
// `make run` at the repo root find the Makefile's copy),
// <executable dir>/../.cache/chdb/libchdb.so and /usr/local/lib/libchdb.so.
// When none exists the error wraps ErrLibraryMissing.
func FindLibrary() (string, error) {
	cwd, _ := os.Getwd()
	exe, _ := os.Executable()
	return libSearch{getenv: os.Getenv, cwd: cwd, exe: exe, system: systemLib}.find()
}

// libSearch is FindLibrary's environment, separate so tests can inject it.
// An empty cwd, exe or system skips the candidates derived from it.
type libSearch struct {
	getenv func(string) string
	cwd    string
	exe    string
	system string
}

func (s libSearch) find() (string, error) {
	for _, name := range libEnvVars {
		p := s.getenv(name)
		if p == "" {
			continue
		}
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w: %s=%s does not exist; run `make deps` or point %s at libchdb.so",
			ErrLibraryMissing, name, p, name)
	}
	var looked []string
	if s.cwd != "" {
		for dir := s.cwd; ; {
			if p := filepath.Join(dir, cacheLib); isFile(p) {
				return p, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
		looked = append(looked, cacheLib+" in "+s.cwd+" and its parents")
	}
	if s.exe != "" {
		p := filepath.Clean(filepath.Join(filepath.Dir(s.exe), "..", cacheLib))
		if isFile(p) {
			return p, nil
		}
		looked = append(looked, p)
	}
	if s.system != "" {
		if isFile(s.system) {
			return s.system, nil
		}
		looked = append(looked, s.system)
	}
	return "", fmt.Errorf("%w: run `make deps` to download it or set LEADHOUSE_CHDB_LIB to its path (looked for %s)",
		ErrLibraryMissing, strings.Join(looked, "; "))
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
