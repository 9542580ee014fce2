package udpsock

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// OOBLen is room for the control messages Listen's sockets send: the
// drop counter and the GRO segment size.
var OOBLen = unix.CmsgSpace(4) * 2

// ControlMessages reads what the kernel said about a received buffer:
// SO_RXQ_OVFL, the socket's cumulative count of dropped datagrams (only
// there once it is above zero), and UDP_GRO, the size of each datagram
// when the buffer holds several (the last may be shorter). It trusts none
// of the lengths in oob.
func ControlMessages(oob []byte) (drops uint32, hasDrops bool, segment int) {
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return
		}
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdrLen+4:
			drops, hasDrops = binary.NativeEndian.Uint32(oob[hdrLen:]), true
		case h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && l >= hdrLen+2:
			if l >= hdrLen+4 {
				segment = int(binary.NativeEndian.Uint32(oob[hdrLen:]))
			} else {
				segment = int(binary.NativeEndian.Uint16(oob[hdrLen:]))
			}
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			return
		}
		oob = oob[next:]
	}
	return
}
