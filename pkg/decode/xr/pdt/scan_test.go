package pdt

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// toAny turns a node tree into what encoding/json produces with UseNumber, so that
// the two parsers can be compared (duplicate members: the last wins, as there).
func toAny(n *node) any {
	switch {
	case n.null:
		return nil
	case n.obj:
		m := map[string]any{}
		for k := range n.kids {
			m[n.kids[k].name] = toAny(&n.kids[k])
		}
		return m
	case n.arr:
		a := make([]any, 0, len(n.kids))
		for k := range n.kids {
			a = append(a, toAny(&n.kids[k]))
		}
		return a
	}
	switch n.leaf.Kind {
	case xr.LeafString:
		return n.leaf.S
	case xr.LeafBool:
		return n.leaf.B
	case xr.LeafUint:
		return "u" + strconv.FormatUint(n.leaf.U, 10)
	case xr.LeafInt:
		return "i" + strconv.FormatInt(n.leaf.I, 10)
	}
	return n.leaf.F
}

// normNumbers rewrites encoding/json's numbers the way toAny writes ours.
func normNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normNumbers(e)
		}
	case []any:
		for k, e := range t {
			t[k] = normNumbers(e)
		}
	case json.Number:
		if u, err := strconv.ParseUint(string(t), 10, 64); err == nil {
			return "u" + strconv.FormatUint(u, 10)
		}
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return "i" + strconv.FormatInt(i, 10)
		}
		f, _ := strconv.ParseFloat(string(t), 64)
		return f
	}
	return v
}

func sameAny(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameAny(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !sameAny(x[k], y[k]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	}
	return a == b
}

func compareWithEncodingJSON(t *testing.T, in []byte) {
	got, err := parseJSON(in, Limits{MaxDepth: 1000, MaxLeaves: 1 << 30, MaxBytes: 1 << 30})
	if valid := json.Valid(in); valid != (err == nil) {
		t.Fatalf("%q: ours %v, encoding/json valid %v", in, err, valid)
	}
	if err != nil {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%q: encoding/json: %v", in, err)
	}
	if g := toAny(&got); !sameAny(g, normNumbers(want)) {
		t.Fatalf("%q:\n ours %#v\n encoding/json %#v", in, g, want)
	}
}

func TestJSONParserMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		json601, json600, seedPolicy, `"a\u00e9\ud83d\ude00\ud800x\\\/\b\f\n\r\t"`, `[-0, 0.5e-3, 1E+2, 18446744073709551616, -9223372036854775808, -9223372036854775809]`,
		"\"\xff\xfeok\"", `{"a":1,"a":2}`, ` [ ] `, `{}`, `01`, `1.`, `.5`, `-`, `"\u12"`, "\"\x01\"", `[1,]`, `{"a" 1}`, `tru`, `nul`, `[1] x`, ``,
	} {
		compareWithEncodingJSON(t, []byte(in))
	}
}

func FuzzJSONParserMatchesEncodingJSON(f *testing.F) {
	for _, in := range []string{json601, `"\ud83d\ude00\ud800"`, `[1e400, -0.0, 123456789012345678901]`, `{"a":[null,true,false]}`} {
		f.Add([]byte(in))
	}
	f.Fuzz(compareWithEncodingJSON)
}
