package dialout_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr"
	xringest "github.com/netlens/netlens/pkg/ingest/xr"
	"github.com/netlens/netlens/pkg/ingest/xr/dialout"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/proto/xrpb"
	"github.com/netlens/netlens/pkg/status"
)

// messages is an xr.Handler that keeps copies of what the receiver
// decoded (a message is only valid during Write).
type messages struct {
	mu   sync.Mutex
	devs []model.DeviceRef
	msgs []*xr.Message
}

func (m *messages) Write(_ context.Context, dev model.DeviceRef, msg *xr.Message, _ int64) error {
	c := *msg
	c.Rows = nil
	for _, r := range msg.Rows {
		c.Rows = append(c.Rows, xr.Row{TimestampMs: r.TimestampMs, Keys: slices.Clone(r.Keys), Content: slices.Clone(r.Content)})
	}
	m.mu.Lock()
	m.devs = append(m.devs, dev)
	m.msgs = append(m.msgs, &c)
	m.mu.Unlock()
	return nil
}

func (m *messages) got() ([]model.DeviceRef, []*xr.Message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.devs), slices.Clone(m.msgs)
}

// The real XR receiver behind the gRPC server: a router's key-value GPB and
// JSON messages decode into the same messages as over TCP, and the
// receiver lists the router with transport grpc.
func TestWithReceiver(t *testing.T) {
	cfg := config.XR{GRPCListenAddress: "127.0.0.1:0", MaxMessageBytes: 1 << 20, MaxConnections: 8}
	board := status.NewBoard(nil)
	h := &messages{}
	rcv, err := xringest.New(cfg, nil, h, board, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := dialout.New(cfg, rcv, board, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	stream, err := xrpb.NewGRPCMdtDialoutClient(conn).MdtDialout(sctx)
	if err != nil {
		t.Fatal(err)
	}
	path := "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	gpb, err := proto.Marshal(&xrpb.Telemetry{
		NodeId:       &xrpb.Telemetry_NodeIdStr{NodeIdStr: "xr-edge-1"},
		EncodingPath: path,
		MsgTimestamp: 1728034880223,
		DataGpbkv: []*xrpb.TelemetryField{{Fields: []*xrpb.TelemetryField{
			{Name: "keys", Fields: []*xrpb.TelemetryField{{Name: "interface-name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "Gi0/0/0/0"}}}},
			{Name: "content", Fields: []*xrpb.TelemetryField{{Name: "bytes-received", ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: 18446744073709551615}}}},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	js := `{"node_id_str":"xr-edge-1","encoding_path":"` + path + `","msg_timestamp":"1728034880223",` +
		`"data_json":[{"timestamp":"1728034880223","keys":[{"interface-name":"Gi0/0/0/1"}],"content":{"bytes-received":42}}]}`
	for _, data := range [][]byte{gpb, []byte(js)} {
		if err := stream.Send(&xrpb.MdtDialoutArgs{Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, msgs := h.got(); len(msgs) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the receiver did not decode both messages")
		}
		time.Sleep(5 * time.Millisecond)
	}
	devs, msgs := h.got()
	for i, want := range []struct {
		iface string
		bytes uint64
	}{{"Gi0/0/0/0", 18446744073709551615}, {"Gi0/0/0/1", 42}} {
		m := msgs[i]
		if devs[i].ID != "xr-edge-1" || m.Node != "xr-edge-1" || m.Path != path || len(m.Rows) != 1 {
			t.Fatalf("message %d = %+v from %+v", i, m, devs[i])
		}
		row := m.Rows[0]
		if len(row.Keys) != 1 || row.Keys[0].S != want.iface || len(row.Content) != 1 || row.Content[0].U != want.bytes {
			t.Errorf("message %d row = %+v, want %s with %d bytes received", i, row, want.iface, want.bytes)
		}
	}
	rs := rcv.Routers()
	if len(rs) != 1 || rs[0].Device != "xr-edge-1" || !slices.Equal(rs[0].Transports, []string{"grpc"}) || rs[0].Messages != 2 {
		t.Errorf("receiver routers = %+v", rs)
	}
}

// discard is an xr.Handler that counts messages and keeps nothing.
type discard struct{ n atomic.Int64 }

func (d *discard) Write(context.Context, model.DeviceRef, *xr.Message, int64) error {
	d.n.Add(1)
	return nil
}

// BenchmarkStreamWithReceiver is BenchmarkStream with the real XR receiver
// decoding each 50-leaf key-value GPB message (mapping and storage left
// out): messages per second from the first send until the last message is
// decoded, client, server and decoder sharing the machine.
func BenchmarkStreamWithReceiver(b *testing.B) {
	cfg := config.XR{GRPCListenAddress: "127.0.0.1:0", MaxMessageBytes: 1 << 20, MaxConnections: 8}
	board := status.NewBoard(nil)
	h := &discard{}
	rcv, err := xringest.New(cfg, nil, h, board, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := dialout.New(cfg, rcv, board, nil)
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
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	stream, err := xrpb.NewGRPCMdtDialoutClient(conn).MdtDialout(ctx)
	if err != nil {
		b.Fatal(err)
	}
	content := &xrpb.TelemetryField{Name: "content"}
	for i := range 50 {
		content.Fields = append(content.Fields, &xrpb.TelemetryField{
			Name: "leaf-" + strconv.Itoa(i), ValueByType: &xrpb.TelemetryField_Uint64Value{Uint64Value: uint64(i) * 1000}})
	}
	data, err := proto.Marshal(&xrpb.Telemetry{
		NodeId:       &xrpb.Telemetry_NodeIdStr{NodeIdStr: "bench-router"},
		EncodingPath: "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters",
		MsgTimestamp: 1728034880223,
		DataGpbkv: []*xrpb.TelemetryField{{Fields: []*xrpb.TelemetryField{
			{Name: "keys", Fields: []*xrpb.TelemetryField{{Name: "interface-name", ValueByType: &xrpb.TelemetryField_StringValue{StringValue: "Gi0/0/0/0"}}}},
			content,
		}}},
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := &xrpb.MdtDialoutArgs{Data: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	began := time.Now()
	var sent int64
	for b.Loop() {
		if err := stream.Send(msg); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.n.Load() < sent {
		if time.Now().After(deadline) {
			b.Fatalf("receiver decoded %d of %d messages", h.n.Load(), sent)
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.ReportMetric(float64(sent)/time.Since(began).Seconds(), "msgs/s")
}
