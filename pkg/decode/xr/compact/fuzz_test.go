package compact

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// checkDecoded holds for every input: either messages (and missing paths) or an *Error
// with a known Reason, never both, never a panic; every leaf has a name.
func checkDecoded(t *testing.T, sch *Schema, in []byte) {
	msgs, missing, err := sch.Decode(in)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		known := false
		for _, r := range Reasons {
			known = known || r == e.Reason
		}
		if !known || msgs != nil || missing != nil {
			t.Fatalf("reason %q with %d msgs, missing %q", e.Reason, len(msgs), missing)
		}
		return
	}
	leaves := 0
	for _, m := range msgs {
		for _, r := range m.Rows {
			if len(r.Keys)+len(r.Content) == 0 {
				t.Fatalf("row with no leaves in %+v", m)
			}
			for _, l := range append(r.Keys, r.Content...) {
				if l.Name == "" {
					t.Fatalf("leaf without name in %+v", r)
				}
			}
			leaves += len(r.Keys) + len(r.Content)
		}
	}
	if leaves > DefaultLimits.MaxLeaves {
		t.Fatalf("%d leaves past the limit", leaves)
	}
}

func fuzzSeeds() [][]byte {
	return [][]byte{
		header{policy: "P", identifier: "r", end: 5, tables: []table{
			{path: "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters", rows: []enc{enc(nil).str(1, "Gi0").varint(50, 1).varint(51, 1<<63)}},
			{path: "RootOper.MemorySummary.Node(*).Summary", rows: []enc{enc(nil).str(1, "0/RP0/CPU0").varint(51, 1)}},
			{path: "RootOper.Unknown", rows: []enc{enc(nil).varint(50, 1)}},
		}}.bytes(),
		header{tables: []table{{path: "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor", rows: []enc{
			enc(nil).str(1, "default").varint(50, 6).bytes(54, enc(nil).str(1, "IPv4").bytes(2, enc(nil).varint(1, 3))).
				bytes(55, []byte{1, 2, 3}).fixed64(58, 1).fixed32(59, 0x3fc00000),
		}}}}.bytes(),
		{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08},
		{},
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	sch := mustCompile(f, testFiles())
	f.Fuzz(func(t *testing.T, in []byte) {
		checkDecoded(t, sch, in)
		checkDecoded(t, nil, in)
	})
}

// FuzzCompile: any text compiles to a Schema or a *CompileError (with the good files'
// Schema), never a panic; what compiles decodes its own seeds safely.
func FuzzCompile(f *testing.F) {
	f.Add(memoryProto)
	f.Add(genericProto)
	f.Add("syntax = \"proto2\";\nmessage m { optional uint32 x = 1\n}")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1<<14 {
			return
		}
		sch, err := Compile(map[string][]byte{"fuzz.proto": []byte(text)})
		if sch == nil {
			t.Fatalf("nil schema, err %v", err)
		}
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) || len(ce.Problems) == 0 {
				t.Fatalf("error %T %v", err, err)
			}
		}
		for _, s := range fuzzSeeds() {
			checkDecoded(t, sch, s)
		}
	})
}

// FuzzDecodeRow mutates one row of the BGP neighbour bag (nesting, repetition, every
// scalar type) inside a valid header, and holds the walk to protobuf's own parser: a
// row the walk accepts, dynamicpb accepts; a row the walk finds malformed (bad_row),
// dynamicpb rejects too.
func FuzzDecodeRow(f *testing.F) {
	const path = "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor"
	f.Add([]byte(enc(nil).str(1, "default").str(2, "192.0.2.1").varint(50, 6).
		bytes(54, enc(nil).str(1, "IPv4").bytes(2, enc(nil).varint(1, 3).varint(2, 4))).
		bytes(55, []byte{1, 2, 3}).bytes(56, []byte{1}).fixed32(57, 1).fixed64(58, 1).fixed32(59, 0x3fc00000).
		varint(60, 1).varint(61, 1).varint(62, 1).fixed64(63, 1).fixed32(64, 1)))
	f.Add([]byte{0x0a, 0x01, 'x', 0xb2, 0x03, 0x02, 0x12, 0x00})
	sch := mustCompile(f, testFiles())
	md := sch.byPath[normalizePath(path)].md
	f.Fuzz(func(t *testing.T, row []byte) {
		in := header{tables: []table{{path: path, rows: []enc{row}}}}.bytes()
		checkDecoded(t, sch, in)
		_, _, err := sch.Decode(in)
		ref := proto.Unmarshal(row, dynamicpb.NewMessage(md))
		var e *Error
		switch {
		case err == nil && ref != nil:
			t.Fatalf("walk accepts a row dynamicpb rejects: %v", ref)
		case errors.As(err, &e) && e.Reason == ReasonBadRow && ref == nil:
			t.Fatalf("walk rejects a row dynamicpb accepts: %v", err)
		}
	})
}
