package xrsim

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// frame is one PDT frame as a receiver reads it from the spec: v2
// Type/Flags/Length, or a v1 block's TLVs.
type frame struct {
	typ, flags uint32
	payload    []byte
}

func readPDTv2(r io.Reader) (frame, error) {
	var h [12]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{typ: binary.BigEndian.Uint32(h[0:]), flags: binary.BigEndian.Uint32(h[4:])}
	f.payload = make([]byte, binary.BigEndian.Uint32(h[8:]))
	_, err := io.ReadFull(r, f.payload)
	return f, err
}

func readPDTv1(r io.Reader) ([]frame, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	block := make([]byte, binary.BigEndian.Uint32(l[:]))
	if _, err := io.ReadFull(r, block); err != nil {
		return nil, err
	}
	var out []frame
	for len(block) >= 8 {
		n := binary.BigEndian.Uint32(block[4:])
		out = append(out, frame{typ: binary.BigEndian.Uint32(block), flags: FlagZlib, payload: block[8 : 8+n]})
		block = block[8+n:]
	}
	return out, nil
}

// listen accepts connections on loopback and hands each to serve.
func listen(t *testing.T, serve func(i int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(i, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func run(t *testing.T, cfg Config) *Router {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r.Run(ctx)
	if ctx.Err() != nil {
		t.Fatalf("router did not finish: %+v", r.Totals())
	}
	return r
}

// Over TCP with zlib, in both framings, a receiver written from the spec
// gets every message whole: the frames between two resets inflate as one
// stream (compress/zlib) to exactly the messages sent, in order.
func TestPDTZlibStreamOverTCP(t *testing.T) {
	for _, v1 := range []bool{false, true} {
		t.Run(map[bool]string{false: "v2", true: "v1"}[v1], func(t *testing.T) {
			var mu sync.Mutex
			var frames []frame
			done := make(chan struct{})
			addr := listen(t, func(_ int, c net.Conn) {
				defer close(done)
				for {
					var fs []frame
					var err error
					if v1 {
						fs, err = readPDTv1(c)
					} else {
						var f frame
						f, err = readPDTv2(c)
						fs = []frame{f}
					}
					if err != nil {
						return
					}
					mu.Lock()
					frames = append(frames, fs...)
					mu.Unlock()
				}
			})
			var sent [][]byte // payloads, nil for a reset
			r := run(t, Config{Name: "pe1", Target: addr, Zlib: true, ResetEvery: 4, V1: v1, Rate: 5000, Count: 23, Interfaces: 3,
				OnSent: func(s *Sent) {
					if s.Reset {
						sent = append(sent, nil)
					}
					sent = append(sent, bytes.Clone(s.Payload))
				}})
			<-done
			tot := r.Totals()
			if tot.Messages != 23 || tot.Connections != 1 || tot.Errors != 0 {
				t.Fatalf("totals %+v", tot)
			}
			// v2: resets after every 4 messages; v1 also opens with one.
			wantResets := uint64(5)
			if v1 {
				wantResets = 6
			}
			if tot.Resets != wantResets {
				t.Fatalf("%d resets", tot.Resets)
			}
			var streams [][]byte // compressed bytes per stream
			var plain [][]byte   // expected plain text per stream
			if !v1 {
				streams, plain = [][]byte{nil}, [][]byte{nil}
			}
			msgs := 0
			for i, f := range frames {
				if f.typ == PDTReset || (v1 && f.typ == V1Reset) {
					if len(f.payload) != 0 {
						t.Fatalf("reset with %d bytes", len(f.payload))
					}
					streams, plain = append(streams, nil), append(plain, nil)
					continue
				}
				if f.typ != PDTJSON || f.flags != FlagZlib {
					t.Fatalf("frame %d: type %d flags %#x", i, f.typ, f.flags)
				}
				k := len(streams) - 1
				if len(streams[k]) == 0 && f.payload[0] != 0x78 {
					t.Fatalf("frame %d starts a stream without a zlib header", i)
				}
				streams[k] = append(streams[k], f.payload...)
				msgs++
			}
			k := -1
			if !v1 {
				k = 0
			}
			for _, p := range sent {
				if p == nil {
					k++
					continue
				}
				plain[k] = append(plain[k], p...)
			}
			if msgs != 23 || len(streams) != len(plain) {
				t.Fatalf("%d messages in %d streams, %d expected", msgs, len(streams), len(plain))
			}
			for k := range streams {
				if len(streams[k]) == 0 {
					continue // v2's first stream is empty when the first message follows a reset
				}
				z, err := zlib.NewReader(bytes.NewReader(streams[k]))
				if err != nil {
					t.Fatal(err)
				}
				got := make([]byte, len(plain[k]))
				if _, err := io.ReadFull(z, got); err != nil || !bytes.Equal(got, plain[k]) {
					t.Fatalf("stream %d does not inflate to the messages sent: %v", k, err)
				}
				// Each message is strict JSON on its own.
				d := json.NewDecoder(bytes.NewReader(got))
				for d.More() {
					var v map[string]any
					if err := d.Decode(&v); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// The collector going away: the router dials again, and the new
// connection starts a new zlib stream.
func TestReconnectsWithFreshStream(t *testing.T) {
	firsts := make(chan []byte, 4)
	addr := listen(t, func(i int, c net.Conn) {
		f, err := readPDTv2(c)
		if err != nil {
			return
		}
		firsts <- f.payload
		if i == 0 {
			return // the collector restarts: first connection closed at once
		}
		io.Copy(io.Discard, c)
	})
	r, err := New(Config{Name: "pe1", Target: addr, Zlib: true, Rate: 200, Count: 40, RetryMin: 10 * time.Millisecond, Interfaces: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r.Run(ctx)
	tot := r.Totals()
	if tot.Connections < 2 || tot.Errors == 0 || tot.Messages != 40 {
		t.Fatalf("totals %+v", tot)
	}
	for range 2 {
		p := <-firsts
		z, err := zlib.NewReader(bytes.NewReader(p))
		if err != nil {
			t.Fatalf("a connection's first message is not the start of a zlib stream: %v", err)
		}
		var v map[string]any
		if err := json.NewDecoder(z).Decode(&v); err != nil || v["Policy"] != "NetlensDemo" {
			t.Fatalf("%v %v", v, err)
		}
	}
}

// Compact GPB over UDP: bare TelemetryHeader datagrams, rows split
// across them, every row accounted for.
func TestCompactOverUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got := make(chan [][]byte, 1)
	go func() {
		var dgs [][]byte
		buf := make([]byte, 65536)
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				got <- dgs
				return
			}
			dgs = append(dgs, bytes.Clone(buf[:n]))
			pc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
	}()
	r := run(t, Config{Name: "pe2", Target: pc.LocalAddr().String(), Encoding: EncCompact, Transport: "udp", Rate: 2000, Count: 30, Interfaces: 40, MaxDatagram: 1200})
	dgs := <-got
	tot := r.Totals()
	if uint64(len(dgs)) != tot.Messages || tot.Messages != 30 {
		t.Fatalf("%d datagrams, %d sent", len(dgs), tot.Messages)
	}
	rows := 0
	byPath := map[string]uint64{}
	for _, d := range dgs {
		if len(d) > 1200 || !bytes.HasPrefix(d, []byte{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08}) {
			t.Fatalf("datagram of %d bytes starting % x", len(d), d[:6])
		}
		_, paths, rs := rowsOf(t, d)
		rows += len(rs)
		byPath[paths[0]]++
	}
	if uint64(rows) != tot.Rows {
		t.Fatalf("%d rows received, %d sent", rows, tot.Rows)
	}
	for p, n := range byPath {
		if tot.ByPath[p] != n {
			t.Errorf("%s: %d received, totals say %d", p, n, tot.ByPath[p])
		}
	}
}

// Model-driven key-value GPB over the dial-out header: what arrives,
// read with the generated code, is what the totals say, series by series.
func TestMDTOverTCPMatchesTotals(t *testing.T) {
	var msgs []*xrpb.Telemetry
	done := make(chan struct{})
	addr := listen(t, func(_ int, c net.Conn) {
		defer close(done)
		for {
			var h [12]byte
			if _, err := io.ReadFull(c, h[:]); err != nil {
				return
			}
			if typ, encap, ver, flags := binary.BigEndian.Uint16(h[0:]), binary.BigEndian.Uint16(h[2:]), binary.BigEndian.Uint16(h[4:]), binary.BigEndian.Uint16(h[6:]); typ != 1 || encap != 1 || ver != 1 || flags != 0 {
				t.Errorf("header % x", h)
				return
			}
			b := make([]byte, binary.BigEndian.Uint32(h[8:]))
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			m := &xrpb.Telemetry{}
			if err := proto.Unmarshal(b, m); err != nil {
				t.Error(err)
				return
			}
			msgs = append(msgs, m)
		}
	})
	r := run(t, Config{Name: "core1", Target: addr, Generation: GenMDT, Encoding: EncGPBKV, Rate: 3000, Count: 24, Interfaces: 3})
	<-done
	tot := r.Totals()
	if len(msgs) != 24 {
		t.Fatalf("%d messages", len(msgs))
	}
	last := map[string]float64{}
	perMetric := map[string]uint64{}
	for _, m := range msgs {
		for _, row := range m.GetDataGpbkv() {
			labels := map[string]string{"device": m.GetNodeIdStr(), "path": m.GetEncodingPath(), "subscription": m.GetSubscriptionIdStr()}
			for _, k := range row.GetFields()[0].GetFields() {
				labels[LabelName(k.GetName())] = k.GetStringValue()
			}
			for _, f := range row.GetFields()[1].GetFields() {
				var v float64
				switch x := f.GetValueByType().(type) {
				case *xrpb.TelemetryField_Uint32Value:
					v = float64(x.Uint32Value)
				case *xrpb.TelemetryField_Uint64Value:
					v = float64(x.Uint64Value)
				case *xrpb.TelemetryField_BoolValue:
					if x.BoolValue {
						v = 1
					}
				default:
					continue
				}
				metric, _ := MetricName(m.GetEncodingPath(), f.GetName())
				perMetric[metric]++
				last[SeriesKey(metric, labels)] = v
			}
		}
	}
	if len(last) != len(tot.Series) {
		t.Fatalf("%d series received, %d in totals", len(last), len(tot.Series))
	}
	for k, v := range last {
		if s, ok := tot.Series[k]; !ok || s.Value != v {
			t.Errorf("%s: received %v, totals %+v", k, v, s)
		}
	}
	for m, n := range perMetric {
		if tot.ByMetric[m] != n {
			t.Errorf("%s: %d received, %d in totals", m, n, tot.ByMetric[m])
		}
	}
	if s := tot.Series[SeriesKey("xr_generic_counters_bytes_received", map[string]string{"device": "core1",
		"path": PathByID("counters").MDT, "subscription": "Fast", "interface_name": "HundredGigE0/0/0/1"})]; s.Value <= 0 {
		t.Errorf("no bytes on HundredGigE0/0/0/1: %+v", s)
	}
}

// PDT key-value names no router: the collector knows it by its address,
// and so do the totals.
func TestKVDeviceIsTheSenderAddress(t *testing.T) {
	addr := listen(t, func(_ int, c net.Conn) { io.Copy(io.Discard, c) })
	r := run(t, Config{Name: "pe3", Target: addr, Encoding: EncGPBKV, Zlib: true, Rate: 1000, Count: 6, Interfaces: 1})
	tot := r.Totals()
	n := 0
	for _, s := range tot.Series {
		if s.Labels["device"] != "127.0.0.1" || s.Labels["policy"] != "NetlensDemo" {
			t.Fatalf("%+v", s)
		}
		n++
	}
	if n == 0 || tot.ByPath[PathByID("counters").PDT] != 1 {
		t.Fatalf("%d series, by path %v", n, tot.ByPath)
	}
	st := tot.States[StateKey("127.0.0.1", PathByID("interfaces").PDT, map[string]string{"interface_name": "GigabitEthernet0/0/0/0"}, "State")]
	if st.Value != "IM_STATE_UP" {
		t.Fatalf("state %+v", st)
	}
}

func TestConfigProblems(t *testing.T) {
	bad := []Config{
		{Name: "x", Target: "nohost"},
		{Target: "127.0.0.1:1"},
		{Name: "x", Target: "127.0.0.1:1", Encoding: "xml"},
		{Name: "x", Target: "127.0.0.1:1", Transport: "udp"},
		{Name: "x", Target: "127.0.0.1:1", Transport: "udp", Encoding: EncCompact, Zlib: true},
		{Name: "x", Target: "127.0.0.1:1", Generation: GenMDT, Zlib: true},
		{Name: "x", Target: "127.0.0.1:1", Generation: GenMDT, Encoding: EncCompact},
		{Name: "x", Target: "127.0.0.1:1", V1: true, Encoding: EncGPBKV},
		{Name: "x", Target: "127.0.0.1:1", Rate: -1},
		{Name: "x", Target: "127.0.0.1:1", Interfaces: 20000},
		{Name: "x", Target: "127.0.0.1:1", MaxDatagram: 100},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted: %+v", i, c)
		}
	}
	r, err := New(Config{Name: "x", Target: "127.0.0.1:1", V1: true})
	if err != nil || !r.Config().Zlib {
		t.Fatalf("v1 is always compressed: %v", err)
	}
}

// A model that runs for a day: counters only grow, rates stay within the
// interface's bandwidth, states and descriptions change now and then.
func TestModelMovesLikeARouter(t *testing.T) {
	m := newModel("pe1", 3, 8, 3, 8, t0)
	counters, rates, ifs, bgp := PathByID("counters"), PathByID("rates"), PathByID("interfaces"), PathByID("bgp")
	prev := m.rows(counters, GenPDT)
	states, descs, bgpStates := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for step := 1; step <= 8640; step++ {
		m.advance(t0.Add(time.Duration(step) * 10 * time.Second))
		cur := m.rows(counters, GenPDT)
		for i := range cur {
			for j := range 8 { // the 64-bit packet and byte counters
				if cur[i].Values[j].U < prev[i].Values[j].U {
					t.Fatalf("step %d: %s %s went back", step, cur[i].Keys[0], counters.Leaves[j].PDT)
				}
			}
		}
		prev = cur
		for _, r := range m.rows(rates, GenPDT) {
			if r.Values[0].U > uint64(r.Values[6].U) {
				t.Fatalf("%s: %d kbps on a %d kbps interface", r.Keys[0], r.Values[0].U, r.Values[6].U)
			}
		}
		for _, r := range m.rows(ifs, GenMDT) {
			states[r.Values[0].S] = true
			descs[r.Values[2].S] = true
		}
		for _, r := range m.rows(bgp, GenPDT) {
			bgpStates[r.Values[1].S] = true
		}
	}
	if !states["im-state-up"] || !states["im-state-down"] || len(states) != 2 {
		t.Errorf("interface states %v", states)
	}
	if len(descs) <= 8 {
		t.Errorf("descriptions never changed: %v", descs)
	}
	if !bgpStates["BGP_ST_ESTAB"] || !bgpStates["BGP_ST_IDLE"] || !bgpStates["BGP_ST_ACTIVE"] {
		t.Errorf("BGP states %v", bgpStates)
	}
	if v := prev[1].Values[1].U; v < 1<<40 || strconv.FormatUint(v, 10) == "" {
		t.Errorf("a 100G interface's byte counter after weeks is only %d", v)
	}
}

// Without -rate a router follows its policy: every group at once, then
// each at its own period (on a fake clock here).
func TestFollowsPolicyPeriods(t *testing.T) {
	addr := listen(t, func(_ int, c net.Conn) { io.Copy(io.Discard, c) })
	var mu sync.Mutex
	now := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	type sent struct {
		at time.Duration
		id string
	}
	var got []sent
	r, err := New(Config{Name: "pe1", Target: addr, Count: 6 + 2 + 2 + 5 + 2 + 2, Interfaces: 1, Now: clock,
		OnSent: func(s *Sent) {
			got = append(got, sent{time.UnixMilli(s.Collection.StartMs).Sub(t0), s.Path.ID})
		}})
	if err != nil {
		t.Fatal(err)
	}
	r.after = func(d time.Duration) <-chan time.Time {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
		c := make(chan time.Time, 1)
		c <- now
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.Run(ctx)
	want := []sent{
		{0, "counters"}, {0, "rates"}, {0, "interfaces"}, {0, "memory"}, {0, "bgp"}, {0, "inventory"},
		{10 * time.Second, "counters"}, {10 * time.Second, "rates"},
		{20 * time.Second, "counters"}, {20 * time.Second, "rates"},
		{30 * time.Second, "counters"}, {30 * time.Second, "rates"},
		{30 * time.Second, "interfaces"}, {30 * time.Second, "memory"}, {30 * time.Second, "bgp"},
		{40 * time.Second, "counters"}, {40 * time.Second, "rates"},
		{50 * time.Second, "counters"}, {50 * time.Second, "rates"},
	}
	if len(got) != len(want) {
		t.Fatalf("sent %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d: %v, want %v (all: %v)", i, got[i], want[i], got)
		}
	}
}
