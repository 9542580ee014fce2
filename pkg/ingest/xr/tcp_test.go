package xr

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/mdt"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/pcap"
)

// A PDT v2 router on one connection: a reset, zlib JSON messages of one
// stream, a reset and a new stream, plain JSON, then compressed key-value
// GPB. Every message comes out whole, named by the peer address (the JSON
// Identifier is the policy's, not a router's), with its policy and group.
func TestPDTv2TCPZlibAndReset(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "Demo.policy", demoPolicy)
	cfg := loopbackConfig()
	cfg.PolicyDir = dir
	e := start(t, cfg, nil)
	var z zrouter
	var stream []byte
	stream = append(stream, pdtV2(1, 0, nil)...)
	for i := range 3 {
		stream = append(stream, pdtV2(2, wire.FlagZlib, z.compress(pdtJSON("Demo", "demo-ident", "Gi0/0/0/0", uint64(i))))...)
	}
	stream = append(stream, pdtV2(1, 0, nil)...)
	z.reset()
	stream = append(stream, pdtV2(2, wire.FlagZlib, z.compress(pdtJSONMemory("Demo", "demo-ident")))...)
	stream = append(stream, pdtV2(2, wire.FlagZlib, z.compress(pdtJSON("Demo", "demo-ident", "Gi0/0/0/1", 10)))...)
	stream = append(stream, pdtV2(2, 0, pdtJSON("Demo", "demo-ident", "Gi0/0/0/2", 20))...)
	stream = append(stream, pdtV2(4, wire.FlagZlib, z.compress(pdtKVCounters("Gi0/0/0/3", 5, 100)))...)

	c := e.dial()
	send(t, c, rand.New(rand.NewPCG(1, 2)), stream)
	waitFor(t, "7 messages", func() bool { return e.h.n() == 7 })

	msgs := e.h.all()
	wantPkts := []uint64{0, 1, 2}
	for i, m := range msgs {
		if m.node != "127.0.0.1" || m.dev.ID != "127.0.0.1" || m.policy != "Demo" {
			t.Errorf("message %d: node %q device %+v policy %q", i, m.node, m.dev, m.policy)
		}
		switch {
		case i < 3:
			if l, _ := leaf(m.first, "PacketsReceived"); l.U != wantPkts[i] || m.sub != "Fast" || m.path != genericCounters {
				t.Errorf("message %d: %+v", i, m)
			}
			if l, _ := leaf(m.first, "BytesReceived"); l.U != 1<<64-1 {
				t.Errorf("message %d: uint64 leaf not exact: %+v", i, l)
			}
		case i == 3:
			if m.path != memorySummary || m.sub != "Medium" || m.enc != xr.EncodingJSON {
				t.Errorf("memory message %+v", m)
			}
		case i == 6:
			if m.enc != xr.EncodingGPBKV || m.path != genericCounters || m.sub != "Fast" || m.numeric != 5 {
				t.Errorf("KV message %+v", m)
			}
			if l, _ := leaf(m.first, "InterfaceName"); l.S != "Gi0/0/0/3" {
				t.Errorf("KV keys %+v", m.first)
			}
		}
	}
	r := e.router("127.0.0.1")
	if r.Messages != 7 || len(r.Drops) != 0 || r.Generations[0] != "pdt_v2" || len(r.Transports) != 1 {
		t.Errorf("router %+v", r)
	}
	if e.r.count.resets.Load() != 2 {
		t.Errorf("%d resets counted, want 2", e.r.count.resets.Load())
	}
}

