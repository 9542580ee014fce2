package wire

import (
	"encoding/binary"
	"strconv"
)

// Framer splits one TCP connection's byte stream into frames. Feed it bytes
// exactly as they are read, in any sizes; it keeps what it needs between
// calls. The generation is decided once, from the connection's first 8
// bytes, and every later header must be a valid header of that generation.
//
// A Framer is not safe for concurrent use; make one per connection.
type Framer struct {
	// Max bounds one payload (PDT v1: one TLV block). 0 means DefaultMaxLength.
	Max int

	gen    Generation
	inBody bool  // the header is read, the payload (need bytes) is next
	need   int   // payload bytes still expected when inBody
	cur    Frame // header fields of the frame whose payload is awaited
	buf    []byte
	off    int64 // connection offset of the next byte a stage consumes
	hdrOff int64 // connection offset of the header being processed
	err    error
}

// Generation is the connection's framing, GenUnknown until 8 bytes arrived.
func (f *Framer) Generation() Generation { return f.gen }

// Offset is how many bytes of the connection have been consumed into frames.
func (f *Framer) Offset() int64 { return f.off }

func (f *Framer) max() int {
	if f.Max > 0 {
		return f.Max
	}
	return DefaultMaxLength
}

func (f *Framer) stageLen() int {
	switch {
	case f.inBody:
		return f.need
	case f.gen == GenUnknown:
		return 8 // enough to tell the three headers apart, and no valid first frame is shorter
	case f.gen == GenPDTv1:
		return 4
	default:
		return 12
	}
}

// Feed consumes b and calls emit for every frame completed by it, in order.
// Frames whose payload lies whole inside b alias b; others alias an internal
// buffer: either way the payload is valid only during emit. Feed returns the
// first framing error (an *Error) or the first error emit returns; from then
// on the stream is out of step and Feed returns that same error again.
func (f *Framer) Feed(b []byte, emit func(Frame) error) error {
	if f.err != nil {
		return f.err
	}
	for len(b) > 0 {
		need := f.stageLen()
		var chunk []byte
		if len(f.buf) == 0 && len(b) >= need {
			chunk, b = b[:need], b[need:]
		} else {
			take := min(need-len(f.buf), len(b))
			f.buf = append(f.buf, b[:take]...)
			b = b[take:]
			if len(f.buf) < need {
				return nil
			}
			chunk = f.buf
		}
		if f.gen == GenUnknown {
			var first [8]byte
			copy(first[:], chunk)
			f.buf = f.buf[:0]
			if err := f.detect(first); err != nil {
				f.err = err
				return err
			}
			if err := f.Feed(first[:], emit); err != nil {
				return err
			}
			continue
		}
		err := f.step(chunk, emit)
		f.off += int64(len(chunk))
		if cap(f.buf) > 1<<20 {
			f.buf = nil // do not keep a large message's buffer for the connection's life
		} else {
			f.buf = f.buf[:0]
		}
		if err != nil {
			f.err = err
			return err
		}
	}
	return nil
}

// detect tells the generations apart: a PDT v2 connection starts with its
// type (1..4); an MDT header with type 1|2, encap 1..4 and version 1 (so its
// first uint32 is at least 0x10001); PDT v1 with a length > 4 followed by a
// TLV type of 1 or 2. Bytes 4-5 are 0 in PDT v1 and 1 in MDT, so the two
// cannot be confused.
func (f *Framer) detect(h [8]byte) error {
	w0 := binary.BigEndian.Uint32(h[0:4])
	w1 := binary.BigEndian.Uint32(h[4:8])
	switch {
	case w0 >= 1 && w0 <= 4:
		f.gen = GenPDTv2
	case w0>>16 >= 1 && w0>>16 <= 2 && w0&0xffff >= 1 && w0&0xffff <= 4 && w1>>16 == 1:
		f.gen = GenMDT
	case w0 > 4 && (w1 == 1 || w1 == 2):
		f.gen = GenPDTv1
	default:
		return &Error{Reason: ReasonUnknownFraming, Offset: 0, Detail: "first bytes " + hex8(h)}
	}
	return nil
}

