package ftdsim

import (
	"context"
	"crypto/tls"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/certs"
)

// runSession runs d.Session in the background; the returned channel gets
// its result.
func runSession(ctx context.Context, d *Device) <-chan error {
	done := make(chan error, 1)
	go func() { done <- d.Session(ctx) }()
	return done
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestSessionStreamsToACorrectCollector(t *testing.T) {
	c := newFakeCollector()
	sent := make(chan *ftdpb.DataResponse, 64)
	d := testDevice(t, serveMTLS(t, c), func(cfg *Config) {
		cfg.OnBatchSent = func(b *ftdpb.DataResponse) {
			select {
			case sent <- b:
			default:
			}
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := runSession(ctx, d)

	hello := recv(t, c.hellos, "hello")
	if hello.Version != "1.0" || hello.FtdUuid != "7eb19498-2519-11ef-a8dd-b74b4d43a7e7" || hello.Hostname != "firepower" ||
		!hello.InitStreaming || !slices.Equal(hello.Capabilities, []string{"metric_streaming"}) || hello.Ack {
		t.Errorf("hello = %v", hello)
	}
	var last int64
	for i := range 3 {
		b := recv(t, c.batches, "batch")
		if mine := recv(t, sent, "OnBatchSent"); !proto.Equal(mine, b) {
			t.Errorf("batch %d: OnBatchSent saw another batch than the collector got", i)
		}
		if b.FtdUuid != hello.FtdUuid {
			t.Errorf("batch %d ftd_uuid %q", i, b.FtdUuid)
		}
		if len(b.Metrics) != 479 {
			t.Errorf("batch %d has %d metrics, want 479 as in the guide's log", i, len(b.Metrics))
		}
		ts := b.Metrics[0].Timestamp
		if ts < last {
			t.Errorf("batch %d timestamp %d before the previous %d", i, ts, last)
		}
		last = ts
	}
	waitFor(t, "three acks", func() bool { return d.Stats().BatchesAcked >= 3 })
	st := d.Stats()
	if st.Interval != time.Minute || !st.Connected || st.Sessions != 1 || st.Errors != 0 || st.Metrics < 3*479 {
		t.Errorf("stats while streaming: %+v", st)
	}

	cancel()
	if err := recv(t, done, "session end"); !errors.Is(err, context.Canceled) {
		t.Errorf("Session after ctx cancel = %v, want context.Canceled", err)
	}
	if st := d.Stats(); st.Connected || st.Errors != 0 {
		t.Errorf("stats after stop: %+v", st)
	}
}

func TestSessionRefusesABadControlRequest(t *testing.T) {
	cases := []struct {
		name   string
		answer *ftdpb.ControlRequest
		want   string
	}{
		{"interval 30 s", &ftdpb.ControlRequest{Version: "1.0", Interval: 30, MetricSubscriptions: []string{"all"}},
			"30 seconds whereas the minimum allowed is 1 minute"},
		{"interval over 24 h", &ftdpb.ControlRequest{Version: "1.0", Interval: 86401, MetricSubscriptions: []string{"all"}},
			"maximum allowed is 24 hours"},
		{"interval in milliseconds", &ftdpb.ControlRequest{Version: "1.0", Interval: 60000 * 60 * 25, MetricSubscriptions: []string{"all"}},
			"out of bounds"},
		{"missing version", &ftdpb.ControlRequest{Interval: 60, MetricSubscriptions: []string{"all"}},
			"missing version"},
		{"wrong version", &ftdpb.ControlRequest{Version: "2.0", Interval: 60, MetricSubscriptions: []string{"all"}},
			`version "2.0" is not supported`},
		{"no subscriptions", &ftdpb.ControlRequest{Version: "1.0", Interval: 60},
			"no metric_subscriptions"},
		{"subscriptions without all", &ftdpb.ControlRequest{Version: "1.0", Interval: 60, MetricSubscriptions: []string{"cpu"}},
			`do not include "all"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCollector()
			c.answer = tc.answer
			d := testDevice(t, serveMTLS(t, c), nil)
			err := recv(t, runSession(context.Background(), d), "session end")
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Session = %v, want an invalid argument error containing %q", err, tc.want)
			}
			st := d.Stats()
			if st.Errors != 1 || st.LastError != err.Error() || st.Batches != 0 {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

func TestSessionFailsWhenBatchesAreNotAcknowledged(t *testing.T) {
	c := newFakeCollector()
	c.noDataAck = true
	d := testDevice(t, serveMTLS(t, c), func(cfg *Config) { cfg.AckTimeout = 300 * time.Millisecond })
	start := time.Now()
	err := recv(t, runSession(context.Background(), d), "session end")
	if !errors.Is(err, ErrStreaming) || !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("Session = %v, want a streaming ack-timeout error", err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the ack timeout", waited)
	}
	// Batches sent while the first awaits its ack would hide the fault.
	if st := d.Stats(); st.Batches != 1 || st.BatchesAcked != 0 || st.Errors != 1 || !strings.Contains(st.LastError, "no DataRequest{ack: true}") {
		t.Errorf("stats: %+v", st)
	}
}

func TestSessionFailsWhenTheCollectorNeverAnswers(t *testing.T) {
	c := newFakeCollector()
	c.silent = true
	d := testDevice(t, serveMTLS(t, c), func(cfg *Config) { cfg.HandshakeTimeout = 200 * time.Millisecond })
	err := recv(t, runSession(context.Background(), d), "session end")
	if !errors.Is(err, ErrStreaming) || !strings.Contains(err.Error(), "no ControlRequest") {
		t.Fatalf("Session = %v", err)
	}
}

func TestCollectorCancel(t *testing.T) {
	c := newFakeCollector()
	d := testDevice(t, serveMTLS(t, c), nil)
	done := runSession(context.Background(), d)
	recv(t, c.batches, "first batch")

	c.toDevice <- &ftdpb.ControlRequest{CancellationMessage: &ftdpb.StreamCancellationMessage{CollectorUuid: "c-1", CancelStream: true}}
	ack := recv(t, c.control, "the device's ack")
	if !ack.Ack || ack.InitStreaming || ack.FtdUuid != "7eb19498-2519-11ef-a8dd-b74b4d43a7e7" {
		t.Errorf("device answered the cancel with %v, want ack: true", ack)
	}
	if err := recv(t, done, "session end"); !errors.Is(err, ErrCancelledByCollector) {
		t.Fatalf("Session = %v, want ErrCancelledByCollector", err)
	}
	if st := d.Stats(); st.Cancels != 1 || st.Errors != 0 || st.Connected {
		t.Errorf("stats: %+v", st)
	}
}

func TestCancelStreamWaitsForTheCollectorsAck(t *testing.T) {
	c := newFakeCollector()
	d := testDevice(t, serveMTLS(t, c), nil)
	if err := d.CancelStream(context.Background()); err == nil {
		t.Error("CancelStream without a session succeeded")
	}
	done := runSession(context.Background(), d)
	recv(t, c.batches, "first batch")
	waitFor(t, "streaming", func() bool { return d.Stats().Connected })

	if err := d.CancelStream(context.Background()); err != nil {
		t.Fatalf("CancelStream = %v", err)
	}
	// The collector saw the cancel before the device saw the ack.
	select {
	case m := <-c.control:
		if m.InitStreaming || m.Ack || m.FtdUuid == "" {
			t.Errorf("device's cancel = %v, want init_streaming and ack false", m)
		}
	default:
		t.Error("CancelStream returned but the collector got no cancel")
	}
	if err := recv(t, done, "session end"); !errors.Is(err, ErrCancelledByDevice) {
		t.Fatalf("Session = %v, want ErrCancelledByDevice", err)
	}
	if st := d.Stats(); st.Cancels != 1 || st.Errors != 0 {
		t.Errorf("stats: %+v", st)
	}
}

func TestCancelStreamFailsWithoutAck(t *testing.T) {
	c := newFakeCollector()
	c.noCancelAck = true
	d := testDevice(t, serveMTLS(t, c), func(cfg *Config) { cfg.AckTimeout = 300 * time.Millisecond })
	done := runSession(context.Background(), d)
	recv(t, c.batches, "first batch")
	waitFor(t, "streaming", func() bool { return d.Stats().Connected })

	err := d.CancelStream(context.Background())
	if !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("CancelStream = %v, want an ack timeout", err)
	}
	if err := recv(t, done, "session end"); !errors.Is(err, ErrAckTimeout) {
		t.Fatalf("Session = %v", err)
	}
	if st := d.Stats(); st.Cancels != 0 || st.Errors != 1 || !strings.Contains(st.LastError, "did not acknowledge the device's cancel") {
		t.Errorf("stats: %+v", st)
	}
}

func TestSessionRequiresMutualTLS(t *testing.T) {
	otherPKI, err := certs.NewPKI("another CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	strangerTLS, err := otherPKI.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	picky, err := testPKI().ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	picky.ClientCAs = otherPKI.Pool() // trusts devices of another CA only

	cases := []struct {
		name      string
		serverTLS *tls.Config
	}{
		{"plaintext collector", nil},
		{"collector certificate from another CA", strangerTLS},
		{"collector refusing the device's certificate", picky},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeCollector()
			d := testDevice(t, serve(t, c, tc.serverTLS), nil)
			err := recv(t, runSession(context.Background(), d), "session end")
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("Session = %v, want an auth error", err)
			}
			select {
			case m := <-c.hellos:
				t.Errorf("collector got a hello over a connection that should have failed: %v", m)
			default:
			}
			if st := d.Stats(); st.Errors != 1 || st.LastError == "" {
				t.Errorf("stats: %+v", st)
			}
		})
	}
}

func TestRunRetriesAfterACancel(t *testing.T) {
	c := newFakeCollector()
	d := testDevice(t, serveMTLS(t, c), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()

	recv(t, c.hellos, "first hello")
	recv(t, c.batches, "first batch")
	c.toDevice <- &ftdpb.ControlRequest{CancellationMessage: &ftdpb.StreamCancellationMessage{CancelStream: true}}
	recv(t, c.control, "ack")
	recv(t, c.hellos, "hello of the retry")
	cancel()
	if err := recv(t, done, "Run end"); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
	if st := d.Stats(); st.Sessions != 2 || st.Cancels != 1 {
		t.Errorf("stats: %+v", st)
	}
}

func TestNewChecksTheConfiguration(t *testing.T) {
	good, err := testPKI().ClientTLS("firepower")
	if err != nil {
		t.Fatal(err)
	}
	noCert := good.Clone()
	noCert.Certificates = nil
	noRoots := good.Clone()
	noRoots.RootCAs = nil
	base := Config{Target: "127.0.0.1:50051", TLS: good, UUID: "7eb19498-2519-11ef-a8dd-b74b4d43a7e7", Hostname: "firepower"}
	cases := []struct {
		name  string
		tweak func(*Config)
		want  error
	}{
		{"no TLS", func(c *Config) { c.TLS = nil }, ErrAuth},
		{"no client certificate", func(c *Config) { c.TLS = noCert }, ErrAuth},
		{"no CA", func(c *Config) { c.TLS = noRoots }, ErrAuth},
		{"no uuid", func(c *Config) { c.UUID = "" }, ErrSystem},
		{"bad uuid", func(c *Config) { c.UUID = "firepower-1" }, ErrSystem},
		{"no hostname", func(c *Config) { c.Hostname = "" }, ErrSystem},
		{"IPv6 target", func(c *Config) { c.Target = "[::1]:50051" }, ErrSystem},
		{"no port", func(c *Config) { c.Target = "127.0.0.1" }, ErrSystem},
		{"negative speed-up", func(c *Config) { c.SpeedUp = -1 }, ErrSystem},
	}
	for _, tc := range cases {
		cfg := base
		tc.tweak(&cfg)
		if _, err := New(cfg); !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, want %v", tc.name, err, tc.want)
		}
	}
	d, err := New(base)
	if err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	if d.cfg.Version != "1.0" || d.cfg.Interfaces != 16 || d.cfg.CPUs != 8 || d.cfg.SpeedUp != 1 || d.cfg.RetryAfter != 5*time.Minute {
		t.Errorf("defaults: %+v", d.cfg)
	}
}

func TestSessionWithAnExpiredDeviceCertificateIsAnAuthError(t *testing.T) {
	c := newFakeCollector()
	target := serveMTLS(t, c)
	now := time.Now()
	certPEM, keyPEM, err := testPKI().Issue(certs.Client, "firepower", nil, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	d := testDevice(t, target, func(cfg *Config) {
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: testPKI().Pool(), ServerName: "localhost"}
	})
	err = recv(t, runSession(context.Background(), d), "session end")
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("Session = %v, want an auth error about the expired certificate", err)
	}
}

func TestRefusedBatchesAreCountedAndStreamingGoesOn(t *testing.T) {
	c := newFakeCollector()
	c.nack = true
	d := testDevice(t, serveMTLS(t, c), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := runSession(ctx, d)
	waitFor(t, "three refused batches", func() bool { return d.Stats().BatchesNacked >= 3 })
	cancel()
	if err := recv(t, done, "session end"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Session = %v; a refused batch must not end the session", err)
	}
	st := d.Stats()
	if st.BatchesAcked != 0 || st.Errors < 3 || !strings.Contains(st.LastError, "refused batch") {
		t.Errorf("stats: %+v", st)
	}
}

func TestLaterControlRequestsAreHeldToTheSameRules(t *testing.T) {
	c := newFakeCollector()
	d := testDevice(t, serveMTLS(t, c), nil)
	done := runSession(context.Background(), d)
	recv(t, c.batches, "first batch")

	c.toDevice <- &ftdpb.ControlRequest{Version: "1.0", Interval: 120, MetricSubscriptions: []string{"all"}}
	waitFor(t, "the new interval", func() bool { return d.Stats().Interval == 2*time.Minute })

	c.toDevice <- &ftdpb.ControlRequest{Version: "1.0", Interval: 10, MetricSubscriptions: []string{"all"}}
	if err := recv(t, done, "session end"); !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "10 seconds") {
		t.Fatalf("Session = %v, want an invalid argument error about 10 seconds", err)
	}
}
