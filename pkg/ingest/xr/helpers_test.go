package xr

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

// Frame encoders, as routers write them (protocols.md 1.2, 1.6).

func pdtV2(typ, flags uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, typ)
	b = binary.BigEndian.AppendUint32(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func tlv(typ uint32, v []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func pdtV1(tlvs ...[]byte) []byte {
	block := bytes.Join(tlvs, nil)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(block))), block...)
}

func mdtFrame(typ, encap, flags uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, encap)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// zrouter compresses as a router does: one zlib stream per connection,
// sync-flushed after each message, a new stream after a reset.
type zrouter struct {
	buf   bytes.Buffer
	zw    *zlib.Writer
	fresh bool
}

func (z *zrouter) compress(msg []byte) []byte {
	switch {
	case z.zw == nil:
		z.zw = zlib.NewWriter(&z.buf)
	case z.fresh:
		z.zw.Reset(&z.buf)
	}
	z.fresh = false
	z.zw.Write(msg)
	z.zw.Flush()
	out := bytes.Clone(z.buf.Bytes())
	z.buf.Reset()
	return out
}

func (z *zrouter) reset() { z.fresh = true }

// Protobuf encoders of the three GPB envelopes.

// field is a TelemetryField (same numbers in PDT telemetry_kv.proto and MDT
// telemetry.proto): a value chosen by Go type, or children.
type field struct {
	name string
	val  any
	kids []field
}