func hex8(h [8]byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 16)
	for _, c := range h {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func (f *Framer) step(chunk []byte, emit func(Frame) error) error {
	if f.inBody {
		f.inBody = false
		if f.gen == GenPDTv1 {
			return f.tlvs(chunk, emit)
		}
		fr := f.cur
		fr.Payload = chunk
		return emit(fr)
	}
	f.hdrOff = f.off
	var n uint32
	switch f.gen {
	case GenPDTv1:
		n = binary.BigEndian.Uint32(chunk)
		f.cur = Frame{Gen: GenPDTv1}
	case GenPDTv2:
		t := binary.BigEndian.Uint32(chunk[0:4])
		flags := binary.BigEndian.Uint32(chunk[4:8])
		n = binary.BigEndian.Uint32(chunk[8:12])
		if t < 1 || t > 4 {
			return f.fail(ReasonUnknownType, "type "+strconv.FormatUint(uint64(t), 10))
		}
		if flags&^FlagZlib != 0 {
			return f.fail(ReasonBadFlags, "flags 0x"+strconv.FormatUint(uint64(flags), 16))
		}
		f.cur = Frame{Gen: GenPDTv2, Type: t, Flags: flags, Encoding: pdtEncoding(t), Compressed: flags&FlagZlib != 0}
		if t == 1 {
			f.cur.Kind, f.cur.Compressed = KindReset, false
		}
	case GenMDT:
		fr, length, err := parseMDT(chunk)
		if err != nil {
			err.Offset = f.hdrOff
			return err
		}
		f.cur, n = fr, length
	}
	if uint64(n) > uint64(f.max()) {
		return f.fail(ReasonTooLong, "length "+strconv.FormatUint(uint64(n), 10)+" > "+strconv.Itoa(f.max()))
	}
	if n == 0 {
		if f.gen == GenPDTv1 {
			return nil // an empty TLV block carries nothing
		}
		fr := f.cur
		fr.Payload = chunk[:0]
		return emit(fr)
	}
	f.inBody, f.need = true, int(n)
	return nil
}

// parseMDT checks an MDT header; the caller checks the length against its maximum.
func parseMDT(h []byte) (Frame, uint32, *Error) {
	t := binary.BigEndian.Uint16(h[0:2])
	encap := binary.BigEndian.Uint16(h[2:4])
	ver := binary.BigEndian.Uint16(h[4:6])
	flags := binary.BigEndian.Uint16(h[6:8])
	n := binary.BigEndian.Uint32(h[8:12])
	switch {
	case t != 1 && t != 2:
		return Frame{}, 0, &Error{Reason: ReasonUnknownType, Detail: "type " + strconv.Itoa(int(t))}
	case encap < 1 || encap > 4:
		return Frame{}, 0, &Error{Reason: ReasonBadEncap, Detail: "encap " + strconv.Itoa(int(encap))}
	case ver != 1:
		return Frame{}, 0, &Error{Reason: ReasonBadVersion, Detail: "version " + strconv.Itoa(int(ver))}
	case flags&^FlagZlib != 0:
		return Frame{}, 0, &Error{Reason: ReasonBadFlags, Detail: "flags 0x" + strconv.FormatUint(uint64(flags), 16)}
	}
	fr := Frame{Gen: GenMDT, Type: uint32(t), Flags: uint32(flags), Encoding: mdtEncoding(encap), Compressed: flags&FlagZlib != 0}
	if t == 2 {
		fr.Kind = KindHeartbeat
	}
	return fr, n, nil
}

// tlvs emits the TLVs of one PDT v1 block.
func (f *Framer) tlvs(block []byte, emit func(Frame) error) error {
	for pos := 0; pos < len(block); {
		if len(block)-pos < 8 {
			return f.failAt(pos, ReasonBadTLV, strconv.Itoa(len(block)-pos)+" bytes left, TLV header needs 8")
		}
		t := binary.BigEndian.Uint32(block[pos:])
		l := binary.BigEndian.Uint32(block[pos+4:])
		if uint64(l) > uint64(len(block)-pos-8) {
			return f.failAt(pos, ReasonBadTLV, "TLV length "+strconv.FormatUint(uint64(l), 10)+" past its block")
		}
		v := block[pos+8 : pos+8+int(l)]
		fr := Frame{Gen: GenPDTv1, Type: t}
		switch t {
		case 1:
			fr.Kind = KindReset
		case 2:
			fr.Encoding, fr.Compressed, fr.Flags = EncodingJSON, true, FlagZlib
		default:
			return f.failAt(pos, ReasonUnknownType, "TLV type "+strconv.FormatUint(uint64(t), 10))
		}
		fr.Payload = v
		if err := emit(fr); err != nil {
			return err
		}
		pos += 8 + int(l)
	}
	return nil
}

func (f *Framer) fail(reason, detail string) *Error {
	return &Error{Reason: reason, Offset: f.hdrOff, Detail: detail}
}

// failAt reports a TLV error at its offset in the connection (after the 4-byte block length).
func (f *Framer) failAt(pos int, reason, detail string) *Error {
	return &Error{Reason: reason, Offset: f.hdrOff + 4 + int64(pos), Detail: detail}
}
