package xr

import (
	"context"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/pcap"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

// The real IOS XR 24.4 capture replayed over TCP to the receiver as the
// plugin wires it (mapper, series store on disk, xr_state table): every
// numeric leaf of its 44 messages is stored, none is refused. 61,459 is
// what pkg/pipeline/xrmap's capture test counts leaf by leaf from the
// decoded messages (list keys of keyless OpenConfig rows become labels).
func TestRealCaptureOverTCPIntoTheStore(t *testing.T) {
	streams, _, err := pcap.ReadTCPFile("../../decode/xr/mdt/testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap")
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir(), Logger: log.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	// The capture is from October 2024: the state table must take rows of then.
	table := records.NewTable(xrmap.StateTable, records.Options{Now: func() int64 { return 1728034900000 }})
	m := xrmap.New(pipeline.New(st, nil, board), table, board, xrmap.Options{MaxSeriesPerRouter: 100000})
	cfg := loopbackConfig()
	cfg.MaxSeriesPerRouter = 100000
	r, err := New(cfg, nil, m, board, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Serve(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send(t, c, rand.New(rand.NewPCG(7, 8)), streams[0].Data)
	deadline := time.Now().Add(20 * time.Second)
	for st.Stats().SamplesAppended < 61459 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s := st.Stats()
	if s.SamplesAppended != 61459 || s.Rejected.Total() != 0 {
		t.Fatalf("store appended %d samples, rejected %+v; want 61459 and none", s.SamplesAppended, s.Rejected)
	}
	var msgs uint64
	for _, rt := range r.Routers() {
		msgs += rt.Messages
		if len(rt.Drops) != 0 {
			t.Errorf("router %s dropped %v", rt.Device, rt.Drops)
		}
	}
	if msgs != 44 {
		t.Errorf("%d messages decoded, want 44", msgs)
	}
	if ts := table.Stats(); ts.Rows == 0 {
		t.Errorf("no xr_state rows: %+v", ts)
	}
}
