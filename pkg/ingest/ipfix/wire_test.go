package ipfix

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message as the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestOverflowCountFindsTheDropCounter(t *testing.T) {
	drops := binary.NativeEndian.AppendUint32(nil, 4242)
	other := cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	for name, oob := range map[string][]byte{
		"alone":       cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops),
		"after a TTL": append(other, cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, drops)...),
	} {
		if n, ok := overflowCount(oob); !ok || n != 4242 {
			t.Errorf("%s: %d %v", name, n, ok)
		}
	}
	if _, ok := overflowCount(other); ok {
		t.Error("found a drop count in a TTL message")
	}
}

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

// Neither parser trusts its input's lengths.
func FuzzTransportParsers(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}))
	f.Add(ipfixMsg(1, 0, templateSet(256)))
	f.Add(netflow9Msg(1, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		overflowCount(b)
		if h, ok := peekHeader(b); ok && h.version == versionNetFlow9 && h.length != len(b) {
			t.Fatalf("v9 length %d of %d bytes", h.length, len(b))
		}
	})
}
