package xrsim

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// grpcSender is a model-driven gRPC dial-out session: the router is the
// client of gRPCMdtDialout and sends each encoded Telemetry message (or
// JSON text) as the data of one MdtDialoutArgs on one long-lived stream.
type grpcSender struct {
	cc     *grpc.ClientConn
	stream grpc.BidiStreamingClient[xrpb.MdtDialoutArgs, xrpb.MdtDialoutArgs]
	cancel context.CancelFunc
	reqID  int64

	mu     sync.Mutex
	err    error // why the stream ended, once it has
	ended  chan struct{}
	logf   func(string, ...any)
	router string
}

func dialGRPC(ctx context.Context, target string, tlsCfg *tls.Config, logf func(string, ...any), router string) (*grpcSender, error) {
	creds := insecure.NewCredentials()
	if tlsCfg != nil {
		creds = credentials.NewTLS(tlsCfg)
	}
	cc, err := grpc.NewClient("passthrough:///"+target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	stream, err := xrpb.NewGRPCMdtDialoutClient(cc).MdtDialout(sctx, grpc.WaitForReady(false))
	if err != nil {
		cancel()
		cc.Close()
		return nil, fmt.Errorf("gRPC dial-out stream: %w", err)
	}
	g := &grpcSender{cc: cc, stream: stream, cancel: cancel, ended: make(chan struct{}), logf: logf, router: router}
	// The collector sends nothing back in normal operation; reading tells
	// when it ends the stream, and shows any error report it sends.
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = errors.New("gRPC dial-out stream closed by the collector")
				}
				g.mu.Lock()
				g.err = err
				g.mu.Unlock()
				close(g.ended)
				return
			}
			if m.GetErrors() != "" {
				logf("xr router %s: collector reports: %s", router, m.GetErrors())
			}
		}
	}()
	return g, nil
}

// Write sends one message; gRPC serializes it before Send returns, so b
// may be reused afterwards.
func (g *grpcSender) Write(b []byte) (int, error) {
	select {
	case <-g.ended:
		g.mu.Lock()
		defer g.mu.Unlock()
		return 0, g.err
	default:
	}
	g.reqID++
	if err := g.stream.Send(&xrpb.MdtDialoutArgs{ReqId: g.reqID, Data: b}); err != nil {
		if errors.Is(err, io.EOF) {
			// Send reports only EOF; Recv has the stream's real status.
			<-g.ended
			g.mu.Lock()
			err = g.err
			g.mu.Unlock()
		}
		return 0, err
	}
	return len(b), nil
}

// Close half-closes the stream and waits (a little) for the collector to
// end it, so that messages still in flight are delivered rather than cut
// off by cancelling the stream.
func (g *grpcSender) Close() error {
	if g.stream.CloseSend() == nil {
		select {
		case <-g.ended:
		case <-time.After(closeWait):
		}
	}
	g.cancel()
	return g.cc.Close()
}

// closeWait bounds how long Close waits for the collector to end the stream.
const closeWait = 5 * time.Second
