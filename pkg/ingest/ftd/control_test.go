package ftd

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/status"
)

const testUUID = "7eb19498-2519-11ef-a8dd-b74b4d43a7e7"

func hello() *ftdpb.ControlResponse {
	return &ftdpb.ControlResponse{Version: "1.0", FtdUuid: testUUID, Hostname: "firepower", InitStreaming: true, Capabilities: []string{Capability}}
}

func TestControlHandshake(t *testing.T) {
	c := newControl(300, "collector-1")
	st := c.Receive(hello())
	if st.act != actHandshake {
		t.Fatalf("action %v, err %v", st.act, st.err)
	}
	want := &ftdpb.ControlRequest{Version: "1.0", Interval: 300, MetricSubscriptions: []string{"all"}}
	if st.out.String() != want.String() {
		t.Errorf("reply %v, want %v", st.out, want)
	}
	if c.UUID != testUUID || c.Hostname != "firepower" || c.state != stStreaming {
		t.Errorf("state %+v", c)
	}
	// Asking again on the same stream gets the same answer.
	if st := c.Receive(hello()); st.act != actReply || st.out.GetInterval() != 300 {
		t.Errorf("repeated handshake: %+v", st)
	}
}

func TestControlRefusesBadHandshakes(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*ftdpb.ControlResponse)
		code codes.Code
		cat  status.Category
	}{
		{"no init_streaming", func(m *ftdpb.ControlResponse) { m.InitStreaming = false }, codes.FailedPrecondition, status.CatStreaming},
		{"empty uuid", func(m *ftdpb.ControlResponse) { m.FtdUuid = "" }, codes.InvalidArgument, status.CatSystem},
		{"version 2.0", func(m *ftdpb.ControlResponse) { m.Version = "2.0" }, codes.InvalidArgument, status.CatInvalidArgument},
		{"no version", func(m *ftdpb.ControlResponse) { m.Version = "" }, codes.InvalidArgument, status.CatInvalidArgument},
		{"version 10", func(m *ftdpb.ControlResponse) { m.Version = "10" }, codes.InvalidArgument, status.CatInvalidArgument},
		{"version 1.a", func(m *ftdpb.ControlResponse) { m.Version = "1.a" }, codes.InvalidArgument, status.CatInvalidArgument},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := hello()
			c.mod(m)
			ctl := newControl(60, "collector-1")
			st := ctl.Receive(m)
			if st.act != actFail || st.code != c.code || st.cat != c.cat || st.err == nil {
				t.Fatalf("got %+v, want failure %v/%v", st, c.code, c.cat)
			}
			if ctl.state != stClosed {
				t.Errorf("state %v after a refused handshake", ctl.state)
			}
		})
	}
}

func TestSupportedVersions(t *testing.T) {
	for v, want := range map[string]bool{
		"1": true, "1.0": true, "1.1": true, "1.10.2": true, "1.x": true,
		"": false, "2": false, "2.0": false, "1.": false, "1..0": false, "10": false, "v1.0": false, "1.0-beta": false,
	} {
		if got := supportedVersion(v); got != want {
			t.Errorf("supportedVersion(%q) = %v, want %v", v, got, want)
		}
	}
}

// A device cancels with a message that neither starts streaming nor
// acknowledges; the collector answers with a cancellation message.
func TestControlDeviceCancel(t *testing.T) {
	c := newControl(60, "collector-1")
	c.Receive(hello())
	st := c.Receive(&ftdpb.ControlResponse{FtdUuid: testUUID})
	if st.act != actDeviceCancel {
		t.Fatalf("got %+v", st)
	}
	cm := st.out.GetCancellationMessage()
	if !cm.GetCancelStream() || cm.GetCollectorUuid() != "collector-1" {
		t.Errorf("ack %v", st.out)
	}
	if st := c.Receive(hello()); st.act != actIgnore {
		t.Errorf("message after the end: %+v", st)
	}
}

// Closing the control stream after the handshake is also a device cancel.
func TestControlCloseIsDeviceCancel(t *testing.T) {
	c := newControl(60, "collector-1")
	if st := c.Closed(); st.act != actFail || st.cat != status.CatStreaming {
		t.Errorf("close before handshake: %+v", st)
	}
	c = newControl(60, "collector-1")
	c.Receive(hello())
	if st := c.Closed(); st.act != actDeviceCancel || !st.out.GetCancellationMessage().GetCancelStream() {
		t.Errorf("close after handshake: %+v", st)
	}
}

func TestControlCollectorCancel(t *testing.T) {
	c := newControl(60, "collector-1")
	if _, err := c.Cancel(); err == nil {
		t.Fatal("cancel before the handshake succeeded")
	}
	c.Receive(hello())
	out, err := c.Cancel()
	if err != nil || !out.GetCancellationMessage().GetCancelStream() || out.GetCancellationMessage().GetCollectorUuid() != "collector-1" {
		t.Fatalf("cancel %v, %v", out, err)
	}
	if _, err := c.Cancel(); err == nil {
		t.Error("second cancel while the first awaits its ack succeeded")
	}
	if st := c.Receive(hello()); st.act != actIgnore {
		t.Errorf("handshake while cancelling: %+v", st)
	}
	if st := c.Receive(&ftdpb.ControlResponse{FtdUuid: testUUID, Ack: true}); st.act != actCancelAcked {
		t.Errorf("ack: %+v", st)
	}
}

func TestControlCancelsThatCross(t *testing.T) {
	c := newControl(60, "collector-1")
	c.Receive(hello())
	c.Cancel()
	if st := c.Receive(&ftdpb.ControlResponse{FtdUuid: testUUID}); st.act != actCancelAcked {
		t.Errorf("device cancel crossing ours: %+v", st)
	}
}

func TestControlIgnoresStrayAckAndRefusesAnotherDevice(t *testing.T) {
	c := newControl(60, "collector-1")
	c.Receive(hello())
	if st := c.Receive(&ftdpb.ControlResponse{FtdUuid: testUUID, Ack: true}); st.act != actIgnore {
		t.Errorf("stray ack: %+v", st)
	}
	other := hello()
	other.FtdUuid = "00000000-0000-0000-0000-000000000001"
	if st := c.Receive(other); st.act != actFail || st.code != codes.InvalidArgument {
		t.Errorf("other device on this stream: %+v", st)
	}
}
