package dialout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/status"
)

// mdtTelemetryData is the MDT header's MsgType for data; frames from gRPC
// carry it so they look like the TCP framer's MDT data frames.
const mdtTelemetryData = 1

// maxReportedText bounds how much of a router's error report, or of an
// error, goes to the board and the log: the field can be megabytes.
const maxReportedText = 512

type service struct {
	xrpb.UnimplementedGRPCMdtDialoutServer
	s *Server
}

func (v *service) MdtDialout(stream grpc.BidiStreamingServer[xrpb.MdtDialoutArgs, xrpb.MdtDialoutArgs]) error {
	return v.s.serveStream(stream)
}

// serveStream receives one router stream until the router ends it, the
// connection breaks or the server stops. It never sends: routers do not
// read replies.
func (s *Server) serveStream(stream grpc.ServerStream) error {
	ctx := stream.Context()
	var ap netip.AddrPort
	if p, ok := peer.FromContext(ctx); ok {
		ap = addrPort(p.Addr)
	}
	if !s.h.Allowed(ap.Addr()) {
		s.board.Add(CounterRefusedNetwork, 1)
		s.board.Rejected(peerRef(ap), status.CatAuth, fmt.Errorf("gRPC dial-out from %s refused: not in xr_allowed_networks / allowed_networks", ap.Addr()))
		if s.router(ap).logDue("refused", s.now()) {
			s.log.Warn("IOS XR gRPC dial-out refused: address not allowed", "remote", ap.String())
		}
		return grpcstatus.Errorf(codes.PermissionDenied, "%s is not in the collector's allowed networks", ap.Addr())
	}

	r := s.router(ap)
	r.opened(ap, s.now())
	s.board.Add(CounterStreams, 1)
	s.log.Debug("IOS XR gRPC dial-out stream opened", "remote", ap.String(), "security", s.mode)
	reason := "stream closed by the router"
	defer func() {
		r.closed()
		s.log.Debug("IOS XR gRPC dial-out stream ended", "remote", ap.String(), "reason", reason)
	}()

	var args xrpb.MdtDialoutArgs
	var asm assembler
	for {
		if err := stream.RecvMsg(&args); err != nil {
			var ret error
			reason, ret = s.streamEnded(r, ap, err)
			return ret
		}
		s.message(ctx, r, ap, &args, &asm)
	}
}

// streamEnded classifies why Recv failed: the board reason, and what the
// handler returns to gRPC.
func (s *Server) streamEnded(r *router, ap netip.AddrPort, err error) (string, error) {
	ref := s.deviceRef(ap)
	switch code := grpcstatus.Code(err); {
	case errors.Is(err, io.EOF):
		return "stream closed by the router", nil
	case code == codes.ResourceExhausted:
		// gRPC refused a message over MaxRecvMsgSize before reading it;
		// the stream cannot resume past it, the router will reconnect.
		s.board.Add(CounterOversized, 1)
		r.add(func(r *router) { r.stats.Oversized++ })
		s.board.Error(ref, status.CatInvalidArgument, fmt.Errorf("gRPC message over xr_max_message_bytes (%d) refused: %s", s.cfg.MaxMessageBytes, clip(grpcstatus.Convert(err).Message())))
		if r.logDue("oversized", s.now()) {
			s.log.Warn("IOS XR gRPC dial-out message over xr_max_message_bytes refused", "remote", ap.String(), "max", s.cfg.MaxMessageBytes, "error", err)
		}
		return "message over xr_max_message_bytes", err
	case code == codes.Canceled:
		return "stream cancelled (router gone or collector stopping)", nil
	default:
		s.board.Add(CounterStreamErrors, 1)
		s.board.Error(ref, status.CatStreaming, fmt.Errorf("gRPC dial-out stream from %s: %s", ap, clip(err.Error())))
		return "stream error: " + clip(err.Error()), err
	}
}

