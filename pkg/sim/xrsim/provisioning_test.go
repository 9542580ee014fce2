package xrsim

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite provisioning/xr from the simulator's policy and .proto files")

const provisioningDir = "../../../provisioning/xr"

// The collector's provisioning holds exactly the policy and .proto files
// the simulator sends by, so the demo's routers and collector agree.
// go test ./pkg/sim/xrsim -run TestProvisioning -update rewrites them.
func TestProvisioningMatchesSimulator(t *testing.T) {
	want := map[string][]byte{filepath.Join("policies", DemoPolicyName+".policy"): []byte(DemoPolicy)}
	for name, b := range ProtoFiles() {
		want[filepath.Join("protos", name)] = b
	}
	for name, b := range want {
		file := filepath.Join(provisioningDir, name)
		if *update {
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Errorf("%s differs from what the simulator sends by; run go test ./pkg/sim/xrsim -run TestProvisioning -update", file)
		}
	}
	entries, err := os.ReadDir(filepath.Join(provisioningDir, "protos"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".proto") && want[filepath.Join("protos", e.Name())] == nil {
			t.Errorf("protos/%s is not one of the simulator's", e.Name())
		}
	}
}

// The demo policy obeys the seed's rules as read from the file itself.
func TestDemoPolicyFollowsSeedRules(t *testing.T) {
	file := filepath.Join(provisioningDir, "policies", DemoPolicyName+".policy")
	p, err := LoadPolicy(file)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != strings.TrimSuffix(filepath.Base(file), ".policy") {
		t.Fatalf("name %q for file %s", p.Name, file)
	}
	var periods []time.Duration
	var paths []string
	for _, g := range p.Groups {
		if g.Period < 5*time.Second || g.Period > 86400*time.Second {
			t.Errorf("group %s period %v", g.Name, g.Period)
		}
		periods = append(periods, g.Period)
		for _, q := range g.Paths {
			paths = append(paths, q.PDT)
		}
	}
	if !slices.Equal(periods, []time.Duration{10 * time.Second, 30 * time.Second, 300 * time.Second}) {
		t.Errorf("periods %v", periods)
	}
	for _, q := range Paths {
		if !slices.Contains(paths, q.PDT) {
			t.Errorf("policy lacks %s", q.PDT)
		}
	}
}

func TestParsePolicyProblems(t *testing.T) {
	cases := []struct{ file, body, want string }{
		{"a.policy", `{"Name": "b", "CollectionGroups": {"g": {"Period": 10, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `differs from the file name`},
		{"net-demo.policy", `{"Name": "net-demo", "CollectionGroups": {"g": {"Period": 10, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `only letters and digits`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g": {"Period": 4, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `Period 4`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g": {"Period": 86401, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `Period 86401`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g": {"Period": 10.5, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `Period 10.5`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g_1": {"Period": 10, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `group names`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g": {"Period": 10, "Paths": []}}}`, `Paths is missing`},
		{"a.policy", `{"Name": "a", "CollectionGroups": {"g": {"Period": 10, "Paths": ["RootOper.RIB.VRF"]}}}`, `not a path the simulator serves`},
		{"a.policy", `{"Name": "a"}`, `CollectionGroups is missing`},
		{"a.json", `{"Name": "a", "CollectionGroups": {"g": {"Period": 10, "Paths": ["RootOper.Interfaces.Interface(*)"]}}}`, `must end in .policy`},
		{"a.policy", `{"Name": `, `not a policy`},
	}
	for _, c := range cases {
		_, err := ParsePolicy(c.file, []byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want %q", c.file, c.body, err, c.want)
		}
	}
	p, err := ParsePolicy("x/Ok1.policy", []byte(`{"Name": "Ok1", "Metadata": {"Version": 3, "Identifier": "id"},
		"CollectionGroups": {"B": {"Period": 5, "Paths": ["RootOper.Interfaces.Interface(*)"]}, "A": {"Period": 86400, "Paths": ["RootOper.MemorySummary.Node(*).Summary"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Version != 3 || p.Identifier != "id" || len(p.Groups) != 2 || p.Groups[0].Name != "A" || p.Groups[1].Period != 5*time.Second {
		t.Fatalf("%+v", p)
	}
}

// protoc compiles the .proto files as a router's receiver would: every
// row message, cisco.proto's options and Google's descriptor.proto.
func TestProtosCompileWithProtoc(t *testing.T) {
	dir := filepath.Join(provisioningDir, "protos")
	args := []string{"-I", dir, "-I", "/usr/include", "--descriptor_set_out=" + filepath.Join(t.TempDir(), "set.pb")}
	for name := range ProtoFiles() {
		args = append(args, name)
	}
	out, err := exec.Command("protoc", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
}
