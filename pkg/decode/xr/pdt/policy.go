package pdt

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Policy is one validated .policy file.
type Policy struct {
	Name        string
	Version     string // Metadata.Version as written (a number in Cisco's examples)
	Description string
	Comment     string
	Identifier  string // sent back by the JSON encoder in every message
	Groups      []Group
}

// Group is one collection group: its paths are collected and sent every Period.
type Group struct {
	Name   string
	Period time.Duration
	Paths  []PolicyPath
}

// SilentAfter is how long without data before the group counts as silent: three periods.
func (g Group) SilentAfter() time.Duration { return 3 * g.Period }

// PolicyPath is one entry of a group's Paths.
type PolicyPath struct {
	Path          string
	Elements      []Element
	IncludeFields []string // from the object form {"<path>": {"IncludeFields": [...]}}
}

// Policy limits, from Cisco's policy file rules.
const (
	MinPeriod       = 5 * time.Second
	MaxPeriod       = 86400 * time.Second
	MaxPolicyBytes  = 1 << 20
	PolicyExtension = ".policy"
)

// PolicyError lists everything wrong with one .policy file.
type PolicyError struct {
	File     string
	Problems []Problem
}

// Problem is one thing wrong in a policy file. Where is a dotted location
// (CollectionGroups.FirstGroup.Period); Reason is stable, for counting and tests.
type Problem struct {
	Where  string
	Reason string
	Detail string
}

// Policy problem reasons.
const (
	PolicyTooLarge      = "too_large"
	PolicyBadJSON       = "bad_json"
	PolicyBadFileName   = "bad_file_name"
	PolicyNameMismatch  = "name_mismatch"
	PolicyBadName       = "bad_name"
	PolicyMissing       = "missing"
	PolicyBadType       = "bad_type"
	PolicyUnknownKey    = "unknown_key"
	PolicyDuplicate     = "duplicate"
	PolicyNoGroups      = "no_groups"
	PolicyBadPeriod     = "bad_period"
	PolicyNoPaths       = "no_paths"
	PolicyBadPath       = "bad_path"
	PolicyBadPathOption = "bad_path_option"
)

func (e *PolicyError) Error() string {
	var sb strings.Builder
	sb.WriteString("policy file ")
	sb.WriteString(strconv.Quote(e.File))
	sb.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteString("; ")
		}
		if p.Where != "" {
			sb.WriteString(p.Where)
			sb.WriteString(": ")
		}
		sb.WriteString(p.Detail)
	}
	return sb.String()
}

// Has reports whether a problem with this reason was found.
func (e *PolicyError) Has(reason string) bool {
	for _, p := range e.Problems {
		if p.Reason == reason {
			return true
		}
	}
	return false
}

// ParsePolicy parses and validates a router's .policy file. name is the file's name
// (a directory part is ignored); the policy's Name must equal it without ".policy".
// Every problem found is reported at once, so a user fixes the file in one go.
func ParsePolicy(name string, b []byte) (*Policy, error) {
	file := filepath.Base(name)
	pe := &PolicyError{File: file}
	add := func(where, reason, detail string) { pe.Problems = append(pe.Problems, Problem{where, reason, detail}) }
	if len(b) > MaxPolicyBytes {
		add("", PolicyTooLarge, strconv.Itoa(len(b))+" bytes, limit "+strconv.Itoa(MaxPolicyBytes))
		return nil, pe
	}
	base, ok := strings.CutSuffix(file, PolicyExtension)
	if !ok || base == "" {
		add("", PolicyBadFileName, "file name must be <Name>.policy")
	}
	root, err := parseJSON(b, Limits{MaxDepth: 16, MaxLeaves: 100000}.withDefaults())
	if err != nil {
		add("", PolicyBadJSON, "not valid JSON: "+err.Detail)
		return nil, pe
	}
	if !root.obj {
		add("", PolicyBadJSON, "must be a JSON object")
		return nil, pe
	}
	pol := &Policy{}
	seen := map[string]bool{}
	for k := range root.kids {
		c := &root.kids[k]
		if seen[c.name] {
			add(c.name, PolicyDuplicate, "given twice")
			continue
		}
		seen[c.name] = true
		switch c.name {
		case "Name":
			if !isString(c) {
				add("Name", PolicyBadType, "must be a string")
				continue
			}
			pol.Name = c.leaf.S
			if !isAlnum(pol.Name) {
				add("Name", PolicyBadName, strconv.Quote(pol.Name)+" may hold only letters and digits")
			}
			if ok && base != "" && pol.Name != base {
				add("Name", PolicyNameMismatch, strconv.Quote(pol.Name)+" differs from the file name "+strconv.Quote(base)+" (case counts)")
			}
		case "Metadata":
			pol.metadata(c, add)
		case "CollectionGroups":
			pol.groups(c, add)
		default:
			add(c.name, PolicyUnknownKey, "unknown key (expected Name, Metadata, CollectionGroups)")
		}
	}
	if !seen["Name"] {
		add("Name", PolicyMissing, "missing")
	}
	if !seen["CollectionGroups"] {
		add("CollectionGroups", PolicyMissing, "missing")
	}
	if len(pe.Problems) > 0 {
		return nil, pe
	}
	return pol, nil
}