// message handles one MdtDialoutArgs: the router's error report if any,
// then its data as one frame. Nothing here ends the stream.
func (s *Server) message(ctx context.Context, r *router, ap netip.AddrPort, a *xrpb.MdtDialoutArgs, asm *assembler) {
	now := s.now()
	if a.Errors != "" {
		s.board.Add(CounterErrorReports, 1)
		text := clip(a.Errors)
		r.add(func(r *router) {
			r.stats.ErrorReports++
			r.stats.LastError = text
			r.stats.LastSeenMs = now.UnixMilli()
		})
		s.board.Error(s.deviceRef(ap), status.CatStreaming, fmt.Errorf("router reported: %s", text))
		if r.logDue("report", now) {
			s.log.Warn("IOS XR router reported a telemetry error", "remote", ap.String(), "reqId", a.ReqId, "errors", text)
		}
	}
	data := a.Data
	if a.TotalSize > 0 {
		s.board.Add(CounterChunks, 1)
		var res chunkResult
		data, res = asm.add(a.TotalSize, a.Data, s.cfg.MaxMessageBytes)
		if res.dropped {
			s.board.Add(CounterChunksDropped, 1)
			r.add(func(r *router) { r.stats.ChunksDropped++ })
		}
		if res.oversized {
			s.oversized(r, ap, int(a.TotalSize), now)
		}
		if data == nil {
			return
		}
		defer asm.reset()
	}
	if len(data) == 0 {
		if a.Errors == "" {
			s.board.Add(CounterEmpty, 1)
		}
		return
	}
	if len(data) > s.cfg.MaxMessageBytes {
		s.oversized(r, ap, len(data), now)
		return
	}
	s.board.Add(CounterMessages, 1)
	s.board.Add(CounterBytes, uint64(len(data)))
	f := wire.Frame{Gen: wire.GenMDT, Kind: wire.KindData, Type: mdtTelemetryData, Encoding: encodingOf(data), Payload: data}
	err := s.h.HandleFrame(ctx, Transport, ap, f)
	r.add(func(r *router) {
		r.stats.Messages++
		r.stats.Bytes += uint64(len(data))
		r.stats.LastSeenMs = now.UnixMilli()
		if err != nil {
			r.stats.FramesFailed++
		}
	})
	if err != nil {
		// The receiver counts decode errors per router with their reason;
		// this counter only shows how many gRPC messages were affected.
		s.board.Add(CounterHandlerErrors, 1)
		if r.logDue("frame", now) {
			s.log.Debug("IOS XR gRPC dial-out message not decoded", "remote", ap.String(), "error", err)
		}
	}
}

// oversized counts a message whose size (announced or actual) is beyond
// xr_max_message_bytes though gRPC let its envelope through.
func (s *Server) oversized(r *router, ap netip.AddrPort, size int, now time.Time) {
	s.board.Add(CounterOversized, 1)
	r.add(func(r *router) { r.stats.Oversized++ })
	s.board.Error(s.deviceRef(ap), status.CatInvalidArgument, fmt.Errorf("gRPC message of %d bytes over xr_max_message_bytes (%d) dropped", size, s.cfg.MaxMessageBytes))
	if r.logDue("oversized", now) {
		s.log.Warn("IOS XR gRPC dial-out message over xr_max_message_bytes dropped", "remote", ap.String(), "size", size, "max", s.cfg.MaxMessageBytes)
	}
}

