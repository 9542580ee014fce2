package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/records"
)

const mdtCounters = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"

// mdtFrame is one model-driven TCP dial-out message: the 12-byte header
// (type 1 data, encap 2 JSON, version 1, no flags, length) and the JSON.
func mdtFrame(js string) []byte {
	b := make([]byte, 12, 12+len(js))
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], 2)
	binary.BigEndian.PutUint16(b[4:], 1)
	binary.BigEndian.PutUint32(b[8:], uint32(len(js)))
	return append(b, js...)
}

// IOS XR on loopback: a router's model-driven JSON over TCP becomes a
// series (numeric leaf, interface name as a label) and an xr_state record
// (string leaf), the listeners are on the board, and Shutdown stops the
// receiver before the store closes.
func TestXRMapsARoutersMessageToSeriesAndState(t *testing.T) {
	policies := t.TempDir()
	policy := `{"Name": "Edge", "CollectionGroups": {"Fast": {"Period": 10,
		"Paths": ["RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"]}}}`
	if err := os.WriteFile(filepath.Join(policies, "Edge.policy"), []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":                 t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":       "off",
		"GF_PLUGIN_XR_POLICY_DIR":            policies,
		"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS":    "127.0.0.1:0",
		"GF_PLUGIN_XR_UDP_LISTEN_ADDRESS":    "127.0.0.1:0",
		"GF_PLUGIN_XR_GRPC_LISTEN_ADDRESS":   "127.0.0.1:0",
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_RECORDS_MAX_BYTES":        "64MB",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	if len(s.Problems) > 0 || s.XR == nil || s.XRState == nil {
		t.Fatalf("XR did not start: %v", s.Problems)
	}
	if x, f := s.XRState.Stats().MaxBytes, s.Flows.Stats().MaxBytes; x != 8<<20 || f != 56<<20 {
		t.Fatalf("record caps: xr_state %d, flows %d; want an eighth and the rest of 64 MiB", x, f)
	}
	tcp := ""
	names := map[string]bool{}
	for _, l := range s.Board.Snapshot().Listeners {
		if l.Error == "" && l.Bound != "" {
			names[l.Name] = true
			if l.Name == "xr-tcp" {
				tcp = l.Bound
			}
		}
	}
	if !names["xr-tcp"] || !names["xr-udp"] || !names["xr-grpc"] {
		t.Fatalf("listeners = %+v", s.Board.Snapshot().Listeners)
	}

	now := time.Now().UnixMilli()
	msg := fmt.Sprintf(`{"node_id_str":"xr-pe1","subscription_id_str":"sub1",
		"encoding_path":%q,
		"collection_id":"1","collection_start_time":"%d","msg_timestamp":"%d",
		"data_json":[{"timestamp":"%d","keys":[{"interface-name":"Gi0/0/0/0"}],
		"content":{"bytes-received":18446744073709551,"packets-received":4242,"state":"up"}}],
		"collection_end_time":"%d"}`, mdtCounters, now, now, now, now)
	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(mdtFrame(strings.Join(strings.Fields(msg), ""))); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := s.Store.InstantQuery(context.Background(), `xr_generic_counters_packets_received{device="xr-pe1",interface_name="Gi0/0/0/0",subscription="sub1"}`, time.Now())
		if err == nil && len(v) == 1 && v[0].F == 4242 && s.XRState.Stats().Rows >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("series %v (%v), xr_state rows %d; routers %+v", v, err, s.XRState.Stats().Rows, s.XR.Routers())
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := s.XRState.Query(context.Background(), records.Query{FromMs: now - 60_000, ToMs: now + 60_000, Limit: 10, Columns: []string{"device", "leaf", "value", "interface_name"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"device": "xr-pe1", "leaf": "state", "value": "up", "interface_name": "Gi0/0/0/0"}
	for _, c := range res.Columns {
		if v, ok := c.Values.([]string); !ok || len(v) != 1 || v[0] != want[c.Name] {
			t.Errorf("xr_state %s = %v, want %q", c.Name, c.Values, want[c.Name])
		}
	}
	if r := s.XR.Routers(); len(r) != 1 || r[0].Device != "xr-pe1" || r[0].Messages != 1 {
		t.Fatalf("routers = %+v", r)
	}
	if p := s.XR.Paths("xr-pe1"); len(p) != 1 || p[0].Subscription != "sub1" {
		t.Fatalf("paths = %+v", p)
	}
	// The policy's group, with its period in seconds as the editor shows it.
	if p := s.XR.Policies(); len(p) != 1 || p[0].Name != "Edge" || len(p[0].Groups) != 1 || p[0].Groups[0].PeriodSeconds != 10 || len(p[0].Problems) != 0 {
		t.Fatalf("policies = %+v", p)
	}
	if l := s.XR.Leaves("xr-pe1", mdtCounters); len(l) != 3 {
		t.Fatalf("leaves = %+v", l)
	}
	conn.Close()
	if err := s.Shutdown(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// A refused XR setting keeps XR off (no listener with a default in its
// place) while the rest runs.
func TestRefusedXRSettingKeepsXROff(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":              t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":    "off",
		"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_XR_MAX_CONNECTIONS":    "0",
	}))
	s := Start(cfg, err, log.NewNullLogger())
	defer s.Shutdown(time.Second)
	if s.Store == nil || s.XR != nil || s.XRState != nil {
		t.Fatalf("store %v, XR %v", s.Store != nil, s.XR != nil)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Error(), "xr_max_connections") {
		t.Fatalf("problems = %v", s.Problems)
	}
}

// Files the operator got wrong are named with their line: a .proto that
// does not compile and a .policy with a period out of range.
func TestXRFileProblemsNameFileAndLine(t *testing.T) {
	policies, protos := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(policies, "Bad.policy"), []byte(`{"Name": "Bad", "CollectionGroups": {"G": {"Period": 2, "Paths": ["RootOper.A.B"]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(protos, "bad.proto"), []byte("syntax = \"proto2\";\n\nmessage Row {\n  optional uint64 x = ;\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":              t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":    "off",
		"GF_PLUGIN_XR_TCP_LISTEN_ADDRESS": "127.0.0.1:0",
		"GF_PLUGIN_XR_POLICY_DIR":         policies,
		"GF_PLUGIN_XR_PROTO_DIR":          protos,
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	defer s.Shutdown(5 * time.Second)
	if s.XR == nil {
		t.Fatalf("XR did not start: %v", s.Problems)
	}
	pol := s.XR.Policies()
	if len(pol) != 1 || pol[0].File != "Bad.policy" || len(pol[0].Problems) != 1 || pol[0].Problems[0].Reason != "bad_period" || !strings.Contains(pol[0].Problems[0].Where, "Period") {
		t.Errorf("policies = %+v", pol)
	}
	pro := s.XR.Protos()
	if len(pro) != 1 || pro[0].File != "bad.proto" || len(pro[0].Problems) != 1 || !strings.HasPrefix(pro[0].Problems[0].Where, "bad.proto:4:") {
		t.Errorf("protos = %+v", pro)
	}
}
