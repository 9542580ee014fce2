package udpsock

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

func TestControlMessagesFindTheDropCounterAndTheSegmentSize(t *testing.T) {
	drops := cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, binary.NativeEndian.AppendUint32(nil, 4242))
	ttl := cmsg(unix.SOL_IP, unix.IP_TTL, []byte{64, 0, 0, 0})
	gro := cmsg(unix.IPPROTO_UDP, unix.UDP_GRO, binary.NativeEndian.AppendUint32(nil, 1400))
	gro16 := cmsg(unix.IPPROTO_UDP, unix.UDP_GRO, binary.NativeEndian.AppendUint16(nil, 512))
	for name, c := range map[string]struct {
		oob      []byte
		drops    uint32
		hasDrops bool
		segment  int
	}{
		"drops alone":       {drops, 4242, true, 0},
		"drops after a TTL": {append(append([]byte{}, ttl...), drops...), 4242, true, 0},
		"a TTL alone":       {ttl, 0, false, 0},
		"GRO then drops":    {append(append([]byte{}, gro...), drops...), 4242, true, 1400},
		"GRO, 16-bit size":  {gro16, 0, false, 512},
		"nothing":           {nil, 0, false, 0},
		"a cut-off message": {drops[:len(drops)-6], 0, false, 0},
		"no padding after":  {drops[:len(drops)-4], 4242, true, 0},
		"a length past it":  {append(append([]byte{}, drops[:8]...), 0xff, 0xff, 0xff, 0xff), 0, false, 0},
	} {
		d, ok, seg := ControlMessages(c.oob)
		if d != c.drops || ok != c.hasDrops || seg != c.segment {
			t.Errorf("%s: drops %d %v, segment %d; want %d %v, %d", name, d, ok, seg, c.drops, c.hasDrops, c.segment)
		}
	}
}

// The kernel's lengths are not trusted: nothing reads past the buffer.
func FuzzControlMessages(f *testing.F) {
	f.Add(cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, []byte{1, 0, 0, 0}))
	f.Add(cmsg(unix.IPPROTO_UDP, unix.UDP_GRO, []byte{0, 4}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ControlMessages(b)
	})
}
