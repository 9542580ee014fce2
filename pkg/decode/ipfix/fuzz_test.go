package ipfix

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"unsafe"
)

var fuzzFrom = netip.MustParseAddrPort("198.51.100.1:4739")

// corpus is every message of the real captures, and hand-made ones for
// NetFlow v9 and RFC 6313 lists, which the captures lack.
func corpus(tb testing.TB) [][]byte {
	var out [][]byte
	files, err := filepath.Glob(filepath.Join(testdata, "*.pcap"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("captures: %v", err)
	}
	for _, f := range files {
		for _, d := range datagrams(tb, filepath.Base(f)) {
			out = append(out, d.Payload)
		}
	}
	out = append(out, fileMessages(tb, "ipfixcol2-example_flows.ipfix")[:4]...)
	vl := func(b []byte) []byte { return cat(u8(255), u16(uint16(len(b))), b) }
	out = append(out,
		synthetic30(1, 0),
		v9(7, 1, 1000, 1700000000, 2,
			set(0, tmpl(260, fspec(0, 8, 4), fspec(0, 1, 4), fspec(0, 48, 1))),
			set(1, cat(u16(261), u16(4), u16(8), u16(1), u16(4), u16(48), u16(1), u16(50), u16(4))),
			set(261, cat(u32(0), u8(1), u32(100))), set(260, cat(u32(1), u32(2), u8(1)))),
		v10(2, 0, 0,
			set(2, tmpl(500, fspec(0, 8, 4)), tmpl(501, fspec(0, 291, varLen), fspec(0, 292, varLen), fspec(0, 293, varLen))),
			set(501, cat(vl(cat(u8(3), u16(7), u16(2), u16(80))), vl(cat(u8(3), u16(500), u32(1))), vl(cat(u8(3), u16(500), u16(8), u32(2)))))),
		v10(3, 0, 0, set(3, optTmpl(600, 1, fspec(0, 95, 4), fspec(0, 96, varLen))), set(600, cat(u32(1), u8(1), []byte("a")))),
	)
	return out
}

// Run with: go test ./pkg/decode/ipfix -run '^$' -fuzz FuzzDecode -fuzztime 60s -fuzzminimizetime 10x
// (each run restores the corpus's templates, which makes the default
// minimisation of new inputs slow).
//
// FuzzDecode checks that no input panics, that every error is an *Error
// with a reason and is counted, that every field handed over lies inside
// the message (when nothing is held), and that a snapshot survives JSON.
// The decoder starts each run knowing the corpus's templates, so mutated
// data sets reach the record decoding.
func FuzzDecode(f *testing.F) {
	seeds := corpus(f)
	base := New(Options{})
	for _, s := range seeds {
		f.Add(s)
		base.Decode(s, fuzzFrom, UDP, 0, nil)
	}
	known := base.Snapshot()
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, hold := range []bool{false, true} {
			o := Options{MaxTemplatesPerScope: 64, MaxFieldsPerTemplate: 128, MaxListDepth: 3, MaxPendingBytesPerScope: 4096, MaxScopes: 8}
			if !hold {
				o.MaxPendingBytesPerScope = -1
			}
			d := New(o)
			d.Restore(known)
			h := &fuzzCheck{t: t, msg: msg, inside: !hold}
			learnt := 0
			for i, tr := range []Transport{UDP, TCP, File} {
				st, err := d.Decode(msg, fuzzFrom, tr, int64(i), h)
				learnt += st.Templates
				var e *Error
				switch {
				case err != nil && (!errors.As(err, &e) || e.Reason == "" || st.Malformed == 0):
					t.Fatalf("error %v with stats %+v", err, st)
				case err == nil && st.Malformed != 0:
					t.Fatalf("malformed %d without an error", st.Malformed)
				case st.Released > st.Records+st.OptionsRecords:
					t.Fatalf("stats %+v", st)
				}
			}
			if err := d.checkTotals(); err != nil {
				t.Fatal(err)
			}
			for _, s := range d.Scopes() {
				if s.HeldBytes < 0 || (s.HeldSets == 0) != (s.HeldBytes == 0) || s.HeldBytes > 4096 {
					t.Fatalf("pending accounting %+v", s)
				}
			}
			if learnt > 0 {
				// What the message taught must survive a restart.
				b, err := json.Marshal(d.Snapshot())
				if err != nil {
					t.Fatal(err)
				}
				var st State
				if err := json.Unmarshal(b, &st); err != nil {
					t.Fatal(err)
				}
				if err := New(o).Restore(st); err != nil {
					t.Fatalf("restore of a snapshot: %v", err)
				}
			}
			d.Expire(1 << 40)
		}
	})
}

type fuzzCheck struct {
	t      *testing.T
	msg    []byte
	inside bool
}

func (c *fuzzCheck) Record(r *Record)  { c.check(r) }
func (c *fuzzCheck) Options(r *Record) { c.check(r) }

func (c *fuzzCheck) check(r *Record) {
	if r.ScopeFields > len(r.Fields) || r.SamplingRate == 0 {
		c.t.Fatalf("record scope fields %d of %d, rate %d", r.ScopeFields, len(r.Fields), r.SamplingRate)
	}
	for _, f := range r.Fields {
		if f.Elem == nil {
			c.t.Fatal("field without element")
		}
		if c.inside && !within(f.Value, c.msg) {
			c.t.Fatalf("field %s outside the message", f.Elem.Name)
		}
		_ = f.String()
		_ = f.TimeMs(r.ExportTimeSec, r.SystemInitMs)
		_ = f.Float()
		switch listOf(*f.Elem) {
		case basicList:
			if l, err := r.BasicList(f); err == nil {
				for e, ok := l.Next(); ok; e, ok = l.Next() {
					if !within(e.Value, f.Value) {
						c.t.Fatal("basicList element outside its list")
					}
				}
			}
		case subTemplateList:
			if l, err := r.SubTemplateList(f); err == nil {
				for l.Next() {
					for _, e := range l.Fields() {
						if !within(e.Value, f.Value) {
							c.t.Fatal("subTemplateList field outside its list")
						}
					}
				}
			}
		case subTemplateMultiList:
			if l, err := r.SubTemplateMultiList(f); err == nil {
				for l.Next() {
					for _, e := range l.Fields() {
						if !within(e.Value, f.Value) {
							c.t.Fatal("subTemplateMultiList field outside its list")
						}
					}
				}
			}
		}
	}
}

// within says whether v lies inside b's memory.
func within(v, b []byte) bool {
	if len(v) == 0 {
		return true
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= s && p+uintptr(len(v)) <= s+uintptr(len(b))
}

// checkTotals verifies the decoder-wide counts behind MaxTemplates and
// MaxPendingBytes against the scopes.
func (d *Decoder) checkTotals() error {
	templates, pending := 0, 0
	for _, sc := range d.scopes {
		templates += len(sc.templates)
		pending += sc.pendingBytes
	}
	if templates != d.templates || pending != d.pendingBytes {
		return fmt.Errorf("totals: %d templates and %d pending bytes counted, scopes have %d and %d", d.templates, d.pendingBytes, templates, pending)
	}
	return nil
}
