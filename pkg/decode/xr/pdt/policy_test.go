package pdt

import (
	"strings"
	"testing"
	"time"
)

// The seed's policy file syntax example, its "..." placeholder replaced by real paths,
// plus the object form of a path with IncludeFields and a native YANG path.
const seedPolicy = `{
 "Name": "NameOfPolicy",
 "Metadata": { "Version": 25, "Description": "This is a sample policy to demonstrate the syntax",
   "Comment": "This is the first draft", "Identifier": "<data that may be sent by the encoder to the mgmt stn>" },
 "CollectionGroups": {
   "FirstGroup": { "Period": 10, "Paths": [ "RootOper.MemorySummary.Node", "RootOper.RIB.VRF",
     "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
     "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])" ] },
   "SecondGroup": { "Period": 300, "Paths": [ "RootOper.Interfaces.Interface",
     { "RootOper.Interfaces.Interface(*)": { "IncludeFields": ["State"] } },
     "/Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface=*/latest/generic-counters" ] }
 }
}`

func TestParsePolicySeedExample(t *testing.T) {
	p, err := ParsePolicy("/misc/config/telemetry/policies/NameOfPolicy.policy", []byte(seedPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "NameOfPolicy" || p.Version != "25" || p.Comment != "This is the first draft" ||
		p.Identifier != "<data that may be sent by the encoder to the mgmt stn>" || len(p.Groups) != 2 {
		t.Fatalf("%+v", p)
	}
	g1, g2 := p.Groups[0], p.Groups[1]
	if g1.Name != "FirstGroup" || g1.Period != 10*time.Second || g1.SilentAfter() != 30*time.Second || len(g1.Paths) != 4 {
		t.Fatalf("first group %+v", g1)
	}
	if g2.Name != "SecondGroup" || g2.Period != 300*time.Second || len(g2.Paths) != 3 {
		t.Fatalf("second group %+v", g2)
	}
	bgp := g1.Paths[3].Elements
	if len(bgp) != 6 || bgp[2].Name != "Instance" || bgp[2].Keys[0] != (KeySpec{Name: "InstanceName", Value: "default"}) ||
		bgp[5].Name != "Neighbor" || bgp[5].Keys[0] != (KeySpec{Wildcard: true}) || bgp[5].KeyName(0) != "NeighborName" {
		t.Fatalf("BGP path elements %+v", bgp)
	}
	if inc := g2.Paths[1]; inc.Path != "RootOper.Interfaces.Interface(*)" || len(inc.IncludeFields) != 1 || inc.IncludeFields[0] != "State" {
		t.Fatalf("IncludeFields path %+v", inc)
	}
	yang := g2.Paths[2].Elements
	if len(yang) != 5 || yang[0].Name != "infra-statistics" || yang[2].Name != "interface" || !yang[2].Keys[0].Wildcard {
		t.Fatalf("YANG path elements %+v", yang)
	}
}

func TestParsePolicyProblems(t *testing.T) {
	group := func(body string) string {
		return `{"Name": "P", "CollectionGroups": {"G": ` + body + `}}`
	}
	cases := []struct {
		name, file, in, reason, where string
	}{
		{"file extension", "P.json", group(`{"Period": 10, "Paths": ["A.B"]}`), PolicyBadFileName, ""},
		{"name differs", "Q.policy", group(`{"Period": 10, "Paths": ["A.B"]}`), PolicyNameMismatch, "Name"},
		{"name case", "p.policy", group(`{"Period": 10, "Paths": ["A.B"]}`), PolicyNameMismatch, "Name"},
		{"name characters", "P_1.policy", `{"Name": "P_1", "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyBadName, "Name"},
		{"name not a string", "P.policy", `{"Name": 5, "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyBadType, "Name"},
		{"name missing", "P.policy", `{"CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyMissing, "Name"},
		{"groups missing", "P.policy", `{"Name": "P"}`, PolicyMissing, "CollectionGroups"},
		{"no groups", "P.policy", `{"Name": "P", "CollectionGroups": {}}`, PolicyNoGroups, "CollectionGroups"},
		{"groups not an object", "P.policy", `{"Name": "P", "CollectionGroups": []}`, PolicyBadType, "CollectionGroups"},
		{"unknown key", "P.policy", `{"Name": "P", "Groups": {}, "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyUnknownKey, "Groups"},
		{"duplicate key", "P.policy", `{"Name": "P", "Name": "P", "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyDuplicate, "Name"},
		{"duplicate group", "P.policy", `{"Name": "P", "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}, "G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyDuplicate, "CollectionGroups.G"},
		{"group name", "P.policy", `{"Name": "P", "CollectionGroups": {"G-1": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyBadName, "CollectionGroups.G-1"},
		{"period too short", "P.policy", group(`{"Period": 4, "Paths": ["A.B"]}`), PolicyBadPeriod, "CollectionGroups.G.Period"},
		{"period too long", "P.policy", group(`{"Period": 86401, "Paths": ["A.B"]}`), PolicyBadPeriod, "CollectionGroups.G.Period"},
		{"period fraction", "P.policy", group(`{"Period": 10.5, "Paths": ["A.B"]}`), PolicyBadType, "CollectionGroups.G.Period"},
		{"period string", "P.policy", group(`{"Period": "10", "Paths": ["A.B"]}`), PolicyBadType, "CollectionGroups.G.Period"},
		{"period missing", "P.policy", group(`{"Paths": ["A.B"]}`), PolicyMissing, "CollectionGroups.G.Period"},
		{"unknown group key", "P.policy", group(`{"Period": 10, "Paths": ["A.B"], "Peroid": 5}`), PolicyUnknownKey, "CollectionGroups.G.Peroid"},
		{"paths missing", "P.policy", group(`{"Period": 10}`), PolicyMissing, "CollectionGroups.G.Paths"},
		{"no paths", "P.policy", group(`{"Period": 10, "Paths": []}`), PolicyNoPaths, "CollectionGroups.G.Paths"},
		{"paths not a list", "P.policy", group(`{"Period": 10, "Paths": "A.B"}`), PolicyBadType, "CollectionGroups.G.Paths"},
		{"path empty element", "P.policy", group(`{"Period": 10, "Paths": ["RootOper..Interfaces"]}`), PolicyBadPath, "CollectionGroups.G.Paths[0]"},
		{"path unbalanced", "P.policy", group(`{"Period": 10, "Paths": ["A.B", "RootOper.Interfaces.Interface(*"]}`), PolicyBadPath, "CollectionGroups.G.Paths[1]"},
		{"path not a name", "P.policy", group(`{"Period": 10, "Paths": ["RootOper.9Lives"]}`), PolicyBadPath, "CollectionGroups.G.Paths[0]"},
		{"path empty naming", "P.policy", group(`{"Period": 10, "Paths": ["RootOper.Interface()"]}`), PolicyBadPath, "CollectionGroups.G.Paths[0]"},
		{"path text after naming", "P.policy", group(`{"Period": 10, "Paths": ["RootOper.Interface(*)x"]}`), PolicyBadPath, "CollectionGroups.G.Paths[0]"},
		{"yang empty element", "P.policy", group(`{"Period": 10, "Paths": ["/a:b//c"]}`), PolicyBadPath, "CollectionGroups.G.Paths[0]"},
		{"path option", "P.policy", group(`{"Period": 10, "Paths": [{"A.B": {"ExcludeFields": ["X"]}}]}`), PolicyBadPathOption, "CollectionGroups.G.Paths[0]"},
		{"path number", "P.policy", group(`{"Period": 10, "Paths": [7]}`), PolicyBadType, "CollectionGroups.G.Paths[0]"},
		{"metadata type", "P.policy", `{"Name": "P", "Metadata": {"Identifier": 5}, "CollectionGroups": {"G": {"Period": 10, "Paths": ["A.B"]}}}`, PolicyBadType, "Metadata.Identifier"},
		{"not json", "P.policy", `{"Name": "P",}`, PolicyBadJSON, ""},
		{"not an object", "P.policy", `["P"]`, PolicyBadJSON, ""},
		{"too large", "P.policy", `{"Name": "` + strings.Repeat("P", MaxPolicyBytes) + `"}`, PolicyTooLarge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := ParsePolicy(c.file, []byte(c.in))
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			pe, ok := err.(*PolicyError)
			if !ok {
				t.Fatalf("%T %v", err, err)
			}
			if pe.File != c.file || !strings.Contains(err.Error(), `"`+c.file+`"`) {
				t.Errorf("error does not name the file: %v", err)
			}
			found := false
			for _, pr := range pe.Problems {
				found = found || pr.Reason == c.reason && pr.Where == c.where
			}
			if !found {
				t.Errorf("want %s at %q, got %v", c.reason, c.where, err)
			}
		})
	}
}

func TestParsePolicyReportsEveryProblem(t *testing.T) {
	_, err := ParsePolicy("Edge.policy", []byte(`{"Name": "Core", "CollectionGroups": {
	  "Fast": {"Period": 1, "Paths": ["RootOper.Interfaces.Interface(*"]}, "Slow": {"Period": 100000, "Paths": []}}}`))
	pe, ok := err.(*PolicyError)
	if !ok {
		t.Fatalf("%T %v", err, err)
	}
	for _, r := range []string{PolicyNameMismatch, PolicyBadPeriod, PolicyBadPath, PolicyNoPaths} {
		if !pe.Has(r) {
			t.Errorf("missing %s in %v", r, err)
		}
	}
	if len(pe.Problems) != 5 {
		t.Errorf("%d problems, want 5: %v", len(pe.Problems), err)
	}
}
