package sql

import (
	"fmt"
	"regexp"
	"strings"
)

// Cluster makes the migrations build the warehouse on a ClickHouse cluster. Every table becomes,
// on every node, a local table NAME_local holding that shard's rows (a Replicated* engine under
// ZooKeeper or Keeper when Replicated, the same engine otherwise) and a Distributed table NAME over
// them, sharded by lead_id: a lead's callbacks all land on one shard, so every view that works per
// lead, per callback or per entity runs on each shard on its own. Every view becomes a local
// view NAME_local over the local tables and a Distributed table NAME over those, so analysts query
// the same names with the same answers; a view that counts across leads (AggregatingViews) is
// summed over the shards' counts. A view that runs as its definer (the masked views) has no local
// part: it reads the Distributed names. schema_migrations stays local to each node: each node
// records what was applied to it.
type Cluster struct {
	// Name is the cluster's name in the servers' <remote_servers>. Required.
	Name string
	// Replicated makes the local tables Replicated*MergeTree, with the {shard} and {replica}
	// macros; otherwise they keep their engine, for a cluster of one replica per shard.
	Replicated bool
	// ZooKeeperPath is the prefix of the replicated tables' paths; default
	// "/clickhouse/tables/{shard}/{database}".
	ZooKeeperPath string
	// OnCluster runs each statement once with ON CLUSTER, for servers whose DDL worker runs it on
	// every node; otherwise the statements are run on every node by the caller.
	OnCluster bool
}

// LocalSuffix names a table's or view's shard-local part on a cluster.
const LocalSuffix = "_local"

// AggregatingViews are the views whose rows count across leads, so that each shard's answer is
// a partial count: on a cluster their Distributed table is NAME_shards, and NAME combines its
// rows per key. Every other view has one row per callback, lead or entity, each on one shard.
// The value lists the view's columns in order, each a grouping key (Combine empty) or combined
// over shards with an aggregate function.
var AggregatingViews = map[string][]ShardColumn{
	"lead_funnel": {
		{Name: "day_ist"}, {Name: "project_id"}, {Name: "project_name"}, {Name: "source"}, {Name: "status"},
		{Name: "status_order"}, {Name: "leads", Combine: "sum"},
	},
	"scenario_counts": {
		{Name: "day_ist"}, {Name: "scenario"}, {Name: "project_name"}, {Name: "source"},
		{Name: "callbacks", Combine: "sum"}, {Name: "leads", Combine: "sum"},
	},
	"unrecognized_values": {
		{Name: "field"}, {Name: "value"}, {Name: "raw_example", Combine: "any"}, {Name: "callbacks", Combine: "sum"},
		{Name: "leads", Combine: "sum"}, {Name: "first_seen_at", Combine: "min"}, {Name: "last_seen_at", Combine: "max"},
	},
}

// ShardColumn is a column of an aggregating view: a grouping key, or how its shards' values
// combine (sum for a count of leads, each on one shard).
type ShardColumn struct {
	Name    string
	Combine string
}

func (c *Cluster) zkPath() string {
	if c.ZooKeeperPath != "" {
		return strings.TrimRight(c.ZooKeeperPath, "/")
	}
	return "/clickhouse/tables/{shard}/{database}"
}

