package dialout

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/status"
)

// A router streaming key-value GPB and JSON over plaintext gRPC: every
// message becomes one MDT data frame with its encoding told from its bytes,
// handed over with the router's address and the "grpc" transport.
func TestPlaintextGPBAndJSON(t *testing.T) {
	e := start(t, testConfig(), nil)
	r := mustDial(t, e.addr, nil)
	gpb := kvTelemetry(t, "r1", 7, 3)
	js := []byte("\n  {\"node_id_str\":\"r1\",\"encoding_path\":\"a:b/c\",\"data_json\":[]}\r\n")
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 1, Data: gpb})
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 2, Data: js})
	if err := r.finish(); err != nil {
		t.Fatalf("stream ended with %v, want a clean end", err)
	}
	waitFor(t, "2 frames", func() bool { return len(e.h.got()) == 2 })

	got := e.h.got()
	for i, want := range []struct {
		enc     wire.Encoding
		payload []byte
	}{{wire.EncodingGPB, gpb}, {wire.EncodingJSON, js}} {
		g := got[i]
		if g.transport != "grpc" || g.remote.Addr() != netip.MustParseAddr("127.0.0.1") || g.remote.Port() == 0 {
			t.Errorf("frame %d from %s over %s, want 127.0.0.1:<port> over grpc", i, g.remote, g.transport)
		}
		f := g.frame
		if f.Gen != wire.GenMDT || f.Kind != wire.KindData || f.Type != 1 || f.Encoding != want.enc || f.Compressed {
			t.Errorf("frame %d = gen %s kind %d type %d encoding %s compressed %v, want mdt data type 1 %s plain",
				i, f.Gen, f.Kind, f.Type, f.Encoding, f.Compressed, want.enc)
		}
		if !bytes.Equal(f.Payload, want.payload) {
			t.Errorf("frame %d payload differs from what the router sent", i)
		}
	}
	var msg xrpb.Telemetry
	if err := proto.Unmarshal(got[0].frame.Payload, &msg); err != nil || msg.GetNodeIdStr() != "r1" || msg.CollectionId != 7 {
		t.Errorf("GPB payload decodes to node %q collection %d (%v)", msg.GetNodeIdStr(), msg.CollectionId, err)
	}

	snap := e.board.Snapshot()
	if snap.Counters[CounterMessages] != 2 || snap.Counters[CounterBytes] != uint64(len(gpb)+len(js)) || snap.Counters[CounterStreams] != 1 {
		t.Errorf("counters = %v", snap.Counters)
	}
	if len(snap.Listeners) != 1 || snap.Listeners[0].Name != ListenerName || snap.Listeners[0].Bound != e.addr {
		t.Errorf("listeners = %+v, want %s bound to %s", snap.Listeners, ListenerName, e.addr)
	}
	waitFor(t, "the stream's end", func() bool {
		rs := e.srv.Routers()
		return len(rs) == 1 && rs[0].OpenStreams == 0
	})
	rs := e.srv.Routers()
	if rs[0].Address != "127.0.0.1" || rs[0].Messages != 2 || rs[0].Streams != 1 || rs[0].Bytes != uint64(len(gpb)+len(js)) {
		t.Errorf("Routers() = %+v", rs)
	}
	// Whether the router is connected is the receiver's to say, from the
	// messages it decodes: the transport adds no device record of its own.
	if len(snap.Devices) != 0 {
		t.Errorf("board devices = %+v, want none from a clean stream", snap.Devices)
	}
}

func findDevice(b *status.Board, id string) *status.Device {
	for _, d := range b.Snapshot().Devices {
		if d.Source == model.SourceXR && d.ID == id {
			return &d
		}
	}
	return nil
}

// Routers counts a router's open streams while they are open.
func TestOpenStreamsCounted(t *testing.T) {
	e := start(t, testConfig(), nil)
	a := mustDial(t, e.addr, nil)
	b := mustDial(t, e.addr, nil)
	a.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	b.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 2, 1)})
	waitFor(t, "both frames", func() bool { return len(e.h.got()) == 2 })
	if rs := e.srv.Routers(); len(rs) != 1 || rs[0].OpenStreams != 2 || rs[0].Streams != 2 {
		t.Fatalf("Routers() = %+v, want one router with 2 open streams", rs)
	}
	if err := a.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one stream left", func() bool { return e.srv.Routers()[0].OpenStreams == 1 })
}

