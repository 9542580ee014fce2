package mdt

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/pcap"
)

// captureMessages reassembles the pmacct IOS XR 24.4 capture and frames it
// the way a receiver will: the stream fed to a wire.Conn in reads of one
// TCP segment's size, every frame an MDT JSON data message.
func captureMessages(t testing.TB) [][]byte {
	t.Helper()
	streams, _, err := pcap.ReadTCPFile("testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Missing {
		t.Fatalf("want one complete stream, got %d", len(streams))
	}
	c := wire.NewConn(0)
	defer c.Close()
	var msgs [][]byte
	for data := streams[0].Data; len(data) > 0; {
		n := min(1428, len(data))
		err := c.Feed(data[:n], func(f wire.Frame) error {
			if f.Gen != wire.GenMDT || f.Kind != wire.KindData || f.Encoding != wire.EncodingJSON || f.Flags != 0 || f.Compressed {
				t.Fatalf("frame %+v", f)
			}
			msgs = append(msgs, bytes.Clone(f.Payload))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	return msgs
}

// The expected figures come from an independent reading of the same capture
// (a Python script: own pcap/TCP parsing, json.loads, which keeps integers
// exact), not from this decoder.
func TestJSONRealCapture(t *testing.T) {
	msgs := captureMessages(t)
	if len(msgs) != 44 {
		t.Fatalf("%d messages, want 44", len(msgs))
	}
	largest := 0
	rowsPerPath := map[string]int{}
	d := NewDecoder(Limits{})
	var ends []uint64
	leaves := 0
	for i, b := range msgs {
		largest = max(largest, len(b))
		m, err := d.DecodeJSON(b)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.Node != "ipf-zbl1327-r-daisy-90" || m.Subscription != "taarole8" || m.Encoding != xr.EncodingJSON {
			t.Errorf("message %d header %q %q %v", i, m.Node, m.Subscription, m.Encoding)
		}
		rowsPerPath[m.Path] += len(m.Rows)
		if len(m.Rows) == 0 {
			ends = append(ends, m.CollectionID)
		}
		for _, r := range m.Rows {
			leaves += len(r.Keys) + len(r.Content)
			if r.TimestampMs < 1728034870000 || r.TimestampMs > 1728034900000 {
				t.Errorf("message %d row timestamp %d", i, r.TimestampMs)
			}
		}
		switch m.Path {
		case "Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary":
			r := m.Rows[0]
			// uint64 leaves arrive as strings; numbers that fit come as numbers.
			if k := r.Keys; len(k) != 1 || k[0] != (xr.Leaf{Name: "node-name", Kind: xr.LeafString, S: "0/RP0/CPU0"}) {
				t.Errorf("memory-summary keys %+v", k)
			}
			if l := find(r.Content, "ram-memory"); l != (xr.Leaf{Name: "ram-memory", Kind: xr.LeafUint, U: 28153942016, S: "28153942016"}) {
				t.Errorf("ram-memory %+v", l)
			}
			if l := find(r.Content, "free-physical-memory"); l.U != 22180818944 {
				t.Errorf("free-physical-memory %+v", l)
			}
			if l := find(r.Content, "page-size"); l != (xr.Leaf{Name: "page-size", Kind: xr.LeafUint, U: 4096}) {
				t.Errorf("page-size %+v", l)
			}
		case "openconfig-platform:components":
			if i == 0 {
				r := m.Rows[0]
				if len(r.Keys) != 0 || r.TimestampMs != 1728034880218 || m.CollectionID != 915312 || m.MsgTimestampMs != 1728034880223 {
					t.Errorf("first row %+v of %+v", r, m)
				}
				if l := find(r.Content, "component/openconfig-platform-linecard:linecard/state/slot-id"); l.S != "0/0" || l.Kind != xr.LeafString {
					t.Errorf("slot-id %+v", l)
				}
			}
		}
	}
	if largest != 628574 {
		t.Errorf("largest message %d bytes, want 628574", largest)
	}
	want := map[string]int{
		"openconfig-platform:components":                                                                 1304,
		"openconfig-interfaces:interfaces":                                                               386,
		"Cisco-IOS-XR-mpls-lsd-oper:mpls-lsd/label-range":                                                1,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/altitude/location/alt_attributes":        1,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/power/location/pem_attributes":           9,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/fan/location/fan_attributes":             5,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/current/location/sensor_attributes":      6,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/voltages/location/sensor_attributes":     151,
		"Cisco-IOS-XR-sysadmin-asr9k-envmon-ui:environment/oper/temperatures/location/sensor_attributes": 47,
		"Cisco-IOS-XR-wdsysmon-fd-oper:system-monitoring/cpu-utilization":                                3,
		"Cisco-IOS-XR-nto-misc-oper:memory-summary/nodes/node/summary":                                   3,
		"Cisco-IOS-XR-asr9k-lpts-oper:platform-lptsp-ifib-static/node-statics/node-static/stats":         1,
		"Cisco-IOS-XR-asr9k-lpts-oper:platform-lptsp-ifib-static/node-statics/node-static/police":        1,
		"Cisco-IOS-XR-mpls-lsd-oper:mpls-lsd-nodes/mpls-lsd-node/label-summary":                          2,
		"Cisco-IOS-XR-procmem-oper:processes-memory/nodes/node/process-ids/process-id":                   1005,
		"Cisco-IOS-XR-asr9k-np-oper:hardware-module-np/nodes/node/nps/np/counters":                       2,
	}
	if !reflect.DeepEqual(rowsPerPath, want) {
		t.Errorf("rows per path\n got %v\nwant %v", rowsPerPath, want)
	}
	if !reflect.DeepEqual(ends, []uint64{915436}) {
		t.Errorf("end-of-collection messages %v, want [915436]", ends)
	}
	if leaves < 55027 { // the script counted 55027 integer content leaves alone
		t.Errorf("only %d leaves", leaves)
	}
}

func TestJSONProcmemRowAndNegativeThreshold(t *testing.T) {
	d := NewDecoder(Limits{})
	var initRow, tempRow *xr.Row
	for _, b := range captureMessages(t) {
		m, err := d.DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range m.Rows {
			if initRow == nil && len(r.Keys) == 2 && r.Keys[1] == (xr.Leaf{Name: "process-id", Kind: xr.LeafUint, U: 1}) {
				c := r
				initRow = &c
				c.Keys, c.Content = append([]xr.Leaf(nil), r.Keys...), append([]xr.Leaf(nil), r.Content...)
			}
			if tempRow == nil && strings.HasSuffix(m.Path, "temperatures/location/sensor_attributes") && find(r.Content, "critical-lo").I == -10 {
				c := r
				c.Keys = append([]xr.Leaf(nil), r.Keys...)
				tempRow = &c
			}
		}
	}
	if initRow == nil || find(initRow.Content, "name").S != "init" || find(initRow.Content, "pid").U != 1 {
		t.Errorf("procmem init row %+v", initRow)
	}
	if tempRow == nil || tempRow.Keys[0] != (xr.Leaf{Name: "location", Kind: xr.LeafString, S: "0/0"}) || tempRow.Keys[1].S != "0/0" {
		t.Errorf("temperature row with critical-lo -10: %+v", tempRow)
	}
}

func TestJSONExactIntegersAndShapes(t *testing.T) {
	in := `{"node_id_str":"r","subscription_id_str":"s","encoding_path":"p","collection_id":"18446744073709551615",
	 "msg_timestamp":"1728034880223","collection_start_time":"1","model_version":{"ignored":[1,{"x":2}]},
	 "data_json":[
	  {"content":{"a":18446744073709551615,"b":9007199254740993,"c":-9223372036854775808,"d":"9007199254740993",
	              "e":1.5,"f":1e3,"g":true,"h":null,"i":"007","j":"up","k":[1,2],"l":{"m":[{"n":1},{"n":2}]},
	              "o":1e400},
	   "keys":[{"if":"Gi0/0"},{"q":3}],"timestamp":"1728034880999"}]}`
	m, err := DecodeJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := &xr.Message{Node: "r", Subscription: "s", Path: "p", CollectionID: math.MaxUint64, MsgTimestampMs: 1728034880223,
		Encoding: xr.EncodingJSON, Rows: []xr.Row{{TimestampMs: 1728034880999,
			Keys: []xr.Leaf{{Name: "if", Kind: xr.LeafString, S: "Gi0/0"}, {Name: "q", Kind: xr.LeafUint, U: 3}},
			Content: []xr.Leaf{
				{Name: "a", Kind: xr.LeafUint, U: math.MaxUint64},
				{Name: "b", Kind: xr.LeafUint, U: 9007199254740993},
				{Name: "c", Kind: xr.LeafInt, I: math.MinInt64},
				{Name: "d", Kind: xr.LeafUint, U: 9007199254740993, S: "9007199254740993"},
				{Name: "e", Kind: xr.LeafFloat, F: 1.5},
				{Name: "f", Kind: xr.LeafFloat, F: 1000},
				{Name: "g", Kind: xr.LeafBool, B: true},
				{Name: "i", Kind: xr.LeafString, S: "007"},
				{Name: "j", Kind: xr.LeafString, S: "up"},
				{Name: "k", Kind: xr.LeafUint, U: 1},
				{Name: "k", Kind: xr.LeafUint, U: 2},
				{Name: "l/m/n", Kind: xr.LeafUint, U: 1},
				{Name: "l/m/n", Kind: xr.LeafUint, U: 2},
				{Name: "o", Kind: xr.LeafFloat, F: math.Inf(1)},
			}}}}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}
}

func TestJSONBadInput(t *testing.T) {
	deep := `{"data_json":[{"content":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}]}`
	for _, c := range []struct {
		name, in string
		lim      Limits
		want     string
	}{
		{"not json", `{"node_id_str":`, Limits{}, ReasonBadJSON},
		{"not an object", `[1]`, Limits{}, ReasonBadJSON},
		{"trailing data", `{} {}`, Limits{}, ReasonBadJSON},
		{"header type", `{"collection_id":true}`, Limits{}, ReasonBadHeader},
		{"header range", `{"msg_timestamp":"18446744073709551615"}`, Limits{}, ReasonBadHeader},
		{"node not a string", `{"node_id_str":1}`, Limits{}, ReasonBadHeader},
		{"rows not an array", `{"data_json":{}}`, Limits{}, ReasonBadJSON},
		{"too deep", deep, Limits{}, ReasonTooDeep},
		{"too large", `{"data_json":[]}`, Limits{MaxBytes: 5}, ReasonTooLarge},
		{"too many leaves", `{"data_json":[{"content":{"a":1,"b":2}},{"content":{"c":3}}]}`, Limits{MaxLeaves: 2}, ReasonTooManyLeaves},
		{"compact", `{"data_gpb":{"row":[]}}`, Limits{}, ReasonCompactGPB},
		{"name too long", `{"data_json":[{"content":{"abcdef":{"ghijkl":1}}}]}`, Limits{MaxName: 10}, ReasonNameTooLong},
	} {
		_, err := NewDecoder(c.lim).DecodeJSON([]byte(c.in))
		if err == nil || reason(err) != c.want {
			t.Errorf("%s: err %v, want reason %s", c.name, err, c.want)
		}
	}
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(`{"node_id_str":"r","collection_id":"1","data_json":[{"timestamp":"2","keys":[{"a":"b"}],"content":{"x":{"y":[1,"2",true,null,1.5]}}}]}`))
	f.Add([]byte(`{"msg_timestamp":1,"collection_end_time":"3"}`))
	d := NewDecoder(Limits{MaxBytes: 1 << 20, MaxLeaves: 10000})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := d.DecodeJSON(b)
		// Our scanner must be at least as strict as encoding/json's grammar:
		// what it accepts is valid JSON.
		if err == nil && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if err != nil {
			if strings.HasPrefix(reason(err), "not an") {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		n := 0
		for _, r := range m.Rows {
			n += len(r.Keys) + len(r.Content)
		}
		if n > 10000 {
			t.Fatalf("%d leaves beyond the limit", n)
		}
	})
}

func BenchmarkJSONRealCapture(b *testing.B) {
	msgs := captureMessages(b)
	d := NewDecoder(Limits{})
	size, fields := 0, 0
	for _, m := range msgs {
		size += len(m)
		x, err := d.DecodeJSON(m)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range x.Rows {
			fields += len(r.Keys) + len(r.Content)
		}
	}
	benchLoop(b, size, fields, func() {
		for _, m := range msgs {
			if _, err := d.DecodeJSON(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestJSONContentBeforeKeysEscapesAndEmptyRows(t *testing.T) {
	in := `{"msg_timestamp":5,"data_json":[
	  {"content":{"a":1,"b":{"c":2}},"timestamp":"7","keys":[{"k1":"x\u00e9\ud83d\ude00\n"},{"k2":2}]},
	  {"keys":[{"k":"only keys"}]},
	  {}]}`
	m, err := DecodeJSON([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []xr.Row{
		{TimestampMs: 7,
			Keys:    []xr.Leaf{{Name: "k1", Kind: xr.LeafString, S: "x\u00e9\U0001F600\n"}, {Name: "k2", Kind: xr.LeafUint, U: 2}},
			Content: []xr.Leaf{{Name: "a", Kind: xr.LeafUint, U: 1}, {Name: "b/c", Kind: xr.LeafUint, U: 2}}},
		{TimestampMs: 5, Keys: []xr.Leaf{{Name: "k", Kind: xr.LeafString, S: "only keys"}}, Content: []xr.Leaf{}},
		{TimestampMs: 5, Keys: []xr.Leaf{}, Content: []xr.Leaf{}},
	}
	if !reflect.DeepEqual(m.Rows, want) {
		t.Errorf("rows\n got %+v\nwant %+v", m.Rows, want)
	}
}

// Strings read as encoding/json reads them, so a router's odd bytes show the
// same in every tool: invalid UTF-8 and unpaired surrogates become U+FFFD.
func TestJSONStringsDecodeAsEncodingJSON(t *testing.T) {
	in := "{\"node_id_str\":\"r\xff1\",\"data_json\" : null}"
	m, err := DecodeJSON([]byte(in))
	if err != nil || m.Node != "r\uFFFD1" || len(m.Rows) != 0 {
		t.Fatalf("%+v %v", m, err)
	}
	m, err = DecodeJSON([]byte(`{"data_json":[{"content":{"a":"\ud800\u0041"}}]}`))
	if err != nil || len(m.Rows) != 1 || m.Rows[0].Content[0].S != "\uFFFDA" {
		t.Fatalf("%+v %v", m, err)
	}
}

// Members the decoder skips are bounded too: nesting is counted from the
// message down, MaxDepth below a row plus the four levels above it.
func TestJSONSkippedMembersAreBounded(t *testing.T) {
	nested := func(n int) string { return strings.Repeat(`[`, n) + strings.Repeat(`]`, n) }
	lim := Limits{MaxDepth: 8}
	if _, err := NewDecoder(lim).DecodeJSON([]byte(`{"model_version":` + nested(11) + `}`)); err != nil {
		t.Errorf("12 levels with MaxDepth 8: %v", err)
	}
	_, err := NewDecoder(lim).DecodeJSON([]byte(`{"model_version":` + nested(12) + `}`))
	if reason(err) != ReasonTooDeep {
		t.Errorf("13 levels with MaxDepth 8: %v", err)
	}
	_, err = DecodeJSON([]byte(`{"x":` + nested(100000) + `}`))
	if reason(err) != ReasonTooDeep {
		t.Errorf("100000 levels: %v", err)
	}
}

// MaxDepth counts from a row's content: a leaf MaxDepth objects down is kept.
func TestJSONDepthBoundary(t *testing.T) {
	content := func(n int) string {
		return `{"data_json":[{"content":` + strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) + `}]}`
	}
	m, err := DecodeJSON([]byte(content(DefaultLimits.MaxDepth)))
	if err != nil || m.Rows[0].Content[0].Name != strings.TrimSuffix(strings.Repeat("a/", DefaultLimits.MaxDepth), "/") {
		t.Errorf("leaf at MaxDepth: %+v %v", m, err)
	}
	if _, err := DecodeJSON([]byte(content(DefaultLimits.MaxDepth + 1))); reason(err) != ReasonTooDeep {
		t.Errorf("leaf below MaxDepth: %v", err)
	}
}
