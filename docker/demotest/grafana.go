package demotest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/query"
	"github.com/netlens/netlens/pkg/server"
)

// Grafana's $__interval for a dashboard's hour on a panel some 1000
// pixels wide: 3.6 s, rounded to its next nice interval.
const (
	PanelInterval      = 5 * time.Second
	PanelMaxDataPoints = 1000
)

// LastHour is a dashboard's "now-1h" to "now" as Grafana asks it: the end
// one panel step past now, so the last step is not cut off.
func LastHour(now time.Time) backend.TimeRange {
	return backend.TimeRange{From: now.Add(-time.Hour), To: now.Add(query.Step(backend.TimeRange{From: now.Add(-time.Hour), To: now}, PanelInterval, PanelMaxDataPoints))}
}

// NewDatasource is the data source instance Grafana makes for the
// provisioned "netlens" data source, on srv.
func NewDatasource(t testing.TB, srv *server.Server) *plugin.Datasource {
	t.Helper()
	inst, err := plugin.NewFactory(srv)(context.Background(), backend.DataSourceInstanceSettings{UID: "netlens", Name: "Netlens"})
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*plugin.Datasource)
}

// Query asks ds one query as a panel (or an alert rule) does.
func Query(t testing.TB, ds *plugin.Datasource, q query.Query, tr backend.TimeRange, interval time.Duration, maxDataPoints int64) backend.DataResponse {
	t.Helper()
	js, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{OrgID: 1},
		Queries:       []backend.DataQuery{{RefID: q.RefID, JSON: js, TimeRange: tr, Interval: interval, MaxDataPoints: maxDataPoints}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Responses[q.RefID]
}

// Resource GETs one of ds's resources and decodes its JSON into out; any
// status but 200 fails the test.
func Resource(t testing.TB, ds *plugin.Datasource, path string, params url.Values, out any) {
	t.Helper()
	var resp *backend.CallResourceResponse
	u := path + "?" + params.Encode()
	err := ds.CallResource(context.Background(), &backend.CallResourceRequest{Path: path, Method: "GET", URL: u},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { resp = r; return nil }))
	if err != nil || resp == nil || resp.Status != 200 {
		if resp != nil {
			t.Fatalf("%s: %v: %d %s", u, err, resp.Status, resp.Body)
		}
		t.Fatalf("%s: %v", u, err)
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		t.Fatal(err)
	}
}

// Dashboard is a provisioned dashboard as the tests read it.
type Dashboard struct {
	UID  string `json:"uid"`
	Time struct {
		From, To string
	} `json:"time"`
	Templating struct {
		List []Variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Name    string          `json:"name"`
			BuiltIn int             `json:"builtIn"`
			Target  json.RawMessage `json:"target"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []Panel `json:"panels"`
}

// Variable is one of a dashboard's template variables.
type Variable struct {
	Type, Name string
	Query      json.RawMessage `json:"query"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// Panel is a dashboard panel, or a row with its collapsed panels.
type Panel struct {
	ID      int               `json:"id"`
	Type    string            `json:"type"`
	Title   string            `json:"title"`
	Targets []json.RawMessage `json:"targets"`
	Panels  []Panel           `json:"panels"` // a collapsed row's
}

// All is every panel, rows and the panels of collapsed rows too.
func (db *Dashboard) All() []Panel {
	var out []Panel
	var walk func([]Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(db.Panels)
	return out
}

// ReadLastHourDashboard reads a provisioned dashboard that opens on the
// last hour, as LastHour asks it; any other time range fails the test.
func ReadLastHourDashboard(t testing.TB, rel string) Dashboard {
	t.Helper()
	var db Dashboard
	ReadJSON(t, rel, &db)
	if db.Time.From != "now-1h" || db.Time.To != "now" {
		t.Fatalf("dashboard time %s to %s: this test asks the last hour", db.Time.From, db.Time.To)
	}
	return db
}

// EachTarget runs check on every target of every panel of db (collapsed
// rows' too) in a subtest of its own, named by panel id and refId; where
// says which target it is. Each target must ask source, and the
// dashboard must have one at least.
func EachTarget(t *testing.T, db *Dashboard, source string, check func(t *testing.T, where string, q query.Query)) {
	t.Helper()
	targets := 0
	for _, p := range db.All() {
		for _, raw := range p.Targets {
			var q query.Query
			if err := json.Unmarshal(raw, &q); err != nil {
				t.Fatalf("panel %d: %v", p.ID, err)
			}
			where := fmt.Sprintf("panel %d %q target %s", p.ID, p.Title, q.RefID)
			if q.Source != source {
				t.Errorf("%s: source %q", where, q.Source)
			}
			targets++
			t.Run(fmt.Sprintf("panel%d%s", p.ID, q.RefID), func(t *testing.T) { check(t, where, q) })
		}
	}
	if targets == 0 {
		t.Fatal("the dashboard has no targets")
	}
}

// Cell is a frame value as text ("" for null).
func Cell(f *data.Field, i int) string {
	if f == nil {
		return ""
	}
	x, ok := f.ConcreteAt(i)
	if !ok || x == nil {
		return ""
	}
	if tm, ok := x.(time.Time); ok {
		return strconv.FormatInt(tm.UnixMilli(), 10)
	}
	return fmt.Sprint(x)
}

// Number is a frame value as a number (false for null, NaN and text).
func Number(f *data.Field, i int) (float64, bool) {
	if f == nil {
		return 0, false
	}
	x, ok := f.ConcreteAt(i)
	if !ok || x == nil {
		return 0, false
	}
	switch v := x.(type) {
	case float64:
		return v, !math.IsNaN(v)
	case float32:
		return float64(v), true
	case int64:
		return float64(v), true
	case int32:
		return float64(v), true
	case int:
		return float64(v), true
	case uint64:
		return float64(v), true
	case uint32:
		return float64(v), true
	case uint16:
		return float64(v), true
	case uint8:
		return float64(v), true
	case bool:
		if v {
			return 1, true
		}
		return 0, true
	case time.Time:
		return float64(v.UnixMilli()), true
	}
	return 0, false
}

// Field is a frame's field of that name, nil if it has none.
func Field(f *data.Frame, name string) *data.Field {
	for _, fl := range f.Fields {
		if fl.Name == name {
			return fl
		}
	}
	return nil
}