func (f field) encode() []byte {
	b := protowire.AppendTag(nil, 2, protowire.BytesType)
	b = protowire.AppendString(b, f.name)
	switch v := f.val.(type) {
	case nil:
	case string:
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendString(b, v)
	case uint64:
		b = protowire.AppendTag(b, 8, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	case bool:
		b = protowire.AppendTag(b, 6, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v))
	default:
		panic("field: unsupported value")
	}
	for _, k := range f.kids {
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendBytes(b, k.encode())
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// mdtKV is an MDT Telemetry with data_gpbkv rows (keys/content).
func mdtKV(node, sub, path string, tsMs uint64, rows ...field) []byte {
	b := appendString(nil, 1, node)
	b = appendString(b, 3, sub)
	b = appendString(b, 6, path)
	b = appendVarint(b, 8, 7)
	b = appendVarint(b, 10, tsMs)
	for _, r := range rows {
		b = protowire.AppendTag(b, 11, protowire.BytesType)
		b = protowire.AppendBytes(b, r.encode())
	}
	return b
}

// mdtRow is one data_gpbkv row: keys {interface-name} and n counters.
func mdtRow(ifname string, n int, base uint64) field {
	content := make([]field, n)
	for i := range content {
		content[i] = field{name: fmt.Sprintf("counter-%02d", i), val: base + uint64(i)}
	}
	return field{kids: []field{
		{name: "keys", kids: []field{{name: "interface-name", val: ifname}}},
		{name: "content", kids: content},
	}}
}

// pdtKV is a PDT key-value Telemetry (telemetry_kv.proto): base_path and
// fields (14) nesting the data as the JSON encoder does.
func pdtKV(path, sub string, tsMs uint64, data ...field) []byte {
	b := appendVarint(nil, 1, 3)
	b = appendString(b, 2, path)
	b = appendString(b, 3, sub)
	b = appendVarint(b, 6, tsMs)
	for _, f := range data {
		b = protowire.AppendTag(b, 14, protowire.BytesType)
		b = protowire.AppendBytes(b, f.encode())
	}
	return b
}

const (
	genericCounters = "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"
	memorySummary   = "RootOper.MemorySummary.Node(*).Summary"
)

// pdtKVCounters is a PDT KV message of GenericCounters for one interface
// with n counters.
func pdtKVCounters(ifname string, n int, base uint64) []byte {
	counters := make([]field, n)
	for i := range counters {
		counters[i] = field{name: fmt.Sprintf("Counter%02d", i), val: base + uint64(i)}
	}
	data := field{name: "RootOper", kids: []field{{name: "InfraStatistics", kids: []field{{name: "Interface", kids: []field{
		{name: ifname, kids: []field{{name: "Latest", kids: []field{{name: "GenericCounters", kids: counters}}}}}}}}}}}
	return pdtKV(genericCounters, "", 1700000000000, data)
}

// pdtJSON is a PDT JSON message (XR 6.0.1+ keys) of GenericCounters.
func pdtJSON(policy, ident, ifname string, pkts uint64) []byte {
	return fmt.Appendf(nil, `{"Policy":%q,"Version":25,"Identifier":%q,"CollectionID":5,"Path":%q,"CollectionStartTime":1700000000000,"CollectionEndTime":1700000000100,`+
		`"Data":{"RootOper":{"InfraStatistics":{"Interface":{%q:{"Latest":{"GenericCounters":{"PacketsReceived":%d,"BytesReceived":18446744073709551615,"State":"up"}}}}}}}}`,
		policy, ident, genericCounters, ifname, pkts)
}

// pdtJSONMemory is a PDT JSON message of the memory summary path.
func pdtJSONMemory(policy, ident string) []byte {
	return fmt.Appendf(nil, `{"Policy":%q,"Identifier":%q,"Path":%q,"CollectionEndTime":1700000000100,`+
		`"Data":{"RootOper":{"MemorySummary":{"Node":{"0/RP0/CPU0":{"Summary":{"RAMMemory":28153942016,"FreePhysicalMemory":1000}}}}}}}`,
		policy, ident, memorySummary)
}

// compactHeader is a PDT compact TelemetryHeader with one table per path.
func compactHeader(policy, ident string, tables map[string][][]byte) []byte {
	b := appendVarint(nil, 1, 0x87654321)
	b = appendString(b, 2, policy)
	b = appendString(b, 4, ident)
	b = appendVarint(b, 6, 1700000000100)
	for path, rows := range tables {
		t := appendString(nil, 1, path)
		for _, r := range rows {
			t = protowire.AppendTag(t, 2, protowire.BytesType)
			t = protowire.AppendBytes(t, r)
		}
		b = protowire.AppendTag(b, 7, protowire.BytesType)
		b = protowire.AppendBytes(b, t)
	}
	return b
}

// compactRow is one ifstatsbag_generic row of genericProto.
func compactRow(ifname string, pkts, bytes uint64) []byte {
	b := appendString(nil, 1, ifname)
	b = appendVarint(b, 50, pkts)
	return appendVarint(b, 51, bytes)
}

const genericProto = `syntax = "proto2";
import "cisco.proto";
message ifstatsbag_generic {
  option (cisco_msg).schema_path = "RootOper.InfraStatistics.Interface.Latest.GenericCounters";
  optional string interface_name = 1 [(cisco_field).path_element = "RootOper.InfraStatistics.Interface(InterfaceName)"];
  optional uint64 packets_received = 50 [(cisco_field).name = "PacketsReceived"];
  optional uint64 bytes_received = 51 [(cisco_field).name = "BytesReceived"];
}
`

const demoPolicy = `{
  "Name": "Demo",
  "Metadata": {"Version": 25, "Identifier": "demo-ident"},
  "CollectionGroups": {
    "Fast": {"Period": 10, "Paths": ["RootOper.InfraStatistics.Interface(*).Latest.GenericCounters"]},
    "Medium": {"Period": 30, "Paths": ["RootOper.MemorySummary.Node(*).Summary"]}
  }
}`

func writeFile(t testing.TB, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// got is one message as the handler saw it, copied (the decoder's message
// is valid only during Write).
type got struct {
	dev        model.DeviceRef
	node, path string
	policy     string
	sub        string
	enc        xr.Encoding
	rows       int
	leaves     int
	numeric    int
	receivedMs int64
	first      []xr.Leaf // the first row's keys then content
}

type collector struct {
	mu   sync.Mutex
	msgs []got
	err  error // returned by Write when set
}

func (c *collector) Write(_ context.Context, dev model.DeviceRef, m *xr.Message, receivedMs int64) error {
	g := got{dev: dev, node: m.Node, path: m.Path, policy: m.Policy, sub: m.Subscription, enc: m.Encoding, rows: len(m.Rows), receivedMs: receivedMs}
	for i, r := range m.Rows {
		g.leaves += len(r.Keys) + len(r.Content)
		for _, l := range r.Content {
			if l.Kind != xr.LeafString && l.Kind != xr.LeafBytes {
				g.numeric++
			}
		}
		if i == 0 {
			g.first = append(append(g.first, r.Keys...), r.Content...)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, g)
	return c.err
}

func (c *collector) all() []got {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]got(nil), c.msgs...)
}

func (c *collector) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func leaf(ls []xr.Leaf, name string) (xr.Leaf, bool) {
	for _, l := range ls {
		if l.Name == name {
			return l, true
		}
	}
	return xr.Leaf{}, false
}

type env struct {
	t     testing.TB
	r     *Receiver
	h     *collector
	board *status.Board
}

func loopbackConfig() config.XR {
	return config.XR{
		TCPListenAddress: "127.0.0.1:0", UDPListenAddress: "127.0.0.1:0",
		MaxMessageBytes: 16 << 20, MaxConnections: 16, RouterTimeout: 5 * time.Minute, MaxSeriesPerRouter: 1000,
	}
}

// start runs a receiver on loopback until the test ends.
func start(t testing.TB, cfg config.XR, allowed []netip.Prefix, opts ...Option) *env {
	t.Helper()
	e := &env{t: t, h: &collector{}, board: status.NewBoard(nil)}
	r, err := New(cfg, allowed, e.h, e.board, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e.r = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Serve(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return e
}

func (e *env) dial() net.Conn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.r.TCPAddr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// send writes b in pieces of random sizes, so frames and headers are cut
// everywhere as TCP may cut them.
func send(t testing.TB, c net.Conn, rng *rand.Rand, b []byte) {
	t.Helper()
	for len(b) > 0 {
		n := min(1+rng.IntN(700), len(b))
		if _, err := c.Write(b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closedByPeer reports whether the receiver closed c within 5 s.
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err := c.Read(b[:])
	return err != nil && !os.IsTimeout(err)
}

func (e *env) router(dev string) RouterStatus {
	for _, r := range e.r.Routers() {
		if r.Device == dev {
			return r
		}
	}
	return RouterStatus{}
}
