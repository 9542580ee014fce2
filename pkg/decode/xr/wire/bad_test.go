package wire

import (
	"bytes"
	"compress/zlib"
	"testing"
)

// Every impossible header closes the connection with a stable reason, at the
// offset of the header, and the Framer stays failed.
func TestFramerBadInput(t *testing.T) {
	good := pdtV2(2, 0, []byte(`{}`))
	cases := []struct {
		name   string
		max    int
		stream []byte
		reason string
		offset int64
	}{
		{"zero first word", 0, make([]byte, 12), ReasonUnknownFraming, 0},
		{"ASCII instead of a header", 0, []byte("GET / HTTP/1.1\r\n"), ReasonUnknownFraming, 0},
		{"v2 type 5 after a good frame", 0, append(bytes.Clone(good), pdtV2(5, 0, nil)...), ReasonUnknownType, 14},
		{"v2 type 0", 0, append(bytes.Clone(good), pdtV2(0, 0, nil)...), ReasonUnknownType, 14},
		{"v2 undefined flag", 0, pdtV2(2, 0x2, []byte("{}")), ReasonBadFlags, 0},
		{"v2 length beyond the default 16 MiB", 0, append(pdtV2(2, 0, nil)[:8:8], 0x01, 0x00, 0x00, 0x01), ReasonTooLong, 0}, // Length = 16 MiB + 1
		{"v2 length beyond max", 1000, pdtV2(3, 0, make([]byte, 1001)), ReasonTooLong, 0},
		{"v2 desync: ASCII length", 0, append(bytes.Clone(good), []byte("\x00\x00\x00\x02\x00\x00\x00\x00ionv")...), ReasonTooLong, 14},
		{"MDT type 3", 0, append(mdt(1, 2, 0, nil), mdt(3, 2, 0, nil)...), ReasonUnknownType, 12},
		{"MDT encap 5", 0, append(mdt(1, 2, 0, nil), mdt(1, 5, 0, nil)...), ReasonBadEncap, 12},
		{"MDT version 2", 0, append(mdt(1, 2, 0, nil), 0, 1, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0), ReasonBadVersion, 12},
		{"MDT flags from ASCII (telegraf #10620)", 0, append(mdt(1, 2, 0, nil), 0, 1, 0, 2, 0, 1, 'e', 't', 0, 0, 0, 0), ReasonBadFlags, 12},
		{"MDT length beyond max", 100, mdt(1, 2, 0, make([]byte, 101)), ReasonTooLong, 0},
		{"v1 block beyond max", 100, pdtV1(tlv(2, make([]byte, 100))), ReasonTooLong, 0},
		{"v1 TLV past its block", 0, []byte{0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0, 9, 1, 2}, ReasonBadTLV, 4},
		{"v1 trailing bytes in block", 0, append(pdtV1(tlv(1, nil)), 0, 0, 0, 11, 0, 0, 0, 2, 0, 0, 0, 0, 9, 9, 9), ReasonBadTLV, 12 + 12},
		{"v1 TLV type 3", 0, append(pdtV1(tlv(1, nil)), pdtV1(tlv(3, nil))...), ReasonUnknownType, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 5, len(tc.stream)} {
				f := Framer{Max: tc.max}
				var err error
				for b := tc.stream; len(b) > 0 && err == nil; b = b[min(step, len(b)):] {
					err = f.Feed(b[:min(step, len(b))], func(Frame) error { return nil })
				}
				e, ok := err.(*Error)
				if !ok || e.Reason != tc.reason || e.Offset != tc.offset {
					t.Fatalf("step %d: got %v, want %s at %d", step, err, tc.reason, tc.offset)
				}
				if again := f.Feed(good, func(Frame) error { t.Fatal("emitted after an error"); return nil }); again != err {
					t.Fatalf("not sticky: %v", again)
				}
			}
		})
	}
}

func TestConnZlibBadInput(t *testing.T) {
	bomb := func() []byte {
		var r router
		return r.compress(t, make([]byte, 1<<20))
	}
	var r router
	good := r.compress(t, leaves50(1))
	corrupt := bytes.Clone(good)
	corrupt[2] |= 0x06 // block type 3 is reserved (a flipped byte inside a block may still inflate: no checksum until the stream ends)
	var unflushed bytes.Buffer
	zw := zlib.NewWriter(&unflushed)
	zw.Write(bytes.Repeat(leaves50(2), 20))
	zw.Flush()
	zw.Write(leaves50(3))
	cut := unflushed.Bytes()[:unflushed.Len()-1] // the frame stops mid-stream, before its flush ends

	cases := []struct {
		name   string
		stream []byte
		reason string
		offset int64
	}{
		{"decompression bomb", pdtV2(2, FlagZlib, bomb()), ReasonZlibTooLarge, 0},
		{"corrupt deflate", pdtV2(2, FlagZlib, corrupt), ReasonZlibCorrupt, 0},
		{"not a zlib header", pdtV2(2, FlagZlib, []byte("{\"plain\":true}")), ReasonZlibCorrupt, 0},
		{"frame ends mid-block", append(pdtV2(1, 0, nil), pdtV2(4, FlagZlib, cut)...), ReasonZlibUnflushed, 12},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := NewConn(64 << 10)
			defer c.Close()
			err := c.Feed(tc.stream, func(f Frame) error {
				if f.Kind == KindData {
					t.Fatalf("emitted a message of %d bytes", len(f.Payload))
				}
				return nil
			})
			e, ok := err.(*Error)
			if !ok || e.Reason != tc.reason || e.Offset != tc.offset {
				t.Fatalf("got %v, want %s at %d", err, tc.reason, tc.offset)
			}
		})
	}
}

// An inflater error lasts until RESET_COMPRESSOR, which starts a new stream.
func TestInflaterResetClearsError(t *testing.T) {
	var z Inflater
	defer z.Close()
	if _, err := z.Inflate([]byte("garbage!")); reasonOf(err) != ReasonZlibCorrupt {
		t.Fatalf("got %v", err)
	}
	var r router
	p := r.compress(t, []byte("hello"))
	if _, err := z.Inflate(p); reasonOf(err) != ReasonZlibCorrupt {
		t.Fatalf("still failed before reset: got %v", err)
	}
	z.Reset()
	out, err := z.Inflate(p)
	if err != nil || string(out) != "hello" {
		t.Fatalf("after reset: %q %v", out, err)
	}
	z.Close()
	if _, err := z.Inflate(p); reasonOf(err) != ReasonClosed {
		t.Fatalf("after close: %v", err)
	}
}
