package sql

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Docker cannot run where these tests run, so the compose setup is checked as far as files go:
// Grafana's image and plugin are pinned, every file it mounts exists, the data source is the
// read-only analyst user, and the provisioned dashboard is the one generated from sql/panels.

// composeService returns the lines of service name in docker-compose.yml, without the header.
func composeService(t *testing.T, compose, name string) []string {
	t.Helper()
	var out []string
	in := false
	for line := range strings.Lines(compose) {
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "  "+name+":":
			in = true
		case in && line != "" && !strings.HasPrefix(line, "    ") && !strings.HasPrefix(strings.TrimSpace(line), "#"):
			return out
		case in:
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("docker-compose.yml has no service %s", name)
	}
	return out
}

// value returns the value of "key: value" among lines, or "".
func value(lines []string, key string) string {
	for _, l := range lines {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ": "); ok && k == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestGrafanaProvisioningServesThePanels(t *testing.T) {
	const root = ".."
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	grafana := composeService(t, read("docker-compose.yml"), "grafana")

	if img := value(grafana, "image"); !regexp.MustCompile(`^grafana/grafana:\d+\.\d+\.\d+$`).MatchString(img) {
		t.Errorf("grafana image %q is not pinned to a release", img)
	}
	if p := value(grafana, "GF_PLUGINS_PREINSTALL_SYNC"); !regexp.MustCompile(`^grafana-clickhouse-datasource@\d+\.\d+\.\d+$`).MatchString(p) {
		t.Errorf("ClickHouse plugin %q is not pinned to a release", p)
	}
	if value(grafana, "ANALYST_PASSWORD") == "" {
		t.Error("grafana's environment lacks ANALYST_PASSWORD, which the data source reads")
	}

	// Bind mounts: container path -> repository path.
	mounts := map[string]string{}
	for _, l := range grafana {
		src, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(l), "- "), ":")
		if !ok || !strings.HasPrefix(src, "./") {
			continue
		}
		target, _, _ := strings.Cut(rest, ":")
		if _, err := os.Stat(filepath.Join(root, src)); err != nil {
			t.Errorf("grafana mounts %s, which does not exist: %v", src, err)
		}
		mounts[target] = src
	}
	provisioning, ok := mounts["/etc/grafana/provisioning"]
	if !ok {
		t.Fatalf("grafana does not mount a provisioning directory (mounts %v)", mounts)
	}

	datasource := strings.Split(read(filepath.Join(provisioning, "datasources", "clickhouse.yaml")), "\n")
	for key, want := range map[string]string{
		"uid":             datasourceUID,
		"type":            "grafana-clickhouse-datasource",
		"host":            "clickhouse",
		"protocol":        "native",
		"username":        "analyst",
		"defaultDatabase": "leadhouse",
		"password":        "$ANALYST_PASSWORD",
	} {
		if got := value(datasource, key); got != want {
			t.Errorf("data source %s = %q, want %q", key, got, want)
		}
	}
	users := read("deploy/clickhouse/users.xml")
	if !regexp.MustCompile(`(?s)<analyst>\s*<readonly>[12]</readonly>`).MatchString(users) ||
		!strings.Contains(users, "<query>GRANT SELECT ON leadhouse.*</query>") {
		t.Error("deploy/clickhouse/users.xml does not make analyst a read-only user of leadhouse")
	}

	provider := strings.Split(read(filepath.Join(provisioning, "dashboards", "leadhouse.yaml")), "\n")
	dashDir := value(provider, "path")
	src, ok := mounts[dashDir]
	if !ok {
		t.Fatalf("the dashboard provider reads %s, which grafana does not mount (mounts %v)", dashDir, mounts)
	}
	if got, want := filepath.Join(root, src, "leadhouse.json"), filepath.Clean(dashboardFile); filepath.Clean(got) != want {
		t.Errorf("grafana's dashboards come from %s, not the generated %s", got, want)
	}
	if home := value(grafana, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"); home != dashDir+"/leadhouse.json" {
		t.Errorf("home dashboard %q is not the provisioned %s/leadhouse.json", home, dashDir)
	}

	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct {
				Datasource struct{ Type, UID string }
				RawSQL     string `json:"rawSql"`
			}
		}
	}
	if err := json.Unmarshal([]byte(read(filepath.Join(src, "leadhouse.json"))), &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	var sqls []string
	for _, p := range loadPanels(t) {
		sqls = append(sqls, p.sql)
	}
	if len(dash.Panels) != len(sqls) {
		t.Errorf("dashboard has %d panels, sql/panels %d", len(dash.Panels), len(sqls))
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			if tg.Datasource.UID != datasourceUID || tg.Datasource.Type != "grafana-clickhouse-datasource" {
				t.Errorf("panel %q queries data source %+v, not the provisioned %s", p.Title, tg.Datasource, datasourceUID)
			}
			if !slices.Contains(sqls, tg.RawSQL) {
				t.Errorf("panel %q runs SQL that is not in sql/panels", p.Title)
			}
		}
	}
}
