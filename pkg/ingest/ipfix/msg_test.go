package ipfix

import "encoding/binary"

// Tiny hand-built IPFIX messages: one template of four 4-byte fields
// (sourceIPv4Address, destinationIPv4Address, octetDeltaCount,
// packetDeltaCount) and data sets of it.

const testFields = 4

// ipfixMsg frames sets as one IPFIX message.
func ipfixMsg(odid, seq uint32, sets ...[]byte) []byte {
	b := make([]byte, ipfixHeaderLen)
	for _, s := range sets {
		b = append(b, s...)
	}
	binary.BigEndian.PutUint16(b[0:], versionIPFIX)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	binary.BigEndian.PutUint32(b[4:], 1_700_000_000)
	binary.BigEndian.PutUint32(b[8:], seq)
	binary.BigEndian.PutUint32(b[12:], odid)
	return b
}

func set(id uint16, body []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

func templateSet(tid uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, tid)
	b = binary.BigEndian.AppendUint16(b, testFields)
	for _, ie := range []uint16{8, 12, 1, 2} {
		b = binary.BigEndian.AppendUint16(b, ie)
		b = binary.BigEndian.AppendUint16(b, 4)
	}
	return set(2, b)
}

// dataSet holds n records; record i carries i+1 octets and 1 packet.
func dataSet(tid uint16, n int) []byte {
	var b []byte
	for i := range n {
		b = append(b, 192, 0, 2, 1, 198, 51, 100, byte(i))
		b = binary.BigEndian.AppendUint32(b, uint32(i+1))
		b = binary.BigEndian.AppendUint32(b, 1)
	}
	return set(tid, b)
}