// XR 6.0.0 framing: length-prefixed TLV blocks, a reset TLV, then
// compressed JSON TLVs (two in one block).
func TestPDTv1TLV(t *testing.T) {
	e := start(t, loopbackConfig(), nil)
	var z zrouter
	stream := pdtV1(tlv(1, nil), tlv(2, z.compress(pdtJSON("P", "r1", "Gi0", 1))))
	stream = append(stream, pdtV1(tlv(2, z.compress(pdtJSON("P", "r1", "Gi1", 2))), tlv(2, z.compress(pdtJSON("P", "r1", "Gi2", 3))))...)
	c := e.dial()
	send(t, c, rand.New(rand.NewPCG(3, 4)), stream)
	waitFor(t, "3 messages", func() bool { return e.h.n() == 3 })
	for i, m := range e.h.all() {
		if l, _ := leaf(m.first, "PacketsReceived"); m.node != "r1" || l.U != uint64(i+1) {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if r := e.router("r1"); r.Generations[0] != "pdt_v1" || r.Messages != 3 {
		t.Errorf("router %+v", r)
	}
}

// The real IOS XR 24.4 capture (MDT, TCP dial-out, JSON) replayed to the
// receiver: all 44 messages reach the handler with every leaf the decoder
// finds in them.
func TestMDTRealCaptureOverTCP(t *testing.T) {
	streams, _, err := pcap.ReadTCPFile("../../decode/xr/mdt/testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 {
		t.Fatalf("%d streams", len(streams))
	}
	data := streams[0].Data
	// What the decoder alone makes of the same bytes.
	var wantLeaves, wantNumeric int
	wc := wire.NewConn(0)
	err = wc.Feed(data, func(f wire.Frame) error {
		m, err := mdt.DecodeJSON(f.Payload)
		if err != nil {
			return err
		}
		for _, r := range m.Rows {
			wantLeaves += len(r.Keys) + len(r.Content)
			for _, l := range r.Content {
				if l.Kind != xr.LeafString && l.Kind != xr.LeafBytes {
					wantNumeric++
				}
			}
		}
		return nil
	})
	wc.Close()
	if err != nil {
		t.Fatal(err)
	}

	e := start(t, loopbackConfig(), nil)
	c := e.dial()
	send(t, c, rand.New(rand.NewPCG(5, 6)), data)
	waitFor(t, "44 messages", func() bool { return e.h.n() == 44 })
	var leaves, numeric int
	for _, m := range e.h.all() {
		if m.node != "ipf-zbl1327-r-daisy-90" || m.dev.ID != m.node || m.sub != "taarole8" || m.enc != xr.EncodingJSON {
			t.Fatalf("message %+v", m)
		}
		leaves += m.leaves
		numeric += m.numeric
	}
	if leaves != wantLeaves || numeric != wantNumeric || numeric < 55027 {
		t.Errorf("handler saw %d leaves (%d numeric), decoder finds %d (%d)", leaves, numeric, wantLeaves, wantNumeric)
	}
	r := e.router("ipf-zbl1327-r-daisy-90")
	if r.Messages != 44 || r.Bytes < 628574 || len(r.Drops) != 0 || r.Generations[0] != "mdt" || r.Encodings[0] != "json" {
		t.Errorf("router %+v", r)
	}
}

// MDT key-value GPB over TCP, compressed, with heartbeats; a message that
// names no node is the peer address's; compact rows in an MDT GPB message
// are dropped and counted, and the connection carries on.
func TestMDTKVGPBOverTCP(t *testing.T) {
	e := start(t, loopbackConfig(), nil)
	var z zrouter
	const path = "Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters"
	var stream []byte
	stream = append(stream, mdtFrame(2, 1, 0, nil)...)
	stream = append(stream, mdtFrame(1, 1, wire.FlagZlib, z.compress(mdtKV("r9", "sub1", path, 1700000000000, mdtRow("Gi0/0/0/0", 50, 1), mdtRow("Gi0/0/0/1", 50, 2))))...)
	stream = append(stream, mdtFrame(1, 1, 0, mdtKV("", "sub1", path, 1700000000000, mdtRow("Gi0", 3, 1)))...)
	compactRows := appendString(nil, 6, path)
	compactRows = append(compactRows, 0x62, 0x02, 0x0a, 0x00) // data_gpb (12) holding one row
	stream = append(stream, mdtFrame(1, 1, 0, compactRows)...)
	stream = append(stream, mdtFrame(2, 1, 0, nil)...)
	stream = append(stream, mdtFrame(1, 1, wire.FlagZlib, z.compress(mdtKV("r9", "sub1", path, 1700000000000, mdtRow("Gi0/0/0/2", 50, 3))))...)
	c := e.dial()
	send(t, c, rand.New(rand.NewPCG(7, 8)), stream)
	waitFor(t, "3 messages and a drop", func() bool { return e.h.n() == 3 && e.r.Drops(mdt.ReasonCompactGPB) == 1 })
	msgs := e.h.all()
	if msgs[0].node != "r9" || msgs[0].rows != 2 || msgs[0].numeric != 100 || msgs[0].enc != xr.EncodingGPBKV {
		t.Errorf("first %+v", msgs[0])
	}
	if msgs[1].node != "127.0.0.1" || msgs[1].dev.ID != "127.0.0.1" {
		t.Errorf("second %+v", msgs[1])
	}
	if l, _ := leaf(msgs[2].first, "interface-name"); l.S != "Gi0/0/0/2" {
		t.Errorf("third %+v", msgs[2])
	}
	if e.r.count.heartbeats.Load() != 2 {
		t.Errorf("%d heartbeats", e.r.count.heartbeats.Load())
	}
	// The compact drop is the router's: it is the last router heard from the address.
	if r := e.router("127.0.0.1"); r.Drops[mdt.ReasonCompactGPB] != 1 {
		t.Errorf("router %+v", r)
	}
}

// Bad input: each case closes its connection (framing, zlib) or drops one
// message and keeps it (decoding), counted by reason, and the receiver
// goes on serving.
func TestBadInput(t *testing.T) {
	cfg := loopbackConfig()
	cfg.MaxMessageBytes = 1 << 20
	e := start(t, cfg, nil)
	good := pdtV2(2, 0, pdtJSON("P", "ok", "Gi0", 1))

	bomb := func() []byte {
		var z zrouter
		return pdtV2(2, wire.FlagZlib, z.compress(make([]byte, 4<<20)))
	}
	corrupt := func() []byte {
		var z zrouter
		b := z.compress(pdtJSON("P", "x", "Gi0", 1))
		b[1] = 0x00 // the zlib header's check bits no longer hold
		return pdtV2(2, wire.FlagZlib, b)
	}
	cases := []struct {
		name, reason string
		stream       []byte
		closes       bool
	}{
		{"oversize length", wire.ReasonTooLong, pdtV2(2, 0, nil)[:8:8], true},
		{"zlib bomb", wire.ReasonZlibTooLarge, bomb(), true},
		{"corrupt zlib", wire.ReasonZlibCorrupt, corrupt(), true},
		{"unknown type", wire.ReasonUnknownType, append(pdtV2(1, 0, nil), pdtV2(9, 0, []byte("x"))...), true},
		{"unknown framing", wire.ReasonUnknownFraming, []byte("GET / HTTP/1.1\r\n\r\n"), true},
		{"MDT bad version", wire.ReasonBadVersion, append(mdtFrame(2, 1, 0, nil), 0, 1, 0, 2, 0, 9, 0, 0, 0, 0, 0, 0), true},
		{"invalid JSON", "bad_json", pdtV2(2, 0, []byte(`{"Policy":"P",`)), false},
		{"invalid protobuf", "bad_protobuf", mdtFrame(1, 1, 0, []byte{0x0a, 0x7f}), false},
	}
	cases[0].stream = append(cases[0].stream, 0x00, 0x20, 0x00, 0x00) // length 2 MiB > 1 MiB
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.r.Drops(tc.reason)
			n := e.h.n()
			c := e.dial()
			if _, err := c.Write(tc.stream); err != nil {
				t.Fatal(err)
			}
			waitFor(t, tc.reason+" counted", func() bool { return e.r.Drops(tc.reason) == before+1 })
			if tc.closes {
				if !closedByPeer(c) {
					t.Fatal("connection not closed")
				}
				return
			}
			// A decoding error keeps the connection: the next message arrives.
			if tc.name == "invalid protobuf" {
				good = mdtFrame(1, 2, 0, []byte(`{"node_id_str":"ok","encoding_path":"a/b","data_json":[{"keys":[{"k":"v"}],"content":{"x":1}}]}`))
			}
			if _, err := c.Write(good); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the next message", func() bool { return e.h.n() == n+1 })
		})
	}
	if r := e.router("127.0.0.1"); r.Drops[wire.ReasonZlibCorrupt] != 1 || r.Drops[wire.ReasonTooLong] != 1 {
		t.Errorf("router drops %+v", r.Drops)
	}
}

