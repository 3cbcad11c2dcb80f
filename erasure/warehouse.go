package erasure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/leadhouse/leadhouse/schema"
)

// DB runs statements in leadhouse's database. sink.Store satisfies it.
type DB interface {
	Exec(ctx context.Context, query string) error
	Query(ctx context.Context, query string, w io.Writer) error
}

// querySettings keep erasure's statements, which name the lead ids and the phone number, out of
// the server's query log, and make each deletion finish before the next statement.
const (
	readSettings   = " SETTINGS log_queries = 0"
	deleteSettings = " SETTINGS mutations_sync = 2, log_queries = 0"
)

// nationalSQL is NationalNumber in ClickHouse's SQL, of the column named c; migration 0021 has
// the same expression.
func nationalSQL(c string) string {
	d := "replaceRegexpAll(" + c + ", '[^0-9]', '')"
	return "if(length(" + d + ") >= 10, right(" + d + ", 10), replaceRegexpOne(" + d + ", '^0+', ''))"
}

// LeadsOfPhone returns the leads whose callbacks gave national as their phone number.
func LeadsOfPhone(ctx context.Context, db DB, national string) ([]uint64, error) {
	if national == "" || strings.Trim(national, "0123456789") != "" {
		return nil, fmt.Errorf("find the leads of a phone number: %q is no national number", national)
	}
	var buf bytes.Buffer
	q := "SELECT DISTINCT lead_id FROM " + schema.LeadUpdates.Name + " WHERE " + nationalSQL("phone") + " = '" + national + "' ORDER BY lead_id" + readSettings
	if err := db.Query(ctx, q, &buf); err != nil {
		return nil, fmt.Errorf("find the leads of a phone number: %w", err)
	}
	var ids []uint64
	for _, f := range strings.Fields(buf.String()) {
		id, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("find the leads of a phone number: lead id %q: %w", f, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Removed counts what an erasure removed, by table, and "wal_records" for the write-ahead log.
type Removed map[string]uint64

// JSON is r as the erasures audit keeps it.
func (r Removed) JSON() string {
	b, _ := json.Marshal(map[string]uint64(r)) // a map of numbers always marshals
	return string(b)
}

// Total is the sum of r.
func (r Removed) Total() uint64 {
	var n uint64
	for _, v := range r {
		n += v
	}
	return n
}

// DeleteFromWarehouse deletes every row of leadIDs from every table package schema lists, and
// every dead letter whose body names one of them or holds the phone number national (may be
// empty). It returns the rows it deleted by table.
//
// A table is searched by its lead columns (lead_id, and *_lead_id such as booking_docs'
// doc_lead_id), or, without one, by its body column (dead_letters). Tables added to package
// schema are covered without change. The erasures audit is left alone: it keeps who asked, not
// the data. Deletions are ALTER TABLE ... DELETE mutations, waited for: they rewrite the parts
// holding the rows, so the data leaves the disk once the engine drops the old parts (after
// old_parts_lifetime, 8 minutes by default), rather than being only hidden as a lightweight
// DELETE leaves it until a merge.
func DeleteFromWarehouse(ctx context.Context, db DB, leadIDs []uint64, national string) (Removed, error) {
	return deleteRows(ctx, db, Shards{}, leadIDs, national)
}

// Shards are the nodes of a cluster whose tables are Distributed ones over local tables, each
// named with Suffix (lhsql.LocalSuffix): a Distributed table takes no mutation, so the deletions
// run on every node's local tables. With OnCluster, the cluster's name, they run once, on the
// first node, with ON CLUSTER, for servers whose DDL worker passes them on.
type Shards struct {
	Nodes     []DB
	Suffix    string
	OnCluster string
}

// DeleteFromCluster is DeleteFromWarehouse on a cluster: db reads the Distributed tables, and the
// deletions run on the local tables of every node of shards. It needs every node: a node that is
// down keeps its rows, and the error says so (run forget again once it is back).
func DeleteFromCluster(ctx context.Context, db DB, shards Shards, leadIDs []uint64, national string) (Removed, error) {
	if len(shards.Nodes) == 0 || shards.Suffix == "" {
		return nil, fmt.Errorf("erase on a cluster: no nodes, or no suffix of their local tables")
	}
	return deleteRows(ctx, db, shards, leadIDs, national)
}

func deleteRows(ctx context.Context, db DB, shards Shards, leadIDs []uint64, national string) (Removed, error) {
	removed := Removed{}
	for _, t := range schema.Tables() {
		if t == schema.Erasures {
			continue
		}
		cond := deleteCondition(t, leadIDs, national)
		if cond == "" {
			continue
		}
		var buf bytes.Buffer
		if err := db.Query(ctx, "SELECT count() FROM "+t.Name+" WHERE "+cond+readSettings, &buf); err != nil {
			return removed, fmt.Errorf("count the rows to erase in %s: %w", t.Name, err)
		}
		n, err := strconv.ParseUint(strings.TrimSpace(buf.String()), 10, 64)
		if err != nil {
			return removed, fmt.Errorf("count the rows to erase in %s: %q: %w", t.Name, buf.String(), err)
		}
		if n == 0 {
			continue
		}
		if len(shards.Nodes) == 0 {
			if err := db.Exec(ctx, "ALTER TABLE "+t.Name+" DELETE WHERE "+cond+deleteSettings); err != nil {
				return removed, fmt.Errorf("erase from %s: %w", t.Name, err)
			}
		}
		nodes, on := shards.Nodes, ""
		if shards.OnCluster != "" {
			nodes, on = nodes[:1], " ON CLUSTER `"+strings.ReplaceAll(shards.OnCluster, "`", "``")+"`"
		}
		for i, node := range nodes {
			if err := node.Exec(ctx, "ALTER TABLE "+t.Name+shards.Suffix+on+" DELETE WHERE "+cond+deleteSettings); err != nil {
				return removed, fmt.Errorf("erase from %s on node %d of %d: %w", t.Name, i+1, len(nodes), err)
			}
		}
		removed[t.Name] = n
	}
	return removed, nil
}

// deleteCondition is the WHERE condition of t's rows to erase, or "" when t holds none of them.
func deleteCondition(t *schema.Table, leadIDs []uint64, national string) string {
	var ors []string
	var ids []string
	for _, id := range leadIDs {
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	for _, c := range t.Columns {
		lead := c.Name == "lead_id" || strings.HasSuffix(c.Name, "_lead_id")
		if lead && (c.Type == "UInt64" || c.Type == "Nullable(UInt64)") && len(ids) > 0 {
			ors = append(ors, c.Name+" IN ("+strings.Join(ids, ", ")+")")
		}
	}
	if len(ors) == 0 && slices.ContainsFunc(t.Columns, func(c schema.Column) bool { return c.Name == "body" && c.Type == "String" }) {
		if len(ids) > 0 {
			ors = append(ors, `match(body, '"lead_id"\\s*:\\s*"?\\s*(`+strings.Join(ids, "|")+`)([^0-9]|$)')`)
		}
		if national != "" {
			ors = append(ors, "match(body, '"+phonePattern(national)+"')")
		}
	}
	return strings.Join(ors, " OR ")
}

// phonePattern is a regular expression (RE2, as ClickHouse's match) of national's digits written
// with the separators phoneRuns allows between them, found anywhere, so that a number written with
// its country code ("+91 99999 99988", "919999999988") matches too.
func phonePattern(national string) string {
	var b strings.Builder
	for i, c := range national {
		if i > 0 {
			b.WriteString(`[ ().+-]{0,2}`)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Audit records each lead of one erasure request in the erasures table.
func Audit(ctx context.Context, db DB, rows []schema.Erasure) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + schema.Erasures.Name + " (" + schema.Erasures.ColumnNames() + ")" + readSettings + " VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(fromUnixTimestamp64Milli(toInt64(%d), 'UTC'), %s, %s, %s, %d, %s, %s, %s)", int64(r.ErasedAt),
			quote(r.ErasureID), quote(r.RequestedBy), quote(r.Reason), r.LeadID, quote(r.PhoneHash), quote(r.MatchedBy), quote(r.Removed))
	}
	if err := db.Exec(ctx, b.String()); err != nil {
		return fmt.Errorf("audit the erasure: %w", err)
	}
	return nil
}

// quote makes s a ClickHouse string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
