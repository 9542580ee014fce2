package xrsim

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
)

// PDT v2 TCP header types (protocols.md 1.2) and the one flag.
const (
	PDTReset      = 1
	PDTJSON       = 2
	PDTGPBCompact = 3
	PDTGPBKV      = 4
	FlagZlib      = 0x1

	// PDT v1 TLV types: a compressor reset and zlib-compressed JSON.
	V1Reset = 1
	V1JSON  = 2

	// MDT dial-out header (protocols.md 1.6).
	MDTTypeData   = 1
	MDTEncapGPB   = 1
	MDTEncapJSON  = 2
	MDTHdrVersion = 1
	HeaderLen     = 12
)

// AppendPDTv2 appends a Type/Flags/Length header and the payload.
func AppendPDTv2(b []byte, typ, flags uint32, payload []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, typ)
	b = binary.BigEndian.AppendUint32(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// AppendPDTv1 appends one XR 6.0.0 block: its length, then the TLVs.
// A reset TLV (when reset is set) comes first, then the data TLV (when
// payload is not nil).
func AppendPDTv1(b []byte, reset bool, payload []byte) []byte {
	n := 0
	if reset {
		n += 8
	}
	if payload != nil {
		n += 8 + len(payload)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	if reset {
		b = binary.BigEndian.AppendUint32(b, V1Reset)
		b = binary.BigEndian.AppendUint32(b, 0)
	}
	if payload != nil {
		b = binary.BigEndian.AppendUint32(b, V1JSON)
		b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
		b = append(b, payload...)
	}
	return b
}

// AppendMDT appends a model-driven dial-out header and the payload.
func AppendMDT(b []byte, encap uint16, payload []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, MDTTypeData)
	b = binary.BigEndian.AppendUint16(b, encap)
	b = binary.BigEndian.AppendUint16(b, MDTHdrVersion)
	b = binary.BigEndian.AppendUint16(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// Compressor is the sender's side of a connection's zlib stream: one
// stream, each message sync-flushed so that its bytes can be inflated as
// soon as they arrive, and started again after every reset.
type Compressor struct {
	buf bytes.Buffer
	w   *zlib.Writer
}

// Reset starts a new zlib stream, as after a RESET_COMPRESSOR or on a new
// connection. The old stream is abandoned, not closed: a router never
// ends it.
func (c *Compressor) Reset() {
	c.buf.Reset()
	if c.w == nil {
		c.w = zlib.NewWriter(&c.buf)
		return
	}
	c.w.Reset(&c.buf)
}

// Compress returns the next piece of the stream: msg's bytes up to a sync
// flush (the first piece after Reset also carries the zlib header). The
// result is valid until the next call.
func (c *Compressor) Compress(msg []byte) []byte {
	if c.w == nil {
		c.Reset()
	}
	c.buf.Reset()
	c.w.Write(msg) // writes to a bytes.Buffer do not fail
	c.w.Flush()
	return c.buf.Bytes()
}
