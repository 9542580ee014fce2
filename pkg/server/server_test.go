package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
)

// offByDefault are the listeners a test gets only when it asks: by default
// they listen on every interface (IPFIX :4739, XR :57500 and :57000, INT
// :31337).
var offByDefault = map[string]bool{
	"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": true, "GF_PLUGIN_IPFIX_TCP_LISTEN_ADDRESS": true,
	"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS": true, "GF_PLUGIN_XR_UDP_LISTEN_ADDRESS": true, "GF_PLUGIN_XR_GRPC_LISTEN_ADDRESS": true,
	"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": true,
}

// env serves settings from m, with the listeners of offByDefault off
// unless m turns them on.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		if !ok && offByDefault[k] {
			return "off", true
		}
		return v, ok
	}
}

// A refused FTD setting keeps that receiver off, while the store (and so
// history, dashboards and alerts) still works and the problem is named.
func TestRefusedReceiverSettingKeepsTheRestRunning(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":           t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_FTD_INTERVAL":       "30s",
	}))
	s := Start(cfg, err, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.Store == nil {
		t.Fatalf("store did not open: %v", s.Problems)
	}
	if s.FTD != nil {
		t.Fatal("the FTD receiver started with a refused interval")
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "ftd_interval") {
		t.Fatalf("problems = %v", s.Problems)
	}
}

// A certificate that cannot be read is a start-up problem naming the file,
// not a crash.
func TestMissingCertificatesAreAProblemNotACrash(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":           dir,
		"GF_PLUGIN_FTD_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_FTD_TLS_CERT_FILE":  dir + "/nope.crt",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.FTD != nil || len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "nope.crt") {
		t.Fatalf("FTD=%v problems=%v", s.FTD != nil, s.Problems)
	}
}

// IPFIX on loopback: the flow table and the receiver exist, the listeners
// are on the board, and a shutdown stops the receiver before the store.
func TestIPFIXStartsWithItsFlowTable(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":                 t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":       "off",
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_IPFIX_TCP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_RECORDS_MAX_BYTES":        "16MB",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	if len(s.Problems) > 0 || s.Flows == nil || s.IPFIX == nil {
		t.Fatalf("IPFIX did not start: %v", s.Problems)
	}
	if st := s.Flows.Stats(); st.MaxBytes != 16<<20 {
		t.Fatalf("flow table cap = %d, want records_max_bytes", st.MaxBytes)
	}
	bound := map[string]bool{}
	for _, l := range s.Board.Snapshot().Listeners {
		bound[l.Name] = l.Error == "" && l.Bound != ""
	}
	if !bound["ipfix-udp"] || !bound["ipfix-tcp"] {
		t.Fatalf("listeners = %+v", s.Board.Snapshot().Listeners)
	}
	if err := s.Shutdown(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// A definitions file that does not load turns IPFIX off and says which
// setting is wrong; the rest (the store, FTD) keeps running.
func TestBadDefinitionsFileTurnsIPFIXOff(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "defs.json")
	if err := os.WriteFile(bad, []byte(`[{"pen":39499,"id":1,"name":"x","type":"no-such-type"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":                 dir,
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":       "off",
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_IPFIX_DEFINITIONS_FILE":   bad,
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.Store == nil || s.Flows != nil || s.IPFIX != nil {
		t.Fatalf("store %v, flows %v, receiver %v", s.Store != nil, s.Flows != nil, s.IPFIX != nil)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "ipfix_definitions_file") || !strings.Contains(s.Problems[0].Error(), "defs.json") {
		t.Fatalf("problems = %v", s.Problems)
	}
}
