package ipfixsim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// Wire constants of RFC 7011, written out here rather than shared with the
// collector's decoder: the simulator is an independent peer, so a mistake
// in one cannot hide the same mistake in the other.
const (
	Version          = 10     // §3.1 message header
	HeaderLen        = 16     // §3.1
	SetHeaderLen     = 4      // §3.3.2
	TemplateSetID    = 2      // §3.3.2
	OptionsSetID     = 3      // §3.3.2
	MinDataSetID     = 256    // §3.3.2: data sets carry their template's id
	VarLen           = 0xFFFF // §7: field length of a variable-length field
	enterpriseBit    = 0x8000 // §3.2: E bit of the field specifier
	MaxMessageLength = 0xFFFF // the message length field is 16 bits
)

// Field is a field specifier of a template (RFC 7011 §3.2). PEN 0 is an
// IANA element; any other PEN sets the E bit and follows the specifier.
type Field struct {
	PEN    uint32
	ID     uint16 // without the enterprise bit
	Length uint16 // VarLen for variable length
}

func (f Field) key() uint64 { return uint64(f.PEN)<<16 | uint64(f.ID) }

// Template is a template record, or an options template record when Scope
// (the count of leading scope fields) is above zero (RFC 7011 §3.4.1-2).
type Template struct {
	ID     uint16
	Scope  int
	Fields []Field
}

// Options reports whether t goes into an Options Template Set.
func (t Template) Options() bool { return t.Scope > 0 }

// SetID is the set a template record travels in.
func (t Template) SetID() uint16 {
	if t.Options() {
		return OptionsSetID
	}
	return TemplateSetID
}

// Validate refuses templates a conforming exporter must never send.
func (t Template) Validate() error {
	switch {
	case t.ID < MinDataSetID:
		return fmt.Errorf("template %d: ids below %d are reserved", t.ID, MinDataSetID)
	case len(t.Fields) == 0:
		return fmt.Errorf("template %d: no fields", t.ID)
	case len(t.Fields) > 0xFFFF || t.Scope > len(t.Fields):
		return fmt.Errorf("template %d: %d fields with %d scope fields", t.ID, len(t.Fields), t.Scope)
	case t.Scope < 0:
		return fmt.Errorf("template %d: negative scope count", t.ID)
	}
	for _, f := range t.Fields {
		if f.ID&enterpriseBit != 0 {
			return fmt.Errorf("template %d: element id %d uses the enterprise bit", t.ID, f.ID)
		}
		if f.Length == 0 {
			return fmt.Errorf("template %d: element %d/%d has length 0", t.ID, f.PEN, f.ID)
		}
	}
	return nil
}

// AppendRecord appends t's template record (or options template record).
func (t Template) AppendRecord(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, t.ID)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.Fields)))
	if t.Options() {
		b = binary.BigEndian.AppendUint16(b, uint16(t.Scope))
	}
	for _, f := range t.Fields {
		id := f.ID
		if f.PEN != 0 {
			id |= enterpriseBit
		}
		b = binary.BigEndian.AppendUint16(b, id)
		b = binary.BigEndian.AppendUint16(b, f.Length)
		if f.PEN != 0 {
			b = binary.BigEndian.AppendUint32(b, f.PEN)
		}
	}
	return b
}

// AppendWithdrawal appends a withdrawal of template id (RFC 7011 §8.1): only
// meaningful over TCP and SCTP, where a template id must be withdrawn before
// it is redefined.
func AppendWithdrawal(b []byte, id uint16) []byte {
	b = binary.BigEndian.AppendUint16(b, id)
	return binary.BigEndian.AppendUint16(b, 0)
}

