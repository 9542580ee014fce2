package intsim

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoAvailable: Linux segments one send of equal-sized datagrams in the
// kernel (UDP_SEGMENT), so a run of reports costs one trip down the stack.
const gsoAvailable = true

// gsoCmsgLen is the room the UDP_SEGMENT control message takes.
var gsoCmsgLen = unix.CmsgSpace(2)

// putGSO writes a UDP_SEGMENT control message for segments of size octets.
func putGSO(b []byte, size int) []byte {
	b = b[:gsoCmsgLen]
	clear(b)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}
