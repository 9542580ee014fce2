package dialout

import (
	"context"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/status"
)

// counting is the cheapest FrameHandler: it only counts, so the benchmark
// measures the transport (gRPC, HTTP/2, protobuf, TLS) and this package.
type counting struct{ n atomic.Int64 }

func (c *counting) HandleFrame(context.Context, string, netip.AddrPort, wire.Frame) error {
	c.n.Add(1)
	return nil
}

func (c *counting) Allowed(netip.Addr) bool { return true }

// BenchmarkStream sends 50-leaf key-value GPB messages over one gRPC
// dial-out stream on loopback and reports messages per second from the
// first send until the handler has seen the last message (client and
// server share the machine). Allocations per op are both sides'.
func BenchmarkStream(b *testing.B) {
	b.Run("plaintext", func(b *testing.B) { benchStream(b, false) })
	b.Run("tls", func(b *testing.B) { benchStream(b, true) })
}

func benchStream(b *testing.B, useTLS bool) {
	cfg := testConfig()
	var creds credentials.TransportCredentials
	if useTLS {
		p, _, certFile, keyFile := pkiFiles(b, "bench CA")
		cfg.GRPCCertFile, cfg.GRPCKeyFile = certFile, keyFile
		creds = clientTLS(b, p, nil)
	}
	h := &counting{}
	srv := newBenchServer(b, cfg, h)
	r := mustDial(b, srv.Addr().String(), creds)
	msg := &xrpb.MdtDialoutArgs{Data: kvTelemetry(b, "bench-router", 1, 50)}
	b.SetBytes(int64(len(msg.Data)))
	b.ReportAllocs()

	began := time.Now()
	var sent int64
	for b.Loop() {
		msg.ReqId = sent
		if err := r.stream.Send(msg); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	deadline := time.Now().Add(testTimeout)
	for h.n.Load() < sent {
		if time.Now().After(deadline) {
			b.Fatalf("handler saw %d of %d messages", h.n.Load(), sent)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(sent)/time.Since(began).Seconds(), "msgs/s")
}

// newBenchServer runs a server until the benchmark ends.
func newBenchServer(b *testing.B, cfg config.XR, h FrameHandler) *Server {
	b.Helper()
	srv, err := New(cfg, h, status.NewBoard(nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return srv
}
