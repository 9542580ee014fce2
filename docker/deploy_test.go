package docker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/netlens/netlens/docker/demotest"
	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	"github.com/netlens/netlens/pkg/query"
)

const dashboardFile = "src/dashboards/ftd-overview.json"

// ftdSeries is what the FTD receiver stores and the simulator sends (the
// series list agreed in the team's notes), with each series' kind. The
// dashboard may only chart these, and rate() only the counters.
var ftdSeries = map[string]string{
	"ftd_cpu_cpu_utilisation":                "gauge",
	"ftd_mem_used_percentage":                "gauge",
	"ftd_mem_used_bytes":                     "gauge",
	"ftd_mem_free_bytes":                     "gauge",
	"ftd_mem_total_bytes":                    "gauge",
	"ftd_interface_input_packets":            "counter",
	"ftd_interface_output_packets":           "counter",
	"ftd_interface_input_bytes":              "counter",
	"ftd_interface_output_bytes":             "counter",
	"ftd_interface_input_errors":             "counter",
	"ftd_interface_output_errors":            "counter",
	"ftd_interface_input_drops":              "counter",
	"ftd_interface_input_rate_bps":           "gauge",
	"ftd_interface_output_rate_bps":          "gauge",
	"ftd_interface_status":                   "gauge",
	"ftd_disk_used_percentage":               "gauge",
	"ftd_disk_free_bytes":                    "gauge",
	"ftd_connections_active_connections":     "gauge",
	"ftd_connections_active_xlates":          "gauge",
	"ftd_connections_active_tcp_connections": "gauge",
	"ftd_connections_active_udp_connections": "gauge",
	"ftd_connections_connections_created":    "counter",
	"ftd_snort_packets_processed":            "counter",
	"ftd_snort_packets_dropped":              "counter",
	"ftd_vpn_active_sessions":                "gauge",
}

// pluginIDs reads the ids of the app and of its nested data source.
func pluginIDs(t *testing.T) (app, ds string) {
	t.Helper()
	var a, d struct{ ID string }
	demotest.ReadJSON(t, "src/plugin.json", &a)
	demotest.ReadJSON(t, "src/datasource/plugin.json", &d)
	return a.ID, d.ID
}

// setOnPurpose lists keys with an empty default that the image sets anyway;
// grafana.ini says why next to each.
var setOnPurpose = map[string]bool{"ipfix_definitions_file": true, "xr_policy_dir": true, "xr_proto_dir": true}

func TestGrafanaIniWritesEverySettingWithItsDefault(t *testing.T) {
	keys := demotest.ImageKeys(t)
	for _, k := range config.Keys {
		v, ok := keys[k.Name]
		switch {
		case k.Default == "" && ok && !setOnPurpose[k.Name]:
			// Fine as a choice, but then the comment saying why it is
			// missing is wrong.
			t.Errorf("%s is set to %q; grafana.ini says keys with empty defaults are left out", k.Name, v)
		case k.Default == "":
		case !ok:
			t.Errorf("%s is missing: without it Grafana cannot override it from GF_PLUGIN_NETLENS_TELEMETRY_DATASOURCE_%s", k.Name, strings.ToUpper(k.Name))
		case v != k.Default:
			t.Errorf("%s = %q, but the backend's default is %q", k.Name, v, k.Default)
		}
		delete(keys, k.Name)
	}
	for k := range keys {
		t.Errorf("%s is not a Netlens setting (config.Keys)", k)
	}
}

func TestGrafanaIniIsAcceptedByTheBackend(t *testing.T) {
	keys := demotest.ImageKeys(t)
	// This is the environment Grafana gives the plugin process.
	env := map[string]string{}
	for k, v := range keys {
		env[config.EnvPrefix+strings.ToUpper(k)] = v
	}
	if _, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
}

// readmeSettings reads the settings table of README.md: key -> default.
func readmeSettings(t *testing.T) map[string]string {
	t.Helper()
	row := regexp.MustCompile("^\\| `([a-z_]+)` \\| (`[^`]*`|\\(empty\\)) \\|")
	out := map[string]string{}
	for _, line := range strings.Split(string(demotest.Read(t, "README.md")), "\n") {
		if m := row.FindStringSubmatch(line); m != nil {
			def := strings.Trim(m[2], "`")
			if m[2] == "(empty)" {
				def = ""
			}
			out[m[1]] = def
		}
	}
	return out
}