func isString(n *node) bool { return n.scalar() && n.leaf.Kind == xr.LeafString }

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

type addFunc func(where, reason, detail string)

func (pol *Policy) metadata(n *node, add addFunc) {
	if !n.obj {
		add("Metadata", PolicyBadType, "must be an object")
		return
	}
	for k := range n.kids {
		c := &n.kids[k]
		where := "Metadata." + c.name
		if c.name == "Version" {
			switch {
			case isString(c):
				pol.Version = c.leaf.S
			case c.scalar() && c.leaf.Kind == xr.LeafUint:
				pol.Version = strconv.FormatUint(c.leaf.U, 10)
			default:
				add(where, PolicyBadType, "must be a whole number or a string")
			}
			continue
		}
		var dst *string
		switch c.name {
		case "Description":
			dst = &pol.Description
		case "Comment":
			dst = &pol.Comment
		case "Identifier":
			dst = &pol.Identifier
		default:
			// Metadata is free-form "other details" in Cisco's description: keep quiet.
			continue
		}
		if !isString(c) {
			add(where, PolicyBadType, "must be a string")
			continue
		}
		*dst = c.leaf.S
	}
}

func (pol *Policy) groups(n *node, add addFunc) {
	if !n.obj {
		add("CollectionGroups", PolicyBadType, "must be an object of groups")
		return
	}
	if len(n.kids) == 0 {
		add("CollectionGroups", PolicyNoGroups, "has no collection group")
		return
	}
	seen := map[string]bool{}
	for k := range n.kids {
		c := &n.kids[k]
		where := "CollectionGroups." + c.name
		if seen[c.name] {
			add(where, PolicyDuplicate, "group given twice")
			continue
		}
		seen[c.name] = true
		if !isAlnum(c.name) {
			add(where, PolicyBadName, "group name "+strconv.Quote(c.name)+" may hold only letters and digits")
		}
		if !c.obj {
			add(where, PolicyBadType, "must be an object with Period and Paths")
			continue
		}
		g := Group{Name: c.name}
		var hasPeriod, hasPaths bool
		for m := range c.kids {
			f := &c.kids[m]
			switch f.name {
			case "Period":
				hasPeriod = true
				if !f.scalar() || f.leaf.Kind != xr.LeafUint {
					add(where+".Period", PolicyBadType, "must be a whole number of seconds")
					continue
				}
				if f.leaf.U < uint64(MinPeriod/time.Second) || f.leaf.U > uint64(MaxPeriod/time.Second) {
					add(where+".Period", PolicyBadPeriod, strconv.FormatUint(f.leaf.U, 10)+" s is outside 5 to 86400 s")
					continue
				}
				g.Period = time.Duration(f.leaf.U) * time.Second
			case "Paths":
				hasPaths = true
				g.Paths = paths(f, where+".Paths", add)
			default:
				add(where+"."+f.name, PolicyUnknownKey, "unknown key (expected Period, Paths)")
			}
		}
		if !hasPeriod {
			add(where+".Period", PolicyMissing, "missing")
		}
		if !hasPaths {
			add(where+".Paths", PolicyMissing, "missing")
		}
		pol.Groups = append(pol.Groups, g)
	}
}

// paths reads a group's Paths: strings, or one-member objects giving a path its
// options ({"RootOper.Interfaces.Interface(*)": {"IncludeFields": ["State"]}}).
func paths(n *node, where string, add addFunc) []PolicyPath {
	if !n.arr {
		add(where, PolicyBadType, "must be a list")
		return nil
	}
	if len(n.kids) == 0 {
		add(where, PolicyNoPaths, "has no path")
		return nil
	}
	var out []PolicyPath
	for i := range n.kids {
		c := &n.kids[i]
		at := where + "[" + strconv.Itoa(i) + "]"
		var pp PolicyPath
		switch {
		case isString(c):
			pp.Path = c.leaf.S
		case c.obj && len(c.kids) == 1 && c.kids[0].obj:
			pp.Path = c.kids[0].name
			for _, opt := range c.kids[0].kids {
				if opt.name != "IncludeFields" || !opt.arr {
					add(at, PolicyBadPathOption, "path options hold only IncludeFields, a list of names")
					continue
				}
				for _, f := range opt.kids {
					if !isString(&f) || !isIdent(f.leaf.S) {
						add(at+".IncludeFields", PolicyBadPathOption, "must be field names")
						continue
					}
					pp.IncludeFields = append(pp.IncludeFields, f.leaf.S)
				}
			}
		default:
			add(at, PolicyBadType, "must be a path string or {\"<path>\": {\"IncludeFields\": [...]}}")
			continue
		}
		els, err := ParsePath(pp.Path)
		if err != nil {
			add(at, PolicyBadPath, strconv.Quote(pp.Path)+": "+err.Error())
			continue
		}
		pp.Elements = els
		out = append(out, pp)
	}
	return out
}
