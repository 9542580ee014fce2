package dialout

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/status"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// gotFrame is one HandleFrame call, its payload copied (the frame's
// payload is only valid during the call).
type gotFrame struct {
	transport string
	remote    netip.AddrPort
	frame     wire.Frame
}

// recorder is a FrameHandler that keeps what it is given. allow decides
// Allowed (nil allows all); fail makes HandleFrame return an error for
// payloads it matches, as a decoder would for bad data.
type recorder struct {
	allow func(netip.Addr) bool
	fail  func([]byte) bool

	mu     sync.Mutex
	frames []gotFrame
}

func (r *recorder) HandleFrame(ctx context.Context, transport string, remote netip.AddrPort, f wire.Frame) error {
	f.Payload = bytes.Clone(f.Payload)
	r.mu.Lock()
	r.frames = append(r.frames, gotFrame{transport, remote, f})
	r.mu.Unlock()
	if r.fail != nil && r.fail(f.Payload) {
		return fmt.Errorf("cannot decode %d bytes", len(f.Payload))
	}
	return nil
}

func (r *recorder) Allowed(a netip.Addr) bool { return r.allow == nil || r.allow(a) }

func (r *recorder) got() []gotFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gotFrame(nil), r.frames...)
}

// logRecorder keeps warnings, to check what reaches the plugin's log.
type logRecorder struct {
	log.Logger
	mu    sync.Mutex
	warns []string
}

func (l *logRecorder) Warn(msg string, args ...any) {
	l.mu.Lock()
	l.warns = append(l.warns, fmt.Sprint(append([]any{msg}, args...)...))
	l.mu.Unlock()
}

func (l *logRecorder) warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warns...)
}

// env is a running server on loopback with its handler, board and log.
type env struct {
	srv   *Server
	h     *recorder
	board *status.Board
	log   *logRecorder
	addr  string
	stop  func() // cancels Serve and waits for it to return
}

func testConfig() config.XR {
	return config.XR{GRPCListenAddress: "127.0.0.1:0", MaxMessageBytes: 1 << 20, MaxConnections: 16}
}

// start runs a server with cfg; Serve's end is checked at cleanup.
func start(t testing.TB, cfg config.XR, h *recorder) *env {
	t.Helper()
	if h == nil {
		h = &recorder{}
	}
	return startHandler(t, cfg, h, h)
}

// startHandler runs a server whose handler is handler, which records
// into h (handler wraps h to add behaviour).
func startHandler(t testing.TB, cfg config.XR, h *recorder, handler FrameHandler) *env {
	t.Helper()
	board := status.NewBoard(nil)
	lg := &logRecorder{Logger: log.NewNullLogger()}
	srv, err := New(cfg, handler, board, lg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(testTimeout):
				t.Errorf("Serve still running %s after its context ended", testTimeout)
			}
		})
	}
	t.Cleanup(stop)
	return &env{srv: srv, h: h, board: board, log: lg, addr: srv.Addr().String(), stop: stop}
}

// fakeRouter is a client playing an IOS XR router's gRPC dial-out.
type fakeRouter struct {
	conn   *grpc.ClientConn
	stream grpc.BidiStreamingClient[xrpb.MdtDialoutArgs, xrpb.MdtDialoutArgs]
	cancel context.CancelFunc
}

// dial opens a stream to addr; creds nil is plaintext.
func dial(t testing.TB, addr string, creds credentials.TransportCredentials) (*fakeRouter, error) {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	stream, err := xrpb.NewGRPCMdtDialoutClient(conn).MdtDialout(ctx)
	if err != nil {
		cancel()
		conn.Close()
		return nil, err
	}
	r := &fakeRouter{conn: conn, stream: stream, cancel: cancel}
	t.Cleanup(r.close)
	return r, nil
}

func mustDial(t testing.TB, addr string, creds credentials.TransportCredentials) *fakeRouter {
	t.Helper()
	r, err := dial(t, addr, creds)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *fakeRouter) close() {
	r.cancel()
	r.conn.Close()
}

func (r *fakeRouter) send(t testing.TB, a *xrpb.MdtDialoutArgs) {
	t.Helper()
	if err := r.stream.Send(a); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// finish half-closes the stream and returns the status the server ended
// it with (nil for a clean end): the server sends nothing, so the first
// Recv is the end.
func (r *fakeRouter) finish() error {
	if err := r.stream.CloseSend(); err != nil {
		return err
	}
	_, err := r.stream.Recv()
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// waitFor polls cond until it holds or testTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", testTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counter(b *status.Board, name string) uint64 { return b.Snapshot().Counters[name] }

// kvTelemetry is a key-value GPB Telemetry message as IOS XR sends it: one
// row of interface counters with keys and content.
func kvTelemetry(t testing.TB, node string, collection uint64, leaves int) []byte {
	t.Helper()
	content := &xrpb.TelemetryField{Name: "content"}
	for i := range leaves {
		content.Fields = append(content.Fields, &xrpb.TelemetryField{
			Name:        fmt.Sprintf("leaf-%d", i),
			ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: uint64(i) * 1000},
		})
	}
	msg := &xrpb.Telemetry{
		NodeId:              &xrpb.Telemetry_NodeIdStr{NodeIdStr: node},
		Subscription:        &xrpb.Telemetry_SubscriptionIdStr{SubscriptionIdStr: "sub1"},
		EncodingPath:        "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters",
		CollectionId:        collection,
		CollectionStartTime: 1728034879049,
		MsgTimestamp:        1728034880223,
		DataGpbkv: []*xrpb.TelemetryField{{
			Timestamp: 1728034880223,
			Fields: []*xrpb.TelemetryField{
				{Name: "keys", Fields: []*xrpb.TelemetryField{{Name: "interface-name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "GigabitEthernet0/0/0/0"}}}},
				content,
			},
		}},
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pkiFiles writes a CA and a server certificate for loopback, returning
// the PKI (to issue client certificates) and the file names.
func pkiFiles(t testing.TB, name string) (p *certs.PKI, caFile, certFile, keyFile string) {
	t.Helper()
	p, err := certs.NewPKI(name, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	certPEM, keyPEM, err := p.Issue(certs.Server, "localhost", certs.DefaultServerHosts, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile, certFile, keyFile = filepath.Join(dir, "ca.crt"), filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	for f, b := range map[string][]byte{caFile: p.CAPEM, certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return p, caFile, certFile, keyFile
}

// clientTLS trusts p's CA for the server; with a client certificate from
// issuer when issuer is not nil.
func clientTLS(t testing.TB, p, issuer *certs.PKI) credentials.TransportCredentials {
	t.Helper()
	cfg := &tls.Config{RootCAs: p.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if issuer != nil {
		c, err := issuer.ClientTLS("xr-router-1")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = c.Certificates
	}
	return credentials.NewTLS(cfg)
}
