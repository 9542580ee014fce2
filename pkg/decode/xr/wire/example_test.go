package wire_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"

	"github.com/netlens/netlens/pkg/decode/xr/wire"
)

// A receiver keeps one Conn per accepted TCP connection and feeds it every
// read; here a router's PDT v2 stream (a reset, then two zlib-compressed
// JSON messages of one stream) arrives in reads of 5 bytes.
func ExampleConn() {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	frame := func(typ, flags uint32, p []byte) []byte {
		h := binary.BigEndian.AppendUint32(nil, typ)
		h = binary.BigEndian.AppendUint32(h, flags)
		h = binary.BigEndian.AppendUint32(h, uint32(len(p)))
		return append(h, p...)
	}
	compress := func(s string) []byte {
		zw.Write([]byte(s))
		zw.Flush() // the router flushes after each message
		out := bytes.Clone(z.Bytes())
		z.Reset()
		return out
	}
	stream := frame(1, 0, nil)
	stream = append(stream, frame(2, wire.FlagZlib, compress(`{"Policy":"a"}`))...)
	stream = append(stream, frame(2, wire.FlagZlib, compress(`{"Policy":"b"}`))...)

	c := wire.NewConn(0)
	defer c.Close()
	for len(stream) > 0 {
		n := min(5, len(stream))
		err := c.Feed(stream[:n], func(f wire.Frame) error {
			if f.Kind == wire.KindReset {
				fmt.Println("reset")
				return nil
			}
			fmt.Println(f.Gen, f.Encoding, f.Compressed, string(f.Payload))
			return nil
		})
		if err != nil {
			fmt.Println("close the connection:", err)
			return
		}
		stream = stream[n:]
	}
	// Output:
	// reset
	// pdt_v2 json true {"Policy":"a"}
	// pdt_v2 json true {"Policy":"b"}
}

// A UDP receiver sniffs each datagram: bare compact GPB or an MDT header.
func ExampleSniff() {
	compact := []byte{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08, 0x12, 0x01, 'p'}
	f, err := wire.Sniff(compact, 0)
	fmt.Println(f.Gen, f.Encoding, err)

	_, err = wire.Sniff([]byte(`{"Policy":"p"}`), 0)
	fmt.Println(err.(*wire.Error).Reason)
	// Output:
	// pdt_udp gpb_compact <nil>
	// not_telemetry
}
