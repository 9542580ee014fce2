package ftd

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

// ProtocolVersion is what the collector announces: the FTD guide says
// "Current version supported is 1.0".
const ProtocolVersion = "1.0"

// Capability is what the device advertises; an absent or different list is
// accepted, since only metric streaming exists.
const Capability = "metric_streaming"

// maxUUIDBytes bounds a device identity: it becomes a label value and a
// registry key, so a hostile handshake must not make it arbitrarily large.
const maxUUIDBytes = 256

// supportedVersion accepts major version 1 in the spellings a device may
// use: "1", "1.0", "1.2", "1.2.3", and "1.x".
func supportedVersion(v string) bool {
	if v == "1" {
		return true
	}
	rest, ok := strings.CutPrefix(v, "1.")
	if !ok || rest == "" {
		return false
	}
	if rest == "x" {
		return true
	}
	for _, part := range strings.Split(rest, ".") {
		if part == "" || strings.Trim(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// ctlState is where a control stream stands.
type ctlState uint8

const (
	stAwaitInit  ctlState = iota // nothing received yet
	stStreaming                  // handshake answered
	stCancelling                 // the collector sent a cancel and awaits the ack
	stClosed                     // the stream is over
)

func (s ctlState) String() string {
	return [...]string{"awaiting handshake", "streaming", "cancelling", "closed"}[s]
}

// action tells the stream handler what to do with a step.
type action uint8

const (
	// actHandshake: send out, register the session, mark it connected.
	actHandshake action = iota
	// actReply: send out, nothing else changes.
	actReply
	// actIgnore: nothing to send; note says what was ignored (counted).
	actIgnore
	// actFail: end the stream with code; record err under cat.
	actFail
	// actDeviceCancel: send out (the acknowledgement), then end the stream.
	actDeviceCancel
	// actCancelAcked: the device acknowledged the collector's cancel; end.
	actCancelAcked
)

// step is the outcome of one event.
type step struct {
	act  action
	out  *ftdpb.ControlRequest
	code codes.Code
	cat  status.Category
	err  error
	note string
}

// control is the control stream's state machine, kept apart from gRPC so
// every transition can be tested on its own. It does not send anything:
// it says what to send, and the handler owns the stream.
type control struct {
	state         ctlState
	intervalSec   int64
	collectorUUID string

	// Set by the handshake.
	UUID, Hostname, Version string
}

func newControl(intervalSec int64, collectorUUID string) *control {
	return &control{intervalSec: intervalSec, collectorUUID: collectorUUID}
}

func (c *control) fail(code codes.Code, cat status.Category, format string, args ...any) step {
	c.state = stClosed
	return step{act: actFail, code: code, cat: cat, err: fmt.Errorf(format, args...)}
}

// handshakeReply is the collector's answer to init_streaming: version,
// interval in seconds, and "all", the only subscription the guide defines.
func (c *control) handshakeReply() *ftdpb.ControlRequest {
	return &ftdpb.ControlRequest{Version: ProtocolVersion, Interval: c.intervalSec, MetricSubscriptions: []string{"all"}}
}

// cancellation is the collector's cancel, and also its acknowledgement of a
// device's cancel (see the header comment of grpc_streaming.proto).
func (c *control) cancellation() *ftdpb.ControlRequest {
	return &ftdpb.ControlRequest{
		Version:             ProtocolVersion,
		CancellationMessage: &ftdpb.StreamCancellationMessage{CollectorUuid: c.collectorUUID, CancelStream: true},
	}
}

// Receive takes one message from the device.
func (c *control) Receive(m *ftdpb.ControlResponse) step {
	switch c.state {
	case stAwaitInit:
		return c.init(m)
	case stStreaming:
		switch {
		case m.GetInitStreaming():
			// A repeated handshake on the same stream asks for the
			// configuration again; a different uuid is another device and
			// does not belong on this stream.
			if m.GetFtdUuid() != "" && m.GetFtdUuid() != c.UUID {
				return c.fail(codes.InvalidArgument, status.CatInvalidArgument,
					"handshake for device %q on the control stream of device %q", m.GetFtdUuid(), c.UUID)
			}
			return step{act: actReply, out: c.handshakeReply()}
		case m.GetAck():
			return step{act: actIgnore, note: "acknowledgement without a pending cancel"}
		default:
			c.state = stClosed
			return step{act: actDeviceCancel, out: c.cancellation()}
		}
	case stCancelling:
		// The device's ack ends the stream. A device cancel that crossed
		// ours ends it too: both sides want it over and the device took our
		// cancellation as its acknowledgement.
		if m.GetAck() || !m.GetInitStreaming() {
			c.state = stClosed
			return step{act: actCancelAcked}
		}
		return step{act: actIgnore, note: "handshake while the collector's cancel awaits its acknowledgement"}
	}
	return step{act: actIgnore, note: "message after the stream ended"}
}

func (c *control) init(m *ftdpb.ControlResponse) step {
	uuid := m.GetFtdUuid()
	if !m.GetInitStreaming() {
		return c.fail(codes.FailedPrecondition, status.CatStreaming,
			"first control message has init_streaming false: the device must open with the handshake")
	}
	if uuid == "" {
		return c.fail(codes.InvalidArgument, status.CatSystem,
			"handshake without ftd_uuid: the device's telemetry identity (uuid) is not configured")
	}
	if len(uuid) > maxUUIDBytes || !utf8.ValidString(uuid) {
		return c.fail(codes.InvalidArgument, status.CatSystem, "handshake ftd_uuid is %d bytes or not UTF-8; not a device identity", len(uuid))
	}
	c.UUID, c.Version = uuid, m.GetVersion()
	if h := m.GetHostname(); len(h) <= maxUUIDBytes && utf8.ValidString(h) {
		c.Hostname = h
	}
	if !supportedVersion(m.GetVersion()) {
		return c.fail(codes.InvalidArgument, status.CatInvalidArgument,
			"protocol version %q is not supported: the collector speaks version 1 (1.0)", m.GetVersion())
	}
	c.state = stStreaming
	return step{act: actHandshake, out: c.handshakeReply()}
}

var errNotStreaming = errors.New("the device has not completed its handshake or is already being cancelled")

// Cancel starts a collector-initiated cancellation and returns the message
// to send; the stream then waits for the device's ack.
func (c *control) Cancel() (*ftdpb.ControlRequest, error) {
	if c.state != stStreaming {
		return nil, fmt.Errorf("cannot cancel (%s): %w", c.state, errNotStreaming)
	}
	c.state = stCancelling
	return c.cancellation(), nil
}

// Closed handles the device closing its side of the stream (io.EOF). After
// the handshake that is the device's cancel, acknowledged like one.
func (c *control) Closed() step {
	switch c.state {
	case stStreaming:
		c.state = stClosed
		return step{act: actDeviceCancel, out: c.cancellation()}
	case stCancelling:
		c.state = stClosed
		return step{act: actCancelAcked}
	case stAwaitInit:
		return c.fail(codes.FailedPrecondition, status.CatStreaming, "control stream closed by the device before the handshake")
	}
	return step{act: actIgnore, note: "close after the stream ended"}
}