// AppendUint appends v in n octets, big-endian. n below the element's
// abstract size is reduced-size encoding (RFC 7011 §6.2), which drops the
// high octets; the caller keeps v in range.
func AppendUint(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		if i >= 8 {
			b = append(b, 0)
			continue
		}
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// AppendVarLen appends v as a variable-length value (RFC 7011 §7): one
// length octet below 255, else 255 and a two-octet length.
func AppendVarLen(b []byte, v []byte) []byte {
	if len(v) < 255 {
		b = append(b, byte(len(v)))
	} else {
		b = append(b, 255)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	}
	return append(b, v...)
}

// AppendFixedString appends s NUL-padded (or cut) to n octets, as devices
// fill fixed-length string fields.
func AppendFixedString(b []byte, s string, n int) []byte {
	if len(s) > n {
		s = s[:n]
	}
	b = append(b, s...)
	for range n - len(s) {
		b = append(b, 0)
	}
	return b
}

// AppendAddr appends a as 4 or 16 octets.
func AppendAddr(b []byte, a netip.Addr) []byte {
	if a.Is4() {
		v := a.As4()
		return append(b, v[:]...)
	}
	v := a.As16()
	return append(b, v[:]...)
}

// varLenSize is the encoded size of a variable-length value of n octets.
func varLenSize(n int) int {
	if n < 255 {
		return 1 + n
	}
	return 3 + n
}

// ErrTooLong is returned when a record cannot fit in any message.
var ErrTooLong = errors.New("ipfixsim: record longer than the largest message")

// Header is the message header (RFC 7011 §3.1).
type Header struct {
	ExportTime uint32 // seconds since 1970
	Sequence   uint32 // data records sent before this message, mod 2^32
	ODID       uint32
}

// Message builds one IPFIX message set by set. The zero value is ready after
// Reset; it reuses its buffer from one message to the next.
type Message struct {
	buf      []byte
	setStart int // offset of the open set's header, -1 when none is open
	setID    uint16
	records  int // data records (flow and options data) in the message
	pad      bool
}

// Reset starts a new message. With pad, every set is padded to a multiple
// of four octets, as Cisco exporters do (RFC 7011 §3.3.1 allows it).
func (m *Message) Reset(h Header, pad bool) {
	m.buf = m.buf[:0]
	m.buf = binary.BigEndian.AppendUint16(m.buf, Version)
	m.buf = binary.BigEndian.AppendUint16(m.buf, 0) // length, at Bytes
	m.buf = binary.BigEndian.AppendUint32(m.buf, h.ExportTime)
	m.buf = binary.BigEndian.AppendUint32(m.buf, h.Sequence)
	m.buf = binary.BigEndian.AppendUint32(m.buf, h.ODID)
	m.setStart = -1
	m.records = 0
	m.pad = pad
}

// Len is the message length so far, the open set closed without padding.
func (m *Message) Len() int { return len(m.buf) }

// Records is the number of data records added since Reset.
func (m *Message) Records() int { return m.records }

// SetSequence rewrites the header's sequence number.
func (m *Message) SetSequence(seq uint32) { binary.BigEndian.PutUint32(m.buf[8:12], seq) }

// Open makes id the current set, closing the previous one if it differs.
func (m *Message) Open(id uint16) {
	if m.setStart >= 0 && m.setID == id {
		return
	}
	m.Close()
	m.setStart = len(m.buf)
	m.setID = id
	m.buf = append(m.buf, byte(id>>8), byte(id), 0, 0)
}

// Append adds one record's bytes to the open set; data sets count it for
// the sequence number.
func (m *Message) Append(rec []byte) {
	m.buf = append(m.buf, rec...)
	if m.setID >= MinDataSetID {
		m.records++
	}
}

// AppendRecords adds n records already encoded back to back in recs.
func (m *Message) AppendRecords(recs []byte, n int) {
	m.buf = append(m.buf, recs...)
	if m.setID >= MinDataSetID {
		m.records += n
	}
}

// Fits reports whether a record of n octets added to set id keeps the
// message within max octets, set header and padding included.
func (m *Message) Fits(id uint16, n, max int) bool {
	var size int
	if m.setStart >= 0 && m.setID == id {
		size = m.setStart + padded(len(m.buf)-m.setStart+n, m.pad)
	} else {
		closed := len(m.buf)
		if m.setStart >= 0 {
			closed = m.setStart + padded(len(m.buf)-m.setStart, m.pad)
		}
		size = closed + padded(SetHeaderLen+n, m.pad)
	}
	return size <= max
}

// Close ends the open set: pads it and writes its length.
func (m *Message) Close() {
	if m.setStart < 0 {
		return
	}
	if m.pad {
		for (len(m.buf)-m.setStart)%4 != 0 {
			m.buf = append(m.buf, 0)
		}
	}
	binary.BigEndian.PutUint16(m.buf[m.setStart+2:], uint16(len(m.buf)-m.setStart))
	m.setStart = -1
}

// Bytes closes the open set, writes the message length and returns the
// message, valid until the next Reset.
func (m *Message) Bytes() []byte {
	m.Close()
	binary.BigEndian.PutUint16(m.buf[2:4], uint16(len(m.buf)))
	return m.buf
}

// padded is the size of a set of n octets (header included) once padded.
func padded(n int, pad bool) int {
	if pad {
		return (n + 3) &^ 3
	}
	return n
}
