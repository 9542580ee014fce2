package xrsim

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/sim/certs"
)

// dialoutServer is a collector's gRPCMdtDialout written from the service
// definition: it keeps every message, and ends the first stream after
// cutAfter messages, as a collector that restarts would.
type dialoutServer struct {
	xrpb.UnimplementedGRPCMdtDialoutServer
	mu       sync.Mutex
	streams  int
	reqIDs   []int64
	msgs     []*xrpb.Telemetry
	cutAfter int
}

func (s *dialoutServer) MdtDialout(stream grpc.BidiStreamingServer[xrpb.MdtDialoutArgs, xrpb.MdtDialoutArgs]) error {
	s.mu.Lock()
	s.streams++
	first := s.streams == 1
	s.mu.Unlock()
	n := 0
	for {
		a, err := stream.Recv()
		if err != nil {
			return nil
		}
		m := &xrpb.Telemetry{}
		if bytes.HasPrefix(a.GetData(), []byte("{")) {
			// JSON text (data_json rows are no field of Telemetry).
			var v struct {
				NodeIDStr    string `json:"node_id_str"`
				EncodingPath string `json:"encoding_path"`
			}
			if err := json.Unmarshal(a.GetData(), &v); err != nil {
				return status.Error(codes.InvalidArgument, err.Error())
			}
			m.NodeId = &xrpb.Telemetry_NodeIdStr{NodeIdStr: v.NodeIDStr}
			m.EncodingPath = v.EncodingPath
		} else if err := proto.Unmarshal(a.GetData(), m); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.reqIDs = append(s.reqIDs, a.GetReqId())
		s.mu.Unlock()
		if n++; first && n == s.cutAfter {
			return status.Error(codes.Unavailable, "collector restarting")
		}
	}
}

func serveDialout(t *testing.T, creds credentials.TransportCredentials, s *dialoutServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	srv := grpc.NewServer(opts...)
	xrpb.RegisterGRPCMdtDialoutServer(srv, s)
	go srv.Serve(ln)
	t.Cleanup(srv.Stop)
	return ln.Addr().String()
}

// A router dials out over gRPC, one Telemetry per MdtDialoutArgs; when
// the collector ends the stream it opens a new one.
func TestGRPCDialoutReconnects(t *testing.T) {
	s := &dialoutServer{cutAfter: 2}
	addr := serveDialout(t, nil, s)
	r := run(t, Config{Name: "xrv9k", Target: addr, Generation: GenMDT, Encoding: EncGPBKV, Transport: "grpc",
		Rate: 50, Count: 20, Interfaces: 2, RetryMin: 10 * time.Millisecond})
	tot := r.Totals()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		got := len(s.msgs)
		s.mu.Unlock()
		if got >= int(tot.Messages) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams < 2 || tot.Connections < 2 || tot.Errors == 0 {
		t.Fatalf("%d streams, %d connections, %d errors", s.streams, tot.Connections, tot.Errors)
	}
	// Messages sent into the stream the collector was ending may be lost;
	// every message received is one the totals count, and from the second
	// stream on nothing is lost.
	if len(s.msgs) > int(tot.Messages) || len(s.msgs) < int(tot.Messages)-3 || tot.Messages != 20 {
		t.Fatalf("%d received, %d sent", len(s.msgs), tot.Messages)
	}
	for i, m := range s.msgs {
		if m.GetNodeIdStr() != "xrv9k" || PathByID(m.GetEncodingPath()) == nil || len(m.GetDataGpbkv()) == 0 {
			t.Fatalf("message %d: %v", i, m)
		}
		if s.reqIDs[i] <= 0 {
			t.Fatalf("ReqId %d", s.reqIDs[i])
		}
	}
}

// Mutual TLS: the router presents its certificate and checks the
// collector's; without a client certificate the collector refuses it.
func TestGRPCDialoutMutualTLS(t *testing.T) {
	pki, err := certs.NewPKI("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	serverTLS, err := pki.ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	s := &dialoutServer{}
	addr := serveDialout(t, credentials.NewTLS(serverTLS), s)
	clientTLS, err := pki.ClientTLS("xr-router")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, Config{Name: "pe9", Target: addr, Generation: GenMDT, Encoding: EncJSON, Transport: "grpc", TLS: clientTLS, Rate: 1000, Count: 4})
	if tot := r.Totals(); tot.Messages != 4 || tot.Errors != 0 {
		t.Fatalf("%d messages, %d errors (%s)", tot.Messages, tot.Errors, tot.LastError)
	}

	noCert := &tls.Config{RootCAs: pki.Pool(), ServerName: "localhost", MinVersion: tls.VersionTLS12}
	r, err = New(Config{Name: "pe10", Target: addr, Generation: GenMDT, Encoding: EncGPBKV, Transport: "grpc", TLS: noCert, Rate: 1000, Count: 2, RetryMin: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	r.Run(ctx)
	if tot := r.Totals(); tot.Messages != 0 || tot.Errors == 0 {
		t.Fatalf("without a client certificate: %d messages, %d errors", tot.Messages, tot.Errors)
	}
}
