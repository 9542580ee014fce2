package server

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

// The receiver's exporter health reaches the series store: a simulated
// exporter's records and its sequence gap are queryable by device.
func TestIPFIXExporterHealthIsInTheStore(t *testing.T) {
	cfg, err := config.FromEnv(env(map[string]string{
		"GF_PLUGIN_DATA_DIR":                 t.TempDir(),
		"GF_PLUGIN_FTD_LISTEN_ADDRESS":       "off",
		"GF_PLUGIN_IPFIX_UDP_LISTEN_ADDRESS": "127.0.0.1:0",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := Start(cfg, nil, log.NewNullLogger())
	defer s.Shutdown(5 * time.Second)
	if len(s.Problems) > 0 || s.IPFIX == nil {
		t.Fatalf("IPFIX did not start: %v", s.Problems)
	}
	addr := s.IPFIX.(interface{ UDPAddr() net.Addr }).UDPAddr()
	const n = 500
	sim, err := ipfixsim.New(ipfixsim.Config{
		Target: addr.String(), Transport: "udp", LocalAddr: "127.0.0.1:0", ODID: 9,
		Rate: 50_000, Count: n, GapAfter: 2, GapRecords: 4, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sim.Run(ctx); err != nil {
		t.Fatal(err)
	}

	// Health is written every 10 s.
	deadline := time.Now().Add(25 * time.Second)
	for {
		recs, err1 := s.Store.InstantQuery(context.Background(), `ipfix_exporter_records_total{device="127.0.0.1/9"}`, time.Now())
		lost, err2 := s.Store.InstantQuery(context.Background(), `ipfix_exporter_lost_records_total{device="127.0.0.1/9"}`, time.Now())
		if err1 == nil && err2 == nil && len(recs) == 1 && len(lost) == 1 && recs[0].F == n {
			if lost[0].F != 4 {
				t.Fatalf("lost records %v, want 4", lost[0].F)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records %v (%v), lost %v (%v)", recs, err1, lost, err2)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
