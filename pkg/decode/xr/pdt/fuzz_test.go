package pdt

import (
	"errors"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// checkDecoded holds for every input: either a message or an *Error with a known
// Reason, never both, never a panic.
func checkDecoded(t *testing.T, msg *xr.Message, err error) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error of type %T: %v", err, err)
		}
		known := false
		for _, r := range Reasons {
			known = known || r == e.Reason
		}
		if !known || msg != nil {
			t.Fatalf("reason %q, message %v", e.Reason, msg)
		}
		return
	}
	if msg == nil {
		t.Fatal("nil message without error")
	}
	for _, r := range msg.Rows {
		if len(r.Keys)+len(r.Content) == 0 {
			t.Fatalf("row with no leaves in %+v", msg)
		}
	}
}

func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(json601))
	f.Add([]byte(json600))
	f.Add([]byte(`{"Path": "Interfaces(*).Counters.Protocols('IPv4')", "Data": {"Interfaces": [{"Name": "a", "Counters": {"Protocols": [{"ProtoName": "IPv4", "InputPkts": 1}]}}]}}`))
	f.Add([]byte(`{"Path": "A", "Data": {"A": {}}}`))
	f.Add([]byte(`{"Path": "Foo.Destination(IPAddress=*, Port=*)", "Data": {"Foo": {"Destination": {"1.1.1.1": {"2000": {"Leaf1": 100}}}}}}`))
	d := Decoder{Limits: Limits{MaxBytes: 1 << 16, MaxDepth: 32, MaxLeaves: 4096}, Paths: []string{genericCounters, dataRate}}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := d.DecodeJSON(b)
		checkDecoded(t, msg, err)
	})
}

func FuzzDecodeGPBKV(f *testing.F) {
	f.Add(benchKV(5))
	f.Add(kvMsg{basePath: "RootOper.BGP.Instance({'InstanceName': 'default'}).Neighbor([*])", fields: []kv{nest([]string{"RootOper", "BGP", "Instance"},
		kv{name: "default", kids: []kv{{name: "Neighbor", kids: []kv{{name: "A", val: "10.0.0.1"}, {name: "N", val: int64(-1)}}}}})}}.encode())
	f.Add(kvMsg{basePath: "RootOper.X(*)", fields: []kv{{name: "RootOper", kids: []kv{{name: "X", kids: []kv{
		{name: "keys", kids: []kv{{name: "k", val: "v"}}}, {name: "content", kids: []kv{{name: "c", val: 1.5}}}}}}}}}.encode())
	d := Decoder{Limits: Limits{MaxBytes: 1 << 16, MaxDepth: 32, MaxLeaves: 4096}}
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := d.DecodeGPBKV(b)
		checkDecoded(t, msg, err)
	})
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(seedPolicy))
	f.Add([]byte(`{"Name": "P", "CollectionGroups": {"G": {"Period": 10, "Paths": [{"A.B(x=1, y='2')": {"IncludeFields": ["C"]}}]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy("NameOfPolicy.policy", b)
		if err != nil {
			var pe *PolicyError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 || p != nil {
				t.Fatalf("%T %v", err, err)
			}
			return
		}
		if p.Name != "NameOfPolicy" || len(p.Groups) == 0 {
			t.Fatalf("accepted %+v", p)
		}
		for _, g := range p.Groups {
			if g.Period < MinPeriod || g.Period > MaxPeriod || len(g.Paths) == 0 {
				t.Fatalf("accepted group %+v", g)
			}
			for _, pp := range g.Paths {
				if len(pp.Elements) == 0 {
					t.Fatalf("accepted path %+v", pp)
				}
			}
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{genericCounters, "RootOper.BGP.Instance({'InstanceName': 'default'}).Neighbor([*])",
		"Foo.Destination(IPAddress=1.1.1.1, Port=2000)", "/Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface=*/latest"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		els, err := ParsePath(s)
		if err == nil && len(els) == 0 {
			t.Fatalf("no elements and no error for %q", s)
		}
		for _, e := range els {
			if e.Name == "" {
				t.Fatalf("element without a name in %q", s)
			}
		}
	})
}
