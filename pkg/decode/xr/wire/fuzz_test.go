package wire

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

func addFramerSeeds(f *testing.F) {
	var r router
	f.Add(pdtV2(2, 0, []byte(`{"a":1}`)), uint8(1))
	f.Add(append(pdtV2(1, 0, nil), pdtV2(2, FlagZlib, r.compress(f, leaves50(1)))...), uint8(3))
	f.Add(pdtV1(tlv(1, nil), tlv(2, []byte{0x78, 0x9c})), uint8(2))
	f.Add(append(mdt(1, 2, 0, []byte("{}")), mdt(2, 1, 0, nil)...), uint8(5))
	f.Add(mdt(1, 2, FlagZlib, nil), uint8(0))
	f.Add([]byte("\x00\x00\x00\x02\x00\x00\x00\x00ionv"), uint8(7))
}

// The framer gives the same frames and the same error whatever the read sizes.
func FuzzFramer(f *testing.F) {
	addFramerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		whole := Framer{Max: 1 << 16}
		var a got
		errA := whole.Feed(data, a.emit)

		split := Framer{Max: 1 << 16}
		var b got
		var errB error
		n := int(step)%17 + 1
		for rest := data; len(rest) > 0 && errB == nil; rest = rest[min(n, len(rest)):] {
			errB = split.Feed(rest[:min(n, len(rest))], b.emit)
		}
		if reasonOf(errA) != reasonOf(errB) {
			t.Fatalf("whole: %v, split: %v", errA, errB)
		}
		if errA != nil {
			if _, ok := errA.(*Error); !ok {
				t.Fatalf("not an *Error: %v", errA)
			}
		}
		checkFrames(t, b.frames, a.frames)
	})
}

// The connection (framer, then inflater) never panics, never hangs, returns
// only *Error, and leaves no goroutine behind once closed.
func FuzzConn(f *testing.F) {
	addFramerSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		c := NewConn(1 << 16)
		n := int(step)%29 + 1
		for rest := data; len(rest) > 0; rest = rest[min(n, len(rest)):] {
			if err := c.Feed(rest[:min(n, len(rest))], func(Frame) error { return nil }); err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("not an *Error: %v", err)
				}
				break
			}
		}
		c.Close()
	})
}

// roundTripRouter is shared by the fuzz iterations (which run one at a time
// in a worker) because a zlib.Writer costs more to make than to use.
var roundTripRouter router

// Any sequence of messages, sync-flushed into one stream with resets where
// the fuzzer puts them, comes back message by message.
func FuzzInflateRoundTrip(f *testing.F) {
	f.Add([]byte(`{"a":1}{"b":2}`), []byte{7, 0x80 | 7})
	f.Add(bytes.Repeat([]byte("GigabitEthernet0/0/0/1 "), 4000), []byte{200, 1, 0x80, 50})
	f.Fuzz(func(t *testing.T, plain []byte, cuts []byte) {
		var z Inflater
		defer z.Close()
		r := &roundTripRouter
		r.reset()
		for _, c := range cuts {
			if len(plain) == 0 {
				break
			}
			if c&0x80 != 0 {
				r.reset()
				z.Reset()
			}
			n := min(int(c&0x7f)*97, len(plain))
			msg := plain[:n]
			plain = plain[n:]
			out, err := z.Inflate(r.compress(t, msg))
			if err != nil {
				t.Fatalf("%d-byte message: %v", n, err)
			}
			if !bytes.Equal(out, msg) {
				t.Fatalf("got %d bytes, want %d", len(out), len(msg))
			}
		}
	})
}

// Closing a connection ends its inflater's goroutine.
func TestConnCloseEndsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	var r router
	stream := pdtV2(2, FlagZlib, r.compress(t, leaves50(1)))
	for range 50 {
		c := NewConn(0)
		if err := c.Feed(stream, func(Frame) error { return nil }); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
}
