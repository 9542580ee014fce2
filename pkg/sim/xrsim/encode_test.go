package xrsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/xrpb"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// collection is one path's data from a router that has run for a minute.
func collection(t *testing.T, id string, gen Generation, interfaces int) *Collection {
	t.Helper()
	p := PathByID(id)
	if p == nil {
		t.Fatalf("no path %s", id)
	}
	m := newModel("pe1", 7, interfaces, 2, 4, t0)
	m.advance(t0.Add(time.Minute))
	return &Collection{Path: p, Policy: "NetlensDemo", Version: 25, Identifier: "pe1", Subscription: "Fast",
		CollectionID: 42, StartMs: t0.Add(time.Minute).UnixMilli(), EndMs: t0.Add(time.Minute).UnixMilli() + 3,
		Rows: m.rows(p, gen)}
}

func decodeJSON(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if d.More() {
		t.Fatal("data after the message")
	}
	return v
}

func walk(t *testing.T, v any, names ...string) any {
	t.Helper()
	for _, n := range names {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%q: not an object but %T", n, v)
		}
		if v, ok = m[n]; !ok {
			t.Fatalf("no member %q among %v", n, keysOf(m))
		}
	}
	return v
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestPDTJSON601(t *testing.T) {
	c := collection(t, "counters", GenPDT, 3)
	c.Rows[0].Values[1].U = 1<<53 + 1 // BytesReceived past float64's exact integers
	b, err := AppendPDTJSON(nil, c, JSON601)
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, b)
	for k, want := range map[string]string{"Policy": "NetlensDemo", "Version": "25", "Identifier": "pe1", "Path": c.Path.PDT} {
		if got := walk(t, v, k); got != want {
			t.Errorf("%s = %v, want %q", k, got, want)
		}
	}
	for k, want := range map[string]int64{"CollectionID": 42, "CollectionStartTime": c.StartMs, "CollectionEndTime": c.EndMs} {
		if got := walk(t, v, k); got != json.Number(strconv.FormatInt(want, 10)) {
			t.Errorf("%s = %v, want %d", k, got, want)
		}
	}
	// 6.0.1 puts the list's name above the naming values.
	for _, r := range c.Rows {
		gc := walk(t, v, "Data", "RootOper", "InfraStatistics", "Interface", r.Keys[0], "Latest", "GenericCounters").(map[string]any)
		if len(gc) != len(c.Path.Leaves)+1 {
			t.Fatalf("%d members", len(gc))
		}
		if gc["CollectionTime"] != json.Number(strconv.FormatInt(r.TimestampMs, 10)) {
			t.Errorf("CollectionTime %v", gc["CollectionTime"])
		}
		for i, l := range c.Path.Leaves {
			if gc[l.PDT] != json.Number(strconv.FormatUint(r.Values[i].U, 10)) {
				t.Errorf("%s %s = %v, want %d", r.Keys[0], l.PDT, gc[l.PDT], r.Values[i].U)
			}
		}
	}
	if !bytes.Contains(b, []byte(`"BytesReceived":9007199254740993`)) {
		t.Error("a counter past 2^53 is not written exactly")
	}
	// Members keep the schema's order: CollectionTime, then the leaves.
	if i, j := bytes.Index(b, []byte(`"PacketsReceived"`)), bytes.Index(b, []byte(`"BytesReceived"`)); i < 0 || j < i {
		t.Error("leaves out of order")
	}
}

