package pdt

import (
	"github.com/netlens/netlens/pkg/decode/xr"
	"strconv"
	"strings"
	"testing"
)

// benchKV is a GenericCounters message of n interfaces with 10 leaves each (keys
// included): benchKV(5) is the 50-leaf message of the speed target.
func benchKV(n int) []byte {
	ifs := make([]kv, n)
	for k := range ifs {
		c := make([]kv, 9)
		for j := range c {
			c[j] = kv{name: "Counter" + strconv.Itoa(j), val: uint64(1<<40 + k*j)}
		}
		ifs[k] = kv{name: "GigabitEthernet0/0/0/" + strconv.Itoa(k), kids: []kv{{name: "Latest", kids: []kv{{name: "GenericCounters", kids: c}}}}}
	}
	return kvMsg{collectionID: 1, basePath: genericCounters, stamp: 1447774103900,
		fields: []kv{nest([]string{"RootOper", "InfraStatistics", "Interface"}, ifs...)}}.encode()
}

// benchJSON is the same message in PDT JSON (6.0.1+ spelling).
func benchJSON(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"Policy":"bench","Identifier":"r1","CollectionID":1,"Path":"` + genericCounters + `","CollectionStartTime":1447774103808,"Data":{"RootOper":{"InfraStatistics":{"Interface":{`)
	for k := range n {
		if k > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"GigabitEthernet0/0/0/` + strconv.Itoa(k) + `":{"Latest":{"GenericCounters":{`)
		for j := range 9 {
			if j > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(`"Counter` + strconv.Itoa(j) + `":` + strconv.FormatUint(uint64(1<<40+k*j), 10))
		}
		sb.WriteString(`}}}`)
	}
	sb.WriteString(`}}}},"CollectionEndTime":1447774103943}`)
	return []byte(sb.String())
}

func benchDecode(b *testing.B, in []byte, decode func([]byte) (int, error)) {
	leaves, err := decode(in)
	if err != nil {
		b.Fatal(err)
	}
	if leaves != 50 {
		b.Fatalf("%d leaves, want 50", leaves)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/50, "ns/leaf")
}

func countLeaves(d func([]byte) (*xr.Message, error)) func([]byte) (int, error) {
	return func(in []byte) (int, error) {
		m, err := d(in)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, r := range m.Rows {
			n += len(r.Keys) + len(r.Content)
		}
		return n, nil
	}
}

func BenchmarkDecodeGPBKV50Leaves(b *testing.B) {
	d := &Decoder{}
	benchDecode(b, benchKV(5), countLeaves(d.DecodeGPBKV))
}

func BenchmarkDecodeJSON50Leaves(b *testing.B) {
	d := &Decoder{}
	benchDecode(b, benchJSON(5), countLeaves(d.DecodeJSON))
}

func BenchmarkParsePolicy(b *testing.B) {
	in := []byte(seedPolicy)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePolicy("NameOfPolicy.policy", in); err != nil {
			b.Fatal(err)
		}
	}
}
