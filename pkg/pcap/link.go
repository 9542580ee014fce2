package pcap

import (
	"encoding/binary"
	"errors"
)

// ErrNotIP is NetworkLayer's answer for a packet that carries neither IPv4
// nor IPv6 (ARP, LLDP, ...): not an error in the capture, just not ours.
var ErrNotIP = errors.New("pcap: not an IP packet")

// NetworkLayer strips the link-layer header of a packet of the given link
// type and returns the EtherType of what follows (0x0800 IPv4, 0x86dd IPv6)
// and those bytes, the same link types the datagram Reader knows.
func NetworkLayer(linkType uint32, pkt []byte) (etherType uint16, payload []byte, err error) {
	short := func(n int) bool { return len(pkt) < n }
	switch linkType {
	case LinkEthernet:
		if short(14) {
			return 0, nil, errors.New("short ethernet header")
		}
		etherType, pkt = binary.BigEndian.Uint16(pkt[12:14]), pkt[14:]
		for etherType == 0x8100 || etherType == 0x88a8 || etherType == 0x9100 {
			if short(4) {
				return 0, nil, errors.New("short vlan tag")
			}
			etherType, pkt = binary.BigEndian.Uint16(pkt[2:4]), pkt[4:]
		}
	case LinkLinuxSLL:
		if short(16) {
			return 0, nil, errors.New("short sll header")
		}
		etherType, pkt = binary.BigEndian.Uint16(pkt[14:16]), pkt[16:]
	case LinkLinuxSLL2:
		if short(20) {
			return 0, nil, errors.New("short sll2 header")
		}
		etherType, pkt = binary.BigEndian.Uint16(pkt[0:2]), pkt[20:]
	case LinkNull:
		if short(4) {
			return 0, nil, errors.New("short loopback header")
		}
		fam := binary.LittleEndian.Uint32(pkt[:4])
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(pkt[:4])
		}
		pkt = pkt[4:]
		switch fam {
		case 2:
			etherType = 0x0800
		case 10, 24, 28, 30:
			etherType = 0x86dd
		}
	case LinkRaw:
		if len(pkt) > 0 {
			switch pkt[0] >> 4 {
			case 4:
				etherType = 0x0800
			case 6:
				etherType = 0x86dd
			}
		}
	case LinkIPv4:
		etherType = 0x0800
	case LinkIPv6:
		etherType = 0x86dd
	}
	if etherType != 0x0800 && etherType != 0x86dd {
		return etherType, nil, ErrNotIP
	}
	return etherType, pkt, nil
}