func TestPDTJSON600(t *testing.T) {
	c := collection(t, "memory", GenPDT, 1)
	b, err := AppendPDTJSON(nil, c, JSON600)
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, b)
	for _, gone := range []string{"Path", "CollectionID", "CollectionStartTime", "CollectionEndTime"} {
		if _, ok := v[gone]; ok {
			t.Errorf("6.0.0 message has %s", gone)
		}
	}
	if walk(t, v, "Start Time") != json.Number(strconv.FormatInt(c.StartMs, 10)) || walk(t, v, "End Time") != json.Number(strconv.FormatInt(c.EndMs, 10)) {
		t.Errorf("times %v %v", v["Start Time"], v["End Time"])
	}
	if walk(t, v, "Version") != json.Number("25") {
		t.Errorf("6.0.0 Version is a number: %v", v["Version"])
	}
	// 6.0.0 puts the naming values straight below the list's parent.
	for _, r := range c.Rows {
		sum := walk(t, v, "Data", "RootOper", "MemorySummary", r.Keys[0], "Summary").(map[string]any)
		if sum["RAMMemory"] != json.Number(strconv.FormatUint(r.Values[1].U, 10)) {
			t.Errorf("%s RAMMemory %v", r.Keys[0], sum["RAMMemory"])
		}
	}
}

func TestPDTJSONBGPNeighborsAsInstances(t *testing.T) {
	c := collection(t, "bgp", GenPDT, 1)
	b, err := AppendPDTJSON(nil, c, JSON601)
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, b)
	nbrs := walk(t, v, "Data", "RootOper", "BGP", "Instance", "default", "InstanceActive", "DefaultVRF", "Neighbor").([]any)
	if len(nbrs) != len(c.Rows) {
		t.Fatalf("%d neighbours", len(nbrs))
	}
	for i, n := range nbrs {
		m := n.(map[string]any)
		if m["NeighborAddress"] != c.Rows[i].Keys[1] || m["ConnectionState"] != "BGP_ST_ESTAB" {
			t.Errorf("neighbour %d: %v", i, m)
		}
	}
	// The naming value is each instance's first member.
	if !bytes.Contains(b, []byte(`"Neighbor":[{"NeighborAddress":`)) {
		t.Errorf("%s", b)
	}
}

func TestJSONStringsAreASCII(t *testing.T) {
	got := appendJSONString(nil, "a\"b\\c\n\x01é😀")
	if want := `"a\"b\\c\n\u0001\u00e9\ud83d\ude00"`; string(got) != want {
		t.Fatalf("%s, want %s", got, want)
	}
	var s string
	if err := json.Unmarshal(got, &s); err != nil || s != "a\"b\\c\n\x01é😀" {
		t.Fatalf("%q %v", s, err)
	}
}

// kvField is a TelemetryField read back with protowire, by the field
// numbers of protocols.md 1.3, not by any decoder of ours.
type kvField struct {
	ts   uint64
	name string
	tag  protowire.Number // the value's field number (0: none)
	u    uint64
	s    string
	kids []kvField
}

func parseKV(t *testing.T, b []byte) kvField {
	t.Helper()
	var f kvField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			b = b[n:]
			if num == 1 {
				f.ts = v
			} else {
				f.tag, f.u = num, v
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				t.Fatal(protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case 2:
				f.name = string(v)
			case 15:
				f.kids = append(f.kids, parseKV(t, v))
			default:
				f.tag, f.s = num, string(v)
			}
		default:
			t.Fatalf("wire type %d", typ)
		}
	}
	return f
}

func (f kvField) child(t *testing.T, name string) kvField {
	t.Helper()
	for _, k := range f.kids {
		if k.name == name {
			return k
		}
	}
	t.Fatalf("%q has no field %q", f.name, name)
	return kvField{}
}

