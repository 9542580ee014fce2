// Package ftdsim is a Cisco Firepower Threat Defense device as its streaming
// telemetry guide describes one (shared/seeds/000_0e6b8bc59ce1fa8f.txt): it
// dials out to a collector with mutual TLS, opens the control and data
// streams, announces itself, takes the interval the collector asks for,
// sends an initial batch at once and then one per interval, and waits for
// each batch's acknowledgement. Cancellation in both directions follows the
// header comment of pkg/proto/ftdpb/grpc_streaming.proto.
//
// It is a faithful peer, not a shortcut: a collector that gets the protocol
// wrong (no mTLS, an interval outside 60 s..24 h, a wrong or missing version,
// no "all" subscription, batches or cancels left unacknowledged) makes the
// session fail with an error in the guide's categories, visible in Stats and
// in the log.
package ftdsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
)

// Error categories, named after the FTD's own status error categories so a
// line in the simulator's log reads like the device's status page. Every
// session error wraps exactly one of them; test with errors.Is.
var (
	ErrSystem          = errors.New("system error")           // no uuid or hostname, bad configuration
	ErrAuth            = errors.New("auth error")             // certificates, TLS handshake
	ErrStreaming       = errors.New("streaming error")        // connection, streams, missing acknowledgements
	ErrInvalidArgument = errors.New("invalid argument error") // bad values from the collector
)

var (
	// ErrCancelledByCollector ends a session the collector cancelled; the
	// device acknowledged it and will retry after RetryAfter.
	ErrCancelledByCollector = errors.New("ftdsim: stream cancelled by the collector")
	// ErrCancelledByDevice ends a session that CancelStream cancelled and the
	// collector acknowledged.
	ErrCancelledByDevice = errors.New("ftdsim: stream cancelled by the device")
	// ErrAckTimeout is wrapped (with ErrStreaming) when a batch or a cancel
	// is not acknowledged in time.
	ErrAckTimeout = errors.New("not acknowledged in time")
)

// Capability is what the device advertises in its first control message.
const Capability = "metric_streaming"

// Interval bounds from the guide: "from 1 minute (60 seconds) to 24 hours".
const (
	MinInterval = 60 * time.Second
	MaxInterval = 24 * time.Hour
)

// Config describes one device.
type Config struct {
	Target string      // collector host:port; IPv4 only, as the guide says
	TLS    *tls.Config // client certificate and the CA that signed the collector; required

	UUID, Hostname string // like 7eb19498-2519-11ef-a8dd-b74b4d43a7e7 and firepower
	Version        string // protocol version sent in the handshake; default "1.0"

	Interfaces, CPUs int     // defaults 16 and 8 (a batch of 479 metrics, as in the guide's log)
	SpeedUp          float64 // divides the negotiated interval for demos; default 1 (real time)

	RetryAfter       time.Duration // wait between sessions; default 5 minutes, per the guide
	AckTimeout       time.Duration // wait for a batch's or a cancel's acknowledgement; default 30 s
	HandshakeTimeout time.Duration // wait for the collector's ControlRequest; default 30 s

	Seed int64
	Logf func(format string, args ...any) // optional
	Now  func() time.Time                 // optional; timestamps of the metrics

	// OnBatchSent, if set, sees every batch once it is on the wire, so a
	// test can compare what the collector stored with what was sent. It
	// runs on the session's goroutine: it must not block, nor modify b.
	OnBatchSent func(b *ftdpb.DataResponse)
}

// Stats is what the device has done so far, over all sessions.
type Stats struct {
	Sessions      uint64 // sessions started
	Batches       uint64 // batches sent
	BatchesAcked  uint64 // DataRequest{ack: true} received
	BatchesNacked uint64 // DataRequest{ack: false} received
	Metrics       uint64 // metrics sent
	Cancels       uint64 // cancellations completed, either side
	Errors        uint64 // failed sessions and protocol faults of the collector

	Interval  time.Duration // last interval negotiated with the collector (before SpeedUp)
	Connected bool          // handshake done and streaming now
	LastError string
}

