package sql

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
)

// piiKeyVersion is the migration that creates pii_key.
const piiKeyVersion = 20

// ensurePIIKey draws the database's key for the masked views' hashes from crypto/rand when
// pii_key holds none. The engine's own random functions are seeded from little more than the
// clock, too guessable for a key that keeps phone numbers from being brute-forced. Concurrent
// first starts insert with one deduplication token, so only the first key is stored; the views
// use the earliest row in any case.
func ensurePIIKey(ctx context.Context, db DB) error {
	var buf bytes.Buffer
	if err := db.Query(ctx, "SELECT count() FROM pii_key", &buf); err != nil {
		return fmt.Errorf("read the key of the masked views: %w", err)
	}
	if strings.TrimSpace(buf.String()) != "0" {
		return nil
	}
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return fmt.Errorf("draw the key of the masked views: %w", err)
	}
	// The key travels as the insert's data, which servers leave out of the query text they log,
	// and log_queries = 0 keeps even that text out of system.query_log.
	q := fmt.Sprintf("INSERT INTO pii_key (k0, k1, created_at) SETTINGS insert_deduplication_token = 'pii_key/first', log_queries = 0 VALUES (%d, %d, now64(3, 'UTC'))",
		binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:]))
	if err := db.Exec(ctx, q); err != nil {
		return fmt.Errorf("store the key of the masked views: %w", err)
	}
	return nil
}
