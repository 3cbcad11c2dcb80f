// Package sql holds the warehouse's DDL and views as numbered migration files and applies them.
package sql

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// DB runs statements in the database the migrations apply to. sink.Store satisfies it.
type DB interface {
	// Exec runs one statement that returns no rows.
	Exec(ctx context.Context, query string) error
	// Query runs one statement and writes its result to w as TabSeparated, without a header.
	Query(ctx context.Context, query string, w io.Writer) error
}

// ErrChanged reports a migration file whose content differs from the one applied to the
// database. Applied migrations are immutable: change the schema with a new file instead.
var ErrChanged = errors.New("migration changed after it was applied")

//go:embed migrations/*.sql
var embedded embed.FS

const migrationsDir = "migrations"

// File is one migration file, named NNNN_name.sql.
type File struct {
	Version  uint32 // the NNNN prefix; files apply in increasing order
	Name     string // the file name, e.g. "0001_tables.sql"
	Checksum string // hex SHA-256 of the file's bytes, recorded when applied
	body     string
}

// Statements returns the file's statements in order.
func (f File) Statements() ([]Statement, error) {
	st, err := Split(f.body)
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", f.Name, err)
	}
	return st, nil
}

// Files returns the migrations built into the binary, in the order they apply.
func Files() []File {
	files, err := loadFiles(embedded)
	if err != nil {
		// The embedded files are part of this package and TestEmbeddedMigrationsAreWellFormed
		// checks them, so a failure here is a build that skipped its tests.
		panic(err)
	}
	return files
}