// Device is one simulated FTD.
type Device struct {
	cfg   Config
	tls   *tls.Config
	creds credentials.TransportCredentials
	gen   *generator

	running atomic.Bool

	mu      sync.Mutex
	stats   Stats
	current *session // while streaming, for CancelStream
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// New checks the configuration the way the device checks its own before it
// starts streaming, and fills in the defaults.
func New(cfg Config) (*Device, error) {
	if cfg.UUID == "" || cfg.Hostname == "" {
		return nil, fmt.Errorf("ftdsim: %w: no host name or UUID configured", ErrSystem)
	}
	if !uuidRE.MatchString(cfg.UUID) {
		return nil, fmt.Errorf("ftdsim: %w: uuid %q is not of the form 7eb19498-2519-11ef-a8dd-b74b4d43a7e7", ErrSystem, cfg.UUID)
	}
	host, port, err := net.SplitHostPort(cfg.Target)
	if err != nil {
		return nil, fmt.Errorf("ftdsim: %w: target %q: %v", ErrSystem, cfg.Target, err)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("ftdsim: %w: target %q: port must be 1..65535", ErrSystem, cfg.Target)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.To4() == nil) {
		return nil, fmt.Errorf("ftdsim: %w: target %q: the device reaches collectors by IPv4 address or name only", ErrSystem, cfg.Target)
	}
	if cfg.TLS == nil {
		return nil, fmt.Errorf("ftdsim: %w: no TLS configuration; mutual TLS is mandatory", ErrAuth)
	}
	if len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetClientCertificate == nil {
		return nil, fmt.Errorf("ftdsim: %w: no client certificate; mutual TLS is mandatory", ErrAuth)
	}
	if cfg.TLS.InsecureSkipVerify || cfg.TLS.RootCAs == nil {
		return nil, fmt.Errorf("ftdsim: %w: no CA certificate to verify the collector with", ErrAuth)
	}
	tlsCfg := cfg.TLS.Clone()
	if tlsCfg.MinVersion < tls.VersionTLS12 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	if cfg.Version == "" {
		cfg.Version = "1.0"
	}
	if cfg.Interfaces == 0 {
		cfg.Interfaces = 16
	}
	if cfg.CPUs == 0 {
		cfg.CPUs = 8
	}
	if cfg.Interfaces < 1 || cfg.Interfaces > 4096 || cfg.CPUs < 1 || cfg.CPUs > 1024 {
		return nil, fmt.Errorf("ftdsim: %w: %d interfaces and %d CPUs; want 1..4096 and 1..1024", ErrSystem, cfg.Interfaces, cfg.CPUs)
	}
	if cfg.SpeedUp == 0 {
		cfg.SpeedUp = 1
	}
	if !(cfg.SpeedUp > 0) || math.IsInf(cfg.SpeedUp, 0) {
		return nil, fmt.Errorf("ftdsim: %w: speed-up %v must be a positive number", ErrSystem, cfg.SpeedUp)
	}
	for _, d := range []*time.Duration{&cfg.RetryAfter, &cfg.AckTimeout, &cfg.HandshakeTimeout} {
		if *d < 0 {
			return nil, fmt.Errorf("ftdsim: %w: negative duration %v", ErrSystem, *d)
		}
	}
	if cfg.RetryAfter == 0 {
		cfg.RetryAfter = 5 * time.Minute
	}
	if cfg.AckTimeout == 0 {
		cfg.AckTimeout = 30 * time.Second
	}
	if cfg.HandshakeTimeout == 0 {
		cfg.HandshakeTimeout = 30 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Device{
		cfg:   cfg,
		tls:   tlsCfg,
		creds: credentials.NewTLS(tlsCfg),
		gen:   newGenerator(cfg.UUID, cfg.Interfaces, cfg.CPUs, cfg.Seed, cfg.Now()),
	}, nil
}

// Batch returns the device's next batch of metrics stamped ts, advancing
// its counters by the time since the previous batch. The tags of the metrics
// are shared between batches and must not be modified.
func (d *Device) Batch(ts time.Time) *ftdpb.DataResponse {
	return d.gen.batch(d.cfg.UUID, ts)
}

// Stats returns a snapshot of the device's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Device) logf(format string, args ...any) {
	d.cfg.Logf("ftd %s (%s): "+format, append([]any{d.cfg.Hostname, d.cfg.UUID}, args...)...)
}

func (d *Device) update(f func(*Stats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// fault records a protocol fault of the collector that does not end the
// session, so that it still shows in Stats and the log.
func (d *Device) fault(err error) {
	d.update(func(s *Stats) { s.Errors++; s.LastError = err.Error() })
	d.logf("%v", err)
}

// Run keeps the device streaming until ctx is done: after any session end,
// a failure or a cancellation by either side, it waits RetryAfter and tries
// again, as the guide says the device does. It returns ctx's error.
func (d *Device) Run(ctx context.Context) error {
	for {
		d.Session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d.logf("retrying in %v", d.cfg.RetryAfter)
		t := time.NewTimer(d.cfg.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// CancelStream cancels the streaming session from the device's side: a
// ControlResponse with init_streaming and ack both false. It returns once
// the collector has acknowledged with a cancellation_message whose
// cancel_stream is true, and the session then ends with
// ErrCancelledByDevice. Without that acknowledgement within AckTimeout (or
// before ctx is done) it returns an error and the session ends failed.
func (d *Device) CancelStream(ctx context.Context) error {
	d.mu.Lock()
	s := d.current
	d.mu.Unlock()
	if s == nil {
		return errors.New("ftdsim: no streaming session to cancel")
	}
	reply := make(chan error, 1)
	select {
	case s.cancelReq <- reply:
	case <-s.done:
		return errors.New("ftdsim: the session ended before the cancel was sent")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Session runs one session: dial with mutual TLS, open DataStream and
// ControlStream, handshake, then stream until an error, a cancellation or
// the end of ctx. It returns ErrCancelledByCollector or ErrCancelledByDevice
// after a completed cancellation, ctx's error when ctx ends it, and
// otherwise an error wrapping one of the Err* categories.
func (d *Device) Session(ctx context.Context) (err error) {
	if !d.running.CompareAndSwap(false, true) {
		return errors.New("ftdsim: a session is already running on this device")
	}
	defer d.running.Store(false)

	d.update(func(s *Stats) { s.Sessions++ })
	d.logf("session: connecting to %s", d.cfg.Target)
	defer func() {
		d.update(func(s *Stats) { s.Connected = false })
		switch {
		case errors.Is(err, ErrCancelledByCollector), errors.Is(err, ErrCancelledByDevice):
			d.update(func(s *Stats) { s.Cancels++ })
			d.logf("session ended: %v", err)
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			d.logf("session stopped: %v", err)
		default:
			d.update(func(s *Stats) { s.Errors++; s.LastError = err.Error() })
			d.logf("session failed: %v", err)
		}
	}()

	// passthrough hands host:port to the dialer untouched, so the name is
	// resolved by a tcp4 dial: the device speaks IPv4 only.
	conn, err := grpc.NewClient("passthrough:///"+d.cfg.Target,
		grpc.WithTransportCredentials(d.creds),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp4", addr)
		}))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSystem, err)
	}
	defer conn.Close()

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := ftdpb.NewGrpcStreamingServiceClient(conn)
	data, err := client.DataStream(sctx)
	if err != nil {
		return d.diagnose(ctx, d.classify(ctx, "opening the data stream", err))
	}
	ctrl, err := client.ControlStream(sctx)
	if err != nil {
		return d.diagnose(ctx, d.classify(ctx, "opening the control stream", err))
	}
	s := &session{
		d: d, ctx: sctx, cancel: cancel, data: data, ctrl: ctrl,
		ctrlIn: make(chan *ftdpb.ControlRequest), ctrlErr: make(chan error, 1),
		dataIn: make(chan *ftdpb.DataRequest), dataErr: make(chan error, 1),
		cancelReq: make(chan chan error), done: make(chan struct{}),
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		for {
			m, err := ctrl.Recv()
			if err != nil {
				s.ctrlErr <- err
				return
			}
			select {
			case s.ctrlIn <- m:
			case <-sctx.Done():
				return
			}
		}
	}()
	go func() {
		defer s.wg.Done()
		for {
			m, err := data.Recv()
			if err != nil {
				s.dataErr <- err
				return
			}
			select {
			case s.dataIn <- m:
			case <-sctx.Done():
				return
			}
		}
	}()
	err = s.run(ctx)
	if !s.streaming {
		err = d.diagnose(ctx, err)
	}
	close(s.done)
	s.close(errors.Is(err, ErrCancelledByCollector) || errors.Is(err, ErrCancelledByDevice))
	return err
}

// session is one connection's state; run owns it, the two readers feed it.
type session struct {
	d            *Device
	ctx          context.Context
	cancel       context.CancelFunc
	data         grpc.BidiStreamingClient[ftdpb.DataResponse, ftdpb.DataRequest]
	ctrl         grpc.BidiStreamingClient[ftdpb.ControlResponse, ftdpb.ControlRequest]
	ctrlIn       chan *ftdpb.ControlRequest
	ctrlErr      chan error
	dataIn       chan *ftdpb.DataRequest
	dataErr      chan error
	ctrlDone     bool // ctrlErr already taken
	dataDone     bool // dataErr already taken
	cancelReq    chan chan error
	done         chan struct{}
	wg           sync.WaitGroup
	outstanding  int // metrics in the batch awaiting its ack, 0 if none
	batchesSent  uint64
	ackTimer     *time.Timer
	ackC         <-chan time.Time // ackTimer.C while a batch awaits its ack
	cancelTimer  *time.Timer
	cancelC      <-chan time.Time
	cancelPender chan error // CancelStream waiting for the collector's ack
	streaming    bool       // the handshake succeeded
}

func (s *session) run(parent context.Context) error {
	d := s.d
	hello := &ftdpb.ControlResponse{
		Version:       d.cfg.Version,
		FtdUuid:       d.cfg.UUID,
		Hostname:      d.cfg.Hostname,
		InitStreaming: true,
		Capabilities:  []string{Capability},
	}
	if err := s.ctrl.Send(hello); err != nil {
		return s.sendFailed(parent, "control", err)
	}

	// Handshake: the collector's first ControlRequest sets the interval.
	handshake := time.NewTimer(d.cfg.HandshakeTimeout)
	defer handshake.Stop()
	var req *ftdpb.ControlRequest
	for req == nil {
		select {
		case req = <-s.ctrlIn:
		case m := <-s.dataIn:
			d.fault(fmt.Errorf("%w: DataRequest{ack: %v} before any batch was sent", ErrInvalidArgument, m.GetAck()))
		case err := <-s.ctrlErr:
			s.ctrlDone = true
			return d.classify(parent, "waiting for the collector's ControlRequest on the control stream", err)
		case err := <-s.dataErr:
			s.dataDone = true
			return d.classify(parent, "waiting for the collector's ControlRequest (data stream)", err)
		case <-handshake.C:
			return fmt.Errorf("%w: the collector sent no ControlRequest within %v of the device's init_streaming", ErrStreaming, d.cfg.HandshakeTimeout)
		case <-parent.Done():
			return parent.Err()
		}
	}
	if req.GetCancellationMessage().GetCancelStream() {
		return s.ackCollectorCancel(parent, req)
	}
	interval, err := checkControlRequest(req)
	if err != nil {
		return err
	}
	every := d.pace(interval)
	s.streaming = true
	d.update(func(st *Stats) { st.Interval = interval; st.Connected = true })
	d.logf("streaming: interval %v requested by the collector (version %q, subscriptions %q), sending every %v", interval, req.GetVersion(), req.GetMetricSubscriptions(), every)

	d.mu.Lock()
	d.current = s
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.current = nil
		d.mu.Unlock()
	}()

	s.ackTimer = time.NewTimer(time.Hour)
	s.ackTimer.Stop()
	defer s.ackTimer.Stop()
	s.cancelTimer = time.NewTimer(time.Hour)
	s.cancelTimer.Stop()
	defer s.cancelTimer.Stop()

	// "Once a valid frequency is obtained, the system sends an initial set
	// of metrics, then provides additional information at the requested
	// rate."
	if err := s.sendBatch(parent); err != nil {
		return err
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	tick := ticker.C

	for {
		select {
		case <-tick:
			if s.outstanding > 0 {
				d.logf("interval elapsed while batch %d still awaits its ack; not sending another", s.batchesSent)
				continue
			}
			if err := s.sendBatch(parent); err != nil {
				return err
			}

		case m := <-s.dataIn:
			if s.outstanding == 0 {
				d.fault(fmt.Errorf("%w: DataRequest{ack: %v} with no batch awaiting an ack", ErrInvalidArgument, m.GetAck()))
				continue
			}
			s.outstanding = 0
			s.ackTimer.Stop()
			s.ackC = nil
			if m.GetAck() {
				d.update(func(st *Stats) { st.BatchesAcked++ })
			} else {
				d.update(func(st *Stats) { st.BatchesNacked++ })
				d.fault(fmt.Errorf("%w: the collector refused batch %d (DataRequest{ack: false})", ErrStreaming, s.batchesSent))
			}

		case <-s.ackC:
			return fmt.Errorf("%w: %w: batch %d (%d metrics) got no DataRequest{ack: true} within %v", ErrStreaming, ErrAckTimeout, s.batchesSent, s.outstanding, d.cfg.AckTimeout)

		case m := <-s.ctrlIn:
			cm := m.GetCancellationMessage()
			switch {
			case cm.GetCancelStream() && s.cancelPender != nil:
				d.logf("the collector acknowledged the device's cancel (collector_uuid %q)", cm.GetCollectorUuid())
				s.cancelPender <- nil
				s.cancelPender = nil
				return ErrCancelledByDevice
			case cm.GetCancelStream():
				return s.ackCollectorCancel(parent, m)
			case cm != nil:
				d.fault(fmt.Errorf("%w: cancellation_message with cancel_stream false", ErrInvalidArgument))
			default:
				// A later ControlRequest reconfigures the stream; it is held to
				// the same rules as the first.
				interval, err := checkControlRequest(m)
				if err != nil {
					return err
				}
				every = d.pace(interval)
				ticker.Reset(every)
				d.update(func(st *Stats) { st.Interval = interval })
				d.logf("interval changed by the collector to %v, sending every %v", interval, every)
			}

		case reply := <-s.cancelReq:
			if s.cancelPender != nil {
				reply <- errors.New("ftdsim: a cancel is already waiting for the collector's ack")
				continue
			}
			bye := &ftdpb.ControlResponse{Version: d.cfg.Version, FtdUuid: d.cfg.UUID, Hostname: d.cfg.Hostname}
			if err := s.ctrl.Send(bye); err != nil {
				err = s.sendFailed(parent, "control", err)
				reply <- err
				return err
			}
			d.logf("cancel sent to the collector; waiting up to %v for its ack", d.cfg.AckTimeout)
			s.cancelPender = reply
			s.cancelTimer.Reset(d.cfg.AckTimeout)
			s.cancelC = s.cancelTimer.C
			tick = nil // no more batches once the device has asked to stop

		case <-s.cancelC:
			return s.failCancel(fmt.Errorf("%w: %w: the collector did not acknowledge the device's cancel within %v", ErrStreaming, ErrAckTimeout, d.cfg.AckTimeout))

		case err := <-s.ctrlErr:
			s.ctrlDone = true
			return s.failCancel(d.classify(parent, "control stream", err))

		case err := <-s.dataErr:
			s.dataDone = true
			if s.cancelPender != nil && errors.Is(err, io.EOF) {
				// The collector acknowledges on the control stream and ends
				// both streams; the data stream may end first.
				continue
			}
			return s.failCancel(d.classify(parent, "data stream", err))

		case <-parent.Done():
			return s.failCancel(parent.Err())
		}
	}
}

// failCancel answers a waiting CancelStream with the error that ended the
// session, and returns that error.
func (s *session) failCancel(err error) error {
	if s.cancelPender != nil {
		s.cancelPender <- fmt.Errorf("ftdsim: cancel not acknowledged: %w", err)
		s.cancelPender = nil
	}
	return err
}

// pace is the time between batches: the negotiated interval sped up.
func (d *Device) pace(interval time.Duration) time.Duration {
	return max(time.Duration(float64(interval)/d.cfg.SpeedUp), time.Microsecond)
}

func (s *session) sendBatch(parent context.Context) error {
	d := s.d
	b := d.Batch(d.cfg.Now())
	if err := s.data.Send(b); err != nil {
		return s.sendFailed(parent, "data", err)
	}
	s.batchesSent++
	s.outstanding = len(b.Metrics)
	s.ackTimer.Reset(d.cfg.AckTimeout)
	s.ackC = s.ackTimer.C
	d.update(func(st *Stats) { st.Batches++; st.Metrics += uint64(len(b.Metrics)) })
	if d.cfg.OnBatchSent != nil {
		d.cfg.OnBatchSent(b)
	}
	return nil
}

// ackCollectorCancel answers the collector's cancel with ControlResponse{ack:
// true}, as the guide requires of the receiver of a cancellation.
func (s *session) ackCollectorCancel(parent context.Context, m *ftdpb.ControlRequest) error {
	s.d.logf("the collector cancelled the stream (collector_uuid %q); acknowledging", m.GetCancellationMessage().GetCollectorUuid())
	ack := &ftdpb.ControlResponse{Version: s.d.cfg.Version, FtdUuid: s.d.cfg.UUID, Hostname: s.d.cfg.Hostname, Ack: true}
	if err := s.ctrl.Send(ack); err != nil {
		return s.sendFailed(parent, "control", err)
	}
	return ErrCancelledByCollector
}

// sendFailed turns a Send error into the session's error. gRPC's Send only
// says io.EOF when the stream is gone; the reason comes from Recv, which the
// reader goroutine is about to report.
func (s *session) sendFailed(parent context.Context, which string, err error) error {
	if errors.Is(err, io.EOF) {
		errc, done := s.dataErr, &s.dataDone
		if which == "control" {
			errc, done = s.ctrlErr, &s.ctrlDone
		}
		select {
		case rerr := <-errc:
			*done = true
			err = rerr
		case <-time.After(time.Second):
		}
	}
	return s.d.classify(parent, "sending on the "+which+" stream", err)
}

// close ends both streams. After a cancellation the collector is expected
// to end them itself, so the device half-closes and gives it a moment before
// tearing them down; after a failure it tears them down at once.
func (s *session) close(graceful bool) {
	s.ctrl.CloseSend()
	s.data.CloseSend()
	if graceful {
		grace := time.NewTimer(min(s.d.cfg.AckTimeout, 5*time.Second))
		defer grace.Stop()
	wait:
		for !s.ctrlDone || !s.dataDone {
			select {
			case <-s.ctrlIn:
			case <-s.dataIn:
			case <-s.ctrlErr:
				s.ctrlDone = true
			case <-s.dataErr:
				s.dataDone = true
			case <-grace.C:
				break wait
			}
		}
	}
	s.cancel()
	s.wg.Wait()
}

// classify wraps a gRPC error in the guide's category: certificate and TLS
// failures are auth errors, the rest streaming errors.
func (d *Device) classify(parent context.Context, what string, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: %s: the collector ended the stream", ErrStreaming, what)
	}
	st, _ := status.FromError(err)
	category := ErrStreaming
	if st.Code() == codes.Unauthenticated || st.Code() == codes.PermissionDenied || isTLSFailure(st.Message()) {
		category = ErrAuth
	}
	// The gRPC status stays wrapped so that diagnose can read its code.
	return fmt.Errorf("%w: %s: %w", category, what, err)
}

// isTLSFailure recognises handshake failures in gRPC's messages, which carry
// the TLS error only as text ("authentication handshake failed: tls: ...",
// or "remote error: tls: unknown certificate authority" when the collector
// refuses the device's certificate after a TLS 1.3 handshake).
func isTLSFailure(msg string) bool {
	for _, s := range []string{"authentication handshake failed", "tls: ", "x509: ", "certificate"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// diagnose looks again at a connection that failed before the handshake
// completed. With TLS 1.3 the device finishes its side of the handshake
// before the collector has judged its certificate, so a refusal reaches gRPC
// as a broken pipe or a reset rather than as a TLS error. A plain TLS
// connection that waits for the collector's first bytes gets the alert
// itself; if there is one, the failure was about certificates.
func (d *Device) diagnose(parent context.Context, err error) error {
	// Only a connection that failed as a whole (Unavailable) can hide a
	// certificate refusal; a status sent by the collector's handler means
	// TLS was fine.
	if !errors.Is(err, ErrStreaming) || status.Code(err) != codes.Unavailable || parent.Err() != nil {
		return err
	}
	cfg := d.tls.Clone()
	cfg.NextProtos = []string{"h2"}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(d.cfg.Target)
	}
	ctx, cancel := context.WithTimeout(parent, 3*time.Second)
	defer cancel()
	dialer := tls.Dialer{Config: cfg}
	conn, perr := dialer.DialContext(ctx, "tcp4", d.cfg.Target)
	if perr == nil {
		defer conn.Close()
		conn.SetReadDeadline(time.Now().Add(time.Second))
		_, perr = conn.Read(make([]byte, 1))
	}
	// crypto/tls exposes received alerts only as text ("remote error: tls:
	// certificate required").
	if perr != nil && isTLSFailure(perr.Error()) {
		return fmt.Errorf("%w: %v (the gRPC connection failed with: %s)", ErrAuth, perr, strings.TrimPrefix(err.Error(), ErrStreaming.Error()+": "))
	}
	return err
}

var versionRE = regexp.MustCompile(`^1(\.[0-9]+)?$`)

// checkControlRequest applies the guide's rules to the collector's answer:
// version 1.x ("Current version supported is 1.0"), interval from 60 s to
// 24 h, and "all", "the only supported value", among the subscriptions.
// Every problem is reported, not just the first.
func checkControlRequest(m *ftdpb.ControlRequest) (time.Duration, error) {
	var problems []string
	switch v := m.GetVersion(); {
	case v == "":
		problems = append(problems, "missing version (the supported version is 1.0)")
	case !versionRE.MatchString(v):
		problems = append(problems, fmt.Sprintf("version %q is not supported (the supported version is 1.0)", v))
	}
	secs := m.GetInterval()
	switch {
	case secs < int64(MinInterval/time.Second):
		problems = append(problems, fmt.Sprintf("interval frequency is out of bounds: %d seconds whereas the minimum allowed is 1 minute", secs))
	case secs > int64(MaxInterval/time.Second):
		problems = append(problems, fmt.Sprintf("interval frequency is out of bounds: %d seconds whereas the maximum allowed is 24 hours", secs))
	}
	subs := m.GetMetricSubscriptions()
	switch {
	case len(subs) == 0:
		problems = append(problems, `no metric_subscriptions (the only supported value is "all")`)
	case !slices.Contains(subs, "all"):
		problems = append(problems, fmt.Sprintf(`metric_subscriptions %q do not include "all", the only supported value`, subs))
	}
	if len(problems) > 0 {
		return 0, fmt.Errorf("%w: collector's ControlRequest: %s", ErrInvalidArgument, strings.Join(problems, "; "))
	}
	return time.Duration(secs) * time.Second, nil
}