// Peers outside the allow-list are refused on TCP and UDP and counted;
// xr_allowed_networks wins over the global list.
func TestAllowList(t *testing.T) {
	cfg := loopbackConfig()
	cfg.AllowedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	e := start(t, cfg, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")})
	c := e.dial()
	c.Write(pdtV2(2, 0, pdtJSON("P", "r", "Gi0", 1)))
	if !closedByPeer(c) {
		t.Fatal("connection from outside the allow-list not closed")
	}
	u, err := net.Dial("udp", e.r.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.Write(compactHeader("P", "r", nil))
	waitFor(t, "2 refusals", func() bool { return e.r.Drops(DropNotAllowed) == 2 })
	if e.h.n() != 0 || len(e.r.Routers()) != 0 {
		t.Errorf("refused traffic reached the handler or the router table")
	}
	if !e.r.Allowed(netip.MustParseAddr("10.1.2.3")) || e.r.Allowed(netip.MustParseAddr("127.0.0.1")) {
		t.Error("xr_allowed_networks should replace allowed_networks")
	}
	open, err := New(config.XR{}, nil, &collector{}, e.board, nil)
	if err != nil || !open.Allowed(netip.MustParseAddr("192.0.2.1")) {
		t.Error("no list at all admits every peer")
	}
	global, _ := New(config.XR{}, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, &collector{}, e.board, nil)
	if !global.Allowed(netip.MustParseAddr("::ffff:192.0.2.1")) || global.Allowed(netip.MustParseAddr("198.51.100.1")) {
		t.Error("the global list applies when xr_allowed_networks is empty")
	}
}

// Past MaxConnections a new connection is closed at once and counted;
// the open ones keep working.
func TestConnectionBound(t *testing.T) {
	cfg := loopbackConfig()
	cfg.MaxConnections = 2
	e := start(t, cfg, nil)
	c1, c2 := e.dial(), e.dial()
	waitFor(t, "2 accepted", func() bool { return e.r.count.accepted.Load() == 2 })
	c3 := e.dial()
	if !closedByPeer(c3) {
		t.Fatal("third connection not closed")
	}
	if e.r.Drops(DropConnLimit) != 1 {
		t.Errorf("connection_limit %d", e.r.Drops(DropConnLimit))
	}
	c1.Write(pdtV2(2, 0, pdtJSON("P", "a", "Gi0", 1)))
	c2.Write(pdtV2(2, 0, pdtJSON("P", "b", "Gi0", 1)))
	waitFor(t, "2 messages", func() bool { return e.h.n() == 2 })
	c1.Close()
	waitFor(t, "a slot freed", func() bool {
		e.r.connMu.Lock()
		defer e.r.connMu.Unlock()
		return len(e.r.conns) == 1
	})
	c4 := e.dial()
	c4.Write(pdtV2(2, 0, pdtJSON("P", "d", "Gi0", 1)))
	waitFor(t, "the fourth connection's message", func() bool { return e.h.n() == 3 })
}

// Many sync-flushed messages on one connection with resets between runs,
// split at random: each inflated message is decoded whole.
func TestZlibStreamManyMessagesWithResets(t *testing.T) {
	e := start(t, loopbackConfig(), nil)
	rng := rand.New(rand.NewPCG(9, 10))
	var z zrouter
	var stream bytes.Buffer
	const n = 300
	for i := range n {
		if i%37 == 0 {
			stream.Write(pdtV2(1, 0, nil))
			z.reset()
		}
		if i%2 == 0 {
			stream.Write(pdtV2(2, wire.FlagZlib, z.compress(pdtJSON("P", "r1", "Gi0", uint64(i)))))
		} else {
			stream.Write(pdtV2(4, wire.FlagZlib, z.compress(pdtKVCounters("Gi0", 1+i%50, uint64(i)))))
		}
	}
	c := e.dial()
	send(t, c, rng, stream.Bytes())
	waitFor(t, "every message", func() bool { return e.h.n() == n })
	for i, m := range e.h.all() {
		if i%2 == 0 {
			if l, _ := leaf(m.first, "PacketsReceived"); l.U != uint64(i) {
				t.Fatalf("message %d: %+v", i, m)
			}
		} else if m.numeric != 1+i%50 {
			t.Fatalf("message %d: %d numeric leaves", i, m.numeric)
		}
	}
}

// A connection that sends nothing for the idle timeout is closed and
// counted; one that keeps sending is not.
func TestIdleTimeout(t *testing.T) {
	e := start(t, loopbackConfig(), nil, withTCPIdle(time.Second))
	quiet, busy := e.dial(), e.dial()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				busy.Write(pdtV2(2, 0, pdtJSON("P", "busy", "Gi0", 1)))
			}
		}
	}()
	if !closedByPeer(quiet) {
		t.Fatal("idle connection not closed")
	}
	waitFor(t, "the idle close counted", func() bool { return e.r.count.idleClosed.Load() == 1 })
	n := e.h.n()
	waitFor(t, "the busy connection to go on", func() bool { return e.h.n() > n+5 })
	if e.r.count.idleClosed.Load() != 1 {
		t.Error("the busy connection was closed as idle")
	}
}

