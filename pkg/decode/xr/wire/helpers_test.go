package wire

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// pdtV2 is one PDT v2 frame: Type, Flags, Length, payload.
func pdtV2(typ, flags uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, typ)
	b = binary.BigEndian.AppendUint32(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// tlv is one PDT v1 TLV; pdtV1 wraps TLVs into a length-prefixed block.
func tlv(typ uint32, v []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, typ)
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

func pdtV1(tlvs ...[]byte) []byte {
	block := bytes.Join(tlvs, nil)
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(block))), block...)
}

// mdt is one MDT frame: Type, Encap, Version 1, Flags, Length, payload.
func mdt(typ, encap, flags uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, encap)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

// router compresses messages as the seed says a router does: one zlib stream
// per connection, flushed (sync) at the end of each message, restarted on reset.
type router struct {
	buf   bytes.Buffer
	zw    *zlib.Writer
	fresh bool // zw starts a new stream at the next message
}

func (r *router) compress(t testing.TB, msg []byte) []byte {
	t.Helper()
	switch {
	case r.zw == nil:
		r.zw = zlib.NewWriter(&r.buf)
	case r.fresh:
		r.zw.Reset(&r.buf) // a zlib.Writer is large: reuse it for the new stream
	}
	r.fresh = false
	if _, err := r.zw.Write(msg); err != nil {
		t.Fatal(err)
	}
	if err := r.zw.Flush(); err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(r.buf.Bytes())
	r.buf.Reset()
	return out
}

func (r *router) reset() { r.fresh = true }

// leaves50 is a PDT JSON message of about the size of 50 interface counters.
func leaves50(i int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"Policy":"interfaces","Version":25,"Identifier":"r1","CollectionID":%d,"Path":"RootOper.InfraStatistics.Interface(*).Latest.GenericCounters","Data":{"GigabitEthernet0/0/0/%d":{`, i, i%48)
	for j := range 50 {
		if j > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"Counter%02d":%d`, j, uint64(i)*1000003+uint64(j)*7919)
	}
	b.WriteString("}}}")
	return b.Bytes()
}

// messages makes n payloads of mixed shapes: small, 50-leaf JSON, and
// incompressible ones larger than flate's 32 KiB window.
func messages(rng *rand.Rand, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		switch rng.IntN(12) {
		case 0, 1:
			out[i] = []byte(fmt.Sprintf(`{"n":%d}`, i))
		case 2:
			p := make([]byte, 33<<10+rng.IntN(8<<10))
			for k := range p {
				p[k] = byte(rng.Uint32())
			}
			out[i] = p
		default:
			out[i] = leaves50(i)
		}
	}
	return out
}

// feedSplit feeds stream to feed in pieces cut at random points (pieces of 0
// to 3 bytes are common, so headers are cut everywhere).
func feedSplit(rng *rand.Rand, stream []byte, feed func([]byte) error) error {
	for len(stream) > 0 {
		var n int
		switch rng.IntN(3) {
		case 0:
			n = rng.IntN(4)
		case 1:
			n = rng.IntN(64)
		default:
			n = rng.IntN(20000)
		}
		n = min(n, len(stream))
		if err := feed(stream[:n]); err != nil {
			return err
		}
		stream = stream[n:]
	}
	return nil
}

// got is what a test collects from emit: payloads copied, since they are
// valid only during emit.
type got struct {
	frames []Frame
}

func (g *got) emit(f Frame) error {
	f.Payload = bytes.Clone(f.Payload)
	g.frames = append(g.frames, f)
	return nil
}

func reasonOf(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Reason
	}
	if err == nil {
		return ""
	}
	return "not *Error: " + err.Error()
}
