package compact

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Paths lists each row message with its schema path as written, its keys and fields.
func TestCompilePaths(t *testing.T) {
	sch := mustCompile(t, testFiles())
	got := sch.Paths()
	if len(got) != 3 {
		t.Fatalf("paths %+v", got)
	}
	want := SchemaPath{
		Path:    "RootOper.InfraStatistics.Interface.Latest.GenericCounters",
		Message: "ifstatsbag_generic",
		File:    "infrastatistics_generic.proto",
		Keys:    []string{"InterfaceName"},
		Fields:  []string{"PacketsReceived", "BytesReceived", "PacketsSent", "BytesSent", "InputDrops", "last_data_time"},
	}
	if !reflect.DeepEqual(got[1], want) {
		t.Errorf("generic counters:\n got  %+v\n want %+v", got[1], want)
	}
	bgp := got[0]
	if bgp.Message != "xr.bgp.bgp_nbr_bag" || !reflect.DeepEqual(bgp.Keys, []string{"InstanceName", "NeighborAddress"}) ||
		!slices.Contains(bgp.Fields, "AF/PrefixCounts/PrefixesDenied") || !slices.Contains(bgp.Fields, "HoldTimes") {
		t.Errorf("bgp: %+v", bgp)
	}
	if got[2].Path != "RootOper.MemorySummary.Node(*).Summary" || !slices.Contains(got[2].Fields, "RAMMemory") {
		t.Errorf("memory: %+v", got[2])
	}
	if files := sch.Files(); !reflect.DeepEqual(files, []string{"bgp_neighbor.proto", "infrastatistics_generic.proto", "memory_summary.proto"}) {
		t.Errorf("files %q", files)
	}
}

// A file with a syntax error is reported with its name, line and column; the good
// files still load and decode.
func TestCompileErrorNamesFileAndLine(t *testing.T) {
	files := testFiles()
	files["broken.proto"] = []byte(`syntax = "proto2";
import "cisco.proto";

message broken_bag {
  option (cisco_msg).schema_path = "RootOper.Broken";
  optional string name = 1
  optional uint64 value = 50;
}
`)
	sch, err := Compile(files)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want *CompileError", err)
	}
	if len(ce.Problems) == 0 || ce.Problems[0].File != "broken.proto" || ce.Problems[0].Line != 7 || ce.Problems[0].Col == 0 {
		t.Fatalf("problems %+v, want broken.proto line 7", ce.Problems)
	}
	if !strings.Contains(err.Error(), "broken.proto:7:") {
		t.Errorf("message %q does not name broken.proto:7", err)
	}
	if len(sch.Paths()) != 3 {
		t.Errorf("good files not loaded: %+v", sch.Paths())
	}
	msgs, _, derr := sch.Decode(header{tables: []table{{path: "RootOper.MemorySummary.Node.Summary", rows: []enc{enc(nil).varint(51, 9)}}}}.bytes())
	if derr != nil || len(msgs) != 1 || msgs[0].Rows[0].Content[0] != lu("RAMMemory", 9) {
		t.Errorf("decode with partial schema: %v %+v", derr, msgs)
	}
}

// Every problem of a compiler stage is reported at once (two unknown types), a missing
// import at its import line, and a file whose import is broken is named as such, since
// its own text is fine.
func TestCompileEveryProblem(t *testing.T) {
	files := map[string][]byte{
		"a.proto": []byte("syntax = \"proto2\";\nimport \"cisco.proto\";\nmessage a {\n  optional no_such_type x = 1;\n  optional other_missing y = 2;\n}\n"),
		"b.proto": []byte("syntax = \"proto2\";\nimport \"a.proto\";\nmessage b { optional uint32 z = 1; }\n"),
		"c.proto": []byte("syntax = \"proto2\";\nimport \"missing.proto\";\n"),
	}
	_, err := Compile(files)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v", err)
	}
	lines := map[string][]int{}
	for _, p := range ce.Problems {
		lines[p.File] = append(lines[p.File], p.Line)
	}
	if !reflect.DeepEqual(lines["a.proto"], []int{4, 5}) {
		t.Errorf("a.proto problems at lines %v, want 4 and 5: %+v", lines["a.proto"], ce.Problems)
	}
	if len(lines["b.proto"]) != 1 || len(lines["c.proto"]) != 1 || lines["c.proto"][0] != 2 {
		t.Errorf("b.proto/c.proto problems: %+v", ce.Problems)
	}
}