// Messages of one stream reach the handler in the order sent.
func TestManyMessagesInOrder(t *testing.T) {
	e := start(t, testConfig(), nil)
	r := mustDial(t, e.addr, nil)
	const n = 2000
	for i := range n {
		r.send(t, &xrpb.MdtDialoutArgs{ReqId: int64(i), Data: kvTelemetry(t, "r1", uint64(i), 5)})
	}
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all frames", func() bool { return len(e.h.got()) == n })
	for i, g := range e.h.got() {
		var msg xrpb.Telemetry
		if err := proto.Unmarshal(g.frame.Payload, &msg); err != nil {
			t.Fatal(err)
		}
		if msg.CollectionId != uint64(i) {
			t.Fatalf("frame %d carries collection %d: out of order", i, msg.CollectionId)
		}
	}
}

// A router's error report is counted, logged and put on its record; data in
// the same or later messages still arrives, and empty messages are counted
// apart.
func TestErrorReportsCountedAndStreamGoesOn(t *testing.T) {
	e := start(t, testConfig(), nil)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 1, Errors: "sensor path not resolved"})
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 2, Errors: "partial collection", Data: kvTelemetry(t, "r1", 2, 1)})
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 3})
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 4, Data: kvTelemetry(t, "r1", 4, 1)})
	if err := r.finish(); err != nil {
		t.Fatalf("stream ended with %v", err)
	}
	waitFor(t, "2 frames", func() bool { return len(e.h.got()) == 2 })
	c := e.board.Snapshot().Counters
	if c[CounterErrorReports] != 2 || c[CounterEmpty] != 1 || c[CounterMessages] != 2 {
		t.Errorf("error reports %d, empty %d, messages %d; want 2, 1, 2", c[CounterErrorReports], c[CounterEmpty], c[CounterMessages])
	}
	d := findDevice(e.board, "127.0.0.1")
	if d == nil || d.Errors[status.CatStreaming] == nil || d.Errors[status.CatStreaming].Count != 2 ||
		!strings.Contains(d.Errors[status.CatStreaming].Last, "partial collection") {
		t.Errorf("device errors = %+v", d)
	}
	// One log line per router per minute, however many reports.
	w := e.log.warnings()
	if len(w) != 1 || !strings.Contains(w[0], "sensor path not resolved") {
		t.Errorf("warnings = %q, want one naming the first report", w)
	}
	if rs := e.srv.Routers(); len(rs) != 1 || rs[0].ErrorReports != 2 || rs[0].LastError != "partial collection" {
		t.Errorf("Routers() = %+v", rs)
	}
}

// When the handler names the router behind an address (the receiver learns
// it from node ids), transport errors land on that router's record.
func TestErrorsOnTheNamedRouter(t *testing.T) {
	h := &namingRecorder{recorder: &recorder{}, name: "ios-xr-1"}
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	e := startHandler(t, cfg, h.recorder, h)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{Errors: "sensor path not resolved"})
	r.send(t, &xrpb.MdtDialoutArgs{Data: make([]byte, 2*cfg.MaxMessageBytes)})
	if err := r.finish(); grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream ended with %v, want ResourceExhausted", err)
	}
	waitFor(t, "the oversize count", func() bool { return counter(e.board, CounterOversized) == 1 })
	d := findDevice(e.board, "ios-xr-1")
	if d == nil || d.Errors[status.CatStreaming] == nil || d.Errors[status.CatInvalidArgument] == nil || d.Remote == "" {
		t.Errorf("device = %+v, want ios-xr-1 with a streaming and an invalid_argument error", d)
	}
	if findDevice(e.board, "127.0.0.1") != nil {
		t.Error("errors also recorded under the address")
	}
}

type namingRecorder struct {
	*recorder
	name string
}

func (n *namingRecorder) DeviceOf(netip.Addr) string { return n.name }

// A message the handler cannot decode is counted; the stream goes on.
func TestUndecodableMessageDoesNotEndStream(t *testing.T) {
	h := &recorder{fail: func(b []byte) bool { return bytes.HasPrefix(b, []byte("garbage")) }}
	e := start(t, testConfig(), h)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{Data: []byte("garbage \x00\x01")})
	r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := r.finish(); err != nil {
		t.Fatalf("stream ended with %v", err)
	}
	waitFor(t, "2 frames", func() bool { return len(e.h.got()) == 2 })
	if n := counter(e.board, CounterHandlerErrors); n != 1 {
		t.Errorf("%s = %d, want 1", CounterHandlerErrors, n)
	}
	if rs := e.srv.Routers(); len(rs) != 1 || rs[0].FramesFailed != 1 || rs[0].Messages != 2 {
		t.Errorf("Routers() = %+v", rs)
	}
}

