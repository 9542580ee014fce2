package xrjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// decodeAny reads the next value into what encoding/json gives with UseNumber,
// so the two can be compared with reflect.DeepEqual: the last of duplicate
// members wins, and numbers are json.Number holding the text as written. Each
// number's NumberLeaf is checked on the way against strconv.
func decodeAny(t testing.TB, s *Scanner) (any, error) {
	switch s.Peek() {
	case Object:
		obj := map[string]any{}
		err := s.Object(func(name []byte) error {
			key := string(name)
			v, err := decodeAny(t, s)
			obj[key] = v
			return err
		})
		return obj, err
	case Array:
		arr := []any{}
		err := s.Array(func() error {
			v, err := decodeAny(t, s)
			arr = append(arr, v)
			return err
		})
		return arr, err
	case String:
		b, err := s.Str()
		return string(b), err
	case Number:
		b, err := s.Num()
		if err == nil {
			checkNumberLeaf(t, string(b))
		}
		return json.Number(b), err
	case True, False:
		return s.Bool()
	case Null:
		return nil, s.Null()
	}
	return nil, s.Unexpected()
}

// checkNumberLeaf classifies text with strconv: uint64 first, then int64, then
// float64 (whose range errors give the ±Inf or 0 wanted).
func checkNumberLeaf(t testing.TB, text string) {
	t.Helper()
	want := xr.Leaf{Kind: xr.LeafFloat}
	if u, err := strconv.ParseUint(text, 10, 64); err == nil {
		want = xr.Leaf{Kind: xr.LeafUint, U: u}
	} else if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		want = xr.Leaf{Kind: xr.LeafInt, I: i}
	} else {
		want.F, _ = strconv.ParseFloat(text, 64)
	}
	if got := NumberLeaf([]byte(text)); got != want {
		t.Errorf("NumberLeaf(%s) = %+v, want %+v", text, got, want)
	}
}

// matchEncodingJSON is the scanner's contract: the same inputs accepted, the
// same values read.
func matchEncodingJSON(t *testing.T, in []byte) {
	s := Scanner{MaxDepth: 100000}
	s.Reset(in)
	got, err := decodeAny(t, &s)
	if err == nil {
		err = s.Finish()
	}
	if valid := json.Valid(in); valid != (err == nil) {
		t.Fatalf("%q: scanner says %v, encoding/json valid %v", in, err, valid)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Offset < 0 || e.Offset > len(in) || e.TooDeep {
			t.Fatalf("%q: error %#v", in, err)
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(in))
	dec.UseNumber()
	var want any
	if err := dec.Decode(&want); err != nil {
		t.Fatalf("%q: encoding/json: %v", in, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n scanner       %#v\n encoding/json %#v", in, got, want)
	}
}

var agreementCases = []string{
	// accepted
	`{}`, `[]`, ` [ ] `, "\t{\"a\" :\n1 }\r\n", `"x"`, `0`, `-0`, `true`, `false`, `null`,
	`{"a":1,"a":2}`, `{"b":[1,{"c":null}],"a":"z"}`,
	`[-0, 0.5e-3, 1E+2, 1e-400, 1e400, -1e400, 18446744073709551615, 18446744073709551616, -9223372036854775808, -9223372036854775809]`,
	`"a\u00e9\ud83d\ude00\\\/\b\f\n\r\t\""`,
	`"\ud800x"`, `"\ud800\u0041"`, `"\udc00\ud800"`, `"\ud800\ud800\udc00"`, `"\uDBFF\uDFFF"`,
	"\"\xff\xfeok\"", "\"\xe2\x82\"", "\"\xed\xa0\x80\"", "\"caf\xc3\xa9\"", "\"\xf0\x9f\x98\x80\"",
	`{"Interface":{"GigabitEthernet0/0/0/0":{"Latest":{"GenericCounters":{"BytesReceived":9007199254740993}}}}}`,
	// rejected
	``, ` `, `01`, `-01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x10`, `NaN`, `Infinity`,
	`"\u12"`, `"\u12g4"`, `"\x"`, `"\ud800\u12"`, "\"\x01\"", "\"a\tb\"", `"abc`, `"\`,
	`[1,]`, `[,1]`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":}`, `{1:2}`, `{'a':1}`, `[1 2]`,
	`tru`, `nul`, `falsey`, `[1] x`, `{} {}`, `[`, `{`, `]`, "\x00", `[1]]`,
}

func TestAgreesWithEncodingJSON(t *testing.T) {
	for _, in := range agreementCases {
		matchEncodingJSON(t, []byte(in))
	}
}

func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, in := range agreementCases {
		f.Add([]byte(in))
	}
	f.Fuzz(matchEncodingJSON)
}

func TestMembersInDocumentOrder(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`{"z":1,"a":{"y":"b","x":null},"z":[true]}`))
	var names []string
	var visit func(name []byte) error
	visit = func(name []byte) error {
		names = append(names, string(name))
		if s.Peek() == Object {
			return s.Object(visit)
		}
		return s.Skip()
	}
	if err := s.Object(visit); err != nil {
		t.Fatal(err)
	}
	if want := []string{"z", "a", "y", "x", "z"}; !reflect.DeepEqual(names, want) {
		t.Errorf("members %q, want %q", names, want)
	}
}

