package ftd

import (
	"context"
	"errors"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
	"github.com/netlens/netlens/pkg/status"
)

const badUUID = "99999999-8888-4777-8666-555555555555"

// A simulated FTD completes the handshake, its batches reach the sink with
// the device's labels, and every batch is acknowledged.
func TestSimulatorStreamsAndBatchesAreAcked(t *testing.T) {
	e := newEnv(t, nil, nil)
	d, uuid := e.goodDevice()
	waitFor(t, "three acked batches", func() bool { return d.Stats().BatchesAcked >= 3 })

	batches, samples := e.sink.count(uuid)
	if batches < 3 || samples < 3*400 {
		t.Fatalf("sink has %d batches / %d samples", batches, samples)
	}
	e.sink.mu.Lock()
	first := e.sink.batches[0]
	e.sink.mu.Unlock()
	if first.Device.Hostname != "good-fw" || first.Samples[0].Labels.Get("device") != uuid || first.Samples[0].Labels.Get("hostname") != "good-fw" {
		t.Errorf("first batch %+v", first.Device)
	}
	rec, _ := e.deviceRecord(uuid)
	if rec.State != status.StateConnected || rec.IntervalSec != 60 || rec.Batches < 3 || len(rec.Errors) != 0 {
		t.Errorf("device record %+v", rec)
	}
	if s := d.Stats(); s.Interval != time.Minute || s.Errors != 0 {
		t.Errorf("device stats %+v", s)
	}
	if e.counter(CounterHandshakes) != 1 || e.counter(CounterConnAccepted) < 1 || e.counter(CounterMetricsKept) == 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
}

// A device whose certificate another CA signed never reaches a handler:
// the TLS handshake fails and the board records an auth error for its
// address.
func TestForeignCertificateIsRejectedBeforeAnyHandler(t *testing.T) {
	e := newEnv(t, nil, nil)
	other, _ := newPKI(t, "someone else's CA")
	foreign, err := other.ClientTLS("intruder")
	if err != nil {
		t.Fatal(err)
	}
	foreign.RootCAs = e.pki.Pool() // it trusts us; we must not trust it

	d := e.device(badUUID, "intruder", foreign)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Session(ctx); !errors.Is(err, ftdsim.ErrAuth) {
		t.Fatalf("session error %v, want an auth error", err)
	}
	msg := e.waitError("peer:127.0.0.1", status.CatAuth)
	if !strings.Contains(msg, "TLS handshake failed") {
		t.Errorf("error %q", msg)
	}
	rec, _ := e.deviceRecord("peer:127.0.0.1")
	if rec.State != status.StateRejected {
		t.Errorf("record %+v", rec)
	}
	if _, ok := e.deviceRecord(badUUID); ok {
		t.Error("the intruder's uuid reached the registry")
	}
	if e.counter(CounterTLSFailures) == 0 || e.counter(CounterHandshakes) != 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	if n, _ := e.sink.count(badUUID); n != 0 {
		t.Errorf("%d batches reached the sink", n)
	}
}

