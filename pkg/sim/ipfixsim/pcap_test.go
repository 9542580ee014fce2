package ipfixsim

import (
	"encoding/binary"
	"os"
	"testing"
)

// writePcap stores messages as UDP datagrams from 192.0.2.1:50000 to
// 192.0.2.2:port in a pcap file of raw IPv4 packets (link type 101), the
// form tshark reads.
func writePcap(t *testing.T, path string, port uint16, msgs [][]byte) {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 101)
	for i, m := range msgs {
		n := 20 + 8 + len(m)
		b = binary.LittleEndian.AppendUint32(b, 1700000000+uint32(i))
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		ip := []byte{0x45, 0, byte(n >> 8), byte(n), 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2}
		var sum uint32
		for j := 0; j < 20; j += 2 {
			sum += uint32(ip[j])<<8 | uint32(ip[j+1])
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		b = append(b, ip...)
		b = binary.BigEndian.AppendUint16(b, 50000)
		b = binary.BigEndian.AppendUint16(b, port)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(m)))
		b = binary.BigEndian.AppendUint16(b, 0) // no checksum: allowed over IPv4
		b = append(b, m...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