// A message over xr_max_message_bytes is refused by gRPC before it is
// read: the router's stream ends with ResourceExhausted, the refusal is
// counted, and the router can open a new stream.
func TestOversizedMessageRefusedAndCounted(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	e := start(t, cfg, nil)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{Data: bytes.Repeat([]byte{'x'}, cfg.MaxMessageBytes)}) // exactly the limit passes
	r.send(t, &xrpb.MdtDialoutArgs{Data: bytes.Repeat([]byte{'x'}, 3*cfg.MaxMessageBytes)})
	err := r.finish()
	if grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("stream ended with %v, want ResourceExhausted", err)
	}
	waitFor(t, "the oversize count", func() bool { return counter(e.board, CounterOversized) == 1 })
	if got := e.h.got(); len(got) != 1 || len(got[0].frame.Payload) != cfg.MaxMessageBytes {
		t.Errorf("handler got %d frames, want only the one at the limit", len(got))
	}
	d := findDevice(e.board, "127.0.0.1")
	if d == nil || d.Errors[status.CatInvalidArgument] == nil {
		t.Errorf("device = %+v, want an invalid_argument error", d)
	}

	r2 := mustDial(t, e.addr, nil)
	r2.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := r2.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next stream's frame", func() bool { return len(e.h.got()) == 2 })
}

// A peer outside the allowed networks gets PermissionDenied and is counted.
func TestAllowListRefuses(t *testing.T) {
	h := &recorder{allow: func(a netip.Addr) bool { return !a.IsLoopback() }}
	e := start(t, testConfig(), h)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := r.finish(); grpcstatus.Code(err) != codes.PermissionDenied {
		t.Fatalf("stream ended with %v, want PermissionDenied", err)
	}
	if n := counter(e.board, CounterRefusedNetwork); n != 1 {
		t.Errorf("%s = %d, want 1", CounterRefusedNetwork, n)
	}
	if len(e.h.got()) != 0 {
		t.Error("a refused router's data reached the handler")
	}
	if d := findDevice(e.board, "peer:127.0.0.1"); d == nil || d.State != status.StateRejected || d.Errors[status.CatAuth] == nil {
		t.Errorf("device = %+v, want peer:127.0.0.1 rejected with an auth error", d)
	}
}

// Connections past xr_max_connections are closed at once and counted;
// open ones keep working.
func TestConnectionLimit(t *testing.T) {
	cfg := testConfig()
	cfg.MaxConnections = 1
	e := start(t, cfg, nil)
	first := mustDial(t, e.addr, nil)
	first.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	waitFor(t, "the first router's frame", func() bool { return len(e.h.got()) == 1 })

	second, err := dial(t, e.addr, nil)
	if err == nil {
		second.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r2", 1, 1)})
		err = second.finish()
	}
	if grpcstatus.Code(err) != codes.Unavailable {
		t.Fatalf("second connection: %v, want Unavailable", err)
	}
	if counter(e.board, CounterConnRefusedMax) == 0 {
		t.Errorf("%s not counted", CounterConnRefusedMax)
	}
	first.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 2, 1)})
	if err := first.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first router's second frame", func() bool { return len(e.h.got()) == 2 })
}

// TLS with a server certificate only: routers that trust the CA stream;
// a router dialing plaintext fails the handshake, which is counted.
func TestTLSServerCertificateOnly(t *testing.T) {
	p, _, certFile, keyFile := pkiFiles(t, "xr test CA")
	cfg := testConfig()
	cfg.GRPCCertFile, cfg.GRPCKeyFile = certFile, keyFile
	e := start(t, cfg, nil)
	if e.srv.Security() != ModeTLS {
		t.Fatalf("security = %s, want %s", e.srv.Security(), ModeTLS)
	}
	r := mustDial(t, e.addr, clientTLS(t, p, nil))
	r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := r.finish(); err != nil {
		t.Fatalf("TLS stream: %v", err)
	}
	waitFor(t, "the frame", func() bool { return len(e.h.got()) == 1 })

	plain, err := dial(t, e.addr, nil)
	if err == nil {
		plain.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 2, 1)})
		err = plain.finish()
	}
	if grpcstatus.Code(err) != codes.Unavailable {
		t.Errorf("plaintext router: %v, want Unavailable", err)
	}
	waitFor(t, "the failed handshake count", func() bool { return counter(e.board, CounterTLSFailures) >= 1 })
	if len(e.h.got()) != 1 {
		t.Error("plaintext data reached the handler of a TLS server")
	}
}

