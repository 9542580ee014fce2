package mdt

import (
	"slices"
	"strings"
	"testing"
)

// A receiver registers one drop counter per entry of Reasons before any
// message arrives, so every reason the decoders return must be listed.
func TestReasonsListWhatDecodersReturn(t *testing.T) {
	deep := `{"data_json":[{"content":` + strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40) + `}]}`
	returned := map[string]bool{}
	for _, c := range []struct {
		lim  Limits
		json string
		gpb  []byte
	}{
		{json: `{"a":`},
		{json: `{"collection_id":-1}`},
		{json: deep},
		{json: `{"data_json":[{"content":{"a":1,"b":2}}]}`, lim: Limits{MaxLeaves: 1}},
		{json: `{"data_json":[{"content":{"abcdef":{"ghijkl":1}}}]}`, lim: Limits{MaxName: 10}},
		{json: `{"data_gpb":{}}`},
		{json: `{}`, lim: Limits{MaxBytes: 1}},
		{gpb: []byte{0x00}},
	} {
		d := NewDecoder(c.lim)
		var err error
		if c.gpb != nil {
			_, err = d.DecodeGPBKV(c.gpb)
		} else {
			_, err = d.DecodeJSON([]byte(c.json))
		}
		if err == nil {
			t.Fatalf("%q %x decoded", c.json, c.gpb)
		}
		r := reason(err)
		if !slices.Contains(Reasons, r) {
			t.Errorf("reason %q of %v is not in Reasons", r, err)
		}
		returned[r] = true
	}
	if len(returned) != len(Reasons) {
		t.Errorf("inputs above reach %d of the %d Reasons: %v", len(returned), len(Reasons), returned)
	}
}
