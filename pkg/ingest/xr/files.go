package xr

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/compact"
	"github.com/netlens/netlens/pkg/decode/xr/pdt"
)

// PolicyInfo is one .policy file of xr_policy_dir: its groups when it is
// valid, else every problem found in it.
type PolicyInfo struct {
	File     string      `json:"file"`
	Name     string      `json:"name"`
	Groups   []GroupInfo `json:"groups"`
	Problems []Problem   `json:"problems"`
}

// GroupInfo is one collection group: its paths are sent every Period.
type GroupInfo struct {
	Name   string        `json:"name"`
	Period time.Duration `json:"period"`
	Paths  []string      `json:"paths"`
}

// Problem is one thing wrong in a .policy or .proto file. Where is
// "file:line:col" for .proto files when the compiler knows the position,
// else a place in the file (CollectionGroups.Fast.Period).
type Problem struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

// ProtoInfo is one .proto file of xr_proto_dir: the policy paths whose
// compact rows it describes, or why it did not compile.
type ProtoInfo struct {
	File     string       `json:"file"`
	Paths    []SchemaPath `json:"paths"`
	Problems []Problem    `json:"problems"`
}

// SchemaPath is one row message of a .proto file.
type SchemaPath struct {
	Path    string   `json:"path"`
	Message string   `json:"message"`
	Keys    []string `json:"keys"`
	Fields  []string `json:"fields"`
}

// Problem reasons of the directories themselves and of .proto files.
const (
	ProblemReadDir  = "read_dir"  // the directory cannot be listed
	ProblemReadFile = "read_file" // a file cannot be read
	ProblemCompile  = "compile"   // a .proto file does not compile
)

// groupRef is one collection group a policy path belongs to.
type groupRef struct {
	policy, group string
	period        time.Duration
}

// catalog is what the two directories hold, replaced whole on reload so
// decoding reads it without a lock.
type catalog struct {
	policies []PolicyInfo
	loaded   map[string]loadedPolicy // valid policies by name
	paths    map[string][]groupRef   // normalized policy path → groups listing it
	allPaths []string                // every policy path, for 6.0.0 JSON that names none
	schema   *compact.Schema
	protos   []ProtoInfo
	// maxPeriod is the longest group period, which bounds how long a TCP
	// connection may stay quiet.
	maxPeriod time.Duration
}

type loadedPolicy struct {
	pol      *pdt.Policy
	loadedMs int64 // when it was first loaded: the start of a never-sent group's silence
}

func (c *catalog) decodeCompact(b []byte) ([]*xr.Message, []string, error) {
	return c.schema.Decode(b)
}

// compactReason is the reason of a compact decoding error.
func compactReason(err error) (string, bool) {
	var ce *compact.Error
	if errors.As(err, &ce) {
		return ce.Reason, true
	}
	return "", false
}

