// Package ipfix decodes IPFIX (RFC 7011, version 10) and NetFlow v9 (RFC
// 3954) export messages into flow records. It is a pure function of the
// bytes it is given and the time the caller passes in: no sockets, clocks or
// globals. The receiver (pkg/ingest/ipfix) owns the sockets and one Decoder
// per worker; everything an exporter taught us (templates, sampler tables,
// application names, sequence numbers) lives in that Decoder, keyed by Scope.
//
// What it takes care of, because real exporters need it:
//   - templates and options templates scoped by exporter address, port and
//     observation domain; withdrawals by transport (ignored over UDP as RFC
//     7011 section 8.1 asks, applied over TCP and files, ids 2 and 3
//     withdrawing every template of their kind);
//   - data that arrives before its template is held, bounded in bytes per
//     scope and in time, and decoded when the template arrives, even later
//     in the same message;
//   - variable-length fields, enterprise fields, reduced-size integers, set
//     padding and paddingOctets (which are not passed on), RFC 6313 lists
//     (checked when the record is decoded, iterated on request);
//   - sequence gaps (IPFIX counts data records per observation domain,
//     NetFlow v9 counts packets per source id);
//   - the sampling rate of each record, from the exporter's own options
//     data (sampler and selector tables, or a rate for the whole exporter)
//     or the record's own fields, with a configured override on top;
//   - application names from the exporter's options application table.
//
// Every limit violation and malformed structure is an *Error with a Reason,
// counted in MessageStats.Malformed; nothing panics. In steady state a
// record costs no allocation: the Record and its Fields are reused, and
// field values point into the message.
package ipfix

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
)

// Transport is how the messages arrived; RFC 7011 section 8 gives each its
// own template rules.
type Transport uint8

const (
	UDP  Transport = iota // withdrawals ignored, templates expire unless refreshed
	TCP                   // withdrawals required before a template id is reused
	File                  // withdrawals optional, templates never expire
)

func (t Transport) String() string {
	switch t {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	case File:
		return "file"
	}
	return "transport(" + strconv.Itoa(int(t)) + ")"
}

// MarshalText spells the transport in snapshots.
func (t Transport) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads the spelling of MarshalText.
func (t *Transport) UnmarshalText(b []byte) error {
	switch string(b) {
	case "udp":
		*t = UDP
	case "tcp":
		*t = TCP
	case "file":
		*t = File
	default:
		return &Error{Reason: "bad_state", Detail: "unknown transport " + strconv.Quote(string(b))}
	}
	return nil
}

// Scope is what templates are scoped by: exporter address and port, and
// observation domain (the source id for NetFlow v9).
type Scope struct {
	Exporter netip.AddrPort
	ODID     uint32
}

// Device is the exporter address and observation domain, "192.0.2.7/0",
// the device label of series. The port is left out: exporters pick a new
// one when they restart, and that is still the same device.
func (s Scope) Device() string {
	return s.Exporter.Addr().Unmap().String() + "/" + strconv.FormatUint(uint64(s.ODID), 10)
}

// Options configures a Decoder. Zero values take the defaults named.
type Options struct {
	Registry             *ie.Registry // nil: ie.IANA()
	MaxTemplatesPerScope int          // default 1024
	MaxFieldsPerTemplate int          // default 512
	TemplateLifetimeMs   int64        // UDP only; default 1800 s (ipfixcol2's default)
	// MaxPendingBytesPerScope bounds data held while its template is
	// unknown; default 1 MiB, negative holds nothing.
	MaxPendingBytesPerScope int
	PendingTTLMs            int64                           // default 60 s
	SamplingOverride        func(netip.Addr) (uint64, bool) // per exporter, wins over what it reports; may be nil

	// Limits beyond the contract's list, against floods and crafted input.
	MaxScopes               int // exporter/domain pairs, default 65536
	MaxTemplates            int // templates of all scopes together, default 100000
	MaxPendingBytes         int // held data of all scopes together, default 64 MiB
	MaxSamplersPerScope     int // sampler and selector ids remembered, default 1024
	MaxApplicationsPerScope int // application names remembered, default 65536
	MaxListDepth            int // RFC 6313 lists inside lists, default 4
}

