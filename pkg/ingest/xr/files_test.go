package xr

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/xr/pdt"
)

// Good files load, bad ones are reported with every problem (a .proto by
// file and line), and neither stops the other.
func TestPoliciesAndProtos(t *testing.T) {
	pol, pro := t.TempDir(), t.TempDir()
	writeFile(t, pol, "Demo.policy", demoPolicy)
	writeFile(t, pol, "Other.policy", `{"Name":"Wrong","CollectionGroups":{"G":{"Period":2,"Paths":["RootOper.A"]}}}`)
	writeFile(t, pol, "notes.txt", "not a policy")
	writeFile(t, pro, "generic.proto", genericProto)
	writeFile(t, pro, "broken.proto", "syntax = \"proto2\";\nmessage x {\n  optional uint64 a = ;\n}\n")
	r, _ := offline(t, config.XR{PolicyDir: pol, ProtoDir: pro}, &collector{})

	ps := r.Policies()
	if len(ps) != 2 || ps[0].File != "Demo.policy" || ps[1].File != "Other.policy" {
		t.Fatalf("%+v", ps)
	}
	demo := ps[0]
	if demo.Name != "Demo" || len(demo.Problems) != 0 || len(demo.Groups) != 2 {
		t.Fatalf("%+v", demo)
	}
	for _, g := range demo.Groups {
		if g.Name == "Fast" && (g.Period != 10*time.Second || g.Paths[0] != genericCounters) {
			t.Errorf("group %+v", g)
		}
	}
	reasons := map[string]bool{}
	for _, p := range ps[1].Problems {
		reasons[p.Reason] = true
	}
	if !reasons[pdt.PolicyNameMismatch] || !reasons[pdt.PolicyBadPeriod] || len(ps[1].Groups) != 0 {
		t.Errorf("Other.policy %+v", ps[1])
	}

	fs := r.ProtoFiles()
	if len(fs) != 2 || fs[0].File != "broken.proto" || fs[1].File != "generic.proto" {
		t.Fatalf("%+v", fs)
	}
	if len(fs[0].Problems) == 0 || !strings.HasPrefix(fs[0].Problems[0].Where, "broken.proto:3:") || fs[0].Problems[0].Reason != ProblemCompile {
		t.Errorf("broken.proto %+v", fs[0])
	}
	g := fs[1]
	if len(g.Problems) != 0 || len(g.Paths) != 1 || g.Paths[0].Path != "RootOper.InfraStatistics.Interface.Latest.GenericCounters" || g.Paths[0].Message != "ifstatsbag_generic" {
		t.Errorf("generic.proto %+v", g)
	}
}

// A rescan reloads the directories only when a file changed, keeps the
// load time of a policy that stays (its silence does not restart), and a
// missing directory is a reported problem, not a failure.
func TestRescan(t *testing.T) {
	pol := t.TempDir()
	writeFile(t, pol, "Demo.policy", demoPolicy)
	r, clk := offline(t, config.XR{PolicyDir: pol, ProtoDir: filepath.Join(pol, "missing")}, &collector{})
	before := r.files.Load()
	if fs := r.ProtoFiles(); len(fs) != 1 || fs[0].Problems[0].Reason != ProblemReadDir {
		t.Errorf("missing proto dir %+v", fs)
	}
	r.reload(false)
	if r.files.Load() != before {
		t.Error("reloaded without a change")
	}
	clk.add(time.Minute)
	writeFile(t, pol, "Second.policy", `{"Name":"Second","CollectionGroups":{"G":{"Period":60,"Paths":["RootOper.A.B(*)"]}}}`)
	r.reload(false)
	ps := r.Policies()
	if len(ps) != 2 || ps[1].Name != "Second" {
		t.Fatalf("%+v", ps)
	}
	c := r.files.Load()
	if c.loaded["Demo"].loadedMs != before.loaded["Demo"].loadedMs || c.loaded["Second"].loadedMs != clk.now().UnixMilli() {
		t.Errorf("load times %d %d", c.loaded["Demo"].loadedMs, c.loaded["Second"].loadedMs)
	}
	if c.maxPeriod != time.Minute || len(c.paths["RootOper.A.B"]) != 1 {
		t.Errorf("catalog %+v", c)
	}
	os.Remove(filepath.Join(pol, "Second.policy"))
	r.reload(false)
	if len(r.Policies()) != 1 {
		t.Errorf("removed policy still listed")
	}
}

func TestNormPath(t *testing.T) {
	for in, want := range map[string]string{
		genericCounters: "RootOper.InfraStatistics.Interface.Latest.GenericCounters",
		"RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])": "RootOper.BGP.Instance.InstanceActive.DefaultVRF.Neighbor",
		"RootOper.MemorySummary": "RootOper.MemorySummary",
	} {
		if got := normPath(in); got != want {
			t.Errorf("normPath(%q) = %q, want %q", in, got, want)
		}
	}
}