func TestPDTKV(t *testing.T) {
	c := collection(t, "counters", GenPDT, 2)
	b, err := AppendPDTKV(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	top := kvField{name: "(message)"}
	header := map[protowire.Number]any{}
	for rest := b; len(rest) > 0; {
		num, typ, n := protowire.ConsumeTag(rest)
		rest = rest[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(rest)
			rest = rest[n:]
			header[num] = v
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(rest)
			rest = rest[n:]
			if num == 14 {
				top.kids = append(top.kids, parseKV(t, v))
			} else {
				header[num] = string(v)
			}
		default:
			t.Fatalf("wire type %d", typ)
		}
	}
	want := map[protowire.Number]any{1: uint64(42), 2: c.Path.PDT, 3: "Fast", 4: ModelVersion,
		5: uint64(c.StartMs), 6: uint64(c.EndMs), 15: uint64(c.EndMs)}
	for k, v := range want {
		if header[k] != v {
			t.Errorf("Telemetry field %d = %v, want %v", k, header[k], v)
		}
	}
	list := top.child(t, "RootOper").child(t, "InfraStatistics").child(t, "Interface")
	if len(list.kids) != len(c.Rows) {
		t.Fatalf("%d interfaces", len(list.kids))
	}
	for ri, r := range c.Rows {
		inst := list.child(t, r.Keys[0])
		if inst.ts != uint64(r.TimestampMs) {
			t.Errorf("row timestamp %d", inst.ts)
		}
		gc := inst.child(t, "Latest").child(t, "GenericCounters")
		for i, l := range c.Path.Leaves {
			f := gc.child(t, l.PDT)
			wantTag := protowire.Number(8) // uint64_value
			if l.Type == TypeUint32 {
				wantTag = 7
			}
			if f.tag != wantTag || f.u != r.Values[i].U {
				t.Errorf("row %d %s: field %d value %d, want %d %d", ri, l.PDT, f.tag, f.u, wantTag, r.Values[i].U)
			}
		}
	}
	// Strings and booleans take their own oneof members.
	c = collection(t, "interfaces", GenPDT, 1)
	b, _ = AppendPDTKV(nil, c)
	if !bytes.Contains(b, append(appendString(nil, 2, "State"), appendString(nil, 5, "IM_STATE_UP")...)) {
		t.Error("State is not a string_value")
	}
	if !bytes.Contains(b, append(appendString(nil, 2, "IsL2Looped"), 6<<3, 0)) {
		t.Error("IsL2Looped is not a bool_value")
	}
}

// telemetryProto is TelemetryHeader/TelemetryTable as protocols.md 1.3
// gives them, for protoc to read the simulator's envelopes with.
const telemetryProto = `syntax = "proto2";
message TelemetryHeader {
  optional uint32 encoding = 1;
  optional string policy_name = 2;
  optional string version = 3;
  optional string identifier = 4;
  optional uint64 start_time = 5;
  optional uint64 end_time = 6;
  repeated TelemetryTable tables = 7;
}
message TelemetryTable {
  optional string policy_path = 1;
  repeated bytes  row = 2;
}
`

func protocDecode(t *testing.T, includes []string, file, msg string, in []byte) string {
	t.Helper()
	args := []string{"-I", "/usr/include"}
	for _, i := range includes {
		args = append(args, "-I", i)
	}
	args = append(args, "--decode="+msg, file)
	cmd := exec.Command("protoc", args...)
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("protoc %v: %v\n%s", args, err, stderr.String())
	}
	return out.String()
}

// rowsOf reads a TelemetryHeader's tables with protowire.
func rowsOf(t *testing.T, b []byte) (encoding uint64, paths []string, rows [][]byte) {
	t.Helper()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		if typ == protowire.VarintType {
			v, n := protowire.ConsumeVarint(b)
			b = b[n:]
			if num == 1 {
				encoding = v
			}
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			t.Fatal(protowire.ParseError(n))
		}
		b = b[n:]
		if num != 7 {
			continue
		}
		for len(v) > 0 {
			num, _, n := protowire.ConsumeTag(v)
			v = v[n:]
			w, n := protowire.ConsumeBytes(v)
			v = v[n:]
			if num == 1 {
				paths = append(paths, string(w))
			} else {
				rows = append(rows, w)
			}
		}
	}
	return
}