func (o Options) withDefaults() Options {
	if o.Registry == nil {
		o.Registry = ie.IANA()
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.MaxTemplatesPerScope, 1024)
	def(&o.MaxFieldsPerTemplate, 512)
	def(&o.MaxScopes, 65536)
	def(&o.MaxTemplates, 100_000)
	def(&o.MaxPendingBytes, 64<<20)
	def(&o.MaxSamplersPerScope, 1024)
	def(&o.MaxApplicationsPerScope, 65536)
	def(&o.MaxListDepth, 4)
	if o.MaxPendingBytesPerScope == 0 {
		o.MaxPendingBytesPerScope = 1 << 20
	}
	if o.TemplateLifetimeMs <= 0 {
		o.TemplateLifetimeMs = 1800_000
	}
	if o.PendingTTLMs <= 0 {
		o.PendingTTLMs = 60_000
	}
	return o
}

// Handler receives decoded records.
type Handler interface {
	Record(r *Record)  // flow data record; r and its slices are valid only during the call
	Options(r *Record) // options data record (the first r.ScopeFields fields are scope)
}

// Record is one decoded data record. The Decoder reuses it: copy what must
// outlive the Handler call.
type Record struct {
	Scope         Scope
	Version       uint16 // 10 for IPFIX, 9 for NetFlow v9
	ExportTimeSec uint32
	Sequence      uint32
	TemplateID    uint16
	Fields        []Field // in template order, duplicates kept, paddingOctets left out
	ScopeFields   int
	// SamplingRate is 1 in SamplingRate packets; 1 when unsampled or unknown.
	SamplingRate uint64
	Application  string // applicationName from the exporter's application table, "" if unknown
	ReceivedMs   int64  // nowMs of the Decode call that received the record (held records keep theirs)
	// SystemInitMs is when the exporter booted, unix ms, the base of
	// flowStart/EndSysUpTime: for NetFlow v9 from the header (export time
	// minus sysUpTime), for IPFIX from the exporter's systemInitTimeMilliseconds
	// options data; 0 when unknown. Pass it to Field.TimeMs.
	SystemInitMs int64

	d  *Decoder
	sc *scopeState
}

// MessageStats counts what one Decode call did. Records and OptionsRecords
// include records released from earlier held sets (Released counts those);
// Held and DroppedPending count data sets, whose record count is unknown
// until their template is.
type MessageStats struct {
	Records, OptionsRecords, Templates, Withdrawals, Held, Released, DroppedPending, Malformed int

	LostRecords uint64 // IPFIX sequence gap before this message
	LostPackets uint64 // NetFlow v9 sequence gap before this message
	// ByReason counts the Malformed by reason (Decode returns only the
	// first error), for counters named after each.
	ByReason ReasonCounts
}

// ReasonCounts counts errors by reason, without allocating.
type ReasonCounts [len(reasons)]uint16

// Each calls fn for every reason counted at least once.
func (c *ReasonCounts) Each(fn func(reason string, n int)) {
	for i, n := range c {
		if n > 0 {
			fn(reasons[i], int(n))
		}
	}
}

func (c *ReasonCounts) add(reason string) {
	for i, r := range reasons {
		if r == reason {
			if c[i] < 0xffff {
				c[i]++
			}
			return
		}
	}
}

// Error is why a message, set or record was rejected.
type Error struct {
	Reason     string // stable, short: used as the drop counter's name ("malformed:<reason>")
	Scope      Scope
	TemplateID uint16 // set id or template id concerned, when there is one
	Offset     int    // byte offset in the message
	Detail     string
}

