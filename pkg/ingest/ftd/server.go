// Package ftd is the Cisco FTD streaming-telemetry receiver: a gRPC server
// with mandatory mutual TLS that FTD devices dial out to. Each device opens
// a control stream (handshake, interval, cancellation) and a data stream
// (metric batches, each acknowledged once it is in the store). Conversion
// of batches to samples lives in pkg/decode/ftd; this package owns sockets,
// TLS, sessions, limits and the counters on the status board.
package ftd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/netlens/netlens/pkg/config"
	decode "github.com/netlens/netlens/pkg/decode/ftd"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

// Board counters this receiver keeps. Rejected metrics also count per
// reason as CounterMetricsRejected + "_" + reason.
const (
	CounterConnAccepted       = "ftd_connections_accepted"
	CounterConnRefused        = "ftd_connections_refused_network"
	CounterTLSFailures        = "ftd_tls_handshake_failures"
	CounterHandshakes         = "ftd_handshakes"
	CounterHandshakesRefused  = "ftd_handshakes_refused"
	CounterSessionsReplaced   = "ftd_sessions_replaced"
	CounterBatches            = "ftd_batches"
	CounterBatchesNacked      = "ftd_batches_nacked"
	CounterBatchesRefused     = "ftd_batches_refused"
	CounterMetricsKept        = "ftd_metrics_kept"
	CounterMetricsRejected    = "ftd_metrics_rejected"
	CounterMetricsUnknownType = "ftd_metrics_unknown_type"
	CounterOversized          = "ftd_messages_oversized"
	CounterCancelsCollector   = "ftd_cancels_by_collector"
	CounterCancelsDevice      = "ftd_cancels_by_device"
	CounterCancelAckTimeouts  = "ftd_cancel_ack_timeouts"
	CounterDisconnects        = "ftd_disconnects"
	CounterControlIgnored     = "ftd_control_messages_ignored"
	CounterStreamErrors       = "ftd_stream_errors"
)

// Defaults for what the configuration does not set.
const (
	// DefaultCancelTimeout bounds how long Cancel waits for the device's
	// acknowledgement before ending the session anyway.
	DefaultCancelTimeout = 30 * time.Second
	// handshakeTimeout bounds the TLS handshake of one connection, so a
	// peer that connects and says nothing does not hold a goroutine.
	handshakeTimeout = 15 * time.Second
)

// Server is the FTD receiver. Create it with New, then Start.
type Server struct {
	cfg     config.FTD
	allowed func(netip.Addr) bool
	board   *status.Board
	sink    pipeline.Sink
	log     log.Logger
	tls     tlsFiles

	collectorUUID string
	intervalSec   int64

	// Adjustable before Start, by tests in this package.
	now           func() time.Time
	cancelTimeout time.Duration
	keepalive     keepalive.ServerParameters
	enforcement   keepalive.EnforcementPolicy

	grpc *grpc.Server
	lis  net.Listener
	quit chan struct{} // closed by Shutdown: handlers finish what they hold and return
	wg   sync.WaitGroup

	mu       sync.Mutex
	sessions map[string]*session // by device uuid
	stopOnce sync.Once
}

// New checks the configuration up front: interval, limits, and the three
// TLS files (readable, key matching certificate, CA parsing). Every error
// names the setting and the file. allowed may be nil to allow every peer.
// An expired certificate is not refused here (the operator may be about to
// replace it and the health check says so); Certificates reports it.
func New(cfg config.FTD, allowed func(netip.Addr) bool, board *status.Board, sink pipeline.Sink, logger log.Logger) (*Server, error) {
	if board == nil || sink == nil {
		return nil, errors.New("ftd receiver: a status board and a sink are required")
	}
	if logger == nil {
		logger = log.NewNullLogger()
	}
	if cfg.ListenAddress == "" {
		return nil, errors.New("ftd_listen_address is empty: the FTD receiver is turned off")
	}
	if cfg.Interval < config.MinFTDInterval || cfg.Interval > config.MaxFTDInterval {
		return nil, fmt.Errorf("ftd_interval %s is outside the range FTD devices accept (60s to 24h)", cfg.Interval)
	}
	if cfg.Interval%time.Second != 0 {
		return nil, fmt.Errorf("ftd_interval %s is not a whole number of seconds (the protocol sends seconds)", cfg.Interval)
	}
	if cfg.MaxMessageBytes <= 0 {
		return nil, fmt.Errorf("ftd_max_message_bytes %d must be positive", cfg.MaxMessageBytes)
	}
	if cfg.MaxTags <= 0 {
		return nil, fmt.Errorf("ftd_max_tags %d must be positive", cfg.MaxTags)
	}
	files, err := loadTLS(cfg.CertFile, cfg.KeyFile, cfg.CAFile)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, allowed: allowed, board: board, sink: sink, log: logger, tls: files,
		collectorUUID: newUUID(),
		intervalSec:   int64(cfg.Interval / time.Second),
		now:           time.Now,
		cancelTimeout: DefaultCancelTimeout,
		// FTD intervals reach 24 h, far longer than a dead peer should look
		// connected: ping an idle connection every minute and give up on
		// it 20 s after an unanswered ping.
		keepalive: keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second},
		// Let devices ping us too (gRPC clients often keep connections
		// alive between batches), but not flood.
		enforcement: keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true},
		quit:        make(chan struct{}),
		sessions:    map[string]*session{},
	}
	now := s.now()
	for _, c := range files.certs {
		if p := c.Problem(now); p != "" {
			logger.Warn("FTD receiver certificate problem", "file", c.File, "role", c.Role, "subject", c.Subject, "problem", p)
		}
	}
	return s, nil
}