// encodingOf tells JSON text from GPB: JSON starts with '{' after optional
// white space and ends with '}'. Checking both ends matters because a GPB
// Telemetry starts with 0x0a (node_id_str's tag, which is '\n') followed by
// the name's length, which is '{' for a 123-byte name.
func encodingOf(b []byte) wire.Encoding {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	j := len(b) - 1
	for j > i && isSpace(b[j]) {
		j--
	}
	if i < j && b[i] == '{' && b[j] == '}' {
		return wire.EncodingJSON
	}
	return wire.EncodingGPB
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func clip(s string) string {
	if len(s) <= maxReportedText {
		return s
	}
	return s[:maxReportedText] + "…"
}

// assembler joins NX-OS chunks (MdtDialoutArgs with totalSize set) into
// their message. IOS XR never chunks; the rule is the one NX-OS receivers
// use: concatenate until totalSize bytes have arrived.
type assembler struct {
	total int32
	buf   []byte
}

type chunkResult struct {
	dropped   bool // a partial message was abandoned
	oversized bool // the announced size is beyond the limit
}

// add takes one chunk and returns the whole message once complete (nil
// before). The message is valid until reset.
func (a *assembler) add(total int32, data []byte, max int) ([]byte, chunkResult) {
	var res chunkResult
	if len(a.buf) > 0 && total != a.total {
		// A chunk of another message: the previous one will never complete.
		res.dropped = true
		a.reset()
	}
	if int64(total) > int64(max) {
		res.oversized = true
		return nil, res
	}
	if len(a.buf) == 0 && len(data) >= int(total) {
		return data, res
	}
	a.total = total
	a.buf = append(a.buf, data...)
	if len(a.buf) >= int(total) {
		return a.buf, res
	}
	return nil, res
}

// reset forgets the current message; the buffer is not kept, since chunked
// messages are large and rare.
func (a *assembler) reset() { a.buf, a.total = nil, 0 }

// RouterStats is what the transport saw of one router (by address).
type RouterStats struct {
	Address      string `json:"address"`
	Remote       string `json:"remote"` // last address:port
	OpenStreams  int    `json:"openStreams"`
	Streams      uint64 `json:"streams"` // opened since start
	Messages     uint64 `json:"messages"`
	Bytes        uint64 `json:"bytes"`
	ErrorReports uint64 `json:"errorReports"`
	LastError    string `json:"lastError,omitempty"`
	Oversized    uint64 `json:"oversized"`
	FramesFailed uint64 `json:"framesFailed"`
	// ChunksDropped counts NX-OS chunked messages abandoned incomplete.
	ChunksDropped uint64 `json:"chunksDropped"`
	LastSeenMs    int64  `json:"lastSeenMs"`
}

type router struct {
	mu     sync.Mutex
	stats  RouterStats
	since  time.Time
	logged map[string]time.Time
}

// router returns the record of ap's address, creating it; past maxRouters
// the oldest one without an open stream is forgotten.
func (s *Server) router(ap netip.AddrPort) *router {
	a := ap.Addr()
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.routers[a]; ok {
		return r
	}
	if len(s.routers) >= maxRouters {
		var oldest netip.Addr
		var at time.Time
		for k, r := range s.routers {
			r.mu.Lock()
			idle, since := r.stats.OpenStreams == 0, r.since
			r.mu.Unlock()
			if idle && (!oldest.IsValid() || since.Before(at)) {
				oldest, at = k, since
			}
		}
		if oldest.IsValid() {
			delete(s.routers, oldest)
		}
	}
	r := &router{stats: RouterStats{Address: a.String(), Remote: ap.String()}, since: s.now()}
	s.routers[a] = r
	return r
}

// opened records a new stream.
func (r *router) opened(ap netip.AddrPort, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats.OpenStreams++
	r.stats.Streams++
	r.stats.Remote = ap.String()
	r.since = now
}

// closed records a stream's end.
func (r *router) closed() {
	r.mu.Lock()
	r.stats.OpenStreams--
	r.mu.Unlock()
}

func (r *router) add(f func(*router)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
}

// logDue says whether a line of this kind may be logged now for the
// router: at most one per logGap, so a router repeating an error cannot
// flood the plugin's log.
func (r *router) logDue(kind string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.logged[kind]; ok && now.Sub(last) < logGap {
		return false
	}
	if r.logged == nil {
		r.logged = map[string]time.Time{}
	}
	r.logged[kind] = now
	return true
}

// Routers is what the transport saw of each router, by address.
func (s *Server) Routers() []RouterStats {
	s.mu.Lock()
	rs := make([]*router, 0, len(s.routers))
	for _, r := range s.routers {
		rs = append(rs, r)
	}
	s.mu.Unlock()
	out := make([]RouterStats, 0, len(rs))
	for _, r := range rs {
		r.mu.Lock()
		if r.stats.Streams > 0 || r.stats.ErrorReports > 0 {
			out = append(out, r.stats)
		}
		r.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Address < out[j].Address })
	return out
}