// Compact rows checked by protoc with the provisioning .proto files: keys
// at tags below 50, data from 50, every value as the row has it.
func TestCompactRowsDecodeWithProtoc(t *testing.T) {
	protos := filepath.Join(provisioningDir, "protos")
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "telemetry.proto"), []byte(telemetryProto), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range Paths {
		c := collection(t, p.ID, GenPDT, 2)
		msgs, counts, err := CompactMessages(c, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || counts[0] != len(c.Rows) {
			t.Fatalf("%s: %d messages %v", p.ID, len(msgs), counts)
		}
		if !bytes.HasPrefix(msgs[0], []byte{0x08, 0xa1, 0x86, 0x95, 0xbb, 0x08}) {
			t.Fatalf("%s: starts % x, not the encoding word", p.ID, msgs[0][:6])
		}
		hdr := protocDecode(t, []string{tmp}, "telemetry.proto", "TelemetryHeader", msgs[0])
		for _, line := range []string{"encoding: 2271560481", `policy_name: "NetlensDemo"`, `version: "25"`, `identifier: "pe1"`,
			fmt.Sprintf("start_time: %d", c.StartMs), fmt.Sprintf("end_time: %d", c.EndMs), fmt.Sprintf("policy_path: %q", p.Schema)} {
			if !strings.Contains(hdr, line+"\n") {
				t.Errorf("%s: header lacks %s:\n%s", p.ID, line, hdr)
			}
		}
		enc, paths, rows := rowsOf(t, msgs[0])
		if enc != CompactEncoding || len(paths) != 1 || len(rows) != len(c.Rows) {
			t.Fatalf("%s: encoding %x, paths %v, %d rows", p.ID, enc, paths, len(rows))
		}
		for ri, row := range rows {
			var want strings.Builder
			for i, k := range p.Keys {
				fmt.Fprintf(&want, "%s: %q\n", k.Proto, c.Rows[ri].Keys[i])
			}
			for i, l := range p.Leaves {
				v := c.Rows[ri].Values[i]
				switch l.Type {
				case TypeString:
					fmt.Fprintf(&want, "%s: %q\n", l.Proto, v.S)
				case TypeBool:
					fmt.Fprintf(&want, "%s: %t\n", l.Proto, v.B)
				default:
					fmt.Fprintf(&want, "%s: %d\n", l.Proto, v.U)
				}
			}
			if got := protocDecode(t, []string{protos}, p.ProtoFile, p.ProtoMsg, row); got != want.String() {
				t.Errorf("%s row %d:\n%s\nwant\n%s", p.ID, ri, got, want.String())
			}
		}
	}
}

// Over UDP a collection is split into datagrams of whole rows, each a
// complete TelemetryHeader within the size.
func TestCompactSplitsIntoDatagrams(t *testing.T) {
	c := collection(t, "counters", GenPDT, 100)
	msgs, counts, err := CompactMessages(c, 1400)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var keys []string
	for i, m := range msgs {
		if len(m) > 1400 {
			t.Errorf("datagram %d: %d bytes", i, len(m))
		}
		enc, paths, rows := rowsOf(t, m)
		if enc != CompactEncoding || len(paths) != 1 || paths[0] != c.Path.Schema || len(rows) != counts[i] || counts[i] == 0 {
			t.Fatalf("datagram %d: %x %v %d rows, counted %d", i, enc, paths, len(rows), counts[i])
		}
		for _, r := range rows {
			_, _, n := protowire.ConsumeTag(r)
			k, _ := protowire.ConsumeString(r[n:])
			keys = append(keys, k)
		}
		total += counts[i]
	}
	if len(msgs) < 5 || total != len(c.Rows) {
		t.Fatalf("%d datagrams for %d of %d rows", len(msgs), total, len(c.Rows))
	}
	for i, r := range c.Rows {
		if keys[i] != r.Keys[0] {
			t.Fatalf("row %d is %s, want %s", i, keys[i], r.Keys[0])
		}
	}
	if _, _, err := CompactMessages(c, 100); !errors.Is(err, ErrRowTooLarge) {
		t.Fatalf("a row larger than the datagram: %v", err)
	}
}