func TestNumberLeafKeepsIntegersExact(t *testing.T) {
	for _, c := range []struct {
		text string
		want xr.Leaf
	}{
		{"0", xr.Leaf{Kind: xr.LeafUint}},
		{"-0", xr.Leaf{Kind: xr.LeafInt}},
		{"9007199254740993", xr.Leaf{Kind: xr.LeafUint, U: 9007199254740993}}, // 2^53+1, lost by float64
		{"18446744073709551615", xr.Leaf{Kind: xr.LeafUint, U: math.MaxUint64}},
		{"18446744073709551616", xr.Leaf{Kind: xr.LeafFloat, F: 18446744073709551616}},
		{"-9223372036854775808", xr.Leaf{Kind: xr.LeafInt, I: math.MinInt64}},
		{"-9223372036854775809", xr.Leaf{Kind: xr.LeafFloat, F: -9223372036854775809}},
		{"-10", xr.Leaf{Kind: xr.LeafInt, I: -10}},
		{"1.5", xr.Leaf{Kind: xr.LeafFloat, F: 1.5}},
		{"1e3", xr.Leaf{Kind: xr.LeafFloat, F: 1000}},
		{"1E+2", xr.Leaf{Kind: xr.LeafFloat, F: 100}},
		{"1e400", xr.Leaf{Kind: xr.LeafFloat, F: math.Inf(1)}},
		{"-1e400", xr.Leaf{Kind: xr.LeafFloat, F: math.Inf(-1)}},
		{"1e-400", xr.Leaf{Kind: xr.LeafFloat}},
	} {
		if got := NumberLeaf([]byte(c.text)); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.text, got, c.want)
		}
	}
}

