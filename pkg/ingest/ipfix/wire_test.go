package ipfix

import (
	"testing"
)

func TestPeekHeader(t *testing.T) {
	if h, ok := peekHeader(ipfixMsg(7, 3, templateSet(256))); !ok || h.version != 10 || h.odid != 7 || h.length != 40 {
		t.Errorf("IPFIX header %+v %v", h, ok)
	}
	if h, ok := peekHeader(netflow9Msg(9, 1, 0)); !ok || h.version != 9 || h.odid != 9 || h.length != 20 {
		t.Errorf("NetFlow v9 header %+v %v", h, ok)
	}
	for _, b := range [][]byte{nil, {0}, {0, 10, 0, 16}, {0, 9, 0, 1}, {0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}} {
		if _, ok := peekHeader(b); ok {
			t.Errorf("%x read as a header", b)
		}
	}
}

// The header peek does not trust its input's lengths (the control
// messages' parser is fuzzed in pkg/ingest/udpsock).
func FuzzTransportParsers(f *testing.F) {
	f.Add(ipfixMsg(1, 0, templateSet(256)))
	f.Add(netflow9Msg(1, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, ok := peekHeader(b); ok && h.version == versionNetFlow9 && h.length != len(b) {
			t.Fatalf("v9 length %d of %d bytes", h.length, len(b))
		}
	})
}
