package erasure

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/leadhouse/leadhouse/schema"
	"github.com/leadhouse/leadhouse/sink/wal"
)

// Request names one person to forget: a lead, a phone number, or both.
type Request struct {
	LeadID uint64 // 0 for none
	Phone  string // as written; "" for none
	By     string // who asks, for the audit
	Reason string // a reference for the audit, such as a ticket number
}

// Lead is one lead an erasure removed, and how it was found: "lead_id" or "phone".
type Lead struct {
	ID        uint64
	MatchedBy string
}

// Report is what Forget did.
type Report struct {
	ErasureID string
	Leads     []Lead
	PhoneHash string
	// Removed counts the rows deleted by table and, as "wal_records", the records erased from
	// the write-ahead log.
	Removed Removed
	// WALPending counts the matching records a running serve has not committed yet: it leaves
	// them out of the store and erases them once committed.
	WALPending int
	// WALUnreadable counts damaged stretches of the log, which could not be searched.
	WALUnreadable int
	// ServeRunning reports that a serve had the write-ahead log open and applied the request.
	ServeRunning bool
}

// Forgetter removes people from everywhere leadhouse keeps them. Its zero durations take the
// defaults in their comments.
type Forgetter struct {
	// DB is the warehouse. Required.
	DB DB
	// Shards, on a cluster, are its nodes, whose local tables the deletions run on; DB then reads
	// the Distributed tables. Empty: DB holds the tables.
	Shards Shards
	// Store holds the erasure requests of the data directory. Required.
	Store *Store
	// WALDir is the write-ahead log's directory. Required.
	WALDir string
	// Decode turns a body of the log into rows, as the pipeline's Decode. Required.
	Decode func(body []byte, receivedAt time.Time, rows *schema.Rows) error
	// Wait bounds the wait for a running serve to apply the request; default 2 minutes.
	Wait time.Duration
	// Poll is how often the wait looks; default 100ms.
	Poll time.Duration
	// Now is the clock of the audit; default time.Now.
	Now func() time.Time
}

// ErrNotApplied means a serve has the write-ahead log open and did not apply the request within
// Forgetter.Wait. The request is recorded: every replay leaves the person out; run Forget again.
var ErrNotApplied = errors.New("the running serve did not apply the erasure request in time")

// Forget removes the person req names, in this order, each step safe to repeat:
//
//  1. it records the request (a tombstone) unless one already covers it, so that no replay of the
//     write-ahead log, by a serve running now or started later, stores the person again;
//  2. with a serve running on the log, it waits until that serve leaves the person's records out
//     and has stored everything it batched before (Store.Applied), so nothing arrives later;
//  3. it deletes the person's rows from every table (DeleteFromWarehouse);
//  4. it erases their records from the log (wal.Scrub): all of them with no serve running, the
//     committed ones otherwise, the serve erasing the rest as it commits them;
//  5. it audits each lead removed, without the person's data.
//
// Running it again removes nothing more and audits the request again.
func (f *Forgetter) Forget(ctx context.Context, req Request) (Report, error) {
	if f.Wait == 0 {
		f.Wait = 2 * time.Minute
	}
	if f.Poll == 0 {
		f.Poll = 100 * time.Millisecond
	}
	if f.Now == nil {
		f.Now = time.Now
	}
	national := NationalNumber(req.Phone)
	if req.LeadID == 0 && national == "" {
		return Report{}, errors.New("forget: name a lead id or a phone number with digits")
	}
	var rep Report
	var err error
	if rep.ErasureID, err = newID(); err != nil {
		return rep, err
	}
	if rep.PhoneHash, err = f.Store.PhoneHash(req.Phone); err != nil {
		return rep, err
	}
	if req.LeadID != 0 {
		rep.Leads = append(rep.Leads, Lead{req.LeadID, "lead_id"})
	}
	if national != "" {
		ids, err := LeadsOfPhone(ctx, f.DB, national)
		if err != nil {
			return rep, err
		}
		for _, id := range ids {
			if id != req.LeadID {
				rep.Leads = append(rep.Leads, Lead{id, "phone"})
			}
		}
	}
	var leadIDs []uint64
	for _, l := range rep.Leads {
		leadIDs = append(leadIDs, l.ID)
	}

	set, version, err := f.Store.Load()
	if err != nil {
		return rep, err
	}
	if !covers(set, leadIDs, rep.PhoneHash) {
		t := Tombstone{ID: rep.ErasureID, At: f.Now().UTC(), LeadIDs: leadIDs}
		if rep.PhoneHash != "" {
			t.PhoneHashes = []string{rep.PhoneHash}
		}
		if version, err = f.Store.Append(t); err != nil {
			return rep, err
		}
		if set, _, err = f.Store.Load(); err != nil {
			return rep, err
		}
	}
	if rep.ServeRunning, err = f.waitApplied(ctx, version); err != nil {
		return rep, err
	}

	if err := noRebuild(ctx, f.DB); err != nil {
		return rep, err
	}
	if len(f.Shards.Nodes) > 0 {
		rep.Removed, err = DeleteFromCluster(ctx, f.DB, f.Shards, leadIDs, national)
	} else {
		rep.Removed, err = DeleteFromWarehouse(ctx, f.DB, leadIDs, national)
	}
	if err != nil {
		return rep, err
	}
	res, err := wal.Scrub(ctx, f.WALDir, func(r wal.Record) bool {
		var rows schema.Rows
		if err := f.Decode(r.Body, r.ReceivedAt, &rows); err != nil {
			return set.Match(r.Body, nil)
		}
		return set.Match(r.Body, &rows)
	})
	if err != nil {
		return rep, fmt.Errorf("erase from the write-ahead log: %w", err)
	}
	rep.Removed["wal_records"] = uint64(res.Erased)
	rep.WALPending, rep.WALUnreadable = len(res.Pending), res.Unreadable

	audit := make([]schema.Erasure, 0, max(len(rep.Leads), 1))
	row := schema.Erasure{ErasedAt: schema.MillisOf(f.Now()), ErasureID: rep.ErasureID, RequestedBy: req.By, Reason: req.Reason,
		PhoneHash: rep.PhoneHash, Removed: rep.Removed.JSON()}
	for _, l := range rep.Leads {
		row.LeadID, row.MatchedBy = l.ID, l.MatchedBy
		audit = append(audit, row)
	}
	if len(audit) == 0 {
		row.MatchedBy = "phone"
		audit = append(audit, row)
	}
	return rep, Audit(ctx, f.DB, audit)
}

