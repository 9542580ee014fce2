package intmap

import (
	"errors"
	"strconv"
	"strings"

	"github.com/netlens/netlens/pkg/decode/intreport"
)

// The hops column holds every hop of a row in path order (hop 0 = the
// first switch after the source), as text that the record store keeps in
// its string dictionary and a reader can still make sense of:
//
//	hop;hop;...
//	hop = switch_id,ingress_port,egress_port,hop_latency,queue_id,queue_occupancy,ingress_ts,egress_ts,drop_reason
//
// switch_id is lower-case hex without "0x"; the other fields are decimal.
// An empty field is a value the hop did not carry or marked unavailable
// (0xFFFFFFFF on the wire). hop_latency is in ns: the hop's latency word,
// else its egress minus ingress timestamp modulo 2^32 (intreport.HopLatency).
// ingress_ts and egress_ts are the switch's 32-bit ns clock. drop_reason
// is set only on the hop where the packet was dropped. Example, a two-hop
// path dropped at the second switch with reason 7:
//
//	b012e345,1,2,850,0,12,4294967040,594,;b012e346,5,6,,3,9000,,,7

// HopFields are the per-hop field names of the path frame, in the order
// HopRow.Values returns them.
var HopFields = []string{
	"hop", "switch", "switch_id", "ingress_port", "egress_port", "hop_latency",
	"queue_id", "queue_occupancy", "dropped", "drop_reason",
}

// HopRow is one hop of a row's hops, as the path frame shows it. The Has
// fields say which values are present; absent ones are null in the frame.
type HopRow struct {
	Hop                 int
	Switch              string // the name from ExpandHops' names, else "0x%08x"; "" without a switch id
	SwitchID            uint32
	HasSwitchID         bool
	IngressPort         uint16
	EgressPort          uint16
	HasIngressPort      bool
	HasEgressPort       bool
	HopLatency          uint32 // ns
	HasHopLatency       bool
	QueueID             uint8
	HasQueueID          bool
	QueueOccupancy      uint32
	HasQueueOccupancy   bool
	IngressTS, EgressTS uint32
	HasIngressTS        bool
	HasEgressTS         bool
	Dropped             bool
	DropReason          uint8
}

// Values are the row's values in HopFields order, nil for null: hop and
// the numbers as float64 (frame number fields), switch and drop_reason as
// string, dropped as bool.
func (h *HopRow) Values() []any {
	num := func(ok bool, v uint64) any {
		if !ok {
			return nil
		}
		return float64(v)
	}
	var sw, reason any
	if h.HasSwitchID {
		sw = h.Switch
	}
	if h.Dropped {
		reason = strconv.Itoa(int(h.DropReason))
	}
	return []any{
		float64(h.Hop), sw, num(h.HasSwitchID, uint64(h.SwitchID)),
		num(h.HasIngressPort, uint64(h.IngressPort)), num(h.HasEgressPort, uint64(h.EgressPort)),
		num(h.HasHopLatency, uint64(h.HopLatency)),
		num(h.HasQueueID, uint64(h.QueueID)), num(h.HasQueueOccupancy, uint64(h.QueueOccupancy)),
		h.Dropped, reason,
	}
}

// appendHop encodes one hop; reason < 0: not dropped here.
func appendHop(b []byte, h *intreport.Hop, reason int) []byte {
	if len(b) > 0 {
		b = append(b, ';')
	}
	if h.Present&intreport.ItemSwitchID != 0 {
		b = strconv.AppendUint(b, uint64(h.SwitchID), 16)
	}
	b = append(b, ',')
	if h.Present&intreport.ItemPorts != 0 {
		b = strconv.AppendUint(b, uint64(h.IngressPort), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(h.EgressPort), 10)
	} else {
		b = append(b, ',')
	}
	b = append(b, ',')
	if l, ok := intreport.HopLatency(h); ok {
		b = strconv.AppendUint(b, uint64(l), 10)
	}
	b = append(b, ',')
	if h.Present&intreport.ItemQueue != 0 {
		b = strconv.AppendUint(b, uint64(h.QueueID), 10)
		b = append(b, ',')
		b = strconv.AppendUint(b, uint64(h.QueueOccupancy), 10)
	} else {
		b = append(b, ',')
	}
	b = append(b, ',')
	if h.Present&intreport.ItemIngressTS != 0 {
		b = strconv.AppendUint(b, uint64(h.IngressTS), 10)
	}
	b = append(b, ',')
	if h.Present&intreport.ItemEgressTS != 0 {
		b = strconv.AppendUint(b, uint64(h.EgressTS), 10)
	}
	b = append(b, ',')
	if reason >= 0 {
		b = strconv.AppendUint(b, uint64(reason), 10)
	}
	return b
}

// ErrBadHops is returned for hops text not in the documented encoding.
var ErrBadHops = errors.New("intmap: bad hops encoding")

// ExpandHops decodes a row's hops column into dst (reused, returned
// extended) in path order. names maps a switch id to its name; nil, or an
// empty answer, spells the id as "0x%08x". An empty text has no hops.
func ExpandHops(dst []HopRow, hops string, names func(id uint32) string) ([]HopRow, error) {
	if hops == "" {
		return dst, nil
	}
	for i := 0; hops != ""; i++ {
		if i >= intreport.HopLimit {
			return dst, ErrBadHops
		}
		one := hops
		if k := strings.IndexByte(hops, ';'); k >= 0 {
			one, hops = hops[:k], hops[k+1:]
			if hops == "" {
				return dst, ErrBadHops
			}
		} else {
			hops = ""
		}
		var f [9]string
		for j := range f {
			if j == len(f)-1 {
				if strings.IndexByte(one, ',') >= 0 {
					return dst, ErrBadHops
				}
				f[j] = one
				break
			}
			k := strings.IndexByte(one, ',')
			if k < 0 {
				return dst, ErrBadHops
			}
			f[j], one = one[:k], one[k+1:]
		}
		h := HopRow{Hop: i}
		var err error
		var v uint64
		field := func(s string, base, bits int, ok *bool) uint64 {
			if s == "" || err != nil {
				return 0
			}
			x, e := strconv.ParseUint(s, base, bits)
			if e != nil {
				err = ErrBadHops
				return 0
			}
			*ok = true
			return x
		}
		v = field(f[0], 16, 32, &h.HasSwitchID)
		h.SwitchID = uint32(v)
		h.IngressPort = uint16(field(f[1], 10, 16, &h.HasIngressPort))
		h.EgressPort = uint16(field(f[2], 10, 16, &h.HasEgressPort))
		h.HopLatency = uint32(field(f[3], 10, 32, &h.HasHopLatency))
		h.QueueID = uint8(field(f[4], 10, 8, &h.HasQueueID))
		h.QueueOccupancy = uint32(field(f[5], 10, 32, &h.HasQueueOccupancy))
		h.IngressTS = uint32(field(f[6], 10, 32, &h.HasIngressTS))
		h.EgressTS = uint32(field(f[7], 10, 32, &h.HasEgressTS))
		h.DropReason = uint8(field(f[8], 10, 8, &h.Dropped))
		if err != nil {
			return dst, err
		}
		if h.HasSwitchID {
			if names != nil {
				h.Switch = names(h.SwitchID)
			}
			if h.Switch == "" {
				h.Switch = SwitchName(h.SwitchID)
			}
		}
		dst = append(dst, h)
	}
	return dst, nil
}
