package ipfix

import (
	"encoding/binary"
	"sync"
)

// The transport reads only what it needs of a message header, without
// decoding: the version and length to frame a TCP stream, and the
// observation domain to put a drop on the right exporter's account before
// the message ever reaches a decoder.
const (
	versionNetFlow9 = 9
	versionIPFIX    = 10

	ipfixHeaderLen = 16 // RFC 7011 §3.1
	v9HeaderLen    = 20 // RFC 3954 §5.1
)

// header is the part of a message header the transport reads.
type header struct {
	version uint16
	length  int // IPFIX: the header's length field; NetFlow v9 has none
	odid    uint32
}

// peekHeader reads a message header; ok is false when b is too short for
// its version or the version is neither 9 nor 10.
func peekHeader(b []byte) (h header, ok bool) {
	if len(b) < 2 {
		return h, false
	}
	h.version = binary.BigEndian.Uint16(b)
	switch h.version {
	case versionIPFIX:
		if len(b) < ipfixHeaderLen {
			return h, false
		}
		h.length = int(binary.BigEndian.Uint16(b[2:]))
		h.odid = binary.BigEndian.Uint32(b[12:])
	case versionNetFlow9:
		if len(b) < v9HeaderLen {
			return h, false
		}
		h.length = len(b)
		h.odid = binary.BigEndian.Uint32(b[16:]) // source id, v9's observation domain
	default:
		return h, false
	}
	return h, true
}

// Datagrams and TCP messages are copied out of the reader's buffer into
// pooled buffers of a few size classes: most exporters keep to the path MTU,
// so a queue full of 64 KiB buffers would waste most of its memory.
var bufClasses = [...]int{2 << 10, 16 << 10, 64 << 10}

var bufPools [len(bufClasses)]sync.Pool

// getBuf returns a buffer of length n (at most 64 KiB, the largest IPFIX
// message and UDP payload).
func getBuf(n int) *[]byte {
	for i, c := range bufClasses {
		if n <= c {
			if p, _ := bufPools[i].Get().(*[]byte); p != nil {
				*p = (*p)[:n]
				return p
			}
			b := make([]byte, n, c)
			return &b
		}
	}
	b := make([]byte, n)
	return &b
}

func putBuf(p *[]byte) {
	for i, c := range bufClasses {
		if cap(*p) == c {
			bufPools[i].Put(p)
			return
		}
	}
}
