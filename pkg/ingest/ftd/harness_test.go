package ftd

import (
	"context"
	"crypto/tls"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
	"github.com/netlens/netlens/pkg/status"
)

// recordingSink keeps every batch; fail makes Write refuse, block makes it
// wait until release is closed (or the context ends).
type recordingSink struct {
	mu      sync.Mutex
	batches []model.Batch
	fail    error
	block   chan struct{}
	entered chan struct{} // gets a value each time Write starts, if set
}

func (s *recordingSink) Write(ctx context.Context, b *model.Batch) error {
	s.mu.Lock()
	fail, block, entered := s.fail, s.block, s.entered
	s.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = append(s.batches, *b)
	return nil
}

func (s *recordingSink) count(device string) (batches, samples int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		if b.Device.ID == device {
			batches++
			samples += len(b.Samples)
		}
	}
	return batches, samples
}

// testEnv is one receiver on 127.0.0.1 with a fresh PKI.
type testEnv struct {
	t     testing.TB
	pki   *certs.PKI
	dir   string
	cfg   config.FTD
	board *status.Board
	sink  *recordingSink
	srv   *Server
	addr  string
}

func testConfig(dir string) config.FTD {
	return config.FTD{
		ListenAddress:   "127.0.0.1:0",
		CertFile:        filepath.Join(dir, certs.ServerCertFile),
		KeyFile:         filepath.Join(dir, certs.ServerKeyFile),
		CAFile:          filepath.Join(dir, certs.CACertFile),
		Interval:        60 * time.Second,
		MaxMessageBytes: 1 << 20,
		MaxTags:         64,
	}
}

