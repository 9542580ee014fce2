// Package dialout is the gRPC dial-out transport of IOS XR model-driven
// telemetry: a gRPC server for the gRPCMdtDialout service that routers
// connect to (plaintext by default, TLS or mutual TLS when configured).
// Each MdtDialoutArgs carries one encoded Telemetry message (key-value GPB,
// or JSON text); the server turns it into a wire.Frame, as the TCP framer
// would, and hands it to the receiver's FrameHandler, which decodes and maps
// it. This package owns the socket, TLS, limits and the transport's counters;
// it never decodes telemetry itself.
//
// The stream is bidirectional in the service definition but routers expect
// nothing back, so the server only receives. A message that fails to decode
// is counted and the stream goes on: one bad sensor path must not cut a
// router's other paths.
package dialout

import (
	"context"
	"crypto/tls"
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
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/status"
)

// FrameHandler decodes framed messages and says which peers may send; the
// XR receiver (pkg/ingest/xr) implements it for every transport.
type FrameHandler interface {
	HandleFrame(ctx context.Context, transport string, remote netip.AddrPort, f wire.Frame) error
	Allowed(a netip.Addr) bool
}

// Transport is the name this server gives HandleFrame.
const Transport = "grpc"

// ListenerName is the listener's name on the status board.
const ListenerName = "xr-grpc"

// Board counters this server keeps (process-wide; per-router figures are
// in Routers, and errors in the routers' board records). Whether a router
// is connected is the receiver's to say: it hears the router's messages
// from every transport.
const (
	CounterConnAccepted   = "xr_grpc_connections_accepted"
	CounterConnRefusedMax = "xr_grpc_connections_refused_limit"
	CounterTLSFailures    = "xr_grpc_tls_handshake_failures"
	CounterRefusedNetwork = "xr_grpc_streams_refused_network"
	CounterStreams        = "xr_grpc_streams"
	CounterStreamErrors   = "xr_grpc_stream_errors"
	CounterMessages       = "xr_grpc_messages"
	CounterBytes          = "xr_grpc_bytes"
	CounterEmpty          = "xr_grpc_messages_empty"
	CounterErrorReports   = "xr_grpc_error_reports"
	CounterOversized      = "xr_grpc_messages_oversized"
	CounterChunks         = "xr_grpc_chunks"
	CounterChunksDropped  = "xr_grpc_chunks_incomplete"
	CounterHandlerErrors  = "xr_grpc_frames_failed"
)

const (
	// handshakeTimeout bounds a connection's TLS handshake and HTTP/2
	// preface, so a peer that connects and says nothing does not hold a
	// goroutine and a connection slot.
	handshakeTimeout = 15 * time.Second
	// maxStreamsPerConn: a router opens one stream per subscription and
	// destination; a few dozen leaves room for many subscriptions while
	// keeping one peer from opening thousands.
	maxStreamsPerConn = 64
	// argsOverhead is what MdtDialoutArgs adds around data (tags, ReqId,
	// totalSize), so that a message of exactly MaxMessageBytes still passes.
	argsOverhead = 64
	// logGap spaces out log lines about one router's repeated errors.
	logGap = time.Minute
	// maxRouters bounds the per-router table against address scans; the
	// oldest router without an open stream is forgotten first.
	maxRouters = 10000
)

// Server is the gRPC dial-out receiver. New binds the socket; Serve serves
// until its context ends.
type Server struct {
	cfg   config.XR
	h     FrameHandler
	board *status.Board
	log   log.Logger
	tls   *tls.Config
	mode  string
	now   func() time.Time

	lis  net.Listener
	grpc *grpc.Server

	mu      sync.Mutex
	served  bool
	routers map[netip.Addr]*router
}

// New checks the configuration (address, limits, the TLS files: readable,
// key matching the certificate, CA parsing; every error names the setting
// and the file), binds the listener and records it on the board.
func New(cfg config.XR, h FrameHandler, board *status.Board, logger log.Logger) (*Server, error) {
	if h == nil || board == nil {
		return nil, errors.New("xr dial-out: a frame handler and a status board are required")
	}
	if logger == nil {
		logger = log.NewNullLogger()
	}
	if cfg.GRPCListenAddress == "" {
		return nil, errors.New("xr_grpc_listen_address is empty: gRPC dial-out is turned off")
	}
	if cfg.MaxMessageBytes <= 0 {
		return nil, fmt.Errorf("xr_max_message_bytes %d must be positive", cfg.MaxMessageBytes)
	}
	if cfg.MaxConnections <= 0 {
		return nil, fmt.Errorf("xr_max_connections %d must be positive", cfg.MaxConnections)
	}
	tlsCfg, mode, err := loadTLS(cfg.GRPCCertFile, cfg.GRPCKeyFile, cfg.GRPCClientCAFile)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", cfg.GRPCListenAddress)
	if err != nil {
		board.ListenerFailed(ListenerName, "tcp", cfg.GRPCListenAddress, err)
		return nil, fmt.Errorf("xr dial-out: listening on %s: %w", cfg.GRPCListenAddress, err)
	}
	board.ListenerBound(ListenerName, "tcp", cfg.GRPCListenAddress, lis.Addr().String())
	logger.Info("IOS XR gRPC dial-out listening", "address", lis.Addr().String(), "security", mode)
	s := &Server{
		cfg: cfg, h: h, board: board, log: logger, tls: tlsCfg, mode: mode, now: time.Now,
		lis: lis, routers: map[netip.Addr]*router{},
	}
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxMessageBytes + argsOverhead),
		// Routers stream at their sample interval, which can be minutes:
		// ping a quiet connection every minute so a dead router does not
		// look connected for long, and give up 20 s after an unanswered ping.
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: time.Minute, Timeout: 20 * time.Second}),
		// Accept the routers' own keepalive pings, even between streams,
		// but close a peer that pings more than every 10 s.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		// Stop returns only once no handler runs, so that after Serve no
		// frame reaches a handler whose store may be closing.
		grpc.WaitForHandlers(true),
	}
	if tlsCfg != nil {
		opts = append(opts, grpc.Creds(&recordingCreds{TransportCredentials: credentials.NewTLS(tlsCfg), failed: s.handshakeFailed}))
	}
	s.grpc = grpc.NewServer(opts...)
	xrpb.RegisterGRPCMdtDialoutServer(s.grpc, &service{s: s})
	return s, nil
}