var (
	createTableRE = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(\w+)\s*\((.*)\)\s*ENGINE\s*=\s*(\w+)\s*(\((.*?)\))?\s*(.*)$`)
	createViewRE  = regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+AS\s+(.*)$`)
	definerViewRE = regexp.MustCompile(`(?is)^CREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+((?:DEFINER\s*=\s*\S+\s+)?SQL\s+SECURITY\s+\w+)\s+AS\s+(.*)$`)
	createMVRE    = regexp.MustCompile(`(?is)^CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)\s+TO\s+(\w+)\s*(\(.*?\))?\s+AS\s+(.*)$`)
	alterRE       = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(\w+)\s+(.*)$`)
	columnAlterRE = regexp.MustCompile(`(?is)^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b`)
	dropRE        = regexp.MustCompile(`(?is)^DROP\s+(TABLE|VIEW)\s+(IF\s+EXISTS\s+)?(\w+)\s*(.*)$`)
	insertRE      = regexp.MustCompile(`(?is)^INSERT\s+INTO\s+(\w+)\s+(.*)$`)
	dedupWindowRE = regexp.MustCompile(`(?i)\bnon_replicated_deduplication_window\b`)
	sourceRE      = regexp.MustCompile(`(?i)\b(FROM|JOIN)(\s+)(\w+)\b`)
)

// Rewrite returns the statements a cluster node runs for st, one of the migrations' statements;
// known lists every table and view the migrations create, whose references in a view or an
// INSERT ... SELECT are turned into their local parts.
func (c *Cluster) Rewrite(st string, known map[string]bool) ([]string, error) {
	sql := strings.TrimSpace(stripComments(st))
	switch {
	case createTableRE.MatchString(sql):
		return c.table(createTableRE.FindStringSubmatch(sql))
	case createMVRE.MatchString(sql):
		m := createMVRE.FindStringSubmatch(sql)
		return []string{c.on(fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s%s", m[1], LocalSuffix)) +
			fmt.Sprintf(" TO %s%s %sAS %s", m[2], LocalSuffix, spaced(m[3]), localSources(m[4], known))}, nil
	case definerViewRE.MatchString(sql):
		// A view that runs as its definer (the masked views) reads the cluster-wide tables and
		// views, as written, on the node asked: they answer for every shard already, and the key
		// of its hashes (pii_key) must be the one row of the whole cluster, not a shard's.
		m := definerViewRE.FindStringSubmatch(sql)
		return []string{c.on("CREATE OR REPLACE VIEW "+m[1]) + " " + m[2] + " AS " + m[3]}, nil
	case createViewRE.MatchString(sql):
		return c.view(createViewRE.FindStringSubmatch(sql), known)
	case alterRE.MatchString(sql):
		m := alterRE.FindStringSubmatch(sql)
		out := []string{c.on("ALTER TABLE "+m[1]+LocalSuffix) + " " + m[2]}
		if columnAlterRE.MatchString(m[2]) {
			// A Distributed table has the columns of what it reads.
			out = append(out, c.on("ALTER TABLE "+m[1])+" "+m[2])
		}
		return out, nil
	case dropRE.MatchString(sql):
		m := dropRE.FindStringSubmatch(sql)
		var out []string
		for _, name := range []string{m[3], m[3] + "_shards", m[3] + LocalSuffix} {
			out = append(out, c.on("DROP TABLE IF EXISTS "+name)+spaced(m[4]))
		}
		return out, nil
	case insertRE.MatchString(sql):
		if c.OnCluster {
			// Run once, on the Distributed tables: it reads every shard and each row goes to its
			// lead's shard. (The migrations' INSERTs fill state from stored rows, idempotently.)
			return []string{sql}, nil
		}
		m := insertRE.FindStringSubmatch(sql)
		return []string{"INSERT INTO " + m[1] + LocalSuffix + " " + localSources(m[2], known)}, nil
	}
	return nil, fmt.Errorf("cluster: no rule for the statement %q", firstLine(sql))
}

// on adds ON CLUSTER to the head of a statement when DDL runs that way.
func (c *Cluster) on(head string) string {
	if !c.OnCluster {
		return head
	}
	return head + " ON CLUSTER " + quoteIdent(c.Name)
}

func (c *Cluster) table(m []string) ([]string, error) {
	name, cols, engine, args, rest := m[1], m[2], m[3], m[5], m[6]
	if name == "schema_migrations" {
		// Each node records what was applied to it.
		return []string{m[0]}, nil
	}
	local := name + LocalSuffix
	if c.Replicated {
		if !strings.HasSuffix(engine, "MergeTree") {
			return nil, fmt.Errorf("cluster: table %s has engine %s, which has no replicated form", name, engine)
		}
		rargs := fmt.Sprintf("'%s/%s', '{replica}'", c.zkPath(), local)
		if strings.TrimSpace(args) != "" {
			rargs += ", " + args
		}
		engine, args = "Replicated"+engine, rargs
		// Replicated tables deduplicate inserts under their own setting.
		rest = dedupWindowRE.ReplaceAllString(rest, "replicated_deduplication_window")
	}
	engineClause := engine
	if m[4] != "" || c.Replicated {
		engineClause += "(" + args + ")"
	}
	key := "lead_id"
	if !regexp.MustCompile(`(?m)^\s*lead_id\s`).MatchString(cols) {
		// Bodies that are not callbacks (dead letters) have no lead: any shard will do.
		key = "rand()"
	}
	return []string{
		c.on("CREATE TABLE IF NOT EXISTS "+local) + fmt.Sprintf("\n(%s)\nENGINE = %s\n%s", cols, engineClause, rest),
		c.on("CREATE TABLE IF NOT EXISTS "+name) + fmt.Sprintf(" AS %s ENGINE = Distributed(%s, currentDatabase(), %s, %s)",
			local, quoteString(c.Name), quoteString(local), key),
	}, nil
}

func (c *Cluster) view(m []string, known map[string]bool) ([]string, error) {
	name, body := m[1], m[2]
	local := name + LocalSuffix
	out := []string{c.on("CREATE OR REPLACE VIEW "+local) + " AS " + localSources(body, known)}
	dist := func(table string) string {
		// Replaced, not kept: the view's columns may have changed with it.
		return c.on("CREATE OR REPLACE TABLE "+table) + fmt.Sprintf(" AS %s ENGINE = Distributed(%s, currentDatabase(), %s)",
			local, quoteString(c.Name), quoteString(local))
	}
	spec, ok := AggregatingViews[name]
	if !ok {
		return append(out, dist(name)), nil
	}
	shards := name + "_shards"
	var cols, keys []string
	for _, col := range spec {
		if col.Combine == "" {
			cols, keys = append(cols, col.Name), append(keys, col.Name)
		} else {
			cols = append(cols, fmt.Sprintf("%s(%s) AS %s", col.Combine, col.Name, col.Name))
		}
	}
	return append(out, dist(shards),
		c.on("CREATE OR REPLACE VIEW "+name)+fmt.Sprintf(" AS SELECT %s FROM %s GROUP BY %s",
			strings.Join(cols, ", "), shards, strings.Join(keys, ", "))), nil
}

// localSources turns the tables and views a query reads from (after FROM or JOIN) into their
// local parts, so that it runs on one shard's rows.
func localSources(q string, known map[string]bool) string {
	return sourceRE.ReplaceAllStringFunc(q, func(s string) string {
		m := sourceRE.FindStringSubmatch(s)
		if !known[m[3]] {
			return s
		}
		return m[1] + m[2] + m[3] + LocalSuffix
	})
}

// Names returns every table and view the migrations create with a local part on a cluster: the
// names a cluster's statements turn into local parts. Views that run as their definer have none.
func Names(files []File) (map[string]bool, error) {
	names := map[string]bool{}
	for _, f := range files {
		st, err := f.Statements()
		if err != nil {
			return nil, err
		}
		for _, s := range st {
			sql := strings.TrimSpace(stripComments(s.SQL))
			for _, re := range []*regexp.Regexp{createTableRE, createMVRE, createViewRE} {
				if m := re.FindStringSubmatch(sql); m != nil {
					names[m[1]] = true
					break
				}
			}
		}
	}
	delete(names, "schema_migrations")
	return names, nil
}

// stripComments removes -- comments, leaving strings and quoted identifiers alone.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '"', '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(s[i:min(j+1, len(s))])
			i = j
		case '-':
			if i+1 < len(s) && s[i+1] == '-' {
				for i < len(s) && s[i] != '\n' {
					i++
				}
				b.WriteByte('\n')
				continue
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func spaced(s string) string {
	if s = strings.TrimSpace(s); s != "" {
		return " " + s + " "
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}
