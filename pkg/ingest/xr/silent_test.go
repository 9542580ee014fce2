package xr

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// offline is a receiver without sockets, fed through HandleFrame.
func offline(t *testing.T, cfg config.XR, h Handler, opts ...Option) (*Receiver, *clock) {
	t.Helper()
	clk := &clock{t: time.UnixMilli(1_700_000_000_000)}
	r, err := New(cfg, nil, h, status.NewBoard(clk.now), nil, append(opts, withClock(clk.now))...)
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func jsonFrame(b []byte) wire.Frame {
	return wire.Frame{Gen: wire.GenPDTv2, Type: 2, Encoding: wire.EncodingJSON, Payload: b}
}

var r1 = netip.MustParseAddrPort("10.0.0.1:40000")
var r2 = netip.MustParseAddrPort("10.0.0.2:40000")

// A group is silent for a router three periods after its last message; a
// group nobody sent is silent three periods after the policy was loaded.
func TestSilentGroups(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Demo.policy", demoPolicy) // Fast 10 s, Medium 30 s
	h := &collector{}
	r, clk := offline(t, config.XR{PolicyDir: dir}, h)
	ctx := context.Background()
	t0 := clk.now().UnixMilli()

	if err := r.HandleFrame(ctx, "tcp", r1, jsonFrame(pdtJSON("Demo", "demo-ident", "Gi0", 1))); err != nil {
		t.Fatal(err)
	}
	if err := r.HandleFrame(ctx, "tcp", r2, jsonFrame(pdtJSON("Demo", "demo-ident", "Gi0", 1))); err != nil {
		t.Fatal(err)
	}
	if got := r.SilentGroups(t0 + 30_000); len(got) != 0 {
		t.Fatalf("silent after exactly three periods: %+v", got)
	}
	clk.add(20 * time.Second)
	r.HandleFrame(ctx, "tcp", r2, jsonFrame(pdtJSON("Demo", "demo-ident", "Gi0", 2)))
	want := []SilentGroup{{Router: "10.0.0.1", Policy: "Demo", Group: "Fast", Period: 10 * time.Second, LastSeenMs: t0, SinceMs: t0}}
	if got := r.SilentGroups(t0 + 30_001); !reflect.DeepEqual(got, want) {
		t.Fatalf("at 30.001 s\n got %+v\nwant %+v", got, want)
	}
	got := r.SilentGroups(t0 + 90_001)
	want = []SilentGroup{
		{Router: "10.0.0.1", Policy: "Demo", Group: "Fast", Period: 10 * time.Second, LastSeenMs: t0, SinceMs: t0},
		{Router: "10.0.0.2", Policy: "Demo", Group: "Fast", Period: 10 * time.Second, LastSeenMs: t0 + 20_000, SinceMs: t0 + 20_000},
		{Policy: "Demo", Group: "Medium", Period: 30 * time.Second, SinceMs: t0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("at 90.001 s\n got %+v\nwant %+v", got, want)
	}
	// The memory path belongs to Medium: once sent, only its router's silence counts.
	clk.add(70 * time.Second)
	r.HandleFrame(ctx, "tcp", r1, jsonFrame(pdtJSONMemory("Demo", "demo-ident")))
	for _, g := range r.SilentGroups(t0 + 91_000) {
		if g.Group == "Medium" {
			t.Errorf("Medium still silent: %+v", g)
		}
	}
	if m := h.all()[3]; m.sub != "Medium" || m.policy != "Demo" {
		t.Errorf("memory message %+v", m)
	}
}

// Key-value GPB names no policy: the loaded policies name it when one
// alone lists the path, and its group refreshes.
func TestKVMessageTakesItsPolicyAndGroup(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Demo.policy", demoPolicy)
	h := &collector{}
	r, clk := offline(t, config.XR{PolicyDir: dir}, h)
	f := wire.Frame{Gen: wire.GenPDTv2, Type: 4, Encoding: wire.EncodingGPBKV, Payload: pdtKVCounters("Gi0", 3, 1)}
	if err := r.HandleFrame(context.Background(), "tcp", r1, f); err != nil {
		t.Fatal(err)
	}
	if m := h.all()[0]; m.policy != "Demo" || m.sub != "Fast" || m.node != "10.0.0.1" {
		t.Errorf("%+v", m)
	}
	for _, g := range r.SilentGroups(clk.now().UnixMilli() + 29_000) {
		if g.Group == "Fast" {
			t.Errorf("Fast was sent: %+v", g)
		}
	}
}

// MDT has no policy: a router silent past xr_router_timeout shows stopped,
// and the board hears it connected, then disconnected.
func TestRouterTimeout(t *testing.T) {
	h := &collector{}
	r, clk := offline(t, config.XR{RouterTimeout: time.Minute}, h)
	f := wire.Frame{Gen: wire.GenMDT, Type: 1, Encoding: wire.EncodingGPB, Payload: mdtKV("r7", "s", "a/b", 1, mdtRow("Gi0", 2, 1))}
	if err := r.HandleFrame(context.Background(), "grpc", r1, f); err != nil {
		t.Fatal(err)
	}
	r.tick(false)
	if rs := r.Routers(); len(rs) != 1 || rs[0].Stopped || rs[0].Transports[0] != "grpc" {
		t.Fatalf("%+v", rs)
	}
	clk.add(61 * time.Second)
	r.tick(false)
	if rs := r.Routers(); !rs[0].Stopped {
		t.Fatalf("%+v", rs)
	}
	var types []status.EventType
	for _, ev := range r.board.Events(time.Time{}, clk.now().Add(time.Hour), nil) {
		if ev.Device == "r7" {
			types = append(types, ev.Type)
		}
	}
	if len(types) < 2 || types[0] != status.EventConnected || types[len(types)-1] != status.EventDisconnected {
		t.Errorf("board events %v", types)
	}
}

// A handler that refuses a message makes a counted drop, not a closed connection.
func TestHandlerErrorCounted(t *testing.T) {
	h := &collector{err: errors.New("store full")}
	r, _ := offline(t, config.XR{}, h)
	err := r.HandleFrame(context.Background(), "tcp", r1, jsonFrame(pdtJSON("P", "r8", "Gi0", 1)))
	if err == nil || r.Drops(DropHandler) != 1 || r.Routers()[0].Drops[DropHandler] != 1 {
		t.Errorf("err %v, drops %d %+v", err, r.Drops(DropHandler), r.Routers())
	}
	// And a decoding error is the decoder's reason on the router last heard from the address.
	err = r.HandleFrame(context.Background(), "tcp", r1, jsonFrame([]byte(`[1,`)))
	if err == nil || r.Routers()[0].Drops["bad_json"] != 1 {
		t.Errorf("err %v, %+v", err, r.Routers())
	}
	err = r.HandleFrame(context.Background(), "tcp", r1, wire.Frame{Gen: wire.GenMDT, Type: 1, Payload: []byte("x")})
	if err == nil || r.Drops(DropUnknownEncoding) != 1 {
		t.Errorf("err %v", err)
	}
}

// Health series: per router messages, bytes, drops by reason and silence,
// receiver drops, and group silence, every 10 s.
func TestHealthSeries(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Demo.policy", demoPolicy)
	sink := &batchSink{}
	r, clk := offline(t, config.XR{PolicyDir: dir}, &collector{}, WithSeries(sink))
	ctx := context.Background()
	b := pdtJSON("Demo", "rr", "Gi0", 1)
	r.HandleFrame(ctx, "tcp", r1, jsonFrame(b))
	r.HandleFrame(ctx, "tcp", r1, jsonFrame(b))
	r.HandleFrame(ctx, "tcp", r1, jsonFrame([]byte("{")))
	clk.add(15 * time.Second)
	r.tick(false)
	r.tick(false) // not due again
	if len(sink.batches) != 1 {
		t.Fatalf("%d writes", len(sink.batches))
	}
	vals := map[string]float64{}
	for _, s := range sink.batches[0].Samples {
		// The store refuses labels out of name order.
		if !slices.IsSortedFunc(s.Labels, func(a, b model.Label) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("%s labels not sorted: %v", s.Name, s.Labels)
		}
		key := s.Name + "{"
		for i, l := range s.Labels {
			if i > 0 {
				key += ", "
			}
			key += l.Name + "=" + strconv.Quote(l.Value)
		}
		vals[key+"}"] = s.Value
	}
	want := map[string]float64{
		SeriesMessages + `{device="rr"}`:                       2,
		SeriesBytes + `{device="rr"}`:                          float64(2 * len(b)),
		SeriesDrops + `{device="rr", reason="bad_json"}`:       1,
		SeriesSilence + `{device="rr"}`:                        15,
		SeriesReceiverDrops + `{reason="bad_json"}`:            1,
		SeriesReceiverDrops + `{reason="not_allowed"}`:         0,
		SeriesGroupSilence + `{group="Fast", policy="Demo"}`:   15,
		SeriesGroupSilence + `{group="Medium", policy="Demo"}`: 15,
		SeriesGroupPeriod + `{group="Fast", policy="Demo"}`:    10,
		SeriesGroupPeriod + `{group="Medium", policy="Demo"}`:  30,
	}
	for k, v := range want {
		if got, ok := vals[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if d := sink.batches[0].Device; d.Source != model.SourceXR {
		t.Errorf("batch device %+v", d)
	}
}

type batchSink struct {
	batches []*model.Batch
}

func (s *batchSink) Write(_ context.Context, b *model.Batch) error {
	s.batches = append(s.batches, b)
	return nil
}