// Addr is the bound address (with the port the OS chose for ":0").
func (s *Server) Addr() net.Addr { return s.lis.Addr() }

// Security is ModePlaintext, ModeTLS or ModeMutualTLS.
func (s *Server) Security() string { return s.mode }

// Serve accepts routers until ctx ends, then closes every connection and
// returns once no stream is being handled. It returns an error only when
// the listener fails. Serve may be called once.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	if s.served {
		s.mu.Unlock()
		return errors.New("xr dial-out: Serve called twice, or after Close")
	}
	s.served = true
	s.mu.Unlock()

	lis := &limitListener{Listener: s.lis, max: int64(s.cfg.MaxConnections), refused: s.connRefused}
	counted := &acceptCounter{Listener: lis, board: s.board}
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(counted) }()
	select {
	case err := <-errc:
		s.grpc.Stop()
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			s.board.ListenerFailed(ListenerName, "tcp", s.cfg.GRPCListenAddress, err)
			s.log.Error("IOS XR gRPC dial-out stopped serving", "error", err)
			return fmt.Errorf("xr dial-out: serving on %s: %w", s.cfg.GRPCListenAddress, err)
		}
		return nil
	case <-ctx.Done():
		// Routers get no acknowledgement, so there is nothing to drain:
		// closing at once loses only what is on the wire, which a graceful
		// stop would lose as well (streams never end by themselves).
		s.grpc.Stop()
		<-errc
		return nil
	}
}

// Close releases the listener of a server whose Serve never ran (Serve
// releases it itself).
func (s *Server) Close() error {
	s.mu.Lock()
	served := s.served
	s.served = true
	s.mu.Unlock()
	if served {
		return nil
	}
	s.grpc.Stop()
	return s.lis.Close()
}

// acceptCounter counts connections that got past the limit.
type acceptCounter struct {
	net.Listener
	board *status.Board
}

func (a *acceptCounter) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err == nil {
		a.board.Add(CounterConnAccepted, 1)
	}
	return c, err
}

func (s *Server) connRefused(c net.Conn) {
	s.board.Add(CounterConnRefusedMax, 1)
	ap := addrPort(c.RemoteAddr())
	s.board.Error(s.deviceRef(ap), status.CatSystem,
		fmt.Errorf("gRPC connection from %s refused: xr_max_connections (%d) reached", ap, s.cfg.MaxConnections))
}

func (s *Server) handshakeFailed(remote net.Addr, err error) {
	s.board.Add(CounterTLSFailures, 1)
	ap := addrPort(remote)
	s.board.Rejected(peerRef(ap), status.CatAuth, fmt.Errorf("gRPC dial-out TLS handshake failed (%s): %w", s.mode, err))
	if s.router(ap).logDue("tls", s.now()) {
		s.log.Warn("IOS XR gRPC dial-out TLS handshake failed", "remote", ap.String(), "security", s.mode, "error", err)
	}
}

// DeviceNamer is optionally implemented by the FrameHandler: the device
// name the receiver has learned for an address (from the node id in its
// messages), so that transport errors land on the same board record as the
// router's data. Without it, or for an address never heard, the record is
// the address, which is also what the receiver names unknown routers.
type DeviceNamer interface {
	DeviceOf(a netip.Addr) string
}

// deviceRef is the board record of a router that reached the handler.
func (s *Server) deviceRef(ap netip.AddrPort) model.DeviceRef {
	id := ap.Addr().String()
	if n, ok := s.h.(DeviceNamer); ok {
		if name := n.DeviceOf(ap.Addr()); name != "" {
			id = name
		}
	}
	return model.DeviceRef{Source: model.SourceXR, ID: id, Remote: ap.String()}
}

// peerRef is the board record of a peer refused before it could send (TLS
// handshake, allow-list): it is not known to be a router, so it is kept
// apart from router records, as the TCP receiver does.
func peerRef(ap netip.AddrPort) model.DeviceRef {
	return model.DeviceRef{Source: model.SourceXR, ID: "peer:" + ap.Addr().String(), Remote: ap.String()}
}

// addrPort is a peer's address, IPv4-mapped addresses unmapped so that
// allow-lists and device names see the IPv4 form.
func addrPort(a net.Addr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	if t, ok := a.(*net.TCPAddr); ok {
		ap := t.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
