package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/netlens/netlens/pkg/sim/certs"
)

// pluginBinary is the backend under test: the one mage built into dist/
// when NETLENS_PLUGIN_BINARY names it (the README's test command does), or
// one built from ./pkg for this run.
var pluginBinary string

func TestMain(m *testing.M) {
	code := func() int {
		if p := os.Getenv("NETLENS_PLUGIN_BINARY"); p != "" {
			pluginBinary = p
			return m.Run()
		}
		dir, err := os.MkdirTemp("", "netlens-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		pluginBinary = filepath.Join(dir, "gpx_netlens_"+runtime.GOOS+"_"+runtime.GOARCH)
		cmd := exec.Command("go", "build", "-o", pluginBinary, "github.com/netlens/netlens/pkg")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the plugin binary:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// syncBuffer collects the plugin's stderr for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pluginProcess is a running backend and the clients Grafana would hold.
type pluginProcess struct {
	cmd    *exec.Cmd
	client *goplugin.Client
	data   grpcplugin.DataClient
	diag   grpcplugin.DiagnosticsClient
	res    grpcplugin.ResourceClient
	stream grpcplugin.StreamClient
	stderr *syncBuffer
	pctx   backend.PluginContext
}

// startPlugin launches the binary with env (GF_PLUGIN_* settings) using
// the SDK's handshake, exactly as Grafana's plugin manager does.
func startPlugin(t *testing.T, env map[string]string) *pluginProcess {
	t.Helper()
	cmd := exec.Command(pluginBinary)
	cmd.Env = append(os.Environ(), "GF_PLUGIN_GRPC_ADDRESS_NETLENS_TELEMETRY_DATASOURCE=")
	// IPFIX listens on :4739, XR on :57500 and :57000 and INT on :31337 by
	// default: a test
	// that does not ask for them must not take a port on every interface
	// (or collide with another test).
	for _, k := range []string{"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS", "GF_PLUGIN_IPFIX_TCP_LISTEN_ADDRESS",
		"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS", "GF_PLUGIN_XR_UDP_LISTEN_ADDRESS", "GF_PLUGIN_XR_GRPC_LISTEN_ADDRESS",
		"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS"} {
		if _, ok := env[k]; !ok {
			cmd.Env = append(cmd.Env, k+"=off")
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr := &syncBuffer{}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig: goplugin.HandshakeConfig{
			ProtocolVersion:  grpcplugin.ProtocolVersion,
			MagicCookieKey:   grpcplugin.MagicCookieKey,
			MagicCookieValue: grpcplugin.MagicCookieValue,
		},
		VersionedPlugins: map[int]goplugin.PluginSet{
			grpcplugin.ProtocolVersion: {
				"diagnostics": &grpcplugin.DiagnosticsGRPCPlugin{},
				"resource":    &grpcplugin.ResourceGRPCPlugin{},
				"data":        &grpcplugin.DataGRPCPlugin{},
				"stream":      &grpcplugin.StreamGRPCPlugin{},
			},
		},
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Stderr:           stderr,
		SyncStderr:       io.Discard,
		SyncStdout:       io.Discard,
		StartTimeout:     30 * time.Second,
	})
	t.Cleanup(func() {
		client.Kill()
		if t.Failed() {
			t.Logf("plugin stderr:\n%s", stderr.String())
		}
	})
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("go-plugin handshake with %s: %v\n%s", pluginBinary, err, stderr.String())
	}
	p := &pluginProcess{cmd: cmd, client: client, stderr: stderr}
	for name, dst := range map[string]any{"data": &p.data, "diagnostics": &p.diag, "resource": &p.res, "stream": &p.stream} {
		raw, err := rpc.Dispense(name)
		if err != nil {
			t.Fatalf("dispense %s: %v", name, err)
		}
		switch d := dst.(type) {
		case *grpcplugin.DataClient:
			*d = raw.(grpcplugin.DataClient)
		case *grpcplugin.DiagnosticsClient:
			*d = raw.(grpcplugin.DiagnosticsClient)
		case *grpcplugin.ResourceClient:
			*d = raw.(grpcplugin.ResourceClient)
		case *grpcplugin.StreamClient:
			*d = raw.(grpcplugin.StreamClient)
		}
	}
	p.pctx = backend.PluginContext{
		OrgID:    1,
		User:     &backend.User{Login: "admin", Role: "Admin"},
		PluginID: "netlens-telemetry-datasource",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			UID: "netlens", Name: "Netlens", JSONData: []byte(`{}`), Updated: time.Unix(1, 0),
		},
	}
	return p
}

func (p *pluginProcess) checkHealth(t *testing.T) *backend.CheckHealthResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.diag.CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(p.pctx)})
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	return backend.FromProto().CheckHealthResponse(res)
}

