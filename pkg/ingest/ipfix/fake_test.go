package ipfix

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"sync"
	"sync/atomic"
)

// fakeDecoder understands the messages msg_test.go builds (IPFIX, templates
// of 4-byte fields, no options) so the transport is tested before the real
// decoder is wired in.
type fakeDecoder struct {
	h    *countingHandler
	tmpl map[fakeScope]map[uint16]int // record length by template id
	next map[fakeScope]uint32
	held map[fakeScope]int
}

type fakeScope struct {
	Exporter netip.AddrPort
	ODID     uint32
}

func newFakeDecoder(h *countingHandler) *fakeDecoder {
	return &fakeDecoder{h: h, tmpl: map[fakeScope]map[uint16]int{}, next: map[fakeScope]uint32{}, held: map[fakeScope]int{}}
}

func (d *fakeDecoder) decode(msg []byte, from netip.AddrPort, tcp bool, nowMs int64, res *decodeResult) {
	h, ok := peekHeader(msg)
	if !ok || h.version != versionIPFIX || h.length != len(msg) {
		res.malformed = append(res.malformed, "bad_length")
		return
	}
	sc := fakeScope{from, h.odid}
	seq := binary.BigEndian.Uint32(msg[8:])
	if next, ok := d.next[sc]; ok && seq != next {
		res.lostRecords += uint64(seq - next)
	}
	n := 0
	defer func() { d.next[sc] = seq + uint32(n) }()
	for b := msg[ipfixHeaderLen:]; len(b) > 0; {
		if len(b) < 4 || int(binary.BigEndian.Uint16(b[2:])) < 4 || int(binary.BigEndian.Uint16(b[2:])) > len(b) {
			res.malformed = append(res.malformed, "bad_set_length")
			return
		}
		id, l := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		body := b[4:l]
		b = b[l:]
		switch {
		case id == 2:
			tid, count := binary.BigEndian.Uint16(body), int(binary.BigEndian.Uint16(body[2:]))
			if d.tmpl[sc] == nil {
				d.tmpl[sc] = map[uint16]int{}
			}
			d.tmpl[sc][tid] = 4 * count
			res.templates++
		case id >= 256:
			rl := d.tmpl[sc][id]
			if rl == 0 {
				d.held[sc] += len(body) / (4 * testFields)
				res.held += len(body) / (4 * testFields)
				continue
			}
			for range len(body) / rl {
				d.h.record(from)
				n++
			}
		}
	}
	res.records = n
	if n > 0 {
		res.samplingRate = 1
	}
}

func (d *fakeDecoder) expire(int64) {}

func (d *fakeDecoder) scopes(fn func(scopeInfo)) {
	for sc, ts := range d.tmpl {
		si := scopeInfo{exporter: sc.Exporter, odid: sc.ODID, heldRecords: d.held[sc]}
		for id := range ts {
			si.templates = append(si.templates, id)
		}
		fn(si)
	}
}

type fakeState struct {
	Scope     fakeScope
	Templates map[uint16]int
}

func (d *fakeDecoder) snapshot() (json.RawMessage, error) {
	var st []fakeState
	for sc, ts := range d.tmpl {
		st = append(st, fakeState{sc, ts})
	}
	return json.Marshal(st)
}

func (d *fakeDecoder) restore(saved []json.RawMessage, owns func(netip.AddrPort) bool) (int, error) {
	n := 0
	for _, raw := range saved {
		var st []fakeState
		if err := json.Unmarshal(raw, &st); err != nil {
			return n, err
		}
		for _, s := range st {
			if owns(s.Scope.Exporter) {
				d.tmpl[s.Scope] = s.Templates
				n++
			}
		}
	}
	return n, nil
}

// countingHandler counts records by exporter and flushes; gate, when set,
// holds every record until it is closed (to fill the queues).
type countingHandler struct {
	gate    chan struct{}
	mu      sync.Mutex
	by      map[netip.AddrPort]int
	total   atomic.Int64
	flushes atomic.Int64
}

func (h *countingHandler) record(from netip.AddrPort) {
	if h.gate != nil {
		<-h.gate
	}
	h.mu.Lock()
	if h.by == nil {
		h.by = map[netip.AddrPort]int{}
	}
	h.by[from]++
	h.mu.Unlock()
	h.total.Add(1)
}

func (h *countingHandler) Flush(context.Context, int64) error {
	h.flushes.Add(1)
	return nil
}

func (h *countingHandler) from(ap netip.AddrPort) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.by[ap]
}

// fakeEngine gives every worker a decoder per session sharing h.
func fakeEngine(h *countingHandler) func(int) engine {
	return func(int) engine {
		return engine{newDecoder: func() decoder { return newFakeDecoder(h) }, flush: h.Flush}
	}
}
