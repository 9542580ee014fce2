package xrsim

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/netlens/netlens/pkg/proto/xrpb"
)

// Whatever a description or a naming value holds, every encoding stays
// well formed and carries the text unchanged: JSON through encoding/json,
// GPB through the generated code.
func FuzzEncodersKeepStrings(f *testing.F) {
	for _, s := range []string{"", "to r2", `quote " and \ backslash`, "tab\tnew\nline\x00nul", "é 😀", "\xff\xfe"} {
		f.Add(s, uint64(1)<<63)
	}
	f.Fuzz(func(t *testing.T, text string, v uint64) {
		// Routers send ASCII; the JSON writer escapes what is not, but bytes
		// that are no UTF-8 at all have no JSON form to keep.
		text = strings.ToValidUTF8(text, "?")
		c := collection(t, "interfaces", GenPDT, 1)
		c.Rows[0].Keys[0] = text
		c.Rows[0].Values[2].S = text // Description
		c.Rows[0].Values[4].U = v    // MTU, whatever its size
		b, err := AppendPDTJSON(nil, c, JSON601)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&m); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		for _, r := range b {
			if r >= 0x80 {
				t.Fatalf("non-ASCII byte in %q", b)
			}
		}
		inst := walk(t, m, "Data", "RootOper", "Interfaces", "Interface", text).(map[string]any)
		if inst["Description"] != text {
			t.Fatalf("description %q, want %q", inst["Description"], text)
		}

		c = collection(t, "interfaces", GenMDT, 1)
		c.Rows[0].Keys[0] = text
		c.Rows[0].Values[2].S = text
		b, err = AppendMDTKV(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		var tm xrpb.Telemetry
		if err := proto.Unmarshal(b, &tm); err != nil {
			t.Fatal(err)
		}
		row := tm.GetDataGpbkv()[0]
		if row.GetFields()[0].GetFields()[0].GetStringValue() != text || row.GetFields()[1].GetFields()[2].GetStringValue() != text {
			t.Fatalf("text changed: %v", row)
		}
	})
}