// Mutual TLS: a router with a certificate from the configured CA streams;
// one without a certificate, or with one from another CA, never reaches
// the handler, and each refusal is counted and recorded as auth.
func TestMutualTLS(t *testing.T) {
	p, caFile, certFile, keyFile := pkiFiles(t, "xr test CA")
	other, _, _, _ := pkiFiles(t, "someone else's CA")
	cfg := testConfig()
	cfg.GRPCCertFile, cfg.GRPCKeyFile, cfg.GRPCClientCAFile = certFile, keyFile, caFile
	e := start(t, cfg, nil)
	if e.srv.Security() != ModeMutualTLS {
		t.Fatalf("security = %s, want %s", e.srv.Security(), ModeMutualTLS)
	}

	good := mustDial(t, e.addr, clientTLS(t, p, p))
	good.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := good.finish(); err != nil {
		t.Fatalf("router with a good certificate: %v", err)
	}
	waitFor(t, "the good router's frame", func() bool { return len(e.h.got()) == 1 })

	for i, c := range []struct {
		name   string
		issuer *certs.PKI // of the router's certificate; nil for none
	}{
		{"no client certificate", nil},
		{"certificate from another CA", other},
	} {
		r, err := dial(t, e.addr, clientTLS(t, p, c.issuer))
		if err == nil {
			r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 2, 1)})
			err = r.finish()
		}
		if grpcstatus.Code(err) != codes.Unavailable {
			t.Errorf("%s: %v, want Unavailable", c.name, err)
		}
		waitFor(t, c.name+" counted", func() bool { return counter(e.board, CounterTLSFailures) >= uint64(i+1) })
	}
	if len(e.h.got()) != 1 {
		t.Errorf("handler got %d frames, want only the good router's", len(e.h.got()))
	}
	if d := findDevice(e.board, "peer:127.0.0.1"); d == nil || d.State != status.StateRejected || d.Errors[status.CatAuth] == nil {
		t.Errorf("device = %+v, want peer:127.0.0.1 rejected with an auth error", d)
	}
}

// Serve returns soon after its context ends, with a stream still open,
// and the port no longer accepts streams.
func TestServeStopsWhenContextEnds(t *testing.T) {
	e := start(t, testConfig(), nil)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	waitFor(t, "the frame", func() bool { return len(e.h.got()) == 1 })

	began := time.Now()
	e.stop()
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Serve took %s to return", d)
	}
	if _, err := r.stream.Recv(); err == nil {
		t.Error("the open stream did not end")
	}
	after, err := dial(t, e.addr, nil)
	if err == nil {
		after.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 2, 1)})
		err = after.finish()
	}
	if err == nil {
		t.Error("a stream opened after Serve returned")
	}
	if len(e.h.got()) != 1 {
		t.Error("a frame arrived after Serve returned")
	}
}

// NX-OS chunks (totalSize set) are joined into their message; a message
// abandoned half way is counted and dropped, not glued to the next.
func TestChunkedMessagesJoined(t *testing.T) {
	e := start(t, testConfig(), nil)
	r := mustDial(t, e.addr, nil)
	whole := kvTelemetry(t, "nx1", 1, 50)
	half := len(whole) / 2
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 1, TotalSize: int32(len(whole)), Data: whole[:half]})
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 1, TotalSize: int32(len(whole)), Data: whole[half:]})
	abandoned := kvTelemetry(t, "nx1", 2, 60)
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 2, TotalSize: int32(len(abandoned)), Data: abandoned[:10]})
	next := kvTelemetry(t, "nx1", 3, 1)
	r.send(t, &xrpb.MdtDialoutArgs{ReqId: 3, TotalSize: int32(len(next)), Data: next})
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "2 frames", func() bool { return len(e.h.got()) == 2 })
	got := e.h.got()
	if !bytes.Equal(got[0].frame.Payload, whole) || !bytes.Equal(got[1].frame.Payload, next) {
		t.Error("chunked messages not joined into the messages sent")
	}
	c := e.board.Snapshot().Counters
	if c[CounterChunks] != 4 || c[CounterChunksDropped] != 1 {
		t.Errorf("chunks %d, incomplete %d; want 4, 1", c[CounterChunks], c[CounterChunksDropped])
	}
}

