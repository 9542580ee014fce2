package config

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
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

func TestIPFIXSettings(t *testing.T) {
	env := map[string]string{
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": ":2055",
		"GF_PLUGIN_IPFIX_TCP_LISTEN_ADDRESS": "off",
		"GF_PLUGIN_IPFIX_SAMPLING_OVERRIDE":  "192.0.2.7=1000, 10.1.0.0/16=512,10.1.2.0/24=64",
		"GF_PLUGIN_IPFIX_ALLOWED_NETWORKS":   "10.0.0.0/8",
		"GF_PLUGIN_ALLOWED_NETWORKS":         "192.0.2.0/24",
	}
	c, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if c.IPFIX.UDPListenAddress != ":2055" || c.IPFIX.TCPListenAddress != "" {
		t.Fatalf("listeners %q %q", c.IPFIX.UDPListenAddress, c.IPFIX.TCPListenAddress)
	}
	for addr, want := range map[string]uint64{"192.0.2.7": 1000, "10.1.9.9": 512, "10.1.2.3": 64, "::ffff:10.1.2.3": 64} {
		if got, ok := c.IPFIX.SamplingOverrideFor(netip.MustParseAddr(addr)); !ok || got != want {
			t.Errorf("override for %s = %d %v, want %d", addr, got, ok, want)
		}
	}
	if _, ok := c.IPFIX.SamplingOverrideFor(netip.MustParseAddr("192.0.2.8")); ok {
		t.Error("192.0.2.8 has no override")
	}
	if !c.AllowedIPFIX(netip.MustParseAddr("10.9.9.9")) || c.AllowedIPFIX(netip.MustParseAddr("192.0.2.7")) {
		t.Error("the IPFIX list must replace the global one")
	}
	if c.RecordsMaxBytes != 512<<20 {
		t.Errorf("records_max_bytes default = %d", c.RecordsMaxBytes)
	}
}

func TestIPFIXSettingsRefused(t *testing.T) {
	env := map[string]string{
		"GF_PLUGIN_IPFIX_SAMPLING_OVERRIDE": "192.0.2.7=0",
		"GF_PLUGIN_IPFIX_WORKERS":           "0",
	}
	_, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	got := BadKeys(err)
	if len(got) != 2 || got[0] != "ipfix_workers" && got[1] != "ipfix_workers" {
		t.Fatalf("bad keys %v (%v)", got, err)
	}
}

// INT takes NX-OS's defaults: reports on UDP 31337, INT marked by DSCP bit
// 1 (the flow profile's default "dscp 1"), no port marker.
func TestINTDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	i := c.INT
	if i.UDPListenAddress != ":31337" || i.DSCP != 1 || i.DSCPMask != 1 || len(i.Ports) != 0 {
		t.Fatalf("INT defaults: %+v", i)
	}
	if i.Sockets != 2 || i.Workers != 2 || i.QueueDatagrams != 16384 || i.ReadBufferBytes != 32<<20 || i.MaxHops != MaxINTHops || i.SwitchTimeout != 5*time.Minute {
		t.Fatalf("INT defaults: %+v", i)
	}
	if c.Value("int_dscp") != "0x01/0x01" {
		t.Fatalf("Value(int_dscp) = %q", c.Value("int_dscp"))
	}
}

func TestINTSettings(t *testing.T) {
	for _, c := range []struct {
		dscp, ports     string
		value, mask     uint8
		wantPorts       []uint16
		udp, listenWant string
	}{
		{"0x20/0x20", "", 0x20, 0x20, nil, "127.0.0.1:9555", "127.0.0.1:9555"},
		{"63", "5000, 6000", 63, 0x3f, []uint16{5000, 6000}, "off", ""},
		{"1/1", "4789", 1, 1, []uint16{4789}, ":31337", ":31337"},
		{"off", "5000", 0, 0, []uint16{5000}, "OFF", ""},
		{"0x17", "", 0x17, 0x3f, nil, "[::1]:0", "[::1]:0"}, // the P4 INT spec's example value, as a whole DSCP
	} {
		cfg, err := FromEnv(env(map[string]string{
			"GF_PLUGIN_INT_DSCP":               c.dscp,
			"GF_PLUGIN_INT_PORTS":              c.ports,
			"GF_PLUGIN_INT_UDP_LISTEN_ADDRESS": c.udp,
			"GF_PLUGIN_INT_ALLOWED_NETWORKS":   "10.0.0.0/8",
			"GF_PLUGIN_ALLOWED_NETWORKS":       "192.0.2.0/24",
		}))
		if err != nil {
			t.Fatalf("%s %s: %v", c.dscp, c.ports, err)
		}
		i := cfg.INT
		if i.DSCP != c.value || i.DSCPMask != c.mask || fmt.Sprint(i.Ports) != fmt.Sprint(c.wantPorts) || i.UDPListenAddress != c.listenWant {
			t.Errorf("int_dscp %q int_ports %q listen %q: got %#x/%#x %v %q", c.dscp, c.ports, c.udp, i.DSCP, i.DSCPMask, i.Ports, i.UDPListenAddress)
		}
		if a := cfg.AllowedINTNetworks(); len(a) != 1 || a[0].String() != "10.0.0.0/8" {
			t.Errorf("INT allow-list %v, want its own list over the global one", a)
		}
	}
	cfg, err := FromEnv(env(map[string]string{"GF_PLUGIN_ALLOWED_NETWORKS": "192.0.2.0/24"}))
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.AllowedINTNetworks(); len(a) != 1 || a[0].String() != "192.0.2.0/24" {
		t.Errorf("INT allow-list %v, want the global one when int_allowed_networks is empty", a)
	}
}

// Every refused INT value is named by its key, all in one error.
func TestINTSettingsRefused(t *testing.T) {
	bad := map[string]string{
		"int_allowed_networks":  "10.0.0.0/33",
		"int_sockets":           "0",
		"int_workers":           "many",
		"int_queue_datagrams":   "8",
		"int_read_buffer_bytes": "2GB",
		"int_dscp":              "0x03/0x01",
		"int_ports":             "80,70000",
		"int_max_hops":          "33",
		"int_switch_timeout":    "5s",
	}
	m := map[string]string{}
	for k, v := range bad {
		m["GF_PLUGIN_"+strings.ToUpper(k)] = v
	}
	_, err := FromEnv(env(m))
	got := BadKeys(err)
	slices.Sort(got)
	want := slices.Sorted(maps.Keys(bad))
	if !slices.Equal(got, want) {
		t.Fatalf("bad keys %v, want %v (%v)", got, want, err)
	}
	for _, v := range []string{"64", "0x40/0x40", "1/0", "/1", "0x01/", "dscp1"} {
		_, err := FromEnv(env(map[string]string{"GF_PLUGIN_INT_DSCP": v}))
		if keys := BadKeys(err); len(keys) != 1 || keys[0] != "int_dscp" {
			t.Errorf("int_dscp %q: %v", v, err)
		}
	}
	for _, v := range []string{"0", "-1", "http", "443;80"} {
		_, err := FromEnv(env(map[string]string{"GF_PLUGIN_INT_PORTS": v}))
		if keys := BadKeys(err); len(keys) != 1 || keys[0] != "int_ports" {
			t.Errorf("int_ports %q: %v", v, err)
		}
	}
}
