package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.FTD.ListenAddress != ":50051" || c.FTD.Interval != time.Minute || c.Retention != 15*24*time.Hour || c.RetentionSize != 4<<30 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.Value("ftd_interval") != "60s" {
		t.Fatalf("Value(ftd_interval) = %q", c.Value("ftd_interval"))
	}
}

func TestIntervalOutOfRangeIsRefusedWithClearMessage(t *testing.T) {
	for _, v := range []string{"30s", "25h", "90500ms"} {
		_, err := FromEnv(env(map[string]string{"GF_PLUGIN_FTD_INTERVAL": v}))
		if err == nil || !strings.Contains(err.Error(), "ftd_interval") {
			t.Errorf("interval %s: got %v, want an ftd_interval error", v, err)
		}
	}
}

func TestAllProblemsReportedAtOnce(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"GF_PLUGIN_RETENTION": "soon", "GF_PLUGIN_FTD_MAX_TAGS": "0", "GF_PLUGIN_FTD_TLS_CA_FILE": ""}))
	for _, want := range []string{"retention", "ftd_max_tags", "ftd_tls_ca_file"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if keys := BadKeys(err); len(keys) != 3 {
		t.Errorf("BadKeys = %v, want the three refused keys", keys)
	}
}

func TestAllowedNetworks(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"GF_PLUGIN_ALLOWED_NETWORKS": "10.0.0.0/8, 192.0.2.7"}))
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]bool{"10.1.2.3": true, "::ffff:10.1.2.3": true, "192.0.2.7": true, "192.0.2.8": false} {
		if got := c.Allowed(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Allowed(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseBytesAndDuration(t *testing.T) {
	if n, _ := ParseBytes("512MB"); n != 512<<20 {
		t.Errorf("512MB = %d", n)
	}
	if d, _ := ParseDuration("2w"); d != 14*24*time.Hour {
		t.Errorf("2w = %s", d)
	}
	if _, err := ParseBytes("lots"); err == nil {
		t.Error("want an error for lots")
	}
}

func TestOffTurnsAReceiverOff(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"GF_PLUGIN_FTD_LISTEN_ADDRESS": "off", "GF_PLUGIN_FTD_TLS_CA_FILE": ""}))
	if err != nil {
		t.Fatal(err)
	}
	if c.FTD.ListenAddress != "" {
		t.Fatalf("listen address = %q, want none", c.FTD.ListenAddress)
	}
}
