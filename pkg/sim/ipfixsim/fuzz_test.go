package ipfixsim

import (
	"bytes"
	"net"
	"testing"
)

// capture is a connection that keeps copies of what is written.
type capture struct {
	net.Conn
	msgs [][]byte
}

func (c *capture) Write(b []byte) (int, error) {
	c.msgs = append(c.msgs, bytes.Clone(b))
	return len(b), nil
}

// Whatever the message size, padding, sampling and traffic, every message
// is framed right: its length field is its size, its sets tile it exactly,
// it stays within the size asked for, and no record is lost between
// messages.
func FuzzMessagesAreFramed(f *testing.F) {
	f.Add(uint64(1), uint16(1400), false, uint16(500), uint32(1), uint8(0))
	f.Add(uint64(2), uint16(400), true, uint16(50), uint32(100), uint8(1))
	f.Add(uint64(3), uint16(65535), false, uint16(3000), uint32(4096), uint8(3))
	f.Fuzz(func(t *testing.T, seed uint64, size uint16, noPad bool, n uint16, rate uint32, mode uint8) {
		e, err := New(Config{Target: "127.0.0.1:4739", Seed: seed, MaxMessageSize: int(size), NoPadding: noPad,
			SamplingRate: rate, SamplingMode: SamplingMode(mode % 4), SelectorID: 1})
		if err != nil {
			if size != 0 && int(size) >= MinMessageSize && rate != 0 {
				t.Fatalf("size %d refused: %v", size, err)
			}
			return
		}
		c := &capture{}
		e.conn = c
		if err := e.sendTemplates(); err != nil {
			t.Fatal(err)
		}
		if err := e.sendFlows(uint64(n%5000), false); err != nil {
			t.Fatal(err) // ErrTooLong included: New refuses sizes some record would not fit
		}
		limit := e.Config().MaxMessageSize
		for i, m := range c.msgs {
			if len(m) > limit {
				t.Fatalf("message %d: %d octets, above %d", i, len(m), limit)
			}
			ids := setIDs(t, m)
			if len(ids) == 0 {
				t.Fatalf("message %d has no set", i)
			}
			if !noPad {
				for off := HeaderLen; off < len(m); off += int(m[off+2])<<8 | int(m[off+3]) {
					if (int(m[off+2])<<8|int(m[off+3]))%4 != 0 {
						t.Fatalf("message %d: set at %d not padded to 4", i, off)
					}
				}
			}
		}
		if tot := e.Totals(); tot.Flows.Records != uint64(n%5000) {
			t.Fatalf("%d flow records sent of %d", tot.Flows.Records, n%5000)
		}
	})
}
