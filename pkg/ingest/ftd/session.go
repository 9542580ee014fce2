package ftd

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	grpcstatus "google.golang.org/grpc/status"

	decode "github.com/netlens/netlens/pkg/decode/ftd"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

// session is one device's streaming session, from its handshake to the end
// of its control stream. The control stream's handler owns it; data
// streams find it by uuid and end when it ends.
type session struct {
	ref       model.DeviceRef
	peer      netip.Addr
	cancelReq chan chan error // Server.Cancel asks the control handler
	ended     chan struct{}
	endOnce   sync.Once
	reason    string // why it ended; written before ended is closed
}

func newSession(ref model.DeviceRef, ip netip.Addr) *session {
	return &session{ref: ref, peer: ip, cancelReq: make(chan chan error), ended: make(chan struct{})}
}

func (se *session) end(reason string) {
	se.endOnce.Do(func() {
		se.reason = reason
		close(se.ended)
	})
}

// register makes se the device's session; an older one from the same uuid
// (a device that reconnected before its old connection died) is ended.
func (s *Server) register(se *session) {
	s.mu.Lock()
	old := s.sessions[se.ref.ID]
	s.sessions[se.ref.ID] = se
	s.mu.Unlock()
	if old != nil {
		s.board.Add(CounterSessionsReplaced, 1)
		old.end("replaced by a new session from " + se.ref.Remote)
		s.log.Info("FTD session replaced", "device", se.ref.ID, "old", old.ref.Remote, "new", se.ref.Remote)
	}
}

// closeSession ends se and, unless a newer session already replaced it,
// marks the device disconnected with reason.
func (s *Server) closeSession(se *session, reason string) {
	s.endSession(se, reason, s.board.Disconnected)
}

// cancelSession is closeSession for a stream either side cancelled: the
// device's record and history say cancelled, not lost.
func (s *Server) cancelSession(se *session, reason string) {
	s.endSession(se, reason, s.board.Cancelled)
}

func (s *Server) endSession(se *session, reason string, record func(model.DeviceRef, string)) {
	if se == nil {
		return
	}
	se.end(reason)
	s.mu.Lock()
	current := s.sessions[se.ref.ID] == se
	if current {
		delete(s.sessions, se.ref.ID)
	}
	s.mu.Unlock()
	if current {
		s.board.Add(CounterDisconnects, 1)
		record(se.ref, reason)
		s.log.Info("FTD device disconnected", "device", se.ref.ID, "hostname", se.ref.Hostname, "remote", se.ref.Remote, "reason", reason)
	}
}

func (s *Server) lookup(uuid string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[uuid]
}

// onlySessionFrom returns the session of the one device streaming from ip,
// or nil when there is none or several (devices behind one NAT address).
func (s *Server) onlySessionFrom(ip netip.Addr) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found *session
	for _, se := range s.sessions {
		if se.peer == ip {
			if found != nil {
				return nil
			}
			found = se
		}
	}
	return found
}

// Cancel asks device uuid to stop streaming (a ControlRequest with a
// cancellation message), waits for its acknowledgement, and ends its
// streams. Without an acknowledgement within the cancel timeout the
// session is ended anyway and an error says so. The device retries on its
// own schedule (five minutes, per the FTD guide).
func (s *Server) Cancel(uuid string) error {
	se := s.lookup(uuid)
	if se == nil {
		return fmt.Errorf("ftd: no streaming session for device %q", uuid)
	}
	reply := make(chan error, 1)
	select {
	case se.cancelReq <- reply:
	case <-se.ended:
		return fmt.Errorf("ftd: device %q: session ended (%s) before the cancel was sent", uuid, se.reason)
	}
	// The control handler answers on every path out, so this cannot hang.
	return <-reply
}

// handlers implements the gRPC service; the logic stays on Server.
type handlers struct {
	ftdpb.UnimplementedGrpcStreamingServiceServer
	s *Server
}

type received[T any] struct {
	msg *T
	err error
}

