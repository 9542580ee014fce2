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

// netflow9Msg frames flowsets as one NetFlow v9 export packet (RFC 3954):
// count is the number of records, seq counts packets.
func netflow9Msg(sourceID, seq uint32, count int, flowsets ...[]byte) []byte {
	b := make([]byte, v9HeaderLen)
	binary.BigEndian.PutUint16(b[0:], versionNetFlow9)
	binary.BigEndian.PutUint16(b[2:], uint16(count))
	binary.BigEndian.PutUint32(b[4:], 3_600_000) // sysUpTime, ms
	binary.BigEndian.PutUint32(b[8:], 1_700_000_000)
	binary.BigEndian.PutUint32(b[12:], seq)
	binary.BigEndian.PutUint32(b[16:], sourceID)
	for _, f := range flowsets {
		b = append(b, f...)
	}
	return b
}

// v9TemplateFlowset is templateSet's template as NetFlow v9 (flowset 0).
func v9TemplateFlowset(tid uint16) []byte {
	s := templateSet(tid)
	binary.BigEndian.PutUint16(s, 0)
	return s
}
