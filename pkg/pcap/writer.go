package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// The classic libpcap file format (not pcapng): every tool we test against
// (softflowd -r, pmacctd pcap_savefile, tshark -r) reads it, and it is the
// format of the captures in shared/testdata. Records are written little
// endian with microsecond timestamps, the layout libpcap itself writes on
// the machines we run on.
//
// The snapshot length written into the file header is MaxSnapLen, the
// largest record the Reader accepts; a longer frame is stored truncated
// with its full length as the original length, as a capture would.
const (
	writerMagicMicros = 0xa1b2c3d4
	writerVersionMaj  = 2
	writerVersionMin  = 4
)

// Writer writes a pcap file: a file header, then one record per packet.
// It is not safe for concurrent use.
type Writer struct {
	w       io.Writer
	rec     [16]byte
	packets int
}

// NewWriter writes the file header for frames of the given link type
// (LinkEthernet, LinkRaw or any other LINKTYPE_ value) and returns a
// Writer for the packets. Wrap w in a bufio.Writer for many small packets;
// the Writer does not buffer.
func NewWriter(w io.Writer, linkType uint32) (*Writer, error) {
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], writerMagicMicros)
	binary.LittleEndian.PutUint16(hdr[4:], writerVersionMaj)
	binary.LittleEndian.PutUint16(hdr[6:], writerVersionMin)
	// thiszone and sigfigs (8:16) stay zero: timestamps are UTC.
	binary.LittleEndian.PutUint32(hdr[16:], MaxSnapLen)
	binary.LittleEndian.PutUint32(hdr[20:], linkType)
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap: write file header: %w", err)
	}
	return &Writer{w: w}, nil
}

// ErrTimestamp is returned for a packet time the format cannot hold: the
// record header keeps unsigned 32-bit seconds since 1970.
var ErrTimestamp = errors.New("pcap: timestamp outside 1970..2106")

// WritePacket writes one frame captured at ts.
func (w *Writer) WritePacket(ts time.Time, frame []byte) error {
	sec := ts.Unix()
	if sec < 0 || sec > 0xffffffff {
		return fmt.Errorf("%w: %s", ErrTimestamp, ts.UTC().Format(time.RFC3339))
	}
	incl := len(frame)
	if incl > MaxSnapLen {
		incl = MaxSnapLen
	}
	binary.LittleEndian.PutUint32(w.rec[0:], uint32(sec))
	binary.LittleEndian.PutUint32(w.rec[4:], uint32(ts.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(w.rec[8:], uint32(incl))
	binary.LittleEndian.PutUint32(w.rec[12:], uint32(len(frame)))
	if _, err := w.w.Write(w.rec[:]); err != nil {
		return fmt.Errorf("pcap: write record header of packet %d: %w", w.packets+1, err)
	}
	if _, err := w.w.Write(frame[:incl]); err != nil {
		return fmt.Errorf("pcap: write packet %d: %w", w.packets+1, err)
	}
	w.packets++
	return nil
}

// Packets returns how many packets were written.
func (w *Writer) Packets() int { return w.packets }
