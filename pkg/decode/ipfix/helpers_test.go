package ipfix

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/netlens/netlens/pkg/pcap"
)

// testdata holds real exporter captures, copied from the shared reference
// folder (its README says where each comes from).
const testdata = "testdata"

// got is a record copied out of the Handler call.
type got struct {
	options      bool
	scope        Scope
	version      uint16
	templateID   uint16
	sequence     uint32
	exportSec    uint32
	scopeFields  int
	rate         uint64
	application  string
	receivedMs   int64
	systemInitMs int64
	fields       []gotField
}

type gotField struct {
	pen   uint32
	id    uint16
	name  string
	value []byte
}

// field returns the n-th (0-based) field with element (pen, id).
func (g got) field(pen uint32, id uint16, n int) (gotField, bool) {
	for _, f := range g.fields {
		if f.pen == pen && f.id == id {
			if n == 0 {
				return f, true
			}
			n--
		}
	}
	return gotField{}, false
}

func (g got) uint(t *testing.T, id uint16) uint64 {
	t.Helper()
	f, ok := g.field(0, id, 0)
	if !ok {
		t.Fatalf("template %d record has no element %d", g.templateID, id)
	}
	return Field{Value: f.value}.Uint()
}

func (g got) addr(t *testing.T, id uint16) netip.Addr {
	t.Helper()
	f, ok := g.field(0, id, 0)
	if !ok {
		t.Fatalf("template %d record has no element %d", g.templateID, id)
	}
	return Field{Value: f.value}.Addr()
}

// collect keeps copies of everything a Decoder hands over.
type collect struct{ recs []got }

func (c *collect) keep(r *Record, options bool) {
	g := got{
		options: options, scope: r.Scope, version: r.Version, templateID: r.TemplateID, sequence: r.Sequence,
		exportSec: r.ExportTimeSec, scopeFields: r.ScopeFields, rate: r.SamplingRate, application: r.Application,
		receivedMs: r.ReceivedMs, systemInitMs: r.SystemInitMs,
	}
	for _, f := range r.Fields {
		g.fields = append(g.fields, gotField{pen: f.Elem.PEN, id: f.Elem.ID, name: f.Elem.Name, value: append([]byte(nil), f.Value...)})
	}
	c.recs = append(c.recs, g)
}

func (c *collect) Record(r *Record)  { c.keep(r, false) }
func (c *collect) Options(r *Record) { c.keep(r, true) }

func (c *collect) data() []got {
	var out []got
	for _, g := range c.recs {
		if !g.options {
			out = append(out, g)
		}
	}
	return out
}

func (c *collect) opts() []got {
	var out []got
	for _, g := range c.recs {
		if g.options {
			out = append(out, g)
		}
	}
	return out
}

// datagrams reads the IPFIX datagrams of a capture (BGP and other
// packets in it are left out by port).
func datagrams(t testing.TB, name string) []pcap.Datagram {
	t.Helper()
	ds, err := pcap.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	var out []pcap.Datagram
	for _, d := range ds {
		if len(d.Payload) >= 2 && binary.BigEndian.Uint16(d.Payload) == 10 {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no IPFIX datagrams", name)
	}
	return out
}

// fileMessages splits an IPFIX file (RFC 5655: messages back to back) by
// the length in each message header.
func fileMessages(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 16 {
			t.Fatalf("%s: %d trailing bytes", name, len(b))
		}
		n := int(binary.BigEndian.Uint16(b[2:]))
		if n < 16 || n > len(b) {
			t.Fatalf("%s: bad message length %d", name, n)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// Message builders for hand-made cases.

func u8(v uint8) []byte   { return []byte{v} }
func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func cat(p ...[]byte) []byte {
	var out []byte
	for _, b := range p {
		out = append(out, b...)
	}
	return out
}

// v10 builds an IPFIX message.
func v10(odid, seq, exportSec uint32, sets ...[]byte) []byte {
	body := cat(sets...)
	return cat(u16(10), u16(uint16(16+len(body))), u32(exportSec), u32(seq), u32(odid), body)
}

// v9 builds a NetFlow v9 packet; count is what the header claims.
func v9(sourceID, seq, sysUpMs, exportSec uint32, count uint16, flowsets ...[]byte) []byte {
	return cat(u16(9), u16(count), u32(sysUpMs), u32(exportSec), u32(seq), u32(sourceID), cat(flowsets...))
}

// set builds a set (or flowset) from its records.
func set(id uint16, recs ...[]byte) []byte {
	body := cat(recs...)
	return cat(u16(id), u16(uint16(4+len(body))), body)
}

// spec encodes a field specifier; an enterprise one when pen != 0.
func fspec(pen uint32, id, length uint16) []byte {
	if pen == 0 {
		return cat(u16(id), u16(length))
	}
	return cat(u16(id|0x8000), u16(length), u32(pen))
}

func tmpl(id uint16, specs ...[]byte) []byte {
	return cat(u16(id), u16(uint16(len(specs))), cat(specs...))
}

func optTmpl(id uint16, scopeCount uint16, specs ...[]byte) []byte {
	return cat(u16(id), u16(uint16(len(specs))), u16(scopeCount), cat(specs...))
}

var (
	exporter  = netip.MustParseAddrPort("192.0.2.7:50000")
	exporter2 = netip.MustParseAddrPort("192.0.2.8:50000")
)

// decodeAll decodes messages in order and fails on any error.
func decodeAll(t *testing.T, d *Decoder, from netip.AddrPort, tr Transport, msgs ...[]byte) (*collect, MessageStats) {
	t.Helper()
	c := &collect{}
	var total MessageStats
	for i, m := range msgs {
		st, err := d.Decode(m, from, tr, int64(1000+i), c)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		total = addStats(total, st)
	}
	return c, total
}

func addStats(a, b MessageStats) MessageStats {
	a.Records += b.Records
	a.OptionsRecords += b.OptionsRecords
	a.Templates += b.Templates
	a.Withdrawals += b.Withdrawals
	a.Held += b.Held
	a.Released += b.Released
	a.DroppedPending += b.DroppedPending
	a.Malformed += b.Malformed
	a.LostRecords += b.LostRecords
	a.LostPackets += b.LostPackets
	return a
}