// A chunked message announcing more than the limit is dropped and counted
// without being buffered.
func TestChunkedOversizedDropped(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessageBytes = 4096
	e := start(t, cfg, nil)
	r := mustDial(t, e.addr, nil)
	r.send(t, &xrpb.MdtDialoutArgs{TotalSize: 1 << 20, Data: make([]byte, 1000)})
	r.send(t, &xrpb.MdtDialoutArgs{Data: kvTelemetry(t, "r1", 1, 1)})
	if err := r.finish(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the frame", func() bool { return len(e.h.got()) == 1 })
	if n := counter(e.board, CounterOversized); n != 1 {
		t.Errorf("%s = %d, want 1", CounterOversized, n)
	}
}

func TestEncodingOf(t *testing.T) {
	// A 123-byte node name makes GPB start with "\n{" when, as IOS XR's
	// C++ encoder does, fields go in number order (Go's puts oneofs last).
	long := protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), strings.Repeat("n", 123))
	long = append(long, kvTelemetry(t, "", 1, 1)...)
	if long[0] != '\n' || long[1] != '{' {
		t.Fatalf("test vector starts with %q, want \"\\n{\"", long[:2])
	}
	for _, c := range []struct {
		in   []byte
		want wire.Encoding
	}{
		{[]byte(`{"a":1}`), wire.EncodingJSON},
		{[]byte(" \t\r\n{\"a\":1}\n"), wire.EncodingJSON},
		{[]byte(`{`), wire.EncodingGPB},
		{[]byte(`[1]`), wire.EncodingGPB},
		{nil, wire.EncodingGPB},
		{kvTelemetry(t, "r1", 1, 1), wire.EncodingGPB},
		{long, wire.EncodingGPB},
	} {
		if got := encodingOf(c.in); got != c.want {
			t.Errorf("encodingOf(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// New refuses what cannot work, naming the setting and the file.
func TestNewRefusesBadConfiguration(t *testing.T) {
	_, caFile, certFile, keyFile := pkiFiles(t, "xr test CA")
	for _, c := range []struct {
		name string
		edit func(*testConfigEdit)
		want string
	}{
		{"off", func(e *testConfigEdit) { e.cfg.GRPCListenAddress = "" }, "xr_grpc_listen_address"},
		{"no size limit", func(e *testConfigEdit) { e.cfg.MaxMessageBytes = 0 }, "xr_max_message_bytes"},
		{"no connection limit", func(e *testConfigEdit) { e.cfg.MaxConnections = 0 }, "xr_max_connections"},
		{"key without certificate", func(e *testConfigEdit) { e.cfg.GRPCKeyFile = keyFile }, "go together"},
		{"CA without certificate", func(e *testConfigEdit) { e.cfg.GRPCClientCAFile = caFile }, "xr_grpc_tls_client_ca_file"},
		{"missing certificate file", func(e *testConfigEdit) {
			e.cfg.GRPCCertFile, e.cfg.GRPCKeyFile = certFile+".missing", keyFile
		}, "xr_grpc_tls_cert_file " + certFile + ".missing"},
		{"key of another certificate", func(e *testConfigEdit) { e.cfg.GRPCCertFile, e.cfg.GRPCKeyFile = caFile, keyFile }, "xr_grpc_tls_key_file " + keyFile},
		{"CA file without certificates", func(e *testConfigEdit) {
			e.cfg.GRPCCertFile, e.cfg.GRPCKeyFile, e.cfg.GRPCClientCAFile = certFile, keyFile, keyFile
		}, "xr_grpc_tls_client_ca_file " + keyFile + ": no PEM CERTIFICATE"},
		{"port taken", func(e *testConfigEdit) { e.cfg.GRPCListenAddress = e.taken }, "listening on"},
	} {
		t.Run(c.name, func(t *testing.T) {
			taken := start(t, testConfig(), nil)
			ed := &testConfigEdit{cfg: testConfig(), taken: taken.addr}
			c.edit(ed)
			board := status.NewBoard(nil)
			srv, err := New(ed.cfg, &recorder{}, board, nil)
			if err == nil {
				srv.Close()
				t.Fatal("New accepted the configuration")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
		})
	}
}

type testConfigEdit struct {
	cfg   config.XR
	taken string
}

// Close releases the port of a server that never served.
func TestCloseWithoutServe(t *testing.T) {
	srv, err := New(testConfig(), &recorder{}, status.NewBoard(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr().String()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.GRPCListenAddress = addr
	again, err := New(cfg, &recorder{}, status.NewBoard(nil), nil)
	if err != nil {
		t.Fatalf("port not released: %v", err)
	}
	again.Close()
	if err := srv.Serve(context.Background()); err == nil {
		t.Error("Serve after Close did not fail")
	}
}