// MDT key-value GPB read back with the generated telemetry.proto code.
func TestMDTKVWithGeneratedCode(t *testing.T) {
	for _, p := range Paths {
		c := collection(t, p.ID, GenMDT, 2)
		b, err := AppendMDTKV(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		var m xrpb.Telemetry
		if err := proto.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.GetNodeIdStr() != "pe1" || m.GetSubscriptionIdStr() != "Fast" || m.GetEncodingPath() != p.MDT || m.GetCollectionId() != 42 ||
			m.GetCollectionStartTime() != uint64(c.StartMs) || m.GetMsgTimestamp() != uint64(c.StartMs) || m.GetCollectionEndTime() != uint64(c.EndMs) {
			t.Fatalf("header %v", &m)
		}
		if len(m.GetDataGpbkv()) != len(c.Rows) {
			t.Fatalf("%s: %d rows", p.ID, len(m.GetDataGpbkv()))
		}
		for ri, row := range m.GetDataGpbkv() {
			r := c.Rows[ri]
			if row.GetName() != "" || row.GetTimestamp() != uint64(r.TimestampMs) || len(row.GetFields()) != 2 ||
				row.GetFields()[0].GetName() != "keys" || row.GetFields()[1].GetName() != "content" {
				t.Fatalf("%s row %d: %v", p.ID, ri, row)
			}
			for i, k := range row.GetFields()[0].GetFields() {
				if k.GetName() != p.Keys[i].MDT || k.GetStringValue() != r.Keys[i] {
					t.Errorf("%s key %d: %v", p.ID, i, k)
				}
			}
			content := row.GetFields()[1].GetFields()
			if len(content) != len(p.Leaves) {
				t.Fatalf("%s: %d leaves", p.ID, len(content))
			}
			for i, f := range content {
				l, v := p.Leaves[i], r.Values[i]
				ok := f.GetName() == l.MDT
				switch l.Type {
				case TypeString:
					ok = ok && f.GetStringValue() == v.S
				case TypeBool:
					_, isBool := f.GetValueByType().(*xrpb.TelemetryField_BoolValue)
					ok = ok && isBool && f.GetBoolValue() == v.B
				case TypeUint32:
					ok = ok && uint64(f.GetUint32Value()) == v.U
				default:
					ok = ok && f.GetUint64Value() == v.U
				}
				if !ok {
					t.Errorf("%s row %d leaf %s: %v, want %+v", p.ID, ri, l.MDT, f, v)
				}
			}
		}
	}
}

// MDT JSON as the real IOS XR 24.4 capture has it (protocols.md 1.8).
func TestMDTJSON(t *testing.T) {
	c := collection(t, "counters", GenMDT, 2)
	c.Rows[1].Values[1].U = 1<<64 - 1
	b, err := AppendMDTJSON(nil, c)
	if err != nil {
		t.Fatal(err)
	}
	v := decodeJSON(t, b)
	for k, want := range map[string]string{"node_id_str": "pe1", "subscription_id_str": "Fast", "encoding_path": c.Path.MDT,
		"collection_id": "42", "collection_start_time": strconv.FormatInt(c.StartMs, 10), "msg_timestamp": strconv.FormatInt(c.StartMs, 10),
		"collection_end_time": strconv.FormatInt(c.EndMs, 10)} {
		if v[k] != want {
			t.Errorf("%s = %#v, want %q (uint64 header fields are strings)", k, v[k], want)
		}
	}
	rows := v["data_json"].([]any)
	if len(rows) != len(c.Rows) {
		t.Fatalf("%d rows", len(rows))
	}
	for ri, rv := range rows {
		row := rv.(map[string]any)
		if row["timestamp"] != strconv.FormatInt(c.Rows[ri].TimestampMs, 10) {
			t.Errorf("row timestamp %#v", row["timestamp"])
		}
		keys := row["keys"].([]any)
		if len(keys) != 1 || keys[0].(map[string]any)["interface-name"] != c.Rows[ri].Keys[0] {
			t.Errorf("keys %v", keys)
		}
		content := row["content"].(map[string]any)
		for i, l := range c.Path.Leaves {
			if content[l.MDT] != json.Number(strconv.FormatUint(c.Rows[ri].Values[i].U, 10)) {
				t.Errorf("%s = %v", l.MDT, content[l.MDT])
			}
		}
	}
	if !bytes.Contains(b, []byte(`"bytes-received":18446744073709551615`)) {
		t.Error("2^64-1 not written exactly")
	}
}
