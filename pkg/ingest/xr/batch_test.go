package xr

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
)

// sizeSink records the size of every batch the mapper writes.
type sizeSink struct {
	mu      sync.Mutex
	sizes   []int
	samples int
	err     error
}

func (s *sizeSink) Write(_ context.Context, b *model.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sizes = append(s.sizes, len(b.Samples))
	if s.err != nil {
		return s.err
	}
	s.samples += len(b.Samples)
	return nil
}

func (s *sizeSink) state() (batches, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sizes), s.samples
}

// startMapper runs a receiver whose Handler is a real xrmap.Mapper over
// sink, as the plugin wires it.
func startMapper(t *testing.T, sink *sizeSink) *Receiver {
	t.Helper()
	board := status.NewBoard(nil)
	m := xrmap.New(sink, records.NewTable(xrmap.StateTable, records.Options{}), board, xrmap.Options{})
	cfg := loopbackConfig()
	r, err := New(cfg, nil, m, board, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return r
}

func kvStream(n int) []byte {
	const path = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	var z zrouter
	var stream []byte
	for i := range n {
		msg := mdtKV("r5", "sub1", path, 1700000000000+uint64(i), mdtRow("Gi0/0/0/"+string(rune('0'+i%8)), 10, uint64(i)))
		stream = append(stream, mdtFrame(1, 1, wire.FlagZlib, z.compress(msg))...)
	}
	return stream
}

// Over TCP the messages of one socket read share one store commit, and
// every sample is stored before the receiver waits for the next read.
func TestTCPGroupsAReadIntoOneCommit(t *testing.T) {
	sink := &sizeSink{}
	r := startMapper(t, sink)
	c, err := net.Dial("tcp", r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 200
	if _, err := c.Write(kvStream(n)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every sample stored", func() bool { _, s := sink.state(); return s == n*10 })
	if b, _ := sink.state(); b >= n {
		t.Errorf("%d batches for %d messages sent in one write: not grouped", b, n)
	}
	if r.Drops(DropHandler) != 0 {
		t.Errorf("%d handler drops", r.Drops(DropHandler))
	}
}

// A batch the store refuses counts a handler drop for each of its
// messages, on the router's row, and the connection stays open.
func TestTCPRefusedBatchCountsEveryMessage(t *testing.T) {
	sink := &sizeSink{err: errors.New("wal write failed")}
	r := startMapper(t, sink)
	c, err := net.Dial("tcp", r.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 50
	send(t, c, rand.New(rand.NewPCG(3, 4)), kvStream(n))
	waitFor(t, "every message counted as a drop", func() bool { return r.Drops(DropHandler) == n })
	var row RouterStatus
	for _, rs := range r.Routers() {
		if rs.Device == "r5" {
			row = rs
		}
	}
	if row.Drops[DropHandler] != n {
		t.Errorf("router r5 drops %v, want %d %s", row.Drops, n, DropHandler)
	}
	// The connection is still served: one more message, one more drop.
	sink.mu.Lock()
	sink.err = nil
	sink.mu.Unlock()
	// The zlib stream goes on where the first n messages left it.
	more := kvStream(n + 1)[len(kvStream(n)):]
	if _, err := c.Write(more); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next message stored on the same connection", func() bool { _, s := sink.state(); return s == 10 })
}

// Over UDP a datagram's samples are stored before the next datagram is
// read: nothing waits in the writer between datagrams.
func TestUDPStoresEachDatagram(t *testing.T) {
	sink := &sizeSink{}
	r := startMapper(t, sink)
	u, err := net.Dial("udp", r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	const path = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	for i := range 3 {
		if _, err := u.Write(mdtFrame(1, 1, 0, mdtKV("r6", "s", path, 1700000000000+uint64(i), mdtRow("Gi0", 10, uint64(i))))); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the datagram's samples", func() bool { _, s := sink.state(); return s == (i+1)*10 })
	}
}