func TestPeersOutsideAllowedNetworksAreRefused(t *testing.T) {
	only := netip.MustParsePrefix("192.0.2.0/24")
	e := newEnv(t, func(a netip.Addr) bool { return only.Contains(a) }, nil)
	r := e.raw(nil)
	if ctrl, err := r.client.ControlStream(r.ctx); err == nil {
		if err := ctrl.Send(helloFor(badUUID)); err == nil {
			if _, err := ctrl.Recv(); err == nil {
				t.Fatal("handshake from a refused network succeeded")
			}
		}
	}
	msg := e.waitError("peer:127.0.0.1", status.CatAuth)
	if !strings.Contains(msg, "allowed_networks") {
		t.Errorf("error %q", msg)
	}
	if e.counter(CounterConnRefused) == 0 || e.counter(CounterConnAccepted) != 0 || e.counter(CounterTLSFailures) != 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	_, dir := newPKI(t, "netlens test CA")
	other, otherDir := newPKI(t, "other CA")
	_ = other
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	for _, c := range []struct {
		name string
		mod  func(*config.FTD)
		want string
	}{
		{"interval below a minute", func(c *config.FTD) { c.Interval = 30 * time.Second }, "outside the range"},
		{"interval above a day", func(c *config.FTD) { c.Interval = 25 * time.Hour }, "outside the range"},
		{"interval not whole seconds", func(c *config.FTD) { c.Interval = 90*time.Second + time.Millisecond }, "whole number of seconds"},
		{"no listen address", func(c *config.FTD) { c.ListenAddress = "" }, "turned off"},
		{"no max message size", func(c *config.FTD) { c.MaxMessageBytes = 0 }, "ftd_max_message_bytes"},
		{"missing certificate", func(c *config.FTD) { c.CertFile = filepath.Join(dir, "nope.crt") }, "ftd_tls_cert_file " + filepath.Join(dir, "nope.crt")},
		{"missing key", func(c *config.FTD) { c.KeyFile = filepath.Join(dir, "nope.key") }, "ftd_tls_key_file"},
		{"no CA file set", func(c *config.FTD) { c.CAFile = "" }, "mutual TLS is mandatory"},
		{"key of another certificate", func(c *config.FTD) { c.KeyFile = filepath.Join(otherDir, certs.ServerKeyFile) }, "ftd_tls_key_file " + filepath.Join(otherDir, certs.ServerKeyFile)},
		{"CA file without a certificate", func(c *config.FTD) { c.CAFile = garbage }, "ftd_tls_ca_file " + garbage},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig(dir)
			c.mod(&cfg)
			_, err := New(cfg, nil, status.NewBoard(nil), &recordingSink{}, log.NewNullLogger())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New: %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestStartRecordsTheListener(t *testing.T) {
	e := newEnv(t, nil, nil)
	ls := e.board.Snapshot().Listeners
	if len(ls) != 1 || ls[0].Name != "ftd" || ls[0].Bound != e.addr || ls[0].Error != "" {
		t.Fatalf("listeners %+v", ls)
	}
	// A second receiver on the same port fails and says so on the board.
	cfg := e.cfg
	cfg.ListenAddress = e.addr
	board := status.NewBoard(nil)
	srv, err := New(cfg, nil, board, &recordingSink{}, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil {
		t.Fatal("second Start on a busy port succeeded")
	}
	if ls := board.Snapshot().Listeners; len(ls) != 1 || ls[0].Error == "" {
		t.Errorf("listeners %+v", ls)
	}
}

func TestCertificatesReportExpiry(t *testing.T) {
	p, dir := newPKI(t, "netlens test CA")
	now := time.Now()
	certPEM, keyPEM, err := p.Issue(certs.Server, "localhost", []string{"localhost", "127.0.0.1"}, now.Add(-time.Hour), now.Add(10*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "soon.crt"), certPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "soon.key"), keyPEM, 0o600)
	cfg := testConfig(dir)
	cfg.CertFile, cfg.KeyFile = filepath.Join(dir, "soon.crt"), filepath.Join(dir, "soon.key")
	srv, err := New(cfg, nil, status.NewBoard(nil), &recordingSink{}, log.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	cs := srv.Certificates()
	if len(cs) != 2 || cs[0].Role != "server" || cs[1].Role != "ca" || cs[0].File != cfg.CertFile || !strings.Contains(cs[0].Subject, "localhost") {
		t.Fatalf("certificates %+v", cs)
	}
	if p := cs[0].Problem(now); !strings.HasPrefix(p, "expires in 9 days") && !strings.HasPrefix(p, "expires in 10 days") {
		t.Errorf("server certificate problem %q", p)
	}
	if p := cs[0].Problem(now.Add(11 * 24 * time.Hour)); !strings.HasPrefix(p, "expired on") {
		t.Errorf("a day after expiry: %q", p)
	}
	if p := cs[1].Problem(now); p != "expires in 0 days, on "+cs[1].NotAfter.UTC().Format(time.DateOnly) {
		// The test CA lives one day: it is within the warning window too.
		t.Errorf("CA problem %q", p)
	}
	if p := cs[0].Problem(now.Add(-2 * time.Hour)); !strings.HasPrefix(p, "not valid before") {
		t.Errorf("before validity: %q", p)
	}
}

func TestCollectorCancel(t *testing.T) {
	e := newEnv(t, nil, nil)
	d, uuid := e.goodDevice()
	// A second device, cancelled while the first keeps streaming.
	const other = "22222222-3333-4444-8555-666666666666"
	d2 := e.device(other, "cancel-me", nil)
	ended := make(chan error, 1)
	go func() { ended <- d2.Session(context.Background()) }()
	waitFor(t, "the second device to stream", func() bool { return d2.Stats().BatchesAcked >= 1 })

	if err := e.srv.Cancel(other); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	select {
	case err := <-ended:
		if !errors.Is(err, ftdsim.ErrCancelledByCollector) {
			t.Fatalf("device session ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("device still streaming after the cancel")
	}
	rec, _ := e.deviceRecord(other)
	if rec.State != status.StateDisconnected || rec.StateReason != "cancelled by the collector" {
		t.Errorf("record %+v", rec)
	}
	// The device's history says cancelled, not lost (annotations show it).
	cancelled := e.board.Events(time.Time{}, time.Now(), func(ev *status.Event) bool {
		return ev.Device == other && ev.Type == status.EventCancelled
	})
	if len(cancelled) != 1 {
		t.Errorf("cancel events %+v", cancelled)
	}
	if e.counter(CounterCancelsCollector) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	if err := e.srv.Cancel(other); err == nil {
		t.Error("cancelling a device that is gone succeeded")
	}
	stillStreaming(t, d)
	if rec, _ := e.deviceRecord(uuid); rec.State != status.StateConnected {
		t.Errorf("good device %+v", rec)
	}
}

// A device that never acknowledges the cancel is cut off after the timeout.
func TestCollectorCancelWithoutAck(t *testing.T) {
	e := newEnv(t, nil, func(s *Server) { s.cancelTimeout = 200 * time.Millisecond })
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	err := e.srv.Cancel(badUUID)
	if err == nil || !strings.Contains(err.Error(), "did not acknowledge") {
		t.Fatalf("Cancel: %v", err)
	}
	m, err := r.control().Recv()
	if err != nil || !m.GetCancellationMessage().GetCancelStream() || m.GetCancellationMessage().GetCollectorUuid() != e.srv.CollectorUUID() {
		t.Fatalf("device got %v, %v", m, err)
	}
	if _, err := r.control().Recv(); grpcstatus.Code(err) != codes.DeadlineExceeded {
		t.Errorf("stream ended with %v", err)
	}
	e.waitError(badUUID, status.CatStreaming)
	if e.counter(CounterCancelAckTimeouts) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
}

func TestDeviceCancel(t *testing.T) {
	e := newEnv(t, nil, nil)
	d, _ := e.goodDevice()
	const other = "33333333-4444-4555-8666-777777777777"
	d2 := e.device(other, "leaving", nil)
	ended := make(chan error, 1)
	go func() { ended <- d2.Session(context.Background()) }()
	waitFor(t, "the second device to stream", func() bool { return d2.Stats().BatchesAcked >= 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d2.CancelStream(ctx); err != nil {
		t.Fatalf("CancelStream: %v", err)
	}
	if err := <-ended; !errors.Is(err, ftdsim.ErrCancelledByDevice) {
		t.Fatalf("session ended with %v", err)
	}
	waitFor(t, "the device to be marked disconnected", func() bool {
		rec, _ := e.deviceRecord(other)
		return rec.State == status.StateDisconnected && rec.StateReason == "cancelled by the device"
	})
	if e.counter(CounterCancelsDevice) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, d)
}

func TestWrongVersionIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	m := helloFor(badUUID)
	m.Version = "2.0"
	if _, err := r.hello(m); grpcstatus.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), `"2.0"`) {
		t.Fatalf("handshake: %v", err)
	}
	msg := e.waitError(badUUID, status.CatInvalidArgument)
	if !strings.Contains(msg, "not supported") {
		t.Errorf("error %q", msg)
	}
	if rec, _ := e.deviceRecord(badUUID); rec.State != status.StateRejected {
		t.Errorf("record %+v", rec)
	}
	if e.counter(CounterHandshakesRefused) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, good)
}

func TestEmptyUUIDIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	if _, err := r.hello(helloFor("")); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("handshake: %v", err)
	}
	msg := e.waitError("peer:127.0.0.1", status.CatSystem)
	if !strings.Contains(msg, "uuid") {
		t.Errorf("error %q", msg)
	}
	// A batch without uuid on a fresh data stream is refused the same way.
	r2 := e.raw(nil)
	if _, err := r2.send(&ftdpb.DataResponse{Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("batch: %v", err)
	}
	if e.counter(CounterHandshakesRefused) != 1 || e.counter(CounterBatchesRefused) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, good)
}

func TestBatchBeforeHandshakeIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	_, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	if grpcstatus.Code(err) != codes.FailedPrecondition {
		t.Fatalf("batch: %v", err)
	}
	msg := e.waitError(badUUID, status.CatStreaming)
	if !strings.Contains(msg, "before the device's control-stream handshake") {
		t.Errorf("error %q", msg)
	}
	if e.counter(CounterBatchesRefused) != 1 || e.counter(CounterBatches) == 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	if n, _ := e.sink.count(badUUID); n != 0 {
		t.Errorf("%d batches reached the sink", n)
	}
	stillStreaming(t, good)
}

func TestOversizedBatchIsRecorded(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	if err != nil || !ack.GetAck() {
		t.Fatalf("first batch: %v %v", ack, err)
	}
	big := &ftdpb.DataResponse{FtdUuid: badUUID}
	pad := strings.Repeat("x", 1000)
	for range 2000 { // about 2 MB, twice the configured limit
		big.Metrics = append(big.Metrics, metric("cpu", "x", 1, nowMs(), &ftdpb.Tag{Key: "pad", Value: pad}))
	}
	if _, err := r.send(big); grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("oversized batch: %v", err)
	}
	msg := e.waitError(badUUID, status.CatBuffer)
	if !strings.Contains(msg, "ftd_max_message_bytes") {
		t.Errorf("error %q", msg)
	}
	if e.counter(CounterOversized) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, good)
}

