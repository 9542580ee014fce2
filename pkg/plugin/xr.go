package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/server"
)

// errXROff answers XR resources and xr_state records while XR is off.
var errXROff = errors.New("the IOS XR receiver is off (no XR listener configured, or it failed to start; see the data source's health check)")

// xrPath is one entry of GET xr/paths: a policy path known from a .policy
// file, a path data arrived for, or both. The editor lists policy paths
// with their group's cadence before any router sends them.
type xrPath struct {
	Path          string   `json:"path"`
	Policy        string   `json:"policy"`
	Group         string   `json:"group"`
	PeriodSeconds int64    `json:"periodSeconds"`
	Source        string   `json:"source"` // policy, data or both
	Devices       []string `json:"devices"`
	LastSeenMs    int64    `json:"lastSeenMs"`
	Keys          []string `json:"keys"`
	Leaves        int      `json:"leaves"`
	// DataPaths are the spellings data arrived under, the series' path
	// label: the policy path for JSON and key-value GPB, the schema path
	// (no naming parameters) for compact GPB.
	DataPaths []string `json:"dataPaths"`
}

func (d *Datasource) xrRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /xr/routers", d.xrHandler(func(r *http.Request, x server.XRService) (any, error) {
		return d.xrRouters(x), nil
	}))
	mux.HandleFunc("GET /xr/paths", d.xrHandler(func(r *http.Request, x server.XRService) (any, error) {
		dev := r.URL.Query().Get("device")
		if !d.mayShowDevice(dev) {
			return nil, badRequest{fmt.Errorf("device %q is not visible through this data source", dev)}
		}
		return d.xrPaths(x, dev), nil
	}))
	mux.HandleFunc("GET /xr/leaves", d.xrHandler(func(r *http.Request, x server.XRService) (any, error) {
		q := r.URL.Query()
		path, dev := q.Get("path"), q.Get("device")
		if path == "" {
			return nil, badRequest{errors.New("path: required")}
		}
		if !d.mayShowDevice(dev) {
			return nil, badRequest{fmt.Errorf("device %q is not visible through this data source", dev)}
		}
		return d.xrLeaves(x, dev, path), nil
	}))
	mux.HandleFunc("GET /xr/policies", d.xrHandler(func(r *http.Request, x server.XRService) (any, error) {
		out := nonNil(x.Policies())
		for i := range out {
			out[i].Groups, out[i].Problems = nonNil(out[i].Groups), nonNil(out[i].Problems)
		}
		return out, nil
	}))
	mux.HandleFunc("GET /xr/protos", d.xrHandler(func(r *http.Request, x server.XRService) (any, error) {
		out := nonNil(x.Protos())
		for i := range out {
			out[i].Paths, out[i].Problems = nonNil(out[i].Paths), nonNil(out[i].Problems)
		}
		return out, nil
	}))
}

// xrHandler answers 503 while XR is off, 400 for the caller's mistakes.
func (d *Datasource) xrHandler(h func(r *http.Request, x server.XRService) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.srv.XR == nil {
			writeError(w, http.StatusServiceUnavailable, errXROff)
			return
		}
		body, err := h(r, d.srv.XR)
		if err != nil {
			var bad badRequest
			if errors.As(err, &bad) {
				writeError(w, http.StatusBadRequest, err)
			} else {
				writeError(w, http.StatusInternalServerError, err)
			}
			return
		}
		writeJSON(w, body)
	}
}

// mayShowDevice reports whether this instance may show a device ("" is
// every device it may see).
func (d *Datasource) mayShowDevice(dev string) bool {
	return dev == "" || len(d.settings.Devices) == 0 || slices.Contains(d.settings.Devices, dev)
}

func (d *Datasource) xrRouters(x server.XRService) []server.XRRouter {
	out := []server.XRRouter{}
	for _, r := range x.Routers() {
		if !d.mayShowDevice(r.Device) {
			continue
		}
		if r.Drops == nil {
			r.Drops = map[string]uint64{}
		}
		if r.MissingProtos == nil {
			r.MissingProtos = map[string]uint64{}
		}
		r.Transports, r.Generations, r.Encodings = nonNil(r.Transports), nonNil(r.Generations), nonNil(r.Encodings)
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b server.XRRouter) int { return strings.Compare(a.Device, b.Device) })
	return out
}

