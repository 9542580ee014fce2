package wire

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/netlens/netlens/pkg/pcap"
)

// The real IOS XR 24.4 capture (model-driven, TCP dial-out, JSON; kept with
// the MDT decoder's test data): its router-to-collector stream frames into
// 44 MDT JSON messages, the largest 628,574 bytes, each valid JSON, whatever
// the read sizes.
func TestRealCaptureMDT(t *testing.T) {
	streams, _, err := pcap.ReadTCPFile("../mdt/testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	var msgs, largest int
	for _, s := range streams {
		if len(s.Data) == 0 || s.Missing {
			continue
		}
		c := NewConn(0)
		err := feedSplit(rng, s.Data, func(b []byte) error {
			return c.Feed(b, func(f Frame) error {
				if f.Gen != GenMDT || f.Kind != KindData || f.Encoding != EncodingJSON || f.Compressed {
					t.Errorf("frame %v %v %v compressed %v", f.Gen, f.Kind, f.Encoding, f.Compressed)
				}
				if !json.Valid(f.Payload) {
					t.Errorf("message %d is not valid JSON", msgs)
				}
				msgs++
				largest = max(largest, len(f.Payload))
				return nil
			})
		})
		c.Close()
		if err != nil {
			t.Fatalf("%v -> %v: %v", s.Src, s.Dst, err)
		}
	}
	if msgs != 44 || largest != 628574 {
		t.Fatalf("%d messages, largest %d bytes; want 44 and 628574", msgs, largest)
	}
}
