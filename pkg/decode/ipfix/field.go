package ipfix

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// Field is one field of a record. Value points into the message and keeps
// the length the exporter sent (reduced-size encoding: a counter may come
// in 4 bytes, tcpControlBits in 1).
type Field struct {
	Elem  *ie.Element
	Value []byte
}

// Uint reads an unsigned integer of any length from 1 to 8 bytes; 0 for
// other lengths.
func (f Field) Uint() uint64 {
	v := f.Value
	switch len(v) {
	case 1:
		return uint64(v[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(v))
	case 4:
		return uint64(binary.BigEndian.Uint32(v))
	case 8:
		return binary.BigEndian.Uint64(v)
	case 3, 5, 6, 7:
		var x uint64
		for _, c := range v {
			x = x<<8 | uint64(c)
		}
		return x
	}
	return 0
}

// Int reads a signed integer of 1 to 8 bytes, sign-extended from the
// length sent; 0 for other lengths.
func (f Field) Int() int64 {
	n := len(f.Value)
	if n == 0 || n > 8 {
		return 0
	}
	shift := uint(64 - 8*n)
	return int64(f.Uint()<<shift) >> shift
}

// Float reads a float64, or a float32 sent in reduced size; integers of
// other lengths are converted.
func (f Field) Float() float64 {
	switch len(f.Value) {
	case 8:
		if f.Elem != nil && f.Elem.Type == ie.Float64 {
			return math.Float64frombits(binary.BigEndian.Uint64(f.Value))
		}
	case 4:
		if f.Elem != nil && (f.Elem.Type == ie.Float32 || f.Elem.Type == ie.Float64) {
			return float64(math.Float32frombits(binary.BigEndian.Uint32(f.Value)))
		}
	}
	if f.Elem != nil && f.Elem.Type >= ie.Signed8 && f.Elem.Type <= ie.Signed64 {
		return float64(f.Int())
	}
	return float64(f.Uint())
}

// Addr reads an IPv4 (4 bytes) or IPv6 (16 bytes) address; the zero Addr
// for other lengths.
func (f Field) Addr() netip.Addr {
	switch len(f.Value) {
	case 4:
		return netip.AddrFrom4([4]byte(f.Value))
	case 16:
		return netip.AddrFrom16([16]byte(f.Value))
	}
	return netip.Addr{}
}

// Bool reads an RFC 7011 boolean (1 true, 2 false).
func (f Field) Bool() bool { return len(f.Value) == 1 && f.Value[0] == 1 }

// Name is the element's name, "" without an element.
func (f Field) Name() string {
	if f.Elem == nil {
		return ""
	}
	return f.Elem.Name
}

// String renders the value by the element's type: numbers in decimal,
// addresses as text, strings with trailing NULs removed (fixed-length
// string fields are NUL-padded), octet arrays in hex. It allocates.
func (f Field) String() string {
	t := ie.OctetArray
	if f.Elem != nil {
		t = f.Elem.Type
	}
	v := f.Value
	switch t {
	case ie.Unsigned8, ie.Unsigned16, ie.Unsigned32, ie.Unsigned64, ie.DateTimeSeconds, ie.DateTimeMilliseconds:
		if len(v) <= 8 {
			return strconv.FormatUint(f.Uint(), 10)
		}
	case ie.Signed8, ie.Signed16, ie.Signed32, ie.Signed64:
		if len(v) <= 8 {
			return strconv.FormatInt(f.Int(), 10)
		}
	case ie.Float32, ie.Float64:
		if len(v) == 4 || len(v) == 8 {
			return strconv.FormatFloat(f.Float(), 'g', -1, 64)
		}
	case ie.Boolean:
		if len(v) == 1 && (v[0] == 1 || v[0] == 2) {
			return strconv.FormatBool(v[0] == 1)
		}
	case ie.IPv4Address, ie.IPv6Address:
		if a := f.Addr(); a.IsValid() {
			return a.String()
		}
	case ie.MacAddress:
		if len(v) == 6 {
			const hexd = "0123456789abcdef"
			b := make([]byte, 0, 17)
			for i, c := range v {
				if i > 0 {
					b = append(b, ':')
				}
				b = append(b, hexd[c>>4], hexd[c&15])
			}
			return string(b)
		}
	case ie.String:
		s := trimNUL(v)
		if utf8.Valid(s) {
			return string(s)
		}
		return strconv.QuoteToASCII(string(s))
	}
	return hex.EncodeToString(v)
}

// ntpEpochOffset is the seconds from 1900-01-01 (NTP) to 1970-01-01.
const ntpEpochOffset = 2208988800

// TimeMs reads a point in time as unix milliseconds, 0 if the field is not
// one. dateTimeMicro/Nanoseconds are NTP timestamps (RFC 7011 section 6.1.9);
// flowStart/EndSysUpTime (IE 22/21) are relative to the exporter's boot and
// need systemInitMs (Record.SystemInitMs); flowStart/EndDeltaMicroseconds
// (IE 158/159) count back from the export time.
func (f Field) TimeMs(exportTimeSec uint32, systemInitMs ...int64) int64 {
	if f.Elem == nil {
		return 0
	}
	exportMs := int64(exportTimeSec) * 1000
	if f.Elem.PEN == 0 {
		switch f.Elem.ID {
		case 21, 22:
			if len(systemInitMs) == 0 || systemInitMs[0] == 0 || len(f.Value) > 4 {
				return 0
			}
			t := systemInitMs[0] + int64(f.Uint())
			// sysUpTime is 32-bit milliseconds and wraps after 49.7 days:
			// place the flow within 2^31 ms of its export, which also
			// allows a flow end a little after the export second.
			if exportMs > 0 {
				back := int64(uint32(exportMs - t))
				if back > 1<<31 {
					back -= 1 << 32
				}
				t = exportMs - back
			}
			return t
		case 158, 159:
			return exportMs - int64(f.Uint()/1000)
		}
	}
	switch f.Elem.Type {
	case ie.DateTimeSeconds:
		return int64(f.Uint()) * 1000
	case ie.DateTimeMilliseconds:
		return int64(f.Uint())
	case ie.DateTimeMicroseconds, ie.DateTimeNanoseconds:
		if len(f.Value) != 8 {
			return 0
		}
		v := f.Uint()
		sec, frac := int64(v>>32), v&0xffffffff
		return (sec-ntpEpochOffset)*1000 + int64(frac*1000>>32)
	}
	return 0
}