// NaN, infinities and a metric with thousands of tags are rejected one by
// one; the rest of the batch is stored and the batch acknowledged.
func TestBadMetricsAreRejectedOneByOne(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	ts := nowMs()
	many := make([]*ftdpb.Tag, 5000)
	for i := range many {
		many[i] = &ftdpb.Tag{Key: "k" + string(rune('a'+i%26)), Value: "v"}
	}
	batch := &ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{
		metric("cpu", "cpu_utilisation", 0.7, ts),
		metric("cpu", "nan", math.NaN(), ts),
		metric("cpu", "inf", math.Inf(1), ts),
		metric("cpu", "minus_inf", math.Inf(-1), ts),
		metric("cpu", "tags", 1, ts, many...),
	}}
	ack, err := r.send(batch)
	if err != nil || !ack.GetAck() {
		t.Fatalf("ack %v, %v", ack, err)
	}
	if n, samples := e.sink.count(badUUID); n != 1 || samples != 1 {
		t.Errorf("sink has %d batches / %d samples", n, samples)
	}
	msg := e.waitError(badUUID, status.CatInvalidArgument)
	if !strings.Contains(msg, "4 of 5 metrics rejected") || !strings.Contains(msg, "non_finite_value") {
		t.Errorf("error %q", msg)
	}
	rec, _ := e.deviceRecord(badUUID)
	if rec.Samples != 1 || rec.Rejected != 4 {
		t.Errorf("record %+v", rec)
	}
	c := e.board.Snapshot().Counters
	if c[CounterMetricsRejected] != 4 || c[CounterMetricsRejected+"_non_finite_value"] != 3 || c[CounterMetricsRejected+"_too_many_tags"] != 1 {
		t.Errorf("counters %v", c)
	}
	stillStreaming(t, good)
}