// covers reports whether set already forgets every lead and the phone hash (if any).
func covers(set *Set, leadIDs []uint64, phoneHash string) bool {
	for _, id := range leadIDs {
		if !set.HasLead(id) {
			return false
		}
	}
	return phoneHash == "" || set.HasPhone(phoneHash)
}

// probeEvery is how many polls pass between looks at whether the serve still runs: each look
// takes the log's lock for a moment (wal.InUse).
const probeEvery = 20

// waitApplied waits, while a serve has the write-ahead log open, until it has applied the first
// version requests. It reports whether a serve was running.
func (f *Forgetter) waitApplied(ctx context.Context, version int) (bool, error) {
	inUse, err := wal.InUse(f.WALDir)
	if err != nil || !inUse {
		return false, err
	}
	deadline := time.NewTimer(f.Wait)
	defer deadline.Stop()
	tick := time.NewTicker(f.Poll)
	defer tick.Stop()
	for polls := 1; ; polls++ {
		n, err := f.Store.Applied()
		if err != nil {
			return true, err
		}
		if n >= version {
			return true, nil
		}
		if polls%probeEvery == 0 {
			// A serve that stopped meanwhile applies the requests when it starts again.
			if inUse, err := wal.InUse(f.WALDir); err != nil || !inUse {
				return false, err
			}
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return true, fmt.Errorf("%w (%v): the request is recorded and every replay leaves the person out; run forget again", ErrNotApplied, f.Wait)
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
}

func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("forget: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// rebuildSuffix is rebuild.Suffix: the new tables of a rebuild in progress are named with it.
const rebuildSuffix = "__rebuild"

// noRebuild fails while a rebuild is in progress: its new tables may already hold rows of the
// person, re-flattened from raw bodies, and the rebuild would swap them in. The tombstone is
// recorded by then, so every replay already leaves the person out; forget is run again once the
// rebuild has finished or been dropped.
func noRebuild(ctx context.Context, db DB) error {
	var buf bytes.Buffer
	q := "SELECT name FROM system.tables WHERE database = currentDatabase() AND endsWith(name, '" + rebuildSuffix + "') ORDER BY name LIMIT 1"
	if err := db.Query(ctx, q, &buf); err != nil {
		return fmt.Errorf("forget: look for a rebuild in progress: %w", err)
	}
	if name := strings.TrimSpace(buf.String()); name != "" {
		return fmt.Errorf("forget: a rebuild is in progress (table %s exists) and may hold the person's rows: the request is recorded and every replay leaves them out; run leadhouse rebuild to finish it (or drop its %s tables), then run forget again to delete", name, rebuildSuffix)
	}
	return nil
}
