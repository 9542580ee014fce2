package xrsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// DemoPolicyName is the demo policy's name; the file is DemoPolicyName.policy.
// The seed allows letters and digits only in a policy name, hence no dash.
const DemoPolicyName = "NetlensDemo"

// DemoPolicy is provisioning/xr/policies/NetlensDemo.policy: the six
// paths in three collection groups. The simulated routers follow it by
// default, and the collector reads the same file to show the groups'
// paths and cadence before data arrives.
const DemoPolicy = `{
  "Name": "NetlensDemo",
  "Metadata": {
    "Version": 25,
    "Description": "Netlens demo: interface counters and rates, interface state, memory, BGP neighbours, inventory",
    "Comment": "Sent by netlens-sim xr; install as /telemetry/policies/NetlensDemo.policy on a router",
    "Identifier": "netlens-demo"
  },
  "CollectionGroups": {
    "Fast": {
      "Period": 10,
      "Paths": [
        "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters",
        "RootOper.InfraStatistics.Interface(*).Latest.DataRate"
      ]
    },
    "Medium": {
      "Period": 30,
      "Paths": [
        "RootOper.Interfaces.Interface(*)",
        "RootOper.MemorySummary.Node(*).Summary",
        "RootOper.BGP.Instance({'InstanceName': 'default'}).InstanceActive.DefaultVRF.Neighbor([*])"
      ]
    },
    "Slow": {
      "Period": 300,
      "Paths": [
        "RootOper.PlatformInventory.Rack(*).Attributes.BasicInfo"
      ]
    }
  }
}
`

// Policy is what the simulator needs of a .policy file.
type Policy struct {
	Name       string
	Version    uint64
	Identifier string
	Groups     []Group // sorted by name
}

// Group is one collection group: its paths go out every Period.
type Group struct {
	Name   string
	Period time.Duration
	Paths  []*Path
}

// Period bounds of a collection group (seed 001).
const (
	MinPeriod = 5 * time.Second
	MaxPeriod = 86400 * time.Second
)

// ParsePolicy reads a .policy file by the seed's rules: Name equal to the
// file name without .policy, policy and group names of letters and digits,
// periods of 5 to 86400 s, at least one path per group. Paths must be ones
// the simulator serves (Paths). Every problem is reported at once.
func ParsePolicy(file string, b []byte) (*Policy, error) {
	var raw struct {
		Name     *string
		Metadata struct {
			Version    json.Number
			Identifier string
		}
		CollectionGroups map[string]struct {
			Period *json.Number
			Paths  []json.RawMessage
		}
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%s: not a policy: %w", file, err)
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	base, ok := strings.CutSuffix(filepath.Base(file), ".policy")
	if !ok {
		bad("file name must end in .policy")
	}
	p := &Policy{Identifier: raw.Metadata.Identifier}
	switch {
	case raw.Name == nil:
		bad("Name is missing")
	case !alnum(*raw.Name):
		bad("Name %q may hold only letters and digits", *raw.Name)
	case ok && *raw.Name != base:
		bad("Name %q differs from the file name %q", *raw.Name, base)
	}
	if raw.Name != nil {
		p.Name = *raw.Name
	}
	if v := raw.Metadata.Version.String(); v != "" {
		n, err := raw.Metadata.Version.Int64()
		if err != nil || n < 0 {
			bad("Metadata.Version %s is not a whole number", v)
		}
		p.Version = uint64(n)
	}
	if len(raw.CollectionGroups) == 0 {
		bad("CollectionGroups is missing or empty")
	}
	for name, g := range raw.CollectionGroups {
		where := "CollectionGroups." + name
		if !alnum(name) {
			bad("%s: group names may hold only letters and digits", where)
		}
		grp := Group{Name: name}
		if g.Period == nil {
			bad("%s.Period is missing", where)
		} else if n, err := g.Period.Int64(); err != nil || time.Duration(n)*time.Second < MinPeriod || time.Duration(n)*time.Second > MaxPeriod {
			bad("%s.Period %s is not a whole number of seconds from 5 to 86400", where, g.Period.String())
		} else {
			grp.Period = time.Duration(n) * time.Second
		}
		if len(g.Paths) == 0 {
			bad("%s.Paths is missing or empty", where)
		}
		for _, rp := range g.Paths {
			var s string
			if err := json.Unmarshal(rp, &s); err != nil {
				bad("%s.Paths: %s: only plain path strings are simulated (no IncludeFields)", where, rp)
				continue
			}
			path := PathByID(s)
			if path == nil || s != path.PDT && s != path.MDT {
				bad("%s.Paths: %q is not a path the simulator serves", where, s)
				continue
			}
			grp.Paths = append(grp.Paths, path)
		}
		p.Groups = append(p.Groups, grp)
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return nil, fmt.Errorf("%s: %s", filepath.Base(file), strings.Join(problems, "; "))
	}
	slices.SortFunc(p.Groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}

// LoadPolicy reads and checks a .policy file.
func LoadPolicy(file string) (*Policy, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParsePolicy(file, b)
}

// Demo is the parsed DemoPolicy.
func Demo() *Policy {
	p, err := ParsePolicy(DemoPolicyName+".policy", []byte(DemoPolicy))
	if err != nil {
		panic(err) // a constant that does not parse is a bug caught by every test
	}
	return p
}

var errNoPaths = errors.New("xrsim: the policy has no paths")

func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !isUpper(r) && !isLower(r) && !isDigit(r) {
			return false
		}
	}
	return true
}
