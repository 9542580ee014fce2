package wire

import (
	"bytes"
	"testing"
)

// compactHeader is the start of a PDT compact TelemetryHeader as a router
// sends it over UDP: encoding = 0x87654321, policy_name = "p".
var compactHeader = []byte{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08, 0x12, 0x01, 'p'}

func TestSniff(t *testing.T) {
	js := leaves50(1)
	cases := []struct {
		name string
		d    []byte
		want Frame
	}{
		{"bare compact GPB", compactHeader, Frame{Gen: GenPDTUDP, Encoding: EncodingGPBCompact, Payload: compactHeader}},
		{"MDT JSON", mdt(1, 2, 0, js), Frame{Gen: GenMDT, Type: 1, Encoding: EncodingJSON, Payload: js}},
		{"MDT GPB", mdt(1, 1, 0, compactHeader), Frame{Gen: GenMDT, Type: 1, Encoding: EncodingGPB, Payload: compactHeader}},
		{"MDT heartbeat", mdt(2, 1, 0, nil), Frame{Gen: GenMDT, Kind: KindHeartbeat, Type: 2, Encoding: EncodingGPB, Payload: []byte{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Sniff(tc.d, 0)
			if err != nil {
				t.Fatal(err)
			}
			checkFrames(t, []Frame{f}, []Frame{tc.want})
		})
	}
}

func TestSniffBadInput(t *testing.T) {
	cases := []struct {
		name   string
		d      []byte
		reason string
	}{
		{"PDT JSON without header", []byte(`{"Policy":"p"}`), ReasonNotTelemetry},
		{"compact GPB with another encoding word", []byte{0x08, 0x01, 0x12, 0x01, 'p'}, ReasonNotTelemetry},
		{"empty", nil, ReasonNotTelemetry},
		{"PDT TCP header on UDP", pdtV2(3, 0, compactHeader), ReasonNotTelemetry},
		{"MDT length short of the datagram", append(mdt(1, 2, 0, []byte("{}")), ' '), ReasonBadLength},
		{"MDT length past the datagram", mdt(1, 2, 0, []byte("{}"))[:13], ReasonBadLength},
		{"MDT header cut", mdt(1, 2, 0, nil)[:7], ReasonBadLength},
		{"MDT compressed", mdt(1, 2, FlagZlib, []byte("x")), ReasonBadFlags},
		{"MDT encap 0", mdt(1, 0, 0, nil), ReasonBadEncap},
		{"MDT version 0", bytes.Replace(mdt(1, 2, 0, nil), []byte{0, 1, 0, 0}, []byte{0, 0, 0, 0}, 1), ReasonBadVersion},
		{"beyond max", append(bytes.Clone(compactHeader), make([]byte, 100)...), ReasonTooLong},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Sniff(tc.d, 64)
			if reasonOf(err) != tc.reason {
				t.Fatalf("got %v, want %s", err, tc.reason)
			}
		})
	}
}
