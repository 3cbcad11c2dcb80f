package erasure

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
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
	// The scenario counts aggregate every lead of a day into one row: the days the leads' callbacks
	// fall on are counted again without them, once their callbacks are gone.
	days, err := scenarioDays(ctx, db, leadIDs)
	if err != nil {
		return removed, err
	}
	for _, t := range schema.Tables() {
		if t == schema.Erasures {
			continue
		}
		n, err := deleteFrom(ctx, db, shards, t.Name, deleteCondition(t.Columns, leadIDs, national))
		if err != nil {
			return removed, err
		}
		if n > 0 {
			removed[t.Name] = n
		}
	}
	// The state tables are derived from the tables above; they are emptied of the leads too but
	// not reported, as the rows a person is told about are their callbacks' rows.
	for _, s := range schema.StateTables() {
		if s == schema.ScenarioCounts {
			continue
		}
		if _, err := deleteFrom(ctx, db, shards, s.Name, deleteCondition(s.Columns, leadIDs, "")); err != nil {
			return removed, err
		}
	}
	if err := recountScenarios(ctx, shards.all(db), days); err != nil {
		return removed, err
	}
	return removed, nil
}

// target is where a deletion runs: a database and the suffix of its tables' names, and an ON
// CLUSTER clause.
type target struct {
	db             DB
	suffix, clause string
}

// targets are where deletions run: db itself on one server; every node's local tables on a
// cluster, or the first node's with ON CLUSTER.
func (s Shards) targets(db DB) []target {
	if len(s.Nodes) == 0 {
		return []target{{db: db}}
	}
	if s.OnCluster != "" {
		return []target{{s.Nodes[0], s.Suffix, " ON CLUSTER `" + strings.ReplaceAll(s.OnCluster, "`", "``") + "`"}}
	}
	var out []target
	for _, n := range s.Nodes {
		out = append(out, target{db: n, suffix: s.Suffix})
	}
	return out
}

// all are the targets of every node (without ON CLUSTER), for the statements no DDL worker passes on.
func (s Shards) all(db DB) []target {
	return Shards{Nodes: s.Nodes, Suffix: s.Suffix}.targets(db)
}

// deleteFrom counts the rows of table matching cond (through db, which reads a whole cluster) and
// deletes them where shards says; "" deletes nothing.
func deleteFrom(ctx context.Context, db DB, shards Shards, table, cond string) (uint64, error) {
	if cond == "" {
		return 0, nil
	}
	n, err := count(ctx, db, "SELECT count() FROM "+table+" WHERE "+cond+readSettings)
	if err != nil || n == 0 {
		return 0, wrap(err, "count the rows to erase in "+table)
	}
	ts := shards.targets(db)
	for i, t := range ts {
		if err := t.db.Exec(ctx, "ALTER TABLE "+table+t.suffix+t.clause+" DELETE WHERE "+cond+deleteSettings); err != nil {
			if len(ts) == 1 {
				return 0, fmt.Errorf("erase from %s: %w", table, err)
			}
			return 0, fmt.Errorf("erase from %s on node %d of %d: %w", table, i+1, len(ts), err)
		}
	}
	return n, nil
}

// scenarioDaySQL is the day a callback is counted on in scenario_counts_state (migration 0005).
const scenarioDaySQL = "toDate(crm_updated_at, 'Asia/Kolkata')"

// scenarioDays are the days of scenario_counts_state the leads' callbacks are counted on.
func scenarioDays(ctx context.Context, db DB, leadIDs []uint64) ([]string, error) {
	if len(leadIDs) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	q := "SELECT DISTINCT " + scenarioDaySQL + " AS d FROM " + schema.LeadUpdates.Name + " WHERE lead_id IN (" + idList(leadIDs) + ") ORDER BY d" + readSettings
	if err := db.Query(ctx, q, &buf); err != nil {
		return nil, fmt.Errorf("find the scenario days of the leads to erase: %w", err)
	}
	return strings.Fields(buf.String()), nil
}

