package ftdsim

import (
	"crypto/tls"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/certs"
)

// fakeCollector is the collector side of the protocol, written from the
// proto header comment, with switches to make it get things wrong.
type fakeCollector struct {
	ftdpb.UnimplementedGrpcStreamingServiceServer

	// answer is the ControlRequest sent after the device's hello.
	answer *ftdpb.ControlRequest
	// silent: never answer the hello.
	silent bool
	// noDataAck: never acknowledge batches.
	noDataAck bool
	// noCancelAck: ignore the device's cancel.
	noCancelAck bool
	// nack: answer batches with DataRequest{ack: false}.
	nack bool

	hellos   chan *ftdpb.ControlResponse // first message of each control stream
	control  chan *ftdpb.ControlResponse // every later control message
	batches  chan *ftdpb.DataResponse
	toDevice chan *ftdpb.ControlRequest // pushed onto the control stream

	mu    sync.Mutex
	ended chan struct{} // closed when the current control stream ends
}

func newFakeCollector() *fakeCollector {
	return &fakeCollector{
		answer:   &ftdpb.ControlRequest{Version: "1.0", Interval: 60, MetricSubscriptions: []string{"all"}},
		hellos:   make(chan *ftdpb.ControlResponse, 16),
		control:  make(chan *ftdpb.ControlResponse, 16),
		batches:  make(chan *ftdpb.DataResponse, 1024),
		toDevice: make(chan *ftdpb.ControlRequest, 4),
		ended:    make(chan struct{}),
	}
}

func (c *fakeCollector) endedChan() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

func (c *fakeCollector) ControlStream(stream grpc.BidiStreamingServer[ftdpb.ControlResponse, ftdpb.ControlRequest]) error {
	ended := make(chan struct{})
	c.mu.Lock()
	c.ended = ended
	c.mu.Unlock()
	defer close(ended)

	hello, err := stream.Recv()
	if err != nil {
		return err
	}
	c.hellos <- hello
	if c.silent {
		<-stream.Context().Done()
		return nil
	}
	if err := stream.Send(c.answer); err != nil {
		return err
	}
	in := make(chan *ftdpb.ControlResponse)
	go func() {
		defer close(in)
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			in <- m
		}
	}()
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return nil
			}
			c.control <- m
			switch {
			case m.GetAck():
				return nil // the device acknowledged our cancel: end the streams
			case !m.GetInitStreaming():
				if c.noCancelAck {
					continue
				}
				ack := &ftdpb.ControlRequest{CancellationMessage: &ftdpb.StreamCancellationMessage{CollectorUuid: "test-collector", CancelStream: true}}
				if err := stream.Send(ack); err != nil {
					return err
				}
				return nil
			}
		case m := <-c.toDevice:
			if err := stream.Send(m); err != nil {
				return err
			}
		case <-stream.Context().Done():
			return nil
		}
	}
}

func (c *fakeCollector) DataStream(stream grpc.BidiStreamingServer[ftdpb.DataResponse, ftdpb.DataRequest]) error {
	in := make(chan *ftdpb.DataResponse)
	go func() {
		defer close(in)
		for {
			m, err := stream.Recv()
			if err != nil {
				return
			}
			in <- m
		}
	}()
	var ended chan struct{} // learnt once the device is streaming
	for {
		select {
		case m, ok := <-in:
			if !ok {
				return nil
			}
			if ended == nil {
				ended = c.endedChan()
			}
			select {
			case c.batches <- m:
			default:
			}
			if !c.noDataAck {
				if err := stream.Send(&ftdpb.DataRequest{Ack: !c.nack}); err != nil {
					return err
				}
			}
		case <-ended:
			return nil
		case <-stream.Context().Done():
			return nil
		}
	}
}

// testPKI is shared by the tests of this package: key generation is cheap,
// but one CA makes failures easier to read.
var testPKI = sync.OnceValue(func() *certs.PKI {
	p, err := certs.NewPKI("ftdsim test CA", time.Hour)
	if err != nil {
		panic(err)
	}
	return p
})

// serve starts c on 127.0.0.1 with the given server TLS (nil: plaintext)
// and returns its address.
func serve(t *testing.T, c *fakeCollector, serverTLS *tls.Config) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if serverTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(serverTLS)))
	}
	s := grpc.NewServer(opts...)
	ftdpb.RegisterGrpcStreamingServiceServer(s, c)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return lis.Addr().String()
}

func serveMTLS(t *testing.T, c *fakeCollector) string {
	t.Helper()
	serverTLS, err := testPKI().ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, c, serverTLS)
}

// testDevice makes a device for target. SpeedUp turns the 60 s interval
// into 50 ms.
func testDevice(t *testing.T, target string, tweak func(*Config)) *Device {
	t.Helper()
	clientTLS, err := testPKI().ClientTLS("firepower")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Target:           target,
		TLS:              clientTLS,
		UUID:             "7eb19498-2519-11ef-a8dd-b74b4d43a7e7",
		Hostname:         "firepower",
		SpeedUp:          1200,
		AckTimeout:       2 * time.Second,
		HandshakeTimeout: 2 * time.Second,
		RetryAfter:       50 * time.Millisecond,
		Seed:             1,
		Logf:             t.Logf,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// recv waits for one value, failing the test after a bound.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5s", what)
		panic("unreachable")
	}
}