func TestReadmeSettingsTableMatchesTheCode(t *testing.T) {
	rows := readmeSettings(t)
	for _, k := range config.Keys {
		def, ok := rows[k.Name]
		if !ok {
			t.Errorf("README lacks a row for %s", k.Name)
			continue
		}
		if def != k.Default {
			t.Errorf("README gives %s the default %q, the code %q", k.Name, def, k.Default)
		}
		delete(rows, k.Name)
	}
	for k := range rows {
		t.Errorf("README documents %s, which is not a setting", k)
	}
}

type composeFile struct {
	Services map[string]struct {
		Build *struct {
			Target string `yaml:"target"`
		} `yaml:"build"`
		Command     []string          `yaml:"command"`
		Ports       []string          `yaml:"ports"`
		Volumes     []string          `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		DependsOn   map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// mountTarget finds the volume or bind mounted at target ("src:target[:ro]").
func mountTarget(volumes []string, target string) (src string, readOnly, ok bool) {
	for _, v := range volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == target {
			return parts[0], len(parts) == 3 && parts[2] == "ro", true
		}
	}
	return "", false, false
}

func TestComposeGivesTheCollectorWhatItsSettingsName(t *testing.T) {
	var c composeFile
	demotest.ReadYAML(t, "docker-compose.yaml", &c)
	keys := demotest.ImageKeys(t)
	g, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("no grafana service")
	}
	if g.Build == nil || g.Build.Target != "grafana" {
		t.Error("grafana must be built from the Dockerfile's grafana target")
	}

	if src, _, ok := mountTarget(g.Volumes, "/etc/grafana/grafana.ini"); !ok || src != "./docker/grafana.ini" {
		t.Errorf("docker/grafana.ini is not mounted as Grafana's config (got %q)", src)
	}
	if src, _, ok := mountTarget(g.Volumes, "/etc/grafana/provisioning"); !ok || src != "./provisioning" {
		t.Errorf("provisioning/ is not mounted (got %q)", src)
	}
	if _, _, ok := mountTarget(g.Volumes, keys["data_dir"]); !ok {
		t.Errorf("nothing keeps data_dir %s across container rebuilds", keys["data_dir"])
	}
	certDir := path.Dir(keys["ftd_tls_cert_file"])
	for _, k := range []string{"ftd_tls_key_file", "ftd_tls_ca_file"} {
		if path.Dir(keys[k]) != certDir {
			t.Errorf("%s is not beside ftd_tls_cert_file in %s", k, certDir)
		}
	}
	vol, ro, ok := mountTarget(g.Volumes, certDir)
	if !ok || !ro {
		t.Fatalf("the certificates' folder %s is not mounted read-only", certDir)
	}

	// The certs service writes into that same volume, and the simulator
	// reads its client side from it.
	certs := c.Services["certs"]
	at, _, ok := mountTarget(certs.Volumes, "/certs")
	if !ok || at != vol {
		t.Errorf("certs writes to %q, grafana reads %q", at, vol)
	}
	if !slices.Contains(certs.Command, "certs") || !slices.Contains(certs.Command, "/certs") {
		t.Errorf("certs service command %v", certs.Command)
	}
	if hosts := certs.Command[slices.Index(certs.Command, "-server-hosts")+1]; !slices.Contains(strings.Split(hosts, ","), "grafana") {
		t.Errorf("the server certificate is not made for the name the simulator dials (grafana): %s", hosts)
	}
	if g.DependsOn["certs"].Condition != "service_completed_successfully" {
		t.Error("grafana must wait for the certificates")
	}

	_, port, err := splitHostPort(keys["ftd_listen_address"])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(g.Ports, port+":"+port) {
		t.Errorf("the FTD port %s is not published (ports %v)", port, g.Ports)
	}
	sim := c.Services["ftd-sim"]
	if !slices.Contains(sim.Command, "-target=grafana:"+port) {
		t.Errorf("the simulator does not dial grafana:%s: %v", port, sim.Command)
	}
	if at, _, _ := mountTarget(sim.Volumes, "/certs"); at != vol {
		t.Errorf("the simulator reads certificates from %q, not %q", at, vol)
	}
	for _, arg := range sim.Command {
		if f, ok := strings.CutPrefix(arg, "-ca="); ok && path.Dir(f) != "/certs" {
			t.Errorf("simulator CA %s is not on the certs volume", f)
		}
	}
	if sim.DependsOn["grafana"].Condition != "service_healthy" {
		t.Error("the simulator must wait until Grafana (and so the collector) is up")
	}
	for name := range map[string]bool{vol: true} {
		if _, ok := c.Volumes[name]; !ok {
			t.Errorf("volume %s is not declared", name)
		}
	}
}

func splitHostPort(addr string) (host, port string, err error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", fmt.Errorf("%q has no port", addr)
	}
	if _, err := strconv.Atoi(addr[i+1:]); err != nil {
		return "", "", fmt.Errorf("%q: port: %w", addr, err)
	}
	return addr[:i], addr[i+1:], nil
}

func TestDockerfileAllowsBothUnsignedPluginIDs(t *testing.T) {
	app, ds := pluginIDs(t)
	re := regexp.MustCompile(`GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS=(\S+)`)
	m := re.FindSubmatch(demotest.Read(t, "Dockerfile"))
	if m == nil {
		t.Fatal("the Dockerfile does not allow the unsigned plugin")
	}
	allowed := strings.Split(string(m[1]), ",")
	for _, id := range []string{app, ds} {
		if !slices.Contains(allowed, id) {
			t.Errorf("%s is not allowed unsigned (%v)", id, allowed)
		}
	}
	if !bytes.Contains(demotest.Read(t, "Dockerfile"), []byte("/var/lib/grafana/plugins/"+app+"/")) {
		t.Errorf("the Dockerfile does not install the plugin as %s", app)
	}
}

func TestProvisioningUsesThePluginsIDs(t *testing.T) {
	app, ds := pluginIDs(t)

	var apps struct {
		Apps []struct {
			Type     string `yaml:"type"`
			Disabled bool   `yaml:"disabled"`
		} `yaml:"apps"`
	}
	demotest.ReadYAML(t, "provisioning/plugins/netlens.yaml", &apps)
	if len(apps.Apps) != 1 || apps.Apps[0].Type != app || apps.Apps[0].Disabled {
		t.Errorf("provisioned apps %+v, want %s enabled", apps.Apps, app)
	}

	var dss struct {
		Datasources []struct {
			Type      string         `yaml:"type"`
			UID       string         `yaml:"uid"`
			IsDefault bool           `yaml:"isDefault"`
			JSONData  map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	demotest.ReadYAML(t, "provisioning/datasources/netlens.yaml", &dss)
	if len(dss.Datasources) != 1 {
		t.Fatalf("%d data sources", len(dss.Datasources))
	}
	d := dss.Datasources[0]
	if d.Type != ds || d.UID != "netlens" || !d.IsDefault || len(d.JSONData) != 0 {
		t.Errorf("provisioned data source %+v", d)
	}

	// The dashboard provider reads the installed plugin's dashboards/, which
	// is where the app's includes point.
	var provs struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	demotest.ReadYAML(t, "provisioning/dashboards/netlens.yaml", &provs)
	if len(provs.Providers) != 1 || provs.Providers[0].Options.Path != "/var/lib/grafana/plugins/"+app+"/dashboards" {
		t.Errorf("dashboard providers %+v", provs.Providers)
	}
	var appJSON struct {
		Includes []struct{ Type, Path string }
	}
	demotest.ReadJSON(t, "src/plugin.json", &appJSON)
	files, err := filepath.Glob(filepath.Join(demotest.Path(t, "src/dashboards"), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards (%v)", err)
	}
	for _, f := range files {
		want := "dashboards/" + filepath.Base(f)
		if !slices.ContainsFunc(appJSON.Includes, func(i struct{ Type, Path string }) bool {
			return i.Type == "dashboard" && i.Path == want
		}) {
			t.Errorf("src/plugin.json does not include %s", want)
		}
	}
}

// target is a panel or alert query: the query model plus what Grafana adds
// around it. Decoding refuses any other field, so a misspelt or renamed
// field of the query model fails here instead of being silently ignored by
// the backend.
type target struct {
	query.Query
	Datasource    json.RawMessage `json:"datasource"`
	IntervalMs    int             `json:"intervalMs"`
	MaxDataPoints int             `json:"maxDataPoints"`
}

func decodeTarget(raw []byte) (target, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var q target
	err := dec.Decode(&q)
	return q, err
}

// variables stands in for what the frontend and the backend substitute
// before PromQL is parsed.
var variables = strings.NewReplacer(
	"$device", ".*",
	"$__rate_interval", "1m",
	"$__interval", "15s",
	"$__range", "30m",
)

// checkTarget checks one query against the query model and the FTD series.
func checkTarget(t *testing.T, where string, q target) {
	t.Helper()
	if q.Source != "ftd" || q.Kind != query.KindSeries {
		t.Errorf("%s: source %q kind %q", where, q.Source, q.Kind)
	}
	switch q.Format {
	case query.FormatTimeSeries, query.FormatTable:
	default:
		t.Errorf("%s: format %q", where, q.Format)
	}
	switch q.EditorMode {
	case query.ModeCode:
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(variables.Replace(q.Expr))
		if err != nil {
			t.Errorf("%s: %s: %v", where, q.Expr, err)
			return
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				if _, known := ftdSeries[vs.Name]; !known {
					t.Errorf("%s: %s is not an FTD series", where, vs.Name)
				}
			}
			return nil
		})
	case query.ModeBuilder:
		kind, known := ftdSeries[q.Metric]
		if !known {
			t.Errorf("%s: %s is not an FTD series", where, q.Metric)
		}
		if !strings.HasPrefix(q.Metric, "ftd_"+q.Family+"_") {
			t.Errorf("%s: %s is not in family %q", where, q.Metric, q.Family)
		}
		if q.Rate != (kind == "counter") {
			t.Errorf("%s: %s is a %s; rate is %v", where, q.Metric, kind, q.Rate)
		}
		if !slices.Contains([]string{"", "sum", "avg", "min", "max", "count"}, q.Aggregation) {
			t.Errorf("%s: aggregation %q", where, q.Aggregation)
		}
		for _, m := range q.Matchers {
			if !slices.Contains([]string{"=", "!=", "=~", "!~"}, m.Op) {
				t.Errorf("%s: matcher %+v", where, m)
			}
		}
	default:
		t.Errorf("%s: editor mode %q", where, q.EditorMode)
	}
}

type variable struct {
	Type       string          `json:"type"`
	Name       string          `json:"name"`
	Query      json.RawMessage `json:"query"`
	Datasource json.RawMessage `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    struct{ X, Y, W, H int }
	Targets    []json.RawMessage `json:"targets"`
}

type dashboard struct {
	UID     string   `json:"uid"`
	Title   string   `json:"title"`
	Tags    []string `json:"tags"`
	Refresh string   `json:"refresh"`
	Time    struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

const dsRef = `{"type":"netlens-telemetry-datasource","uid":"${ds}"}`

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

func TestDashboardQueriesFitTheQueryModel(t *testing.T) {
	var d dashboard
	demotest.ReadJSON(t, dashboardFile, &d)
	if d.UID != "netlens-ftd-overview" || d.Title != "FTD overview" || d.Refresh != "10s" || d.Time.From != "now-30m" {
		t.Errorf("dashboard %q %q refresh %q from %q", d.UID, d.Title, d.Refresh, d.Time.From)
	}
	if !slices.Equal(d.Tags, []string{"netlens", "ftd"}) {
		t.Errorf("tags %v", d.Tags)
	}
	targets := 0
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if !sameJSON(p.Datasource, dsRef) {
			t.Errorf("panel %d %q: data source %s", p.ID, p.Title, p.Datasource)
		}
		for _, raw := range p.Targets {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			q, err := decodeTarget(raw)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			where += " " + q.RefID
			if !sameJSON(q.Datasource, dsRef) {
				t.Errorf("%s: data source %s", where, q.Datasource)
			}
			// Time series follow new points live; tables and gauges are
			// instant snapshots that the 10 s refresh renews.
			if p.Type == "timeseries" && (!q.Live || q.Instant) {
				t.Errorf("%s: time series queries are live, not instant", where)
			}
			if p.Type != "timeseries" && (q.Live || !q.Instant) {
				t.Errorf("%s: a %s panel takes an instant query", where, p.Type)
			}
			checkTarget(t, where, q)
			targets++
		}
	}
	if targets < 20 {
		t.Errorf("only %d queries were checked", targets)
	}
}

func TestDashboardVariables(t *testing.T) {
	var d dashboard
	demotest.ReadJSON(t, dashboardFile, &d)
	dev := slices.IndexFunc(d.Templating.List, func(v variable) bool { return v.Name == "device" })
	if dev < 0 {
		t.Fatal("no device variable")
	}
	v := d.Templating.List[dev]
	if v.Type != "query" || !v.Multi || !v.IncludeAll || !sameJSON(v.Datasource, dsRef) {
		t.Errorf("device variable %+v", v)
	}
	// The variable query's shape is the frontend's NetlensVariableQuery.
	// A devices query shows hostnames and keeps the uuids as values.
	var vq struct {
		Type, Source string
	}
	if err := json.Unmarshal(v.Query, &vq); err != nil {
		t.Fatal(err)
	}
	if vq.Type != "devices" || vq.Source != "ftd" {
		t.Errorf("device variable query %+v", vq)
	}
	adhoc := slices.IndexFunc(d.Templating.List, func(v variable) bool { return v.Type == "adhoc" })
	if adhoc < 0 || !sameJSON(d.Templating.List[adhoc].Datasource, dsRef) {
		t.Error("no ad-hoc filter variable on the Netlens data source")
	}
}

func TestDashboardLayoutHasNoOverlaps(t *testing.T) {
	var d dashboard
	demotest.ReadJSON(t, dashboardFile, &d)
	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: grid %+v", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
					return
				}
				taken[cell{x, y}] = p.Title
			}
		}
	}
}

