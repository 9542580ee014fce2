package server

import (
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
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
