// Package wire frames Cisco IOS XR telemetry: the two policy-driven (PDT) TCP
// generations, the model-driven (MDT) 12-byte header, UDP datagrams, and the
// per-connection zlib stream. It is pure: bytes in, framed (and inflated)
// messages out; sockets, clocks and counters belong to the caller.
//
// Layouts (all big-endian), see shared/reference/protocols.md 1.2, 1.4, 1.6:
//
//	PDT v1:  Len u32 | { T u32 | L u32 | V }...      T=1 reset, T=2 zlib JSON
//	PDT v2:  Type u32 | Flags u32 | Length u32 | payload   Type 1 reset, 2 JSON, 3 compact, 4 KV; flag 0x1 zlib
//	MDT:     Type u16 | Encap u16 | Version u16 = 1 | Flags u16 | Length u32 | payload
package wire

import "strconv"

// DefaultMaxLength bounds one framed payload and one inflated message. Real
// MDT messages exceed 600 KB, so the 1 MiB of other collectors is too small.
const DefaultMaxLength = 16 << 20

// Generation is the framing a connection (or datagram) speaks.
type Generation uint8

const (
	GenUnknown Generation = iota
	GenPDTv1              // XR 6.0.0: length-prefixed TLV blocks, always zlib JSON
	GenPDTv2              // XR 6.0.1/6.1+: Type/Flags/Length
	GenMDT                // model-driven dial-out header
	GenPDTUDP             // UDP datagram without header: one compact GPB TelemetryHeader
)

var genNames = [...]string{"unknown", "pdt_v1", "pdt_v2", "mdt", "pdt_udp"}

func (g Generation) String() string {
	if int(g) < len(genNames) {
		return genNames[g]
	}
	return "generation(" + strconv.Itoa(int(g)) + ")"
}

// Encoding is the payload's encoding as far as the header tells it.
type Encoding uint8

const (
	EncodingUnknown    Encoding = iota // reset and heartbeat frames
	EncodingJSON                       // PDT JSON or MDT JSON
	EncodingGPB                        // MDT encap 1: telemetry.proto Telemetry, KV or compact inside
	EncodingGPBCompact                 // PDT compact (TelemetryHeader) or MDT legacy encap 3
	EncodingGPBKV                      // PDT key-value (Telemetry/TelemetryField) or MDT legacy encap 4
)

var encNames = [...]string{"unknown", "json", "gpb", "gpb_compact", "gpb_kv"}

func (e Encoding) String() string {
	if int(e) < len(encNames) {
		return encNames[e]
	}
	return "encoding(" + strconv.Itoa(int(e)) + ")"
}

// Kind says what a frame is for.
type Kind uint8

const (
	KindData      Kind = iota
	KindReset          // PDT RESET_COMPRESSOR (v2 type 1, v1 TLV 1): start a new zlib stream
	KindHeartbeat      // MDT type 2
)

// Frame is one framed message. Payload aliases the framer's or the caller's
// buffer and is valid only during the emit call that carries it.
type Frame struct {
	Gen        Generation
	Kind       Kind
	Type       uint32 // the raw type: PDT v2 Type, PDT v1 TLV T, MDT MsgType
	Flags      uint32 // the raw flags (PDT v1: FlagZlib, since v1 data is always compressed)
	Encoding   Encoding
	Compressed bool   // the payload on the wire is part of the connection's zlib stream
	Payload    []byte // as on the wire from a Framer; inflated when it comes from a Conn
}

// FlagZlib is the only flag either header defines (PDT "ZLIB", MDT "COMPRESSION").
const FlagZlib = 0x1

// Error is why bytes were rejected. After a TCP framing or zlib error the
// connection cannot be resynchronised: close it and count Reason.
type Error struct {
	Reason string // stable and short, used as the counter's name
	Offset int64  // TCP: byte offset of the offending header in the connection; UDP: in the datagram
	Detail string
}

func (e *Error) Error() string {
	s := "xr wire: " + e.Reason + " at offset " + strconv.FormatInt(e.Offset, 10)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Reasons.
const (
	ReasonUnknownFraming = "unknown_framing" // first bytes of a connection match no header generation
	ReasonTooLong        = "too_long"        // length beyond the maximum
	ReasonUnknownType    = "unknown_type"    // type not defined for the generation
	ReasonBadFlags       = "bad_flags"       // undefined flag bits, or compression where it cannot be (UDP)
	ReasonBadEncap       = "bad_encap"       // MDT encapsulation not 1..4
	ReasonBadVersion     = "bad_version"     // MDT header version not 1
	ReasonBadTLV         = "bad_tlv"         // PDT v1 TLV runs past its block
	ReasonBadLength      = "bad_length"      // UDP: header length differs from the datagram's rest, or datagram too short
	ReasonNotTelemetry   = "not_telemetry"   // UDP datagram neither compact GPB nor MDT
	ReasonZlibCorrupt    = "zlib_corrupt"    // invalid zlib header, deflate data or checksum
	ReasonZlibTooLarge   = "zlib_too_large"  // one message inflates beyond the maximum (decompression bomb)
	ReasonZlibUnflushed  = "zlib_unflushed"  // a frame's compressed bytes stop mid-block, so its message cannot come out whole
	ReasonClosed         = "closed"          // used after Close
)

// Reasons lists every Reason this package returns, for registering counters.
var Reasons = []string{
	ReasonUnknownFraming, ReasonTooLong, ReasonUnknownType, ReasonBadFlags, ReasonBadEncap,
	ReasonBadVersion, ReasonBadTLV, ReasonBadLength, ReasonNotTelemetry, ReasonZlibCorrupt,
	ReasonZlibTooLarge, ReasonZlibUnflushed, ReasonClosed,
}

func pdtEncoding(t uint32) Encoding {
	switch t {
	case 2:
		return EncodingJSON
	case 3:
		return EncodingGPBCompact
	case 4:
		return EncodingGPBKV
	}
	return EncodingUnknown
}

func mdtEncoding(encap uint16) Encoding {
	switch encap {
	case 1:
		return EncodingGPB
	case 2:
		return EncodingJSON
	case 3:
		return EncodingGPBCompact
	case 4:
		return EncodingGPBKV
	}
	return EncodingUnknown
}