// Two files claiming one schema path: the first (by file name) wins, the second is a
// problem at its message's line.
func TestCompileDuplicatePath(t *testing.T) {
	files := testFiles()
	files["zz_copy.proto"] = []byte("import \"cisco.proto\";\n\nmessage copy_bag {\n  option (cisco_msg).schema_path = \"RootOper.MemorySummary.Node.Summary\";\n  optional uint64 ram = 50;\n}\n")
	sch, err := Compile(files)
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].File != "zz_copy.proto" || ce.Problems[0].Line != 3 {
		t.Fatalf("err %v", err)
	}
	for _, p := range sch.Paths() {
		if p.Message == "copy_bag" {
			t.Errorf("duplicate indexed: %+v", p)
		}
	}
}

// A user's own cisco.proto replaces the embedded one (for options this one lacks).
func TestCompileUserCiscoProto(t *testing.T) {
	files := map[string][]byte{
		"cisco.proto": []byte(`syntax = "proto2";
import "google/protobuf/descriptor.proto";
message CiscoMessageOptions { optional string schema_path = 1; }
message CiscoFieldOptions { optional string name = 1; optional string path_element = 2; optional bool extra = 3; }
message CiscoFileOptions { optional string bag = 1; }
extend google.protobuf.MessageOptions { optional CiscoMessageOptions cisco_msg = 29051; }
extend google.protobuf.FieldOptions { optional CiscoFieldOptions cisco_field = 29052; }
extend google.protobuf.FileOptions { optional CiscoFileOptions cisco_file = 29053; }
`),
		"x.proto": []byte(`syntax = "proto2";
import "cisco.proto";
option (cisco_file).bag = "x_bag";
message x_bag {
  option (cisco_msg).schema_path = "RootOper.X";
  optional uint64 v = 50 [(cisco_field).name = "V", (cisco_field).extra = true];
}
`),
	}
	sch := mustCompile(t, files)
	msgs, _, err := sch.Decode(header{tables: []table{{path: "RootOper.X", rows: []enc{enc(nil).varint(50, 3)}}}}.bytes())
	if err != nil || len(msgs) != 1 || msgs[0].Rows[0].Content[0] != lu("V", 3) {
		t.Fatalf("%v %+v", err, msgs)
	}
}

// LoadDir reads *.proto of one directory (not subdirectories, not other files).
func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	for name, b := range testFiles() {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a proto"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "bad.proto"), []byte("syntax error"), 0o600); err != nil {
		t.Fatal(err)
	}
	sch, err := LoadDir(dir)
	if err != nil || len(sch.Paths()) != 3 {
		t.Fatalf("LoadDir: %v, %+v", err, sch.Paths())
	}

	// A file over the size bound is a problem of its own; the others still load.
	if err := os.WriteFile(filepath.Join(dir, "huge.proto"), make([]byte, maxProtoFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	sch, err = LoadDir(dir)
	var ce *CompileError
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].File != "huge.proto" || len(sch.Paths()) != 3 {
		t.Fatalf("LoadDir with a huge file: %v, %+v", err, sch.Paths())
	}
	if _, err := LoadDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("missing directory: no error")
	}
}

func TestNormalizePath(t *testing.T) {
	for in, want := range map[string]string{
		"RootOper.InfraStatistics.Interface(*).Latest.GenericCounters":                               "RootOper.InfraStatistics.Interface.Latest.GenericCounters",
		"RootOper.InfraStatistics.Interface.Latest.GenericCounters":                                  "RootOper.InfraStatistics.Interface.Latest.GenericCounters",
		"RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])": "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor",
		"RootOper.InfraStatistics.Interface(*).Latest.Protocol(['IPV4_UNICAST'])":                    "RootOper.InfraStatistics.Interface.Latest.Protocol",
		"Foo.Destination(IPAddress=1.1.1.1, Port=2000)":                                              "Foo.Destination",
		"A.B(')').C":   "A.B.C",
		" RootOper.X ": "RootOper.X",
	} {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamingParam(t *testing.T) {
	cases := []struct{ elem, cisco, proto, want string }{
		{"RootOper.InfraStatistics.Interface(InterfaceName)", "", "interface_name", "InterfaceName"},
		{"RootOper.FIB.Destination(IPAddress, Port)", "", "port", "Port"},
		{"RootOper.FIB.Destination(IPAddress, Port)", "IPAddress", "ip", "IPAddress"},
		{"RootOper.FIB.Destination(IPAddress, Port)", "", "vrf", ""},
		{"RootOper.X.Y(*)", "", "y", ""},
		{"", "Name", "name", ""},
	}
	for _, c := range cases {
		if got := namingParam(c.elem, c.cisco, c.proto); got != c.want {
			t.Errorf("namingParam(%q, %q, %q) = %q, want %q", c.elem, c.cisco, c.proto, got, c.want)
		}
	}
}