// receive moves Recv into its own goroutine so a handler can wait for a
// message, a cancel request and shutdown at once. It stops after the first
// error or once stop is closed. stop, not the stream's context, ends it:
// when the connection dies the context ends at the same moment Recv fails,
// and the handler must still get that error to record why.
func receive[T any](stop <-chan struct{}, recv func() (*T, error)) <-chan received[T] {
	ch := make(chan received[T])
	go func() {
		for {
			m, err := recv()
			select {
			case ch <- received[T]{m, err}:
			case <-stop:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

func remoteOf(stream grpc.ServerStream) net.Addr {
	if p, ok := peer.FromContext(stream.Context()); ok {
		return p.Addr
	}
	return nil
}

func (h *handlers) ControlStream(stream grpc.BidiStreamingServer[ftdpb.ControlResponse, ftdpb.ControlRequest]) (result error) {
	s := h.s
	remote := remoteOf(stream)
	ip := peerIP(remote)
	stop := make(chan struct{})
	defer close(stop)
	in := receive(stop, stream.Recv)
	ctl := newControl(s.intervalSec, s.collectorUUID)

	var (
		sess      *session
		cancelReq chan chan error
		ended     <-chan struct{}
		pending   chan error // a Cancel waiting for the device's ack
		ackTimer  *time.Timer
		ackWait   <-chan time.Time
	)
	ref := func() model.DeviceRef {
		if ctl.UUID == "" {
			return peerRef(remote)
		}
		return model.DeviceRef{Source: model.SourceFTD, ID: ctl.UUID, Hostname: ctl.Hostname, Remote: addrString(remote)}
	}
	defer func() {
		if ackTimer != nil {
			ackTimer.Stop()
		}
		if pending != nil {
			pending <- fmt.Errorf("ftd: control stream of %s ended before the cancel was acknowledged: %v", ctl.UUID, result)
		}
		s.closeSession(sess, "control stream ended")
	}()

	for {
		var st step
		select {
		case r := <-in:
			if r.err == nil {
				st = ctl.Receive(r.msg)
				break
			}
			if errors.Is(r.err, io.EOF) {
				st = ctl.Closed()
				break
			}
			// The device vanished: reset, keepalive timeout, or a message
			// gRPC could not take (too large, not protobuf).
			msg := grpcstatus.Convert(r.err).Message()
			s.board.Add(CounterStreamErrors, 1)
			if sess != nil {
				s.board.Error(sess.ref, status.CatStreaming, fmt.Errorf("control stream lost: %s", msg))
				s.closeSession(sess, "connection lost: "+msg)
			}
			return r.err

		case reply := <-cancelReq:
			out, err := ctl.Cancel()
			if err != nil {
				reply <- fmt.Errorf("ftd: device %s: %w", ctl.UUID, err)
				continue
			}
			s.board.Add(CounterCancelsCollector, 1)
			if err := stream.Send(out); err != nil {
				reply <- fmt.Errorf("ftd: sending the cancel to %s: %w", ctl.UUID, err)
				s.closeSession(sess, "connection lost while cancelling")
				return err
			}
			pending = reply
			ackTimer = time.NewTimer(s.cancelTimeout)
			ackWait = ackTimer.C
			continue

		case <-ackWait:
			err := fmt.Errorf("device did not acknowledge the collector's cancel within %v", s.cancelTimeout)
			s.board.Add(CounterCancelAckTimeouts, 1)
			s.board.Error(sess.ref, status.CatStreaming, err)
			pending <- fmt.Errorf("ftd: device %s: %w; its streams were ended anyway", ctl.UUID, err)
			pending = nil
			s.cancelSession(sess, "cancelled by the collector (not acknowledged)")
			return grpcstatus.Error(codes.DeadlineExceeded, err.Error())

		case <-ended:
			return grpcstatus.Error(codes.Aborted, sess.reason)

		case <-s.quit:
			s.closeSession(sess, "collector shutting down")
			return grpcstatus.Error(codes.Unavailable, "collector shutting down")
		}

		switch st.act {
		case actHandshake:
			sess = newSession(ref(), ip)
			cancelReq, ended = sess.cancelReq, sess.ended
			// Registered before the reply goes out: the device sends its
			// first batch as soon as it has the interval.
			s.register(sess)
			s.board.Add(CounterHandshakes, 1)
			s.board.Connected(sess.ref, time.Duration(s.intervalSec)*time.Second)
			s.log.Info("FTD device connected", "device", sess.ref.ID, "hostname", sess.ref.Hostname, "remote", sess.ref.Remote, "version", ctl.Version)
			if err := stream.Send(st.out); err != nil {
				s.closeSession(sess, "connection lost during the handshake")
				return err
			}
		case actReply:
			if err := stream.Send(st.out); err != nil {
				return err
			}
		case actIgnore:
			s.board.Add(CounterControlIgnored, 1)
			s.log.Debug("FTD control message ignored", "device", ctl.UUID, "what", st.note)
		case actFail:
			if sess == nil {
				s.board.Add(CounterHandshakesRefused, 1)
				s.board.Rejected(ref(), st.cat, st.err)
			} else {
				s.board.Error(sess.ref, st.cat, st.err)
				s.closeSession(sess, st.err.Error())
			}
			s.log.Warn("FTD control stream refused", "device", ctl.UUID, "remote", addrString(remote), "error", st.err)
			return grpcstatus.Error(st.code, st.err.Error())
		case actDeviceCancel:
			s.board.Add(CounterCancelsDevice, 1)
			// The acknowledgement may fail if the device already left;
			// the session ends either way.
			_ = stream.Send(st.out)
			s.cancelSession(sess, "cancelled by the device")
			return nil
		case actCancelAcked:
			pending <- nil
			pending = nil
			s.cancelSession(sess, "cancelled by the collector")
			return nil
		}
	}
}

func (h *handlers) DataStream(stream grpc.BidiStreamingServer[ftdpb.DataResponse, ftdpb.DataRequest]) error {
	s := h.s
	remote := remoteOf(stream)
	ip := peerIP(remote)
	stop := make(chan struct{})
	defer close(stop)
	// Two buffers take turns: the receiver fills one while the handler
	// converts the other, and it cannot get a third message before the
	// handler is done with the older buffer (the channel is unbuffered).
	var bufs [2]rawBatch
	turn := 0
	in := receive(stop, func() (*rawBatch, error) {
		r := &bufs[turn]
		turn ^= 1
		if err := stream.RecvMsg(r); err != nil {
			return nil, err
		}
		return r, nil
	})
	b := newBatcher(s)
	var (
		sess  *session
		ended <-chan struct{}
	)
	// refuse answers a batch the stream's known device got wrong with
	// ack=false and goes on; without a known device the stream ends.
	refuse := func(cat status.Category, code codes.Code, err error) error {
		s.board.Add(CounterBatchesRefused, 1)
		if sess != nil {
			s.board.Error(sess.ref, cat, err)
			return stream.Send(&ftdpb.DataRequest{Ack: false})
		}
		s.board.Rejected(peerRef(remote), cat, err)
		return grpcstatus.Error(code, err.Error())
	}
	for {
		var r received[rawBatch]
		select {
		case r = <-in:
		case <-ended:
			// Cancelled, replaced or lost: the device sees its data
			// stream end with its session.
			return nil
		case <-s.quit:
			// A batch already received is still stored and acknowledged.
			select {
			case r = <-in:
			default:
				return grpcstatus.Error(codes.Unavailable, "collector shutting down")
			}
		}
		if r.err != nil {
			return s.dataStreamFailed(sess, remote, ip, r.err)
		}
		data := r.msg.b
		s.board.Add(CounterBatches, 1)
		uuid, err := decode.BatchUUID(data)
		if err != nil {
			if err := refuse(status.CatInvalidArgument, codes.InvalidArgument, err); err != nil {
				return err
			}
			continue
		}
		if uuid == "" {
			err := errors.New("batch without ftd_uuid: the device's telemetry identity is not configured")
			if err := refuse(status.CatSystem, codes.InvalidArgument, err); err != nil {
				return err
			}
			continue
		}
		cur := s.lookup(uuid)
		if cur == nil {
			s.board.Add(CounterBatchesRefused, 1)
			err := errors.New("batch before the device's control-stream handshake")
			s.board.Error(model.DeviceRef{Source: model.SourceFTD, ID: uuid, Remote: addrString(remote)}, status.CatStreaming, err)
			return grpcstatus.Error(codes.FailedPrecondition, err.Error())
		}
		if cur.peer != ip {
			s.board.Add(CounterBatchesRefused, 1)
			err := fmt.Errorf("batch for this device from %s, but its control stream comes from %s", ip, cur.peer)
			s.board.Error(cur.ref, status.CatStreaming, err)
			return grpcstatus.Error(codes.PermissionDenied, err.Error())
		}
		if cur != sess {
			sess, ended = cur, cur.ended
		}
		if err := b.ingest(stream, sess, data); err != nil {
			return err
		}
	}
}

// dataStreamFailed records why a data stream's Recv failed and returns the
// status the handler ends with.
func (s *Server) dataStreamFailed(sess *session, remote net.Addr, ip netip.Addr, err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	st := grpcstatus.Convert(err)
	if st.Code() == codes.ResourceExhausted {
		s.board.Add(CounterOversized, 1)
		ref := peerRef(remote)
		if sess == nil {
			sess = s.onlySessionFrom(ip)
		}
		if sess != nil {
			ref = sess.ref
		}
		s.board.Error(ref, status.CatBuffer, fmt.Errorf("batch larger than ftd_max_message_bytes (%d bytes) refused: %s", s.cfg.MaxMessageBytes, st.Message()))
		return err
	}
	s.board.Add(CounterStreamErrors, 1)
	// A cancelled context is the connection going away; the control
	// stream reports that once for the device.
	if st.Code() != codes.Canceled && sess != nil {
		s.board.Error(sess.ref, status.CatStreaming, fmt.Errorf("data stream: %s: %s", st.Code(), st.Message()))
	}
	return err
}