func TestSinkFailureIsNacked(t *testing.T) {
	e := newEnv(t, nil, nil)
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	e.sink.mu.Lock()
	e.sink.fail = errors.New("disk full")
	e.sink.mu.Unlock()
	ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	if err != nil || ack.GetAck() {
		t.Fatalf("ack %v, %v; want ack=false", ack, err)
	}
	if msg := e.waitError(badUUID, status.CatBuffer); !strings.Contains(msg, "disk full") {
		t.Errorf("error %q", msg)
	}
	e.sink.mu.Lock()
	e.sink.fail = nil
	e.sink.mu.Unlock()
	if ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil || !ack.GetAck() {
		t.Fatalf("after recovery: %v, %v", ack, err)
	}
	if e.counter(CounterBatchesNacked) != 1 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
}

func TestDeviceVanishingMidStream(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	if ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil || !ack.GetAck() {
		t.Fatalf("batch: %v %v", ack, err)
	}
	r.conn.Close() // the TCP connection goes away without any goodbye
	waitFor(t, "the device to be marked disconnected", func() bool {
		rec, _ := e.deviceRecord(badUUID)
		return rec.State == status.StateDisconnected && strings.HasPrefix(rec.StateReason, "connection lost")
	})
	if msg := e.waitError(badUUID, status.CatStreaming); !strings.Contains(msg, "control stream lost") {
		t.Errorf("error %q", msg)
	}
	if e.counter(CounterDisconnects) != 1 || e.counter(CounterStreamErrors) == 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, good)
}

// A device that reconnects before its old connection died takes over: the
// old streams end and the device stays connected.
func TestNewHandshakeReplacesTheOldSession(t *testing.T) {
	e := newEnv(t, nil, nil)
	old := e.raw(nil)
	if _, err := old.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	fresh := e.raw(nil)
	if _, err := fresh.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	if _, err := old.control().Recv(); grpcstatus.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "replaced") {
		t.Fatalf("old control stream: %v", err)
	}
	if ack, err := fresh.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil || !ack.GetAck() {
		t.Fatalf("batch on the new session: %v %v", ack, err)
	}
	if rec, _ := e.deviceRecord(badUUID); rec.State != status.StateConnected {
		t.Errorf("record %+v", rec)
	}
	if e.counter(CounterSessionsReplaced) != 1 || e.counter(CounterDisconnects) != 0 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
}