func (e *Error) Error() string {
	s := "ipfix: " + e.Reason
	if e.Scope.Exporter.IsValid() {
		s += " from " + e.Scope.Device()
	}
	if e.TemplateID != 0 {
		s += " template " + strconv.Itoa(int(e.TemplateID))
	}
	s += " at offset " + strconv.Itoa(e.Offset)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Reasons.
const (
	ReasonTruncatedMessage   = "truncated_message"    // shorter than its header or its header's length
	ReasonBadVersion         = "bad_version"          // neither 9 nor 10
	ReasonBadLength          = "bad_length"           // header length shorter than the header
	ReasonBadSetLength       = "bad_set_length"       // set shorter than its header or past the message end
	ReasonBadSetID           = "bad_set_id"           // reserved set id
	ReasonTemplateNoFields   = "template_no_fields"   // field count 0 where that is not a withdrawal, or records of no bytes
	ReasonTemplateIDReserved = "template_id_reserved" // template id below 256
	ReasonTemplateFlood      = "template_flood"       // more templates than MaxTemplatesPerScope
	ReasonTemplateTooLong    = "template_too_long"    // more fields than MaxFieldsPerTemplate, or a record that cannot fit a message
	ReasonTemplateTruncated  = "template_truncated"   // template record runs past its set
	ReasonBadScopeCount      = "bad_scope_count"      // options template scope count 0 or past the field count
	ReasonTemplateRedefined  = "template_redefined"   // TCP: id reused with a new definition without a withdrawal
	ReasonWithdrawalMismatch = "withdrawal_mismatch"  // withdrawal of a template of the other kind
	ReasonFieldOverrun       = "field_overrun"        // variable-length field runs past the set
	ReasonBadList            = "bad_list"             // malformed RFC 6313 list
	ReasonListTooDeep        = "list_too_deep"        // lists nested deeper than MaxListDepth
	ReasonPendingFull        = "pending_full"         // held data dropped: the scope's pending bytes are used up
	ReasonScopeFlood         = "scope_flood"          // more exporter/domain pairs than MaxScopes
)

var reasons = [...]string{
	ReasonTruncatedMessage, ReasonBadVersion, ReasonBadLength, ReasonBadSetLength, ReasonBadSetID,
	ReasonTemplateNoFields, ReasonTemplateIDReserved, ReasonTemplateFlood, ReasonTemplateTooLong,
	ReasonTemplateTruncated, ReasonBadScopeCount, ReasonTemplateRedefined, ReasonWithdrawalMismatch,
	ReasonFieldOverrun, ReasonBadList, ReasonListTooDeep, ReasonPendingFull, ReasonScopeFlood,
}

// Decoder holds what exporters have taught us. Not safe for concurrent use.
type Decoder struct {
	o      Options
	scopes map[Scope]*scopeState
	last   *scopeState // most exporters send many messages in a row

	rec    Record
	fields []Field
	specs  []FieldSpec // scratch for parsing templates

	elems map[uint64]*ie.Element // elements of basicLists, shared so iteration does not allocate

	templates    int // over all scopes, against MaxTemplates
	pendingBytes int // over all scopes, against MaxPendingBytes

	// per Decode call
	st       MessageStats
	err      *Error
	msgStart int // offset of the current set body within the message, for errors
	own      int // data records of this message itself, for sequence numbers
	h        Handler
}

// New returns a Decoder with no templates.
func New(o Options) *Decoder {
	return &Decoder{o: o.withDefaults(), scopes: make(map[Scope]*scopeState), elems: make(map[uint64]*ie.Element)}
}

// hdr is what a data set needs from the message that carried it; held sets keep theirs.
type hdr struct {
	version      uint16
	exportSec    uint32
	seq          uint32
	receivedMs   int64
	systemInitMs int64 // NetFlow v9 only
}

// Decode parses one IPFIX or NetFlow v9 message. h sees every data record
// and options record in message order, including held records that a
// template later in the message (or in this one) releases. A bad set is
// skipped and counted, the rest of the message still decodes where framing
// allows; the error returned is the first one met.
func (d *Decoder) Decode(msg []byte, from netip.AddrPort, tr Transport, nowMs int64, h Handler) (MessageStats, error) {
	d.st, d.err, d.own, d.h = MessageStats{}, nil, 0, h
	defer func() { d.h = nil }()
	if len(msg) < 2 {
		d.fail(&Error{Reason: ReasonTruncatedMessage, Scope: Scope{Exporter: from}})
		return d.st, d.err
	}
	switch v := binary.BigEndian.Uint16(msg); v {
	case 10:
		d.decodeV10(msg, from, tr, nowMs)
	case 9:
		d.decodeV9(msg, from, tr, nowMs)
	default:
		d.fail(&Error{Reason: ReasonBadVersion, Scope: Scope{Exporter: from}, Detail: "version " + strconv.Itoa(int(v))})
	}
	if d.err == nil {
		return d.st, nil
	}
	return d.st, d.err
}

func (d *Decoder) fail(e *Error) {
	d.st.Malformed++
	d.st.ByReason.add(e.Reason)
	if d.err == nil {
		d.err = e
	}
}

func (d *Decoder) decodeV10(msg []byte, from netip.AddrPort, tr Transport, nowMs int64) {
	if len(msg) < 16 {
		d.fail(&Error{Reason: ReasonTruncatedMessage, Scope: Scope{Exporter: from}})
		return
	}
	n := int(binary.BigEndian.Uint16(msg[2:]))
	s := Scope{Exporter: from, ODID: binary.BigEndian.Uint32(msg[12:])}
	switch {
	case n < 16:
		d.fail(&Error{Reason: ReasonBadLength, Scope: s, Detail: "length " + strconv.Itoa(n)})
		return
	case n > len(msg):
		d.fail(&Error{Reason: ReasonTruncatedMessage, Scope: s, Detail: strconv.Itoa(len(msg)) + " of " + strconv.Itoa(n) + " bytes"})
		return
	}
	msg = msg[:n]
	sc := d.scope(s, 10, tr, nowMs)
	if sc == nil {
		return
	}
	h := hdr{version: 10, exportSec: binary.BigEndian.Uint32(msg[4:]), seq: binary.BigEndian.Uint32(msg[8:]), receivedMs: nowMs}
	// RFC 7011 section 3.1: the sequence number counts data records sent
	// before this message, per observation domain, modulo 2^32.
	if sc.seqValid {
		if gap := h.seq - sc.nextSeq; gap != 0 && gap < 1<<31 {
			d.st.LostRecords = uint64(gap)
			sc.lostRecords += uint64(gap)
		}
	}
	held := d.st.Held
	d.sets(sc, msg, 16, h)
	sc.lastSeq = h.seq
	sc.nextSeq = h.seq + uint32(d.own)
	// Records in held sets count too, but how many is unknown until their
	// template arrives: resynchronise on the next message rather than
	// report a loss that did not happen.
	sc.seqValid = d.st.Held == held
}

func (d *Decoder) decodeV9(msg []byte, from netip.AddrPort, tr Transport, nowMs int64) {
	if len(msg) < 20 {
		d.fail(&Error{Reason: ReasonTruncatedMessage, Scope: Scope{Exporter: from}})
		return
	}
	s := Scope{Exporter: from, ODID: binary.BigEndian.Uint32(msg[16:])}
	sc := d.scope(s, 9, tr, nowMs)
	if sc == nil {
		return
	}
	up := binary.BigEndian.Uint32(msg[4:])
	h := hdr{version: 9, exportSec: binary.BigEndian.Uint32(msg[8:]), seq: binary.BigEndian.Uint32(msg[12:]), receivedMs: nowMs}
	h.systemInitMs = int64(h.exportSec)*1000 - int64(up)
	// RFC 3954: the sequence number counts export packets per source id.
	if sc.seqValid {
		if gap := h.seq - sc.nextSeq; gap != 0 && gap < 1<<31 {
			d.st.LostPackets = uint64(gap)
			sc.lostPackets += uint64(gap)
		}
	}
	d.sets(sc, msg, 20, h)
	sc.lastSeq, sc.nextSeq, sc.seqValid = h.seq, h.seq+1, true
}

// scope finds or creates the state of s.
func (d *Decoder) scope(s Scope, version uint16, tr Transport, nowMs int64) *scopeState {
	sc := d.last
	if sc == nil || sc.scope != s {
		sc = d.scopes[s]
		if sc == nil {
			if len(d.scopes) >= d.o.MaxScopes {
				d.fail(&Error{Reason: ReasonScopeFlood, Scope: s})
				return nil
			}
			sc = d.newScope(s)
		}
		d.last = sc
	}
	if sc.version != version && sc.version != 0 {
		// An exporter that switches between NetFlow v9 and IPFIX has been
		// reconfigured: what it taught in one does not hold in the other.
		d.reset(sc)
	}
	sc.version, sc.transport, sc.lastSeenMs = version, tr, nowMs
	return sc
}

// reset forgets what a scope was taught, keeping its counters.
func (d *Decoder) reset(sc *scopeState) {
	d.templates -= len(sc.templates)
	d.pendingBytes -= sc.pendingBytes
	sc.droppedPending += uint64(len(sc.pending))
	clear(sc.templates)
	sc.pending, sc.pendingBytes = nil, 0
	sc.samplers, sc.apps, sc.scopeRate, sc.systemInitMs = nil, nil, 0, 0
	sc.seqValid = false
}

func (d *Decoder) newScope(s Scope) *scopeState {
	sc := &scopeState{scope: s, templates: make(map[uint16]*template)}
	if d.o.SamplingOverride != nil {
		if r, ok := d.o.SamplingOverride(s.Exporter.Addr().Unmap()); ok && r > 0 {
			sc.override = r
		}
	}
	d.scopes[s] = sc
	return sc
}

// sets walks the sets of a message from off.
func (d *Decoder) sets(sc *scopeState, msg []byte, off int, h hdr) {
	for off < len(msg) {
		if len(msg)-off < 4 {
			// NetFlow v9 exporters pad packets to 4 bytes; IPFIX has no such padding.
			if h.version == 10 {
				d.fail(&Error{Reason: ReasonBadSetLength, Scope: sc.scope, Offset: off, Detail: "trailing bytes"})
			}
			return
		}
		id := binary.BigEndian.Uint16(msg[off:])
		n := int(binary.BigEndian.Uint16(msg[off+2:]))
		if n < 4 || off+n > len(msg) {
			d.fail(&Error{Reason: ReasonBadSetLength, Scope: sc.scope, TemplateID: id, Offset: off, Detail: "set length " + strconv.Itoa(n)})
			return
		}
		body := msg[off+4 : off+n]
		d.msgStart = off + 4
		switch {
		case id >= 256:
			d.dataSet(sc, id, body, h)
		case h.version == 10 && (id == 2 || id == 3):
			d.templateSet(sc, id, body, h.receivedMs)
		case h.version == 9 && id == 0:
			d.templateSet(sc, id, body, h.receivedMs)
		case h.version == 9 && id == 1:
			d.optionsTemplateSetV9(sc, body, h.receivedMs)
		default:
			d.fail(&Error{Reason: ReasonBadSetID, Scope: sc.scope, TemplateID: id, Offset: off})
		}
		off += n
	}
}

// dataSet decodes a data set, or holds it until its template comes.
func (d *Decoder) dataSet(sc *scopeState, id uint16, body []byte, h hdr) {
	t := sc.templates[id]
	if t == nil {
		d.hold(sc, id, body, h)
		return
	}
	d.records(sc, t, body, h, true)
}

// records decodes the records of one data set with template t.
func (d *Decoder) records(sc *scopeState, t *template, b []byte, h hdr, own bool) int {
	if cap(d.fields) < t.nOut {
		d.fields = make([]Field, t.nOut, max(t.nOut, 64))
	}
	r := &d.rec
	r.Scope, r.Version, r.ExportTimeSec, r.Sequence, r.TemplateID = sc.scope, h.version, h.exportSec, h.seq, t.id
	r.ScopeFields, r.ReceivedMs, r.d, r.sc = t.scopeOut, h.receivedMs, d, sc
	r.SystemInitMs = h.systemInitMs
	if h.version == 10 {
		r.SystemInitMs = sc.systemInitMs
	}
	n := 0
	off := 0
	for len(b)-off >= t.minLen {
		fs := d.fields[:t.nOut]
		size, ok := t.fill(fs, b[off:])
		if !ok {
			d.fail(&Error{Reason: ReasonFieldOverrun, Scope: sc.scope, TemplateID: t.id, Offset: d.msgStart + off})
			break
		}
		off += size
		n++
		if own {
			d.own++
		}
		if t.hasList {
			if reason := d.checkLists(sc, t, fs, 1); reason != "" {
				d.fail(&Error{Reason: reason, Scope: sc.scope, TemplateID: t.id, Offset: d.msgStart + off - size})
				continue
			}
		}
		r.Fields = fs
		r.Application = ""
		if t.iAppID >= 0 && len(sc.apps) > 0 {
			r.Application = sc.apps[string(fs[t.iAppID].Value)]
		}
		r.SamplingRate = sc.rateFor(t, fs)
		if t.iSysInit >= 0 {
			// Huawei puts the boot time in every flow record.
			r.SystemInitMs = int64(fs[t.iSysInit].Uint())
		}
		if t.options {
			d.learnOptions(sc, t, fs)
			d.st.OptionsRecords++
			if d.h != nil {
				d.h.Options(r)
			}
		} else {
			d.st.Records++
			if d.h != nil {
				d.h.Record(r)
			}
		}
	}
	r.Fields = nil
	return n
}

// hold keeps a copy of a data set whose template is not known yet.
func (d *Decoder) hold(sc *scopeState, id uint16, body []byte, h hdr) {
	// A held set costs its bytes and its bookkeeping.
	cost := len(body) + 64
	if d.o.MaxPendingBytesPerScope < 0 {
		d.st.DroppedPending++
		sc.droppedPending++
		return
	}
	if sc.pendingBytes+cost > d.o.MaxPendingBytesPerScope || d.pendingBytes+cost > d.o.MaxPendingBytes {
		d.st.DroppedPending++
		sc.droppedPending++
		d.fail(&Error{Reason: ReasonPendingFull, Scope: sc.scope, TemplateID: id, Offset: d.msgStart - 4})
		return
	}
	sc.pending = append(sc.pending, pendingSet{id: id, data: append([]byte(nil), body...), h: h})
	sc.pendingBytes += cost
	d.pendingBytes += cost
	d.st.Held++
}

// release decodes the held sets of a template that just arrived, oldest first.
func (d *Decoder) release(sc *scopeState, t *template) {
	if len(sc.pending) == 0 {
		return
	}
	keep := sc.pending[:0]
	for _, p := range sc.pending {
		if p.id != t.id {
			keep = append(keep, p)
			continue
		}
		sc.pendingBytes -= len(p.data) + 64
		d.pendingBytes -= len(p.data) + 64
		d.st.Released += d.records(sc, t, p.data, p.h, false)
	}
	clear(sc.pending[len(keep):])
	sc.pending = keep
}