func newPKI(t testing.TB, name string) (*certs.PKI, string) {
	t.Helper()
	p, err := certs.NewPKI(name, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := certs.WriteFiles(dir, p, nil, ""); err != nil {
		t.Fatal(err)
	}
	return p, dir
}

// newEnv starts a receiver writing to a recordingSink; tweak may adjust it
// before Start.
func newEnv(t testing.TB, allowed func(netip.Addr) bool, tweak func(*Server)) *testEnv {
	t.Helper()
	sink := &recordingSink{}
	e := newEnvWithSink(t, allowed, tweak, sink)
	e.sink = sink
	return e
}

func newEnvWithSink(t testing.TB, allowed func(netip.Addr) bool, tweak func(*Server), sink pipeline.Sink) *testEnv {
	t.Helper()
	p, dir := newPKI(t, "netlens test CA")
	e := &testEnv{t: t, pki: p, dir: dir, cfg: testConfig(dir), board: status.NewBoard(nil)}
	srv, err := New(e.cfg, allowed, e.board, sink, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(srv)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	e.srv, e.addr = srv, srv.Addr().String()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return e
}

func (e *testEnv) clientTLS(cn string) *tls.Config {
	e.t.Helper()
	c, err := e.pki.ClientTLS(cn)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// device returns a simulated FTD streaming every 50 ms (60 s sped up).
func (e *testEnv) device(uuid, hostname string, tlsCfg *tls.Config) *ftdsim.Device {
	e.t.Helper()
	if tlsCfg == nil {
		tlsCfg = e.clientTLS(hostname)
	}
	d, err := ftdsim.New(ftdsim.Config{
		Target: e.addr, TLS: tlsCfg, UUID: uuid, Hostname: hostname,
		SpeedUp: 1200, RetryAfter: 100 * time.Millisecond, AckTimeout: 5 * time.Second, HandshakeTimeout: 5 * time.Second,
		Seed: 1, Logf: e.t.Logf,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return d
}

// goodDevice keeps a well-behaved device streaming for the whole test, so
// tests can check that a misbehaving peer does not disturb it.
func (e *testEnv) goodDevice() (*ftdsim.Device, string) {
	const uuid = "11111111-2222-4333-8444-555555555555"
	d := e.device(uuid, "good-fw", nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	waitFor(e.t, "the good device's first acked batch", func() bool { return d.Stats().BatchesAcked >= 1 })
	return d, uuid
}

// stillStreaming checks that the good device's batches keep being acked.
func stillStreaming(t *testing.T, d *ftdsim.Device) {
	t.Helper()
	before := d.Stats().BatchesAcked
	waitFor(t, "the good device to keep streaming", func() bool { return d.Stats().BatchesAcked >= before+3 })
	if s := d.Stats(); s.BatchesNacked != 0 || s.Errors != 0 {
		t.Errorf("good device saw errors: %+v", s)
	}
}

// waitFor polls cond every 5 ms for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *testEnv) deviceRecord(id string) (status.Device, bool) {
	for _, d := range e.board.Snapshot().Devices {
		if d.Source == model.SourceFTD && d.ID == id {
			return d, true
		}
	}
	return status.Device{}, false
}

// waitError waits until device id's record has an error of category cat
// and returns its text.
func (e *testEnv) waitError(id string, cat status.Category) string {
	e.t.Helper()
	var msg string
	waitFor(e.t, "a "+string(cat)+" error on "+id, func() bool {
		d, ok := e.deviceRecord(id)
		if !ok || d.Errors[cat] == nil {
			return false
		}
		msg = d.Errors[cat].Last
		return true
	})
	return msg
}

func (e *testEnv) counter(name string) uint64 { return e.board.Snapshot().Counters[name] }

// rawDevice speaks the protocol by hand, to do what a real device would not.
type rawDevice struct {
	t      testing.TB
	conn   *grpc.ClientConn
	client ftdpb.GrpcStreamingServiceClient
	ctx    context.Context
	ctrl   grpc.BidiStreamingClient[ftdpb.ControlResponse, ftdpb.ControlRequest]
	data   grpc.BidiStreamingClient[ftdpb.DataResponse, ftdpb.DataRequest]
}

func (e *testEnv) raw(tlsCfg *tls.Config, opts ...grpc.DialOption) *rawDevice {
	e.t.Helper()
	if tlsCfg == nil {
		tlsCfg = e.clientTLS("raw-fw")
	}
	opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(tlsCfg)))
	conn, err := grpc.NewClient("passthrough:///"+e.addr, opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(func() { cancel(); conn.Close() })
	return &rawDevice{t: e.t, conn: conn, client: ftdpb.NewGrpcStreamingServiceClient(conn), ctx: ctx}
}

func (r *rawDevice) control() grpc.BidiStreamingClient[ftdpb.ControlResponse, ftdpb.ControlRequest] {
	if r.ctrl == nil {
		c, err := r.client.ControlStream(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		r.ctrl = c
	}
	return r.ctrl
}

func (r *rawDevice) dataStream() grpc.BidiStreamingClient[ftdpb.DataResponse, ftdpb.DataRequest] {
	if r.data == nil {
		d, err := r.client.DataStream(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		r.data = d
	}
	return r.data
}

// hello sends a handshake and returns the collector's answer.
func (r *rawDevice) hello(m *ftdpb.ControlResponse) (*ftdpb.ControlRequest, error) {
	if err := r.control().Send(m); err != nil {
		return nil, err
	}
	return r.control().Recv()
}

// send sends one batch and returns its acknowledgement.
func (r *rawDevice) send(b *ftdpb.DataResponse) (*ftdpb.DataRequest, error) {
	// Send reports only io.EOF when the collector ended the stream; Recv
	// returns the status that says why.
	_ = r.dataStream().Send(b)
	return r.dataStream().Recv()
}

func helloFor(uuid string) *ftdpb.ControlResponse {
	return &ftdpb.ControlResponse{Version: "1.0", FtdUuid: uuid, Hostname: "raw-fw", InitStreaming: true, Capabilities: []string{Capability}}
}

func metric(family, desc string, v float64, ts int64, tags ...*ftdpb.Tag) *ftdpb.Metric {
	tags = append(tags, &ftdpb.Tag{Key: "description", Value: desc})
	return &ftdpb.Metric{Timestamp: ts, MetricFamily: family, Value: v, MetricType: "Gauge", Tags: tags}
}

func nowMs() int64 { return time.Now().UnixMilli() }