// Shutdown lets a batch that is being written finish and be acknowledged.
func TestShutdownFinishesTheBatchInFlight(t *testing.T) {
	e := newEnv(t, nil, nil)
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	e.sink.mu.Lock()
	e.sink.block, e.sink.entered = release, entered
	e.sink.mu.Unlock()
	if err := r.dataStream().Send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil {
		t.Fatal(err)
	}
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		stopped <- e.srv.Shutdown(ctx)
	}()
	close(release)
	ack, err := r.dataStream().Recv()
	if err != nil || !ack.GetAck() {
		t.Fatalf("in-flight batch: %v %v", ack, err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n, _ := e.sink.count(badUUID); n != 1 {
		t.Errorf("sink has %d batches", n)
	}
	if rec, _ := e.deviceRecord(badUUID); rec.State != status.StateDisconnected || rec.StateReason != "collector shutting down" {
		t.Errorf("record %+v", rec)
	}
}

// A sink that never returns cannot hold Shutdown past its deadline.
func TestShutdownIsBoundedByItsContext(t *testing.T) {
	e := newEnv(t, nil, nil)
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	e.sink.mu.Lock()
	e.sink.block, e.sink.entered = make(chan struct{}), entered
	e.sink.mu.Unlock()
	r.dataStream().Send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
}

// Bytes that are not a DataResponse are refused with ack=false on a
// stream whose device is known, and end a stream whose device is not.
func TestMalformedBatch(t *testing.T) {
	e := newEnv(t, nil, nil)
	good, _ := e.goodDevice()
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	data, err := r.client.DataStream(r.ctx, grpc.ForceCodec(passCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	valid, _ := proto.Marshal(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	for i, payload := range [][]byte{valid, {0x0a, 0x50, 'x'}, valid} {
		if err := data.SendMsg(&preEncoded{payload}); err != nil {
			t.Fatal(err)
		}
		ack, err := data.Recv()
		if err != nil || ack.GetAck() != (i != 1) {
			t.Fatalf("batch %d: ack %v, %v", i, ack, err)
		}
	}
	if msg := e.waitError(badUUID, status.CatInvalidArgument); !strings.Contains(msg, "not a valid DataResponse") {
		t.Errorf("error %q", msg)
	}
	// On a fresh stream nobody can tell whose the garbage is.
	r2 := e.raw(nil)
	data2, err := r2.client.DataStream(r2.ctx, grpc.ForceCodec(passCodec{}))
	if err != nil {
		t.Fatal(err)
	}
	data2.SendMsg(&preEncoded{[]byte{0xff}})
	if _, err := data2.Recv(); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("garbage on a fresh stream: %v", err)
	}
	e.waitError("peer:127.0.0.1", status.CatInvalidArgument)
	if e.counter(CounterBatchesRefused) != 2 {
		t.Errorf("counters %v", e.board.Snapshot().Counters)
	}
	stillStreaming(t, good)
}

// Batches for a device must come from the address its control stream
// came from; 127.0.0.2 is another loopback address.
func TestBatchFromAnotherAddressIsRefused(t *testing.T) {
	e := newEnv(t, nil, nil)
	r := e.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	other := e.raw(nil, grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		return d.DialContext(ctx, "tcp", addr)
	}))
	_, err := other.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}})
	if grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("batch from 127.0.0.2: %v", err)
	}
	if msg := e.waitError(badUUID, status.CatStreaming); !strings.Contains(msg, "127.0.0.2") {
		t.Errorf("error %q", msg)
	}
	if n, _ := e.sink.count(badUUID); n != 0 {
		t.Errorf("%d batches reached the sink", n)
	}
	// The device's own address still works.
	if ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil || !ack.GetAck() {
		t.Fatalf("batch from 127.0.0.1: %v %v", ack, err)
	}
}

// freezingProxy forwards one loopback connection until freeze is called,
// then swallows everything in both directions: a device whose link died
// without a FIN or a reset, which only keepalive can notice.
type freezingProxy struct {
	lis    net.Listener
	frozen atomic.Bool
}

func newFreezingProxy(t *testing.T, target string) *freezingProxy {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &freezingProxy{lis: lis}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			in, err := lis.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				return
			}
			t.Cleanup(func() { in.Close(); out.Close() })
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
	return p
}

func (p *freezingProxy) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if p.frozen.Load() {
			continue
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

func TestSilentDeviceIsDroppedByKeepalive(t *testing.T) {
	e := newEnv(t, nil, func(s *Server) {
		// gRPC's floor for the ping interval is one second.
		s.keepalive.Time, s.keepalive.Timeout = time.Second, 500*time.Millisecond
	})
	proxy := newFreezingProxy(t, e.addr)
	via := *e
	via.addr = proxy.lis.Addr().String()
	r := via.raw(nil)
	if _, err := r.hello(helloFor(badUUID)); err != nil {
		t.Fatal(err)
	}
	if ack, err := r.send(&ftdpb.DataResponse{FtdUuid: badUUID, Metrics: []*ftdpb.Metric{metric("cpu", "x", 1, nowMs())}}); err != nil || !ack.GetAck() {
		t.Fatalf("batch: %v %v", ack, err)
	}
	proxy.frozen.Store(true)
	waitFor(t, "keepalive to drop the silent device", func() bool {
		rec, _ := e.deviceRecord(badUUID)
		return rec.State == status.StateDisconnected && strings.HasPrefix(rec.StateReason, "connection lost")
	})
	e.waitError(badUUID, status.CatStreaming)
}