var fileName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadFiles reads every .sql file of fsys's migrations directory. A misnamed file is an error
// rather than being skipped: skipping it would silently leave the database without it.
func loadFiles(fsys fs.FS) ([]File, error) {
	entries, err := fs.ReadDir(fsys, migrationsDir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var files []File
	for _, e := range entries {
		if e.IsDir() || path.Ext(e.Name()) != ".sql" {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql (four digits, lower-case name)", e.Name())
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		if v == 0 {
			return nil, fmt.Errorf("migration %s: versions start at 0001", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(migrationsDir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		files = append(files, File{Version: uint32(v), Name: e.Name(), Checksum: hex.EncodeToString(sum[:]), body: string(b)})
	}
	slices.SortFunc(files, func(a, b File) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(files); i++ {
		if files[i].Version == files[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same version", files[i-1].Name, files[i].Name)
		}
	}
	return files, nil
}

// Migrate applies the built-in migrations that db has not applied yet, in version order, and
// returns the names of those it applied, then gives the database its key for the hashes of the
// masked views (pii_key) if it has none. It is meant to run on every start: when everything is
// applied it only makes sure schema_migrations exists and reads it and the key. log may be nil.
//
// Before applying anything it checks that every applied file is unchanged (ErrChanged otherwise).
// A file is recorded in schema_migrations after its last statement succeeds; a statement that
// fails stops Migrate with an error naming the file and line and carrying the engine's message,
// and the file is retried from its first statement on the next run. ClickHouse has no
// transactional DDL, so every statement must be idempotent (IF NOT EXISTS, CREATE OR REPLACE).
//
// That same idempotence makes two concurrent runs on one database harmless: both may execute a
// pending file, and both record it with the same insert deduplication token, so it is listed once.
func Migrate(ctx context.Context, db DB, log *slog.Logger) (applied []string, err error) {
	return migrate(ctx, db, log, embedded)
}

func migrate(ctx context.Context, db DB, log *slog.Logger, fsys fs.FS) ([]string, error) {
	files, err := loadFiles(fsys)
	if err != nil {
		return nil, err
	}
	applied, err := migrateFiles(ctx, db, log, files, func(s string) ([]string, error) { return []string{s}, nil })
	if err != nil {
		return applied, err
	}
	return applied, ensureKey(ctx, db, files)
}

// MigrateCluster applies the built-in migrations to every node of a cluster, rewritten as c says
// (see Cluster): nodes has a DB on each, and each node records in its own schema_migrations what
// was applied to it, so a node added later, or one that was down, catches up at the next start.
// With c.OnCluster the statements run once, on nodes[0], which the server passes on to the
// others; the record is then nodes[0]'s.
func MigrateCluster(ctx context.Context, nodes []DB, c Cluster, log *slog.Logger) (applied []string, err error) {
	if c.Name == "" || len(nodes) == 0 {
		return nil, errors.New("migrate a cluster: a cluster name and at least one node are needed")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	files := Files()
	known, err := Names(files)
	if err != nil {
		return nil, err
	}
	rewrite := func(s string) ([]string, error) { return c.Rewrite(s, known) }
	if c.OnCluster {
		nodes = nodes[:1]
	}
	seen := map[string]bool{}
	for i, db := range nodes {
		names, err := migrateFiles(ctx, db, log.With("node", i+1), files, rewrite)
		if err != nil {
			return applied, fmt.Errorf("node %d of %d: %w", i+1, len(nodes), err)
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				applied = append(applied, n)
			}
		}
	}
	return applied, ensureKey(ctx, nodes[0], files)
}

// migrateFiles applies to db the files it lacks, each statement as rewrite turns it.
func migrateFiles(ctx context.Context, db DB, log *slog.Logger, files []File, rewrite func(string) ([]string, error)) ([]string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := createMigrationsTable(ctx, db); err != nil {
		return nil, err
	}
	done, err := appliedFiles(ctx, db)
	if err != nil {
		return nil, err
	}
	known := make(map[uint32]bool, len(files))
	var pending []File
	for _, f := range files {
		known[f.Version] = true
		a, ok := done[f.Version]
		if !ok {
			pending = append(pending, f)
			continue
		}
		if a.checksum != f.Checksum {
			return nil, fmt.Errorf("migration %s (applied as %s): checksum %s, applied %s: %w: migrations are immutable once applied, so restore the file and change the schema in a new migration",
				f.Name, a.name, f.Checksum, a.checksum, ErrChanged)
		}
	}
	for v, a := range done {
		if !known[v] {
			log.Warn("database has a migration this binary does not know; is an older binary running?", "version", v, "file", a.name)
		}
	}
	var names []string
	for _, f := range pending {
		n, err := apply(ctx, db, f, rewrite)
		if err != nil {
			return names, err
		}
		log.Info("migration applied", "file", f.Name, "statements", n)
		names = append(names, f.Name)
	}
	return names, nil
}

// ensureKey gives db its key for the masked views' hashes, when files create pii_key. On a
// cluster it runs once every node has the table: the key is one row for the whole cluster.
func ensureKey(ctx context.Context, db DB, files []File) error {
	if !slices.ContainsFunc(files, func(f File) bool { return f.Version == piiKeyVersion }) {
		return nil
	}
	return ensurePIIKey(ctx, db)
}

// createMigrationsTable runs 0001_tables.sql's schema_migrations statement, so that table has a
// single definition: the one the DDL tests compare with package schema.
func createMigrationsTable(ctx context.Context, db DB) error {
	b, err := embedded.ReadFile(path.Join(migrationsDir, "0001_tables.sql"))
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	st, err := Split(string(b))
	if err != nil {
		return fmt.Errorf("create schema_migrations: 0001_tables.sql: %w", err)
	}
	const prefix = "CREATE TABLE IF NOT EXISTS schema_migrations"
	if len(st) == 0 || !strings.HasPrefix(st[0].SQL, prefix) {
		return errors.New("create schema_migrations: 0001_tables.sql does not start with " + prefix)
	}
	if err := db.Exec(ctx, st[0].SQL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return nil
}

type appliedFile struct{ name, checksum string }

// appliedFiles reads schema_migrations. Should a version be listed twice (a race from before the
// deduplication window was set), its first record wins.
func appliedFiles(ctx context.Context, db DB) (map[uint32]appliedFile, error) {
	var buf bytes.Buffer
	if err := db.Query(ctx, "SELECT version, name, checksum FROM schema_migrations ORDER BY version, applied_at", &buf); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	done := map[uint32]appliedFile{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("read schema_migrations: unexpected row %q", sc.Text())
		}
		v, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("read schema_migrations: version %q: %w", f[0], err)
		}
		if _, dup := done[uint32(v)]; !dup {
			done[uint32(v)] = appliedFile{name: f[1], checksum: f[2]}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return done, nil
}

// apply runs f's statements, as rewrite turns them, and records f. It returns the number of
// statements run.
func apply(ctx context.Context, db DB, f File, rewrite func(string) ([]string, error)) (int, error) {
	st, err := f.Statements()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		sqls, err := rewrite(s.SQL)
		if err != nil {
			return 0, fmt.Errorf("migration %s: statement at line %d: %w", f.Name, s.Line, err)
		}
		for _, q := range sqls {
			if err := db.Exec(ctx, q); err != nil {
				return 0, fmt.Errorf("migration %s: statement at line %d: %w", f.Name, s.Line, err)
			}
			n++
		}
	}
	// The token makes a second record of the same file content a no-op (see Migrate). Name and
	// checksum need no escaping: fileName and hex allow neither quotes nor backslashes.
	record := fmt.Sprintf("INSERT INTO schema_migrations (version, name, checksum, applied_at) "+
		"SETTINGS insert_deduplication_token = 'schema_migrations/%d/%s' "+
		"VALUES (%d, '%s', '%s', now64(3, 'UTC'))", f.Version, f.Checksum, f.Version, f.Name, f.Checksum)
	if err := db.Exec(ctx, record); err != nil {
		return 0, fmt.Errorf("migration %s: record in schema_migrations: %w", f.Name, err)
	}
	return n, nil
}
