package ipfix_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/netlens/netlens/pkg/decode/ipfix"
)

type printer struct{}

func (printer) Record(r *ipfix.Record) {
	for _, f := range r.Fields {
		fmt.Printf("%s=%s ", f.Elem.Name, f.String())
	}
	fmt.Printf("(1 in %d sampled)\n", r.SamplingRate)
}

func (printer) Options(r *ipfix.Record) {}

// One message with a template and a biflow record: the reverse counter
// (RFC 5103, PEN 29305) comes out under its own name.
func Example() {
	be := binary.BigEndian
	tmpl := []byte{0x01, 0x00, 0, 3}                                       // template 256, 3 fields
	tmpl = be.AppendUint32(tmpl, 8<<16|4)                                  // sourceIPv4Address, 4 bytes
	tmpl = be.AppendUint32(tmpl, 1<<16|4)                                  // octetDeltaCount in 4 bytes (reduced size)
	tmpl = be.AppendUint32(be.AppendUint32(tmpl, (0x8000|1)<<16|4), 29305) // reverseOctetDeltaCount
	data := []byte{192, 0, 2, 1, 0, 0, 5, 220, 0, 0, 0, 64}
	set := func(id uint16, b []byte) []byte {
		return append(be.AppendUint16(be.AppendUint16(nil, id), uint16(4+len(b))), b...)
	}
	body := append(set(2, tmpl), set(256, data)...)
	msg := be.AppendUint16(nil, 10)
	msg = be.AppendUint16(msg, uint16(16+len(body)))
	msg = append(msg, make([]byte, 12)...) // export time, sequence, observation domain 0
	msg = append(msg, body...)

	d := ipfix.New(ipfix.Options{})
	st, err := d.Decode(msg, netip.MustParseAddrPort("192.0.2.7:50000"), ipfix.UDP, 0, printer{})
	fmt.Println(st.Records, st.Templates, err)
	// Output:
	// sourceIPv4Address=192.0.2.1 octetDeltaCount=1500 reverseOctetDeltaCount=64 (1 in 1 sampled)
	// 1 1 <nil>
}