// normPath is a policy path without its naming parameters, so
// RootOper.InfraStatistics.Interface(*).Latest.GenericCounters in a
// .policy file meets RootOper.InfraStatistics.Interface.Latest.GenericCounters
// in a compact table.
func normPath(p string) string {
	if !strings.ContainsAny(p, "([") {
		return p
	}
	var sb strings.Builder
	depth := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '(', '[':
			depth++
		case ')', ']':
			if depth > 0 {
				depth--
			}
		default:
			if depth == 0 {
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// fingerprint names every .policy and .proto file of the directories with
// its size and modification time, so a rescan reloads only on change.
func (r *Receiver) fingerprint() string {
	var sb strings.Builder
	for _, d := range []struct{ dir, ext string }{{r.cfg.PolicyDir, pdt.PolicyExtension}, {r.cfg.ProtoDir, ".proto"}} {
		if d.dir == "" {
			continue
		}
		ents, err := os.ReadDir(d.dir)
		if err != nil {
			sb.WriteString(d.dir + ": " + err.Error() + "\n")
			continue
		}
		for _, e := range ents {
			if e.IsDir() || !strings.HasSuffix(e.Name(), d.ext) {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			fmt.Fprintf(&sb, "%s/%s %d %d\n", d.dir, e.Name(), info.Size(), info.ModTime().UnixNano())
		}
	}
	return sb.String()
}

// reload reads both directories when a file changed (or force), and
// replaces the catalog.
func (r *Receiver) reload(force bool) {
	r.dirMu.Lock()
	defer r.dirMu.Unlock()
	fp := r.fingerprint()
	if !force && fp == r.dirFP {
		return
	}
	r.dirFP = fp
	prev := r.files.Load()
	nowMs := r.nowMs()
	c := &catalog{loaded: map[string]loadedPolicy{}, paths: map[string][]groupRef{}}
	r.loadPolicies(c, prev, nowMs)
	r.loadProtos(c)
	r.files.Store(c)
	if prev != nil {
		r.log.Info("IOS XR policy and proto files reloaded", "policies", len(c.loaded), "protoPaths", len(c.schema.Paths()))
	}
}

func (r *Receiver) loadPolicies(c *catalog, prev *catalog, nowMs int64) {
	dir := r.cfg.PolicyDir
	if dir == "" {
		return
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		c.policies = append(c.policies, PolicyInfo{File: dir, Problems: []Problem{{Where: dir, Reason: ProblemReadDir, Detail: err.Error()}}})
		r.log.Warn("IOS XR policy directory unreadable", "dir", dir, "error", err)
		return
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, pdt.PolicyExtension) {
			continue
		}
		info := PolicyInfo{File: name}
		b, err := readBounded(filepath.Join(dir, name), pdt.MaxPolicyBytes)
		if err != nil {
			info.Problems = []Problem{{Where: name, Reason: ProblemReadFile, Detail: err.Error()}}
			c.policies = append(c.policies, info)
			continue
		}
		pol, err := pdt.ParsePolicy(name, b)
		if err != nil {
			var pe *pdt.PolicyError
			if errors.As(err, &pe) {
				for _, p := range pe.Problems {
					info.Problems = append(info.Problems, Problem{Where: p.Where, Reason: p.Reason, Detail: p.Detail})
				}
			} else {
				info.Problems = []Problem{{Where: name, Reason: pdt.PolicyBadJSON, Detail: err.Error()}}
			}
			r.log.Warn("IOS XR policy file refused", "file", name, "error", err)
			c.policies = append(c.policies, info)
			continue
		}
		info.Name = pol.Name
		lp := loadedPolicy{pol: pol, loadedMs: nowMs}
		if prev != nil {
			if old, ok := prev.loaded[pol.Name]; ok {
				lp.loadedMs = old.loadedMs
			}
		}
		c.loaded[pol.Name] = lp
		for _, g := range pol.Groups {
			gi := GroupInfo{Name: g.Name, Period: g.Period}
			c.maxPeriod = max(c.maxPeriod, g.Period)
			for _, p := range g.Paths {
				gi.Paths = append(gi.Paths, p.Path)
				key := normPath(p.Path)
				c.paths[key] = append(c.paths[key], groupRef{policy: pol.Name, group: g.Name, period: g.Period})
				if !slices.Contains(c.allPaths, p.Path) {
					c.allPaths = append(c.allPaths, p.Path)
				}
			}
			info.Groups = append(info.Groups, gi)
		}
		c.policies = append(c.policies, info)
	}
	slices.SortFunc(c.policies, func(a, b PolicyInfo) int { return strings.Compare(a.File, b.File) })
}

func readBounded(path string, limit int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > int64(limit) {
		return nil, fmt.Errorf("%d bytes, limit %d", st.Size(), limit)
	}
	return os.ReadFile(path)
}

func (r *Receiver) loadProtos(c *catalog) {
	dir := r.cfg.ProtoDir
	if dir == "" {
		return
	}
	s, err := compact.LoadDir(dir)
	var ce *compact.CompileError
	if err != nil && !errors.As(err, &ce) {
		c.protos = append(c.protos, ProtoInfo{File: dir, Problems: []Problem{{Where: dir, Reason: ProblemReadDir, Detail: err.Error()}}})
		r.log.Warn("IOS XR proto directory unreadable", "dir", dir, "error", err)
		return
	}
	if s != nil {
		s.Limits.MaxBytes = r.max
	}
	c.schema = s
	files := map[string]*ProtoInfo{}
	get := func(name string) *ProtoInfo {
		p := files[name]
		if p == nil {
			p = &ProtoInfo{File: name}
			files[name] = p
		}
		return p
	}
	for _, f := range s.Files() {
		get(f)
	}
	for _, sp := range s.Paths() {
		p := get(sp.File)
		p.Paths = append(p.Paths, SchemaPath{Path: sp.Path, Message: sp.Message, Keys: sp.Keys, Fields: sp.Fields})
	}
	if ce != nil {
		for _, pr := range ce.Problems {
			where := pr.File
			if pr.Line > 0 {
				where += ":" + strconv.Itoa(pr.Line) + ":" + strconv.Itoa(pr.Col)
			}
			p := get(pr.File)
			p.Problems = append(p.Problems, Problem{Where: where, Reason: ProblemCompile, Detail: pr.Msg})
		}
		r.log.Warn("IOS XR .proto files with problems", "dir", dir, "error", err)
	}
	for _, p := range files {
		c.protos = append(c.protos, *p)
	}
	slices.SortFunc(c.protos, func(a, b ProtoInfo) int { return strings.Compare(a.File, b.File) })
}

// Policies lists the .policy files of xr_policy_dir as last loaded (at
// start and whenever a file changes, checked every 30 s).
func (r *Receiver) Policies() []PolicyInfo { return slices.Clone(r.files.Load().policies) }

// ProtoFiles lists the .proto files of xr_proto_dir as last loaded.
func (r *Receiver) ProtoFiles() []ProtoInfo { return slices.Clone(r.files.Load().protos) }