// Two routers behind one address: a 6.0.0 router opening its TLV
// connection with a reset is not the v2 router that last spoke from there.
// The reset is credited to no one until its own connection names a router.
func TestResetBelongsToItsConnection(t *testing.T) {
	e := start(t, loopbackConfig(), nil)
	var z zrouter
	rng := rand.New(rand.NewPCG(5, 6))
	v2 := e.dial()
	send(t, v2, rng, pdtV2(2, 0, pdtJSON("P", "r2", "Gi0", 1)))
	waitFor(t, "r2's message", func() bool { return e.h.n() == 1 })

	v1 := e.dial()
	send(t, v1, rng, pdtV1(tlv(1, nil)))
	waitFor(t, "the reset", func() bool { return e.r.count.resets.Load() == 1 })
	if r := e.router("r2"); !slices.Equal(r.Generations, []string{"pdt_v2"}) {
		t.Fatalf("r2 credited with another connection's reset: %+v", r)
	}

	send(t, v1, rng, pdtV1(tlv(2, z.compress(pdtJSON("P", "r1", "Gi0", 2)))))
	waitFor(t, "r1's message", func() bool { return e.h.n() == 2 })
	send(t, v1, rng, pdtV1(tlv(1, nil)))
	waitFor(t, "the second reset", func() bool { return e.r.count.resets.Load() == 2 })
	if r := e.router("r1"); !slices.Equal(r.Generations, []string{"pdt_v1"}) {
		t.Errorf("r1 %+v", r)
	}
	if r := e.router("r2"); !slices.Equal(r.Generations, []string{"pdt_v2"}) {
		t.Errorf("r2 %+v", r)
	}
}
