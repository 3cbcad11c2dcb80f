// Package erasure forgets people on request: it records erasure requests (tombstones) that every
// replay of the write-ahead log honours, deletes their rows from the warehouse, erases their
// records from the log, and audits what it did.
package erasure

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Tombstone is one erasure request as the write-ahead log's readers honour it: the callbacks of
// these leads, and the bodies holding these phone numbers, are never stored again.
type Tombstone struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
	// LeadIDs are the leads forgotten: the one named and those found by the phone number.
	LeadIDs []uint64 `json:"lead_ids,omitempty"`
	// PhoneHashes are the keyed hashes (Store.PhoneHash) of the national numbers forgotten:
	// the file never holds a phone number.
	PhoneHashes []string `json:"phone_hashes,omitempty"`
}

// Files of a Store's directory.
const (
	tombstonesFile = "tombstones" // one JSON Tombstone per line, appended
	keyFile        = "key"        // hex HMAC key of the phone hashes, made on first use
	appliedFile    = "applied"    // how many tombstones the running serve applies, written by it
	lockFile       = "lock"       // held by a writer of the other three
)

// Store keeps the erasure requests of one data directory, where `serve` reads them and `forget`
// writes them. Tombstones are only ever appended, so their count is the version of the set: a
// reader that sees a line without its newline (being written) takes it for not there yet.
type Store struct {
	dir string
}

// NewStore returns the Store in dir, which is created on the first write.
func NewStore(dir string) *Store { return &Store{dir: dir} }

// Dir is where the store keeps its files.
func (s *Store) Dir() string { return s.dir }

// Load reads every tombstone and returns them as a Set, with their count.
func (s *Store) Load() (*Set, int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, tombstonesFile))
	if errors.Is(err, fs.ErrNotExist) {
		return newSet(nil, nil), 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("read erasure requests: %w", err)
	}
	ts, err := parseTombstones(b)
	if err != nil {
		return nil, 0, fmt.Errorf("read erasure requests in %s: %w", filepath.Join(s.dir, tombstonesFile), err)
	}
	var key []byte
	if hasPhones(ts) {
		if key, err = s.readKey(); err != nil {
			return nil, 0, err
		}
	}
	return newSet(ts, key), len(ts), nil
}

func hasPhones(ts []Tombstone) bool {
	return slices.ContainsFunc(ts, func(t Tombstone) bool { return len(t.PhoneHashes) > 0 })
}

// parseTombstones reads the lines of a tombstones file. A last line without its newline is one
// being appended, or torn by a crash before it was acknowledged: it is not there yet.
func parseTombstones(b []byte) ([]Tombstone, error) {
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		b = b[:i+1]
	}
	var ts []Tombstone
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<30)
	for n := 1; sc.Scan(); n++ {
		var t Tombstone
		d := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		d.DisallowUnknownFields()
		if err := d.Decode(&t); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if d.More() {
			return nil, fmt.Errorf("line %d: text after the request", n)
		}
		if t.ID == "" || len(t.LeadIDs) == 0 && len(t.PhoneHashes) == 0 {
			return nil, fmt.Errorf("line %d: a request without id, lead or phone", n)
		}
		for _, h := range t.PhoneHashes {
			if len(h) != phoneHashLen {
				return nil, fmt.Errorf("line %d: phone hash %q is not %d hex digits", n, h, phoneHashLen)
			}
		}
		ts = append(ts, t)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return ts, nil
}

// Append adds t to the requests, durably, and returns the count of requests with it.
func (s *Store) Append(t Tombstone) (int, error) {
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	line, err := json.Marshal(t)
	if err != nil {
		return 0, fmt.Errorf("record erasure request: %w", err)
	}
	name := filepath.Join(s.dir, tombstonesFile)
	b, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("record erasure request: %w", err)
	}
	ts, err := parseTombstones(b)
	if err != nil {
		return 0, fmt.Errorf("record erasure request: %s: %w", name, err)
	}
	// A line a crash left without its newline is cut off first, so the new one starts a line.
	if err := writeAt(name, b[:bytes.LastIndexByte(b, '\n')+1], append(line, '\n')); err != nil {
		return 0, fmt.Errorf("record erasure request: %w", err)
	}
	return len(ts) + 1, nil
}

// writeAt truncates name to keep and appends line, then fsyncs the file and, if it is new, the
// directory.
func writeAt(name string, keep, line []byte) error {
	_, statErr := os.Stat(name)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Truncate(int64(len(keep))); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteAt(line, int64(len(keep))); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		return syncDir(filepath.Dir(name))
	}
	return nil
}

// phoneHashLen is the length of a phone hash: 16 bytes of HMAC-SHA256, in hex.
const phoneHashLen = 32

// PhoneHash returns the keyed hash of phone's national number that tombstones and the erasures
// audit keep instead of the number, making the key on first use; "" for a phone without digits.
// Without the key file, the hash of a number cannot be computed, so the ten billion mobile
// numbers cannot be tried one by one.
func (s *Store) PhoneHash(phone string) (string, error) {
	n := NationalNumber(phone)
	if n == "" {
		return "", nil
	}
	key, err := s.readKey()
	if errors.Is(err, fs.ErrNotExist) {
		key, err = s.makeKey()
	}
	if err != nil {
		return "", err
	}
	return phoneHash(key, n), nil
}

func phoneHash(key []byte, national string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(national))
	return hex.EncodeToString(m.Sum(nil)[:phoneHashLen/2])
}

func (s *Store) readKey() ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, keyFile))
	if err != nil {
		return nil, fmt.Errorf("read the key of phone hashes: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("the key of phone hashes in %s is damaged", filepath.Join(s.dir, keyFile))
	}
	return key, nil
}

func (s *Store) makeKey() ([]byte, error) {
	unlock, err := s.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	if key, err := s.readKey(); err == nil {
		return key, nil // made by another forget meanwhile
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make the key of phone hashes: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, keyFile), []byte(hex.EncodeToString(key)+"\n")); err != nil {
		return nil, fmt.Errorf("make the key of phone hashes: %w", err)
	}
	return key, nil
}

// MarkApplied records that the running serve applies the first n requests: it leaves their
// records out, and everything it batched before is stored.
func (s *Store) MarkApplied(n int) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("record applied erasure requests: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(s.dir, appliedFile), []byte(strconv.Itoa(n)+"\n")); err != nil {
		return fmt.Errorf("record applied erasure requests: %w", err)
	}
	return nil
}

// Applied is the count MarkApplied last recorded, 0 if none.
func (s *Store) Applied() (int, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, appliedFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read applied erasure requests: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read applied erasure requests: %w", err)
	}
	return n, nil
}

// writeFileAtomic replaces name with data by renaming a synced temporary file over it.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}