// resource calls CallResource with a GET and decodes the JSON body.
func (p *pluginProcess) resource(t *testing.T, path string, out any) {
	t.Helper()
	p.call(t, "GET", path, out)
}

// call sends a CallResource request as an Admin's browser would.
func (p *pluginProcess) call(t *testing.T, method, path string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	stream, err := p.res.CallResource(ctx, backend.ToProto().CallResourceRequest(&backend.CallResourceRequest{
		PluginContext: p.pctx, Path: path, Method: method, URL: u,
	}))
	if err != nil {
		t.Fatalf("CallResource %s: %v", u, err)
	}
	var body []byte
	code := 0
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("CallResource %s: %v", u, err)
		}
		if msg.Code != 0 {
			code = int(msg.Code)
		}
		body = append(body, msg.Body...)
	}
	if code != 200 {
		t.Fatalf("CallResource %s: status %d: %s", u, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("CallResource %s: %v in %s", u, err, body)
	}
}

func (p *pluginProcess) queryData(t *testing.T, q map[string]any, from, to time.Time) *backend.QueryDataResponse {
	t.Helper()
	raw, _ := json.Marshal(q)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req := &backend.QueryDataRequest{PluginContext: p.pctx, Queries: []backend.DataQuery{{
		RefID: "A", JSON: raw, Interval: time.Second, MaxDataPoints: 1000,
		TimeRange: backend.TimeRange{From: from, To: to},
	}}}
	res, err := p.data.QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	out, err := backend.FromProto().QueryDataResponse(res)
	if err != nil {
		t.Fatalf("QueryData response: %v", err)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes; the loop is
// bounded so a broken plugin fails the test instead of hanging it.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// ftdSetup is a demo PKI on disk and the GF_PLUGIN_* settings that point
// the plugin's FTD receiver at it, listening on a loopback port of the OS'
// choosing.
type ftdSetup struct {
	pki *certs.PKI
	env map[string]string
}

func newFTDSetup(t *testing.T) ftdSetup {
	t.Helper()
	dir := t.TempDir()
	pki, err := certs.NewPKI("Netlens e2e CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	if err := certs.WriteFiles(certDir, pki, []string{"localhost", "127.0.0.1"}, "firepower-e2e"); err != nil {
		t.Fatal(err)
	}
	return ftdSetup{pki: pki, env: map[string]string{
		"GF_PLUGIN_DATA_DIR":           filepath.Join(dir, "data"),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_FTD_TLS_CERT_FILE":  filepath.Join(certDir, certs.ServerCertFile),
		"GF_PLUGIN_FTD_TLS_KEY_FILE":   filepath.Join(certDir, certs.ServerKeyFile),
		"GF_PLUGIN_FTD_TLS_CA_FILE":    filepath.Join(certDir, certs.CACertFile),
		"GF_PLUGIN_FTD_INTERVAL":       "60s",
	}}
}

type statusBody struct {
	Listeners []struct {
		Name, Bound, Error string
	} `json:"listeners"`
	Devices []struct {
		ID, State string
		Batches   uint64
	} `json:"devices"`
}

// ftdTarget asks the running plugin where its FTD receiver listens. It is
// the first call after start: the listener exists before any data source
// instance does.
func (p *pluginProcess) ftdTarget(t *testing.T) string {
	t.Helper()
	var st statusBody
	p.resource(t, "status", &st)
	for _, l := range st.Listeners {
		if l.Name == "ftd" && l.Error == "" {
			return l.Bound
		}
	}
	t.Fatalf("no bound FTD listener in %+v", st.Listeners)
	return ""
}
