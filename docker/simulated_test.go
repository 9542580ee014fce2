package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/netlens/netlens/docker/demotest"
	"github.com/netlens/netlens/pkg/plugin"
	"github.com/netlens/netlens/pkg/server"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
)

// demo is the compose demo in one process: the collector configured from
// the image's grafana.ini, two simulated FTD devices streaming to it, and a
// data source instance with the provisioned uid to query it.
type demo struct {
	ds      *plugin.Datasource
	devices []string // uuids
}

func startDemo(t *testing.T) *demo {
	t.Helper()
	srv, pki := startCollector(t)
	if srv.FTD == nil {
		t.Fatal("the FTD receiver did not start")
	}

	clientTLS, err := pki.ClientTLS(certs.DefaultClientCN)
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{devices: []string{"7eb19498-2519-11ef-a8dd-b74b4d43a7e7", "0d6f3c2a-91b4-11ef-8a5e-5f0c2a7d1e44"}}
	ctx, cancel := context.WithCancel(context.Background())
	var sims []*ftdsim.Device
	done := make(chan error, len(d.devices))
	for i, uuid := range d.devices {
		dev, err := ftdsim.New(ftdsim.Config{
			Target: srv.FTD.Addr().String(), TLS: clientTLS,
			UUID: uuid, Hostname: fmt.Sprintf("firepower-%d", i+1),
			Interfaces: 4, CPUs: 2,
			SpeedUp: 120, // a batch every half second
			Seed:    int64(i + 1),
		})
		if err != nil {
			t.Fatal(err)
		}
		sims = append(sims, dev)
		go func() { done <- dev.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range sims {
			<-done
		}
	})
	// rate() needs several points; four batches per device give them.
	deadline := time.Now().Add(30 * time.Second)
	for _, dev := range sims {
		for dev.Stats().BatchesAcked < 4 {
			if time.Now().After(deadline) {
				t.Fatalf("devices did not stream: %+v", dev.Stats())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	d.ds = demotest.NewDatasource(t, srv)
	return d
}

// startCollector starts the collector with the image's grafana.ini
// settings, this machine's paths and loopback ports chosen by the OS, and
// writes the demo certificates its FTD receiver needs. It is stopped when
// the test ends.
func startCollector(t *testing.T) (*server.Server, *certs.PKI) {
	t.Helper()
	dir := t.TempDir()

	// The image's settings, with this machine's paths. The certificates keep
	// the file names grafana.ini gives them, which must be the ones
	// netlens-sim certs writes.
	keys := demotest.ImageKeys(t)
	certDir := filepath.Join(dir, "certs")
	keys["data_dir"] = filepath.Join(dir, "data")
	keys["ftd_listen_address"] = "127.0.0.1:0"
	keys["ipfix_udp_listen_address"] = "127.0.0.1:0"
	keys["ipfix_tcp_listen_address"] = "127.0.0.1:0"
	keys["int_udp_listen_address"] = "127.0.0.1:0"
	for _, k := range []string{"xr_tcp_listen_address", "xr_udp_listen_address", "xr_grpc_listen_address"} {
		keys[k] = "127.0.0.1:0"
	}
	// The image's XR policy and proto folders are the repository's
	// provisioning/xr, copied in.
	for _, k := range []string{"xr_policy_dir", "xr_proto_dir", "ipfix_definitions_file"} {
		local, ok := demotest.Provisioned(t, keys[k])
		if !ok {
			t.Fatalf("%s = %q is not under /etc/grafana/provisioning", k, keys[k])
		}
		keys[k] = local
	}
	for _, k := range []string{"ftd_tls_cert_file", "ftd_tls_key_file", "ftd_tls_ca_file"} {
		keys[k] = filepath.Join(certDir, path.Base(keys[k]))
	}
	pki, err := certs.NewPKI("Netlens demo test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := certs.WriteFiles(certDir, pki, []string{"localhost", "127.0.0.1"}, certs.DefaultClientCN); err != nil {
		t.Fatal(err)
	}
	srv := demotest.StartCollector(t, keys, 2*time.Second)
	return srv, pki
}

// allDevices is what the frontend makes of $device with "All" selected: the
// variable's custom all value, which Grafana passes on unformatted.
func allDevices(t *testing.T) *strings.Replacer {
	t.Helper()
	var dash dashboard
	demotest.ReadJSON(t, dashboardFile, &dash)
	i := slices.IndexFunc(dash.Templating.List, func(v variable) bool { return v.Name == "device" })
	if i < 0 || dash.Templating.List[i].AllValue == "" {
		t.Fatal("the device variable has no custom all value")
	}
	return strings.NewReplacer(`$device`, dash.Templating.List[i].AllValue)
}

func (d *demo) query(t *testing.T, raw json.RawMessage, from, to time.Time, interval time.Duration) backend.DataResponse {
	t.Helper()
	var q map[string]any
	if err := json.Unmarshal([]byte(allDevices(t).Replace(string(raw))), &q); err != nil {
		t.Fatal(err)
	}
	delete(q, "datasource")
	js, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	refID, _ := q["refId"].(string)
	res, err := d.ds.QueryData(context.Background(), &backend.QueryDataRequest{
		PluginContext: backend.PluginContext{OrgID: 1, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: "netlens"}},
		Queries: []backend.DataQuery{{
			RefID: refID, JSON: js, TimeRange: backend.TimeRange{From: from, To: to},
			Interval: interval, MaxDataPoints: 1000,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Responses[refID]
}

// valueFields are a response's numeric fields that hold at least one value.
func valueFields(frames data.Frames) []*data.Field {
	var out []*data.Field
	for _, f := range frames {
		for _, fld := range f.Fields {
			if fld.Type() != data.FieldTypeFloat64 && fld.Type() != data.FieldTypeNullableFloat64 {
				continue
			}
			for i := range fld.Len() {
				if v, ok := fld.ConcreteAt(i); ok && v != nil {
					out = append(out, fld)
					break
				}
			}
		}
	}
	return out
}

func TestEveryDashboardQueryShowsTheSimulatedDevices(t *testing.T) {
	d := startDemo(t)
	var dash dashboard
	demotest.ReadJSON(t, dashboardFile, &dash)
	now := time.Now()
	for _, p := range dash.Panels {
		for _, raw := range p.Targets {
			var head struct{ RefID string }
			if err := json.Unmarshal(raw, &head); err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("panel %d %q %s", p.ID, p.Title, head.RefID)
			// The dashboard's default range, at Grafana's interval for it.
			r := d.query(t, raw, now.Add(-30*time.Minute), now.Add(time.Second), 2*time.Second)
			if r.Error != nil {
				t.Errorf("%s: %v", where, r.Error)
				continue
			}
			fields := valueFields(r.Frames)
			if len(fields) == 0 {
				t.Errorf("%s: no values", where)
				continue
			}
			devices := map[string]bool{}
			for _, f := range fields {
				devices[f.Labels["device"]] = true
			}
			for _, id := range d.devices {
				if !devices[id] {
					t.Errorf("%s: nothing for device %s (labels seen: %v)", where, id, devices)
				}
			}
			// The status table names its columns after the "metric" label
			// the queries add with label_replace.
			if p.Type == "table" {
				for _, f := range fields {
					if f.Labels["metric"] == "" || f.Labels["hostname"] == "" {
						t.Errorf("%s: value without metric or hostname label: %v", where, f.Labels)
					}
				}
			}
		}
	}
}

func TestStatusTableLastBatchIsRecent(t *testing.T) {
	d := startDemo(t)
	var dash dashboard
	demotest.ReadJSON(t, dashboardFile, &dash)
	i := slices.IndexFunc(dash.Panels, func(p panel) bool { return p.Type == "table" })
	if i < 0 {
		t.Fatal("no status table")
	}
	now := time.Now()
	found := false
	for _, raw := range dash.Panels[i].Targets {
		if !strings.Contains(string(raw), "Last batch") {
			continue
		}
		found = true
		r := d.query(t, raw, now.Add(-30*time.Minute), now.Add(time.Second), 2*time.Second)
		for _, f := range valueFields(r.Frames) {
			v, _ := f.ConcreteAt(f.Len() - 1)
			ms, _ := v.(float64)
			// Milliseconds since the epoch, within the last minute: what the
			// column's "from now" unit expects.
			if age := now.Sub(time.UnixMilli(int64(ms))); age < -time.Second || age > time.Minute {
				t.Errorf("last batch of %s is %s old (%v)", f.Labels["hostname"], age, strconv.FormatFloat(ms, 'f', 0, 64))
			}
		}
	}
	if !found {
		t.Fatal("no Last batch column")
	}
}

func TestAlertQueryGivesOneSeriesPerDevice(t *testing.T) {
	d := startDemo(t)
	var f demotest.RuleFile
	demotest.ReadYAML(t, "provisioning/alerting/netlens-ftd-cpu.yaml", &f)
	a := f.Groups[0].Rules[0].Data[0]
	raw, err := json.Marshal(a.Model)
	if err != nil {
		t.Fatal(err)
	}
	// Evaluated the way the rule's next evaluation sees it. The store holds
	// only a few seconds of data, and the query's 15 s steps are aligned to
	// multiples of 15 s, so the range ends one step ahead: then a step falls
	// after the first batch, as it always does once devices have streamed
	// for a while.
	end := time.Now().Add(15 * time.Second)
	r := d.query(t, raw, end.Add(-time.Duration(a.RelativeTimeRange.From)*time.Second), end, 15*time.Second)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	var got []string
	for _, fld := range valueFields(r.Frames) {
		got = append(got, fld.Labels["device"]+"/"+fld.Labels["hostname"])
	}
	slices.Sort(got)
	want := []string{d.devices[1] + "/firepower-2", d.devices[0] + "/firepower-1"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("alert instances %v, want %v", got, want)
	}
}

func TestDeviceVariableListsTheDevices(t *testing.T) {
	d := startDemo(t)
	var dash dashboard
	demotest.ReadJSON(t, dashboardFile, &dash)
	v := dash.Templating.List[slices.IndexFunc(dash.Templating.List, func(v variable) bool { return v.Name == "device" })]
	var vq struct{ Source string }
	if err := json.Unmarshal(v.Query, &vq); err != nil {
		t.Fatal(err)
	}
	// The request the frontend's devices variable query makes; it shows
	// each hostname and uses the uuid as the value.
	var body []byte
	status := 0
	err := d.ds.CallResource(context.Background(), &backend.CallResourceRequest{
		PluginContext: backend.PluginContext{OrgID: 1, DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{UID: "netlens"}},
		Path:          "devices", Method: "GET", URL: "devices?" + url.Values{"source": {vq.Source}}.Encode(),
	}, backend.CallResourceResponseSenderFunc(func(res *backend.CallResourceResponse) error {
		status, body = res.Status, append(body, res.Body...)
		return nil
	}))
	if err != nil || status != 200 {
		t.Fatalf("devices: %d %s %v", status, body, err)
	}
	var out struct {
		Devices []struct{ ID, Hostname string }
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, dev := range out.Devices {
		got = append(got, dev.ID+"/"+dev.Hostname)
	}
	slices.Sort(got)
	want := []string{d.devices[0] + "/firepower-1", d.devices[1] + "/firepower-2"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("device variable offers %v, want %v", got, want)
	}
}