func TestStringsDecodeLikeEncodingJSON(t *testing.T) {
	for in, want := range map[string]string{
		`"plain"`:                 "plain",
		`"tab\tquote\"slash\/"`:   "tab\tquote\"slash/",
		`"\u00e9\ud83d\ude00"`:    "é😀",
		`"\ud800\u0041"`:          "\uFFFDA", // a lone high half, then the escape read on its own
		`"\udc00"`:                "\uFFFD",
		"\"a\xffb\"":              "a\uFFFDb",
		"\"\xe2\x82\"":            "\uFFFD\uFFFD", // each byte of a cut sequence
		"\"\\n\xff\"":             "\n\uFFFD",
		"\"caf\xc3\xa9 \\u0021\"": "café !",
	} {
		var s Scanner
		s.Reset([]byte(in))
		got, err := s.Str()
		if err != nil || string(got) != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestPlainStringsAliasTheInput(t *testing.T) {
	in := []byte(`"GigabitEthernet0/0/0/1"`)
	var s Scanner
	s.Reset(in)
	got, err := s.Str()
	if err != nil || &got[0] != &in[1] {
		t.Fatalf("got %q %v, want a view of the input", got, err)
	}
}

func TestScanningAllocatesNothing(t *testing.T) {
	doc := benchDocument(20)
	var s Scanner
	// One run to size the scratch buffer for escaped strings.
	s.Reset(doc)
	if err := s.Skip(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() {
		s.Reset(doc)
		if err := s.Skip(); err != nil {
			t.Fatal(err)
		}
		if err := s.Finish(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per document", n)
	}
}

func TestDepthBound(t *testing.T) {
	nest := func(n int) []byte {
		return []byte(strings.Repeat(`{"a":[`, n) + strings.Repeat(`]}`, n))
	}
	var s Scanner
	s.MaxDepth = 10
	s.Reset(nest(5)) // ten containers
	if err := s.Skip(); err != nil {
		t.Fatalf("depth 10 within MaxDepth 10: %v", err)
	}
	s.Reset([]byte(`[` + string(nest(5)) + `]`))
	err := s.Skip()
	var e *Error
	// The eleventh container is the fifth '[' of nest, after "[" and four {"a":[.
	if !errors.As(err, &e) || !e.TooDeep || e.Offset != 1+4*6+5 {
		t.Fatalf("depth 11: %#v", err)
	}
	s = Scanner{}
	s.Reset(nest(DefaultMaxDepth/2 + 1))
	if err := s.Skip(); !errors.As(err, &e) || !e.TooDeep {
		t.Fatalf("beyond DefaultMaxDepth: %v", err)
	}
	// Depth is given back as containers close: siblings do not add up.
	s = Scanner{MaxDepth: 2}
	s.Reset([]byte(`[[1],[2],[[]]]`))
	if err := s.Skip(); !errors.As(err, &e) || !e.TooDeep || e.Offset != 10 {
		t.Fatalf("third sibling holds the only level 3: %v", err)
	}
}

func TestErrorsSayWhere(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1,}`:      "json: want a member name at offset 7",
		`[1 2]`:         "json: want ',' or ']' at offset 3",
		`{"a" 1}`:       "json: want ':' at offset 5",
		"\"a\x01\"":     "json: control character in string at offset 2",
		`"a\qb"`:        "json: bad escape at offset 2",
		`[01]`:          "json: want ',' or ']' at offset 2",
		`[1.]`:          "json: bad number at offset 3",
		`{"a":x}`:       "json: unexpected character 'x' at offset 5",
		`{"a":`:         "json: unexpected end of input at offset 5",
		`"abc`:          "json: unterminated string at offset 4",
		`{} 1`:          "json: data after the document at offset 3",
		`[tru]`:         "json: want true or false at offset 1",
		`{"a":[null,n]`: "json: want null at offset 11",
	} {
		var s Scanner
		s.Reset([]byte(in))
		_, err := decodeAny(t, &s)
		if err == nil {
			err = s.Finish()
		}
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", in, err, want)
		}
	}
}

func TestKindMismatchIsAnError(t *testing.T) {
	var s Scanner
	s.Reset([]byte(`[1]`))
	if _, err := s.Str(); err == nil {
		t.Error("Str on an array")
	}
	s.Reset([]byte(`"x"`))
	if err := s.Object(func([]byte) error { return nil }); err == nil {
		t.Error("Object on a string")
	}
	s.Reset([]byte(`{"a":1}`))
	if err := s.Object(func([]byte) error { return nil }); err == nil {
		t.Error("a member value left unread must not pass as the next member")
	}
	stop := errors.New("stop")
	s.Reset([]byte(`[1,2]`))
	if err := s.Array(func() error { return stop }); err != stop {
		t.Errorf("the callback's error must come back as it is, got %v", err)
	}
}

// benchDocument is shaped like MDT data_json: rows of keys and nested content
// with counters, strings (a few escaped) and large integers.
func benchDocument(rows int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"node_id_str":"router-1","encoding_path":"Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface/latest/generic-counters","collection_id":"915312","msg_timestamp":"1728034880223","data_json":[`)
	for r := range rows {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"timestamp":"1728034880218","keys":[{"interface-name":"GigabitEthernet0/0/0/` + strconv.Itoa(r) + `"}],"content":{`)
		for k := range 20 {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`"counter-` + strconv.Itoa(k) + `":` + strconv.FormatUint(uint64(1)<<40+uint64(r*k), 10))
		}
		sb.WriteString(`,"state":"up","description":"uplink \"core\" \u00e9","rate":12.5,"enabled":true,"extra":null,"list":[1,2,3],"big":"18446744073709551615"}}`)
	}
	sb.WriteString(`]}`)
	return []byte(sb.String())
}

// BenchmarkScan reads every value of a 200-row document: this scanner, and
// encoding/json's token stream as the baseline it replaces.
func BenchmarkScan(b *testing.B) {
	doc := benchDocument(200)
	b.Run("xrjson", func(b *testing.B) {
		var s Scanner
		var leaves int
		var visit func() error
		visit = func() error {
			switch s.Peek() {
			case Object:
				return s.Object(func([]byte) error { return visit() })
			case Array:
				return s.Array(visit)
			case String:
				_, err := s.Str()
				leaves++
				return err
			case Number:
				t, err := s.Num()
				NumberLeaf(t)
				leaves++
				return err
			}
			leaves++
			return s.Skip()
		}
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			s.Reset(doc)
			if err := visit(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json-tokens", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			dec := json.NewDecoder(bytes.NewReader(doc))
			dec.UseNumber()
			for {
				tok, err := dec.Token()
				if err != nil {
					break
				}
				_ = tok
			}
		}
	})
}