func TestAlertRuleAveragesCPUPerDeviceOverFiveMinutes(t *testing.T) {
	var f demotest.RuleFile
	demotest.ReadYAML(t, "provisioning/alerting/netlens-ftd-cpu.yaml", &f)
	if len(f.Groups) != 1 || len(f.Groups[0].Rules) != 1 {
		t.Fatalf("want one group with one rule: %+v", f.Groups)
	}
	g := f.Groups[0]
	if g.Folder == "" || g.Name == "" || g.Interval == "" {
		t.Errorf("group %q folder %q interval %q", g.Name, g.Folder, g.Interval)
	}
	r := g.Rules[0]
	if r.Title != "FTD CPU high" || r.Labels["severity"] != "warning" {
		t.Errorf("rule %q labels %v", r.Title, r.Labels)
	}
	a, threshold := demotest.ThresholdRule(t, r.Title, r.Condition, "mean", r.Data)
	if threshold != 80 {
		t.Errorf("C fires above %v, want > 80", threshold)
	}

	if a.DatasourceUID != "netlens" || a.RelativeTimeRange.From != 300 || a.RelativeTimeRange.To != 0 {
		t.Errorf("A: data source %q, range %+v; want netlens over the last 300 s", a.DatasourceUID, a.RelativeTimeRange)
	}
	raw, err := json.Marshal(a.Model)
	if err != nil {
		t.Fatal(err)
	}
	q, err := decodeTarget(raw)
	if err != nil {
		t.Fatalf("A: %v", err)
	}
	checkTarget(t, "alert A", q)
	expr, err := parser.NewParser(parser.Options{}).ParseExpr(q.Expr)
	if err != nil {
		t.Fatal(err)
	}
	agg, ok := expr.(*parser.AggregateExpr)
	if !ok || agg.Op != parser.AVG || !slices.Equal(agg.Grouping, []string{"device", "hostname"}) {
		t.Errorf("A is %s, want avg by (device, hostname) of the CPU series", q.Expr)
	}

	// The rule points at the dashboard's CPU panel.
	var d dashboard
	demotest.ReadJSON(t, dashboardFile, &d)
	if r.DashboardUID != d.UID {
		t.Errorf("rule links dashboard %q, not %q", r.DashboardUID, d.UID)
	}
	i := slices.IndexFunc(d.Panels, func(p panel) bool { return p.ID == r.PanelID })
	if i < 0 || !strings.Contains(d.Panels[i].Title, "CPU") {
		t.Errorf("rule links panel %d, which is not a CPU panel of the dashboard", r.PanelID)
	}
}

// The image copies provisioning/ to /etc/grafana/provisioning (and compose
// mounts it there), so the definitions file grafana.ini names must be the
// repository's, and it must load.
func TestGrafanaIniDefinitionsFileShipsWithTheImage(t *testing.T) {
	path := demotest.ImageKeys(t)["ipfix_definitions_file"]
	local, ok := demotest.Provisioned(t, path)
	if !ok {
		t.Fatalf("ipfix_definitions_file = %q is not under /etc/grafana/provisioning", path)
	}
	defs, err := ie.LoadDefinitions(local)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs) == 0 {
		t.Fatal("the definitions file is empty")
	}
}