// recountScenarios counts days again in scenario_counts_state: their rows are deleted and
// computed anew by the materialized view's own query over those days' callbacks. A callback
// stored meanwhile is counted by the view and by the recount, which is harmless: the counts are
// of distinct callbacks and leads.
func recountScenarios(ctx context.Context, ts []target, days []string) error {
	if len(days) == 0 {
		return nil
	}
	in := "'" + strings.Join(days, "', '") + "'"
	state, mv := schema.ScenarioCounts.Name, schema.ScenarioCounts.View()
	for i, t := range ts {
		where := fmt.Sprintf("node %d of %d", i+1, len(ts))
		var buf bytes.Buffer
		q := "SELECT currentDatabase(), as_select FROM system.tables WHERE database = currentDatabase() AND name = " + quote(mv+t.suffix) + " FORMAT TabSeparatedRaw"
		if err := t.db.Query(ctx, q, &buf); err != nil {
			return fmt.Errorf("recount the scenarios on %s: read %s: %w", where, mv, err)
		}
		dbName, sel, ok := strings.Cut(strings.TrimSuffix(buf.String(), "\n"), "\t")
		src := regexp.MustCompile(`\b` + regexp.QuoteMeta(dbName+"."+schema.LeadUpdates.Name+t.suffix) + `\b`)
		if !ok || !src.MatchString(sel) {
			return fmt.Errorf("recount the scenarios on %s: %s does not read %s: migrate first", where, mv, schema.LeadUpdates.Name+t.suffix)
		}
		sel = src.ReplaceAllLiteralString(sel, "(SELECT * FROM "+dbName+"."+schema.LeadUpdates.Name+t.suffix+" WHERE "+scenarioDaySQL+" IN ("+in+"))")
		if err := t.db.Exec(ctx, "ALTER TABLE "+state+t.suffix+" DELETE WHERE day_ist IN ("+in+")"+deleteSettings); err != nil {
			return fmt.Errorf("recount the scenarios on %s: delete the days: %w", where, err)
		}
		if err := t.db.Exec(ctx, "INSERT INTO "+state+t.suffix+" "+sel+readSettings); err != nil {
			return fmt.Errorf("recount the scenarios on %s: %w", where, err)
		}
	}
	return nil
}

func count(ctx context.Context, db DB, q string) (uint64, error) {
	var buf bytes.Buffer
	if err := db.Query(ctx, q, &buf); err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(strings.TrimSpace(buf.String()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", buf.String(), err)
	}
	return n, nil
}

func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

func idList(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ", ")
}

// deleteCondition is the WHERE condition of t's rows to erase, or "" when t holds none of them.
func deleteCondition(columns []schema.Column, leadIDs []uint64, national string) string {
	var ors []string
	var ids []string
	for _, id := range leadIDs {
		ids = append(ids, strconv.FormatUint(id, 10))
	}
	for _, c := range columns {
		lead := c.Name == "lead_id" || strings.HasSuffix(c.Name, "_lead_id")
		if lead && (c.Type == "UInt64" || c.Type == "Nullable(UInt64)") && len(ids) > 0 {
			ors = append(ors, c.Name+" IN ("+strings.Join(ids, ", ")+")")
		}
	}
	if len(ors) == 0 && slices.ContainsFunc(columns, func(c schema.Column) bool { return c.Name == "body" && c.Type == "String" }) {
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

// Audit records each lead of one erasure request in the erasures table. On a cluster the audit is
// stored on its shards before Audit returns, not queued for a background send.
func Audit(ctx context.Context, db DB, rows []schema.Erasure) error {
	if len(rows) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO " + schema.Erasures.Name + " (" + schema.Erasures.ColumnNames() + ")" + readSettings + ", distributed_foreground_insert = 1 VALUES ")
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
