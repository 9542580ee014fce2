package wire

import (
	"bytes"
	"compress/zlib"
	"math/rand/v2"
	"testing"
)

// A PDT v2 connection carrying one continuous zlib stream, sync-flushed after
// each message and restarted by RESET_COMPRESSOR frames, fed at random split
// points: every message comes out whole, alone and in order.
func TestConnPDTv2ZlibStreamWithResets(t *testing.T) {
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 42))
		msgs := messages(rng, 120)
		var r router
		var stream []byte
		var want []Frame
		for i, m := range msgs {
			if i > 0 && rng.IntN(10) == 0 {
				stream = append(stream, pdtV2(1, 0, nil)...)
				r.reset()
				want = append(want, Frame{Gen: GenPDTv2, Kind: KindReset, Type: 1})
			}
			typ := uint32(2 + rng.IntN(3))
			stream = append(stream, pdtV2(typ, FlagZlib, r.compress(t, m))...)
			want = append(want, Frame{Gen: GenPDTv2, Type: typ, Flags: FlagZlib, Encoding: pdtEncoding(typ), Compressed: true, Payload: m})
		}
		c := NewConn(0)
		var g got
		if err := feedSplit(rng, stream, func(b []byte) error { return c.Feed(b, g.emit) }); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		c.Close()
		checkFrames(t, g.frames, want)
	}
}

// PDT v1 (XR 6.0.0): length-prefixed blocks of TLVs; a block may hold a reset
// and a message together.
func TestConnPDTv1(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	msgs := messages(rng, 60)
	var r router
	stream := pdtV1(tlv(1, nil)) // routers are expected to open with a reset
	want := []Frame{{Gen: GenPDTv1, Kind: KindReset, Type: 1}}
	for i, m := range msgs {
		z := r.compress(t, m)
		mf := Frame{Gen: GenPDTv1, Type: 2, Flags: FlagZlib, Encoding: EncodingJSON, Compressed: true, Payload: m}
		if i%7 == 6 {
			r.reset()
			z = r.compress(t, m)
			stream = append(stream, pdtV1(tlv(1, nil), tlv(2, z))...)
			want = append(want, Frame{Gen: GenPDTv1, Kind: KindReset, Type: 1}, mf)
			continue
		}
		stream = append(stream, pdtV1(tlv(2, z))...)
		want = append(want, mf)
	}
	c := NewConn(0)
	defer c.Close()
	var g got
	if err := feedSplit(rng, stream, func(b []byte) error { return c.Feed(b, g.emit) }); err != nil {
		t.Fatal(err)
	}
	if c.Generation() != GenPDTv1 {
		t.Fatalf("generation %v", c.Generation())
	}
	checkFrames(t, g.frames, want)
}

// MDT dial-out TCP: data frames of every encapsulation, heartbeats, and (not
// seen from real routers, but defined) the compression flag.
func TestConnMDT(t *testing.T) {
	var r router
	kv := []byte("\x0a\x02r1")
	js := leaves50(3)
	stream := bytes.Join([][]byte{
		mdt(1, 2, 0, js),
		mdt(2, 1, 0, nil),
		mdt(1, 1, 0, kv),
		mdt(1, 3, 0, kv),
		mdt(1, 4, 0, kv),
		mdt(1, 2, FlagZlib, r.compress(t, js)),
		mdt(1, 2, FlagZlib, r.compress(t, js[:10])),
	}, nil)
	want := []Frame{
		{Gen: GenMDT, Type: 1, Encoding: EncodingJSON, Payload: js},
		{Gen: GenMDT, Kind: KindHeartbeat, Type: 2, Encoding: EncodingGPB, Payload: []byte{}},
		{Gen: GenMDT, Type: 1, Encoding: EncodingGPB, Payload: kv},
		{Gen: GenMDT, Type: 1, Encoding: EncodingGPBCompact, Payload: kv},
		{Gen: GenMDT, Type: 1, Encoding: EncodingGPBKV, Payload: kv},
		{Gen: GenMDT, Type: 1, Flags: FlagZlib, Encoding: EncodingJSON, Compressed: true, Payload: js},
		{Gen: GenMDT, Type: 1, Flags: FlagZlib, Encoding: EncodingJSON, Compressed: true, Payload: js[:10]},
	}
	for step := 1; step <= 13; step += 4 {
		c := NewConn(0)
		var g got
		for b := stream; len(b) > 0; b = b[min(step, len(b)):] {
			if err := c.Feed(b[:min(step, len(b))], g.emit); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		checkFrames(t, g.frames, want)
	}
}

// Every connection is its own zlib stream: the bytes a router sends after
// its first message cannot be inflated by a fresh connection's inflater.
func TestConnNoStateAcrossConnections(t *testing.T) {
	var r router
	first := pdtV2(2, FlagZlib, r.compress(t, leaves50(1)))
	second := pdtV2(2, FlagZlib, r.compress(t, leaves50(2)))

	a := NewConn(0)
	defer a.Close()
	var g got
	if err := a.Feed(append(bytes.Clone(first), second...), g.emit); err != nil {
		t.Fatal(err)
	}
	if len(g.frames) != 2 || !bytes.Equal(g.frames[1].Payload, leaves50(2)) {
		t.Fatalf("same connection: %d frames", len(g.frames))
	}

	b := NewConn(0)
	defer b.Close()
	err := b.Feed(second, g.emit)
	if reasonOf(err) != ReasonZlibCorrupt {
		t.Fatalf("continuation on a new connection: %v", err)
	}
}

// A sender that finishes a zlib stream per message (instead of flushing)
// still gives one message per frame: a finished stream is followed by a new one.
func TestInflaterStreamPerMessage(t *testing.T) {
	var z Inflater
	defer z.Close()
	for i := range 5 {
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		msg := leaves50(i)
		if _, err := zw.Write(msg); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := z.Inflate(buf.Bytes())
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(out, msg) {
			t.Fatalf("message %d: got %q", i, out)
		}
	}
}

// Real MDT messages exceed 600 KB (the capture's largest is 628,574 bytes):
// one of 700 KB passes the default limits, compressed, read as TCP segments.
func TestConnLargeMessage(t *testing.T) {
	var big []byte
	for i := 0; len(big) < 700<<10; i++ {
		big = append(big, leaves50(i)...)
	}
	var r router
	stream := mdt(1, 2, 0, big)
	zs := pdtV2(2, FlagZlib, r.compress(t, big))
	for _, s := range [][]byte{stream, zs} {
		c := NewConn(0)
		var g got
		for b := s; len(b) > 0; b = b[min(1460, len(b)):] {
			if err := c.Feed(b[:min(1460, len(b))], g.emit); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		if len(g.frames) != 1 || !bytes.Equal(g.frames[0].Payload, big) {
			t.Fatalf("%d frames", len(g.frames))
		}
	}
}

func checkFrames(t *testing.T, got, want []Frame) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if w.Payload == nil {
			w.Payload = g.Payload[:0:0]
		}
		if g.Gen != w.Gen || g.Kind != w.Kind || g.Type != w.Type || g.Flags != w.Flags ||
			g.Encoding != w.Encoding || g.Compressed != w.Compressed || !bytes.Equal(g.Payload, w.Payload) {
			t.Fatalf("frame %d:\n got  %v %v type %d flags %x %v compressed %v, %d bytes\n want %v %v type %d flags %x %v compressed %v, %d bytes",
				i, g.Gen, g.Kind, g.Type, g.Flags, g.Encoding, g.Compressed, len(g.Payload),
				w.Gen, w.Kind, w.Type, w.Flags, w.Encoding, w.Compressed, len(w.Payload))
		}
	}
}