// xrPaths merges the policies' paths with the paths data arrived for.
// Policy-driven data names its policy and group (the message's
// subscription), so it meets its policy entry on (policy, path), the path
// without naming parameters (compact tables name the schema path,
// RootOper.InfraStatistics.Interface.Latest.GenericCounters, where the
// policy says Interface(*)); a path in
// several groups of one policy meets the group the data names, else the
// first. Model-driven data has no policy: its sensor paths are data only,
// their subscription standing in for the group. The period is the group's;
// data alone does not say it.
func (d *Datasource) xrPaths(x server.XRService, device string) []xrPath {
	type key struct{ policy, group, path string }
	var order []key
	byKey := map[key]*xrPath{}
	byPolicyPath := map[[2]string][]key{}
	for _, pf := range x.Policies() {
		for _, g := range pf.Groups {
			for _, p := range g.Paths {
				k := key{pf.Name, g.Name, p}
				if _, dup := byKey[k]; dup {
					continue
				}
				byKey[k] = &xrPath{Path: p, Policy: pf.Name, Group: g.Name, PeriodSeconds: g.PeriodSeconds, Source: "policy", Devices: []string{}, Keys: []string{}, DataPaths: []string{}}
				order = append(order, k)
				pp := [2]string{pf.Name, bareSchemaPath(p)}
				byPolicyPath[pp] = append(byPolicyPath[pp], k)
			}
		}
	}
	// A fleet sends the same few paths from every router: each path's bare
	// form is worked out once.
	bare := map[string]string{}
	for _, dp := range x.Paths(device) {
		if !d.mayShowDevice(dp.Device) {
			continue
		}
		k := key{dp.Policy, dp.Subscription, dp.Path}
		if dp.Policy != "" {
			b, ok := bare[dp.Path]
			if !ok {
				b = bareSchemaPath(dp.Path)
				bare[dp.Path] = b
			}
			if cands := byPolicyPath[[2]string{dp.Policy, b}]; len(cands) > 0 {
				k = cands[0]
				for _, c := range cands {
					if c.group == dp.Subscription {
						k = c
					}
				}
			}
		}
		e, ok := byKey[k]
		if !ok {
			e = &xrPath{Path: dp.Path, Policy: dp.Policy, Group: dp.Subscription, Source: "data", Devices: []string{}, Keys: []string{}, DataPaths: []string{}}
			byKey[k] = e
			order = append(order, k)
		} else if e.Source == "policy" {
			e.Source = "both"
		}
		e.Devices = append(e.Devices, dp.Device) // made unique below
		if !slices.Contains(e.DataPaths, dp.Path) {
			e.DataPaths = append(e.DataPaths, dp.Path)
		}
		e.LastSeenMs = max(e.LastSeenMs, dp.LastSeenMs)
		for _, k := range dp.Keys {
			if !slices.Contains(e.Keys, k) {
				e.Keys = append(e.Keys, k)
			}
		}
		e.Leaves = max(e.Leaves, dp.Leaves)
	}
	out := make([]xrPath, 0, len(order))
	for _, k := range order {
		e := byKey[k]
		slices.Sort(e.Devices)
		e.Devices = slices.Compact(e.Devices)
		slices.Sort(e.DataPaths)
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b xrPath) int {
		return cmp.Or(strings.Compare(a.Policy, b.Policy), strings.Compare(a.Group, b.Group), strings.Compare(a.Path, b.Path))
	})
	return out
}

// bareSchemaPath drops a policy path's naming parameters: "(*)",
// "({'InstanceName': 'default'})", "([*])".
func bareSchemaPath(p string) string {
	if !strings.ContainsAny(p, "([") {
		return p
	}
	var b strings.Builder
	depth := 0
	for _, c := range p {
		switch c {
		case '(', '[':
			depth++
		case ')', ']':
			depth = max(depth-1, 0)
		default:
			if depth == 0 {
				b.WriteRune(c)
			}
		}
	}
	return b.String()
}

// xrLeaves lists a path's leaves: those of the path as given and of every
// spelling data arrived under for it (a compact table's schema path for a
// policy path), so the editor finds a leaf whatever encoding brought it.
// A restricted instance asking for every device gets the union over the
// devices it may see.
func (d *Datasource) xrLeaves(x server.XRService, device, path string) []server.XRLeaf {
	devices := []string{device}
	if device == "" && len(d.settings.Devices) > 0 {
		devices = d.settings.Devices
	}
	bare := bareSchemaPath(path)
	out := []server.XRLeaf{}
	for _, dev := range devices {
		spellings := []string{path}
		for _, dp := range x.Paths(dev) {
			if !slices.Contains(spellings, dp.Path) && bareSchemaPath(dp.Path) == bare {
				spellings = append(spellings, dp.Path)
			}
		}
		for _, sp := range spellings {
			for _, l := range x.Leaves(dev, sp) {
				if !slices.ContainsFunc(out, func(o server.XRLeaf) bool { return o.Leaf == l.Leaf }) {
					out = append(out, l)
				}
			}
		}
	}
	return sortLeaves(out)
}

func sortLeaves(ls []server.XRLeaf) []server.XRLeaf {
	slices.SortFunc(ls, func(a, b server.XRLeaf) int { return strings.Compare(a.Leaf, b.Leaf) })
	return ls
}

// maxXRHealthLines bounds each kind of XR warning in the health message: a
// router with thousands of paths lacking their .proto must not make the
// message unreadable; the status page lists them all.
const maxXRHealthLines = 10