// newUUID names this collector in cancellation messages.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Certificates describes the server certificate and the CA certificates in
// use, for the health check (see CertInfo.Problem).
func (s *Server) Certificates() []CertInfo {
	return append([]CertInfo(nil), s.tls.certs...)
}

// CollectorUUID is the identity this collector puts in its cancellations.
func (s *Server) CollectorUUID() string { return s.collectorUUID }

// Start binds the listener, records it on the board, and serves in the
// background. It returns once the socket accepts connections.
func (s *Server) Start() error {
	if s.grpc != nil {
		return errors.New("ftd receiver already started")
	}
	lis, err := net.Listen("tcp", s.cfg.ListenAddress)
	if err != nil {
		s.board.ListenerFailed("ftd", "tcp", s.cfg.ListenAddress, err)
		return fmt.Errorf("listening on %s: %w", s.cfg.ListenAddress, err)
	}
	s.lis = lis
	s.board.ListenerBound("ftd", "tcp", s.cfg.ListenAddress, lis.Addr().String())
	creds := &recordingCreds{TransportCredentials: credentials.NewTLS(s.tls.config), failed: s.handshakeFailed}
	s.grpc = grpc.NewServer(
		grpc.Creds(creds),
		grpc.ForceServerCodecV2(newCodec()),
		grpc.MaxRecvMsgSize(s.cfg.MaxMessageBytes),
		grpc.KeepaliveParams(s.keepalive),
		grpc.KeepaliveEnforcementPolicy(s.enforcement),
		grpc.ConnectionTimeout(handshakeTimeout),
		// A device uses two streams; a few more allow a reconnect to
		// overlap the old connection, and no peer can open thousands.
		grpc.MaxConcurrentStreams(16),
	)
	ftdpb.RegisterGrpcStreamingServiceServer(s.grpc, &handlers{s: s})
	fl := &filterListener{
		Listener: lis,
		allowed:  s.allowed,
		accepted: func(net.Conn) { s.board.Add(CounterConnAccepted, 1) },
		refused:  s.refused,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.grpc.Serve(fl); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.board.ListenerFailed("ftd", "tcp", s.cfg.ListenAddress, err)
			s.log.Error("FTD receiver stopped serving", "error", err)
		}
	}()
	return nil
}

// Addr is the bound address (with the port the OS chose for ":0").
func (s *Server) Addr() net.Addr {
	if s.lis == nil {
		return nil
	}
	return s.lis.Addr()
}

// Shutdown stops accepting connections and ends every stream. A batch being
// written is finished and acknowledged first; streams waiting for the next
// batch end at once. When ctx ends before that, remaining connections are
// closed hard.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.grpc == nil {
		return nil
	}
	s.stopOnce.Do(func() { close(s.quit) })
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
		err = fmt.Errorf("ftd receiver: streams still open at the shutdown deadline were closed: %w", ctx.Err())
	}
	s.wg.Wait()
	return err
}

func (s *Server) refused(c net.Conn, ip netip.Addr) {
	s.board.Add(CounterConnRefused, 1)
	s.board.Rejected(peerRef(c.RemoteAddr()), status.CatAuth,
		fmt.Errorf("connection from %s refused: not in allowed_networks", ip))
}

func (s *Server) handshakeFailed(remote net.Addr, err error) {
	s.board.Add(CounterTLSFailures, 1)
	s.board.Rejected(peerRef(remote), status.CatAuth, fmt.Errorf("TLS handshake failed: %w", err))
	s.log.Warn("FTD TLS handshake failed", "remote", addrString(remote), "error", err)
}

// peerRef is the board record of a peer whose device identity is unknown.
func peerRef(a net.Addr) model.DeviceRef {
	return model.DeviceRef{Source: model.SourceFTD, ID: "peer:" + peerIP(a).String(), Remote: addrString(a)}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// Converter limits from the configuration.
func (s *Server) limits() decode.Limits {
	l := decode.DefaultLimits()
	l.MaxTags = s.cfg.MaxTags
	return l
}
