package sql

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// rawBodies are the columns that keep request bodies as they were received: the callbacks'
// (from which the other tables can be rebuilt) and the rejected ones'.
var rawBodies = []struct{ table, column string }{{"lead_updates", "raw"}, {"dead_letters", "body"}}

// retentionTTL is the column TTL SetRetention writes, as the engine prints it back.
var retentionTTL = regexp.MustCompile(`^received_at \+ toIntervalSecond\(([0-9]+)\)$`)

// SetRetention makes the engine empty raw bodies (lead_updates.raw, dead_letters.body) once
// their row is older than keep, with a column TTL on received_at; keep 0 keeps them for ever. It
// changes only the columns whose TTL differs, and returns them as table.column: changing a TTL
// makes the engine rewrite the column of every part once, in the background, which is not worth
// doing at every start. The rows themselves stay; only their bodies become empty, during merges
// (the engine checks expired TTLs of a partition every few hours, merge_with_ttl_timeout).
func SetRetention(ctx context.Context, db DB, keep time.Duration) ([]string, error) {
	return setRetention(ctx, db, keep, "", func(alter string) string { return alter })
}

// SetRetentionCluster is SetRetention on a cluster's nodes, migrated with c: the TTLs are those
// of the local tables, which hold the rows (a Distributed table has none to expire). With
// c.OnCluster it runs once, on the first node.
func SetRetentionCluster(ctx context.Context, nodes []DB, c Cluster, keep time.Duration) ([]string, error) {
	if c.OnCluster {
		nodes = nodes[:min(len(nodes), 1)]
	}
	var changed []string
	for i, db := range nodes {
		ch, err := setRetention(ctx, db, keep, LocalSuffix, c.on)
		if err != nil {
			return changed, fmt.Errorf("node %d of %d: %w", i+1, len(nodes), err)
		}
		for _, col := range ch {
			if !slices.Contains(changed, col) {
				changed = append(changed, col)
			}
		}
	}
	return changed, nil
}

// setRetention alters the tables named with suffix, each ALTER's head as on makes it.
func setRetention(ctx context.Context, db DB, keep time.Duration, suffix string, on func(string) string) ([]string, error) {
	if keep < 0 {
		return nil, fmt.Errorf("raw body retention %v is negative", keep)
	}
	seconds := int64(keep / time.Second)
	if keep > 0 && seconds == 0 {
		return nil, fmt.Errorf("raw body retention %v is under a second", keep)
	}
	var changed []string
	for _, rb := range rawBodies {
		table := rb.table + suffix
		alter := on("ALTER TABLE " + table)
		cur, err := columnTTL(ctx, db, table, rb.column)
		if err != nil {
			return changed, err
		}
		m := retentionTTL.FindStringSubmatch(cur)
		var stmt string
		switch {
		case seconds == 0 && cur == "":
			continue
		case seconds == 0:
			stmt = fmt.Sprintf("%s MODIFY COLUMN %s REMOVE TTL", alter, rb.column)
		case m != nil && m[1] == strconv.FormatInt(seconds, 10):
			continue
		default:
			stmt = fmt.Sprintf("%s MODIFY COLUMN %s TTL received_at + toIntervalSecond(%d)", alter, rb.column, seconds)
		}
		if err := db.Exec(ctx, stmt); err != nil {
			return changed, fmt.Errorf("set the retention of %s.%s: %w", rb.table, rb.column, err)
		}
		changed = append(changed, rb.table+"."+rb.column)
	}
	return changed, nil
}

// columnTTL returns the TTL expression of a column as DESCRIBE TABLE prints it, or "".
func columnTTL(ctx context.Context, db DB, table, column string) (string, error) {
	rows, err := queryRows(ctx, db, "DESCRIBE TABLE "+table, 7)
	if err != nil {
		return "", fmt.Errorf("read the TTL of %s.%s: %w", table, column, err)
	}
	for _, r := range rows {
		// name, type, default_type, default_expression, comment, codec_expression, ttl_expression
		if r[0] == column {
			return r[6], nil
		}
	}
	return "", fmt.Errorf("read the TTL of %s.%s: no such column", table, column)
}