// xrHealth adds what an operator must hear about IOS XR telemetry: routers
// whose messages the receiver dropped, compact GPB rows without their
// .proto, .policy and .proto files with problems, and policy groups silent
// for three periods.
func (d *Datasource) xrHealth(r *healthReport, now time.Time) {
	x := d.srv.XR
	if x == nil {
		return
	}
	var warn []string
	routers := d.xrRouters(x)
	for _, rt := range routers {
		if rt.Stopped {
			warn = append(warn, fmt.Sprintf("IOS XR router %s (%s) stopped sending; last seen %s",
				rt.Device, rt.Remote, time.UnixMilli(rt.LastSeenMs).UTC().Format(time.RFC3339)))
		}
		if len(rt.Drops) > 0 {
			warn = append(warn, fmt.Sprintf("IOS XR router %s (%s): the receiver dropped%s", rt.Device, rt.Remote, dropsText(rt.Drops)))
		}
	}
	r.Warnings = append(r.Warnings, capLines(warn, "more IOS XR routers stopped or with drops")...)

	warn = warn[:0]
	for _, rt := range routers {
		for _, p := range sortedKeys(rt.MissingProtos) {
			warn = append(warn, fmt.Sprintf("IOS XR router %s sends compact GPB for %s, which no .proto in xr_proto_dir describes: %d rows skipped",
				rt.Device, p, rt.MissingProtos[p]))
		}
	}
	r.Warnings = append(r.Warnings, capLines(warn, "more paths without a .proto")...)

	warn = warn[:0]
	policies, protos := x.Policies(), x.Protos()
	for _, pf := range policies {
		for _, p := range pf.Problems {
			warn = append(warn, fmt.Sprintf("IOS XR policy file %s", problemText(pf.File, p)))
		}
	}
	for _, pf := range protos {
		for _, p := range pf.Problems {
			warn = append(warn, fmt.Sprintf("IOS XR proto file %s", problemText(pf.File, p)))
		}
	}
	r.Warnings = append(r.Warnings, capLines(warn, "more problems in .policy and .proto files")...)

	warn = warn[:0]
	for _, g := range x.SilentGroups(now.UnixMilli()) {
		if g.Router != "" && !d.mayShowDevice(g.Router) {
			continue
		}
		since := time.UnixMilli(g.SinceMs).UTC().Format(time.RFC3339)
		if g.Router == "" {
			warn = append(warn, fmt.Sprintf("IOS XR policy %s group %s (every %ds): no router has sent it since %s",
				g.Policy, g.Group, g.PeriodSeconds, since))
		} else {
			warn = append(warn, fmt.Sprintf("IOS XR policy %s group %s (every %ds): router %s silent since %s, three periods or more",
				g.Policy, g.Group, g.PeriodSeconds, g.Router, since))
		}
	}
	r.Warnings = append(r.Warnings, capLines(warn, "more silent policy groups")...)

	sending := 0
	for _, rt := range routers {
		if !rt.Stopped {
			sending++
		}
	}
	r.Notes = append(r.Notes, fmt.Sprintf("%d of %d IOS XR routers sending, %d policy files, %d proto files", sending, len(routers), len(policies), len(protos)))
	if d.srv.XRState != nil {
		r.Notes = append(r.Notes, fmt.Sprintf("xr_state table holds %d records", d.srv.XRState.Stats().Rows))
	}
}

// problemText reads "file:12: reason: detail"; Where names the file
// itself when the parser knew the line.
func problemText(file string, p server.XRProblem) string {
	where := p.Where
	switch {
	case where == "":
		where = file
	case !strings.HasPrefix(where, file):
		where = file + ": " + where
	}
	s := where + ": " + p.Reason
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

func capLines(lines []string, rest string) []string {
	if len(lines) <= maxXRHealthLines {
		return slices.Clone(lines)
	}
	out := slices.Clone(lines[:maxXRHealthLines])
	return append(out, fmt.Sprintf("%d %s; see the data source's status page", len(lines)-maxXRHealthLines, rest))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// xrStatus is the status page's XR section.
func (d *Datasource) xrStatus(now time.Time) map[string]any {
	out := map[string]any{"enabled": d.srv.XR != nil}
	if d.srv.XR == nil {
		return out
	}
	x := d.srv.XR
	routers := d.xrRouters(x)
	var drops, missing uint64
	for _, r := range routers {
		for _, n := range r.Drops {
			drops += n
		}
		for _, n := range r.MissingProtos {
			missing += n
		}
	}
	problems := 0
	for _, p := range x.Policies() {
		problems += len(p.Problems)
	}
	for _, p := range x.Protos() {
		problems += len(p.Problems)
	}
	silent := []server.XRSilentGroup{}
	for _, g := range x.SilentGroups(now.UnixMilli()) {
		if g.Router == "" || d.mayShowDevice(g.Router) {
			silent = append(silent, g)
		}
	}
	out["routers"] = routers
	out["drops"] = drops
	out["missingProtoRows"] = missing
	out["fileProblems"] = problems
	out["silentGroups"] = silent
	if d.srv.XRState != nil {
		out["state"] = d.srv.XRState.Stats()
	}
	return out
}
