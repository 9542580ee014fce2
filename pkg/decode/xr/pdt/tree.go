package pdt

import (
	"strconv"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// node is the decoded hierarchy of one message, the same for JSON and key-value GPB,
// so that one walk along the policy path serves both encodings.
type node struct {
	name string
	obj  bool // JSON object, or TelemetryField with child fields
	arr  bool // JSON array
	null bool // JSON null: no value, no leaf
	leaf xr.Leaf
	kids []node
	ts   int64 // TelemetryField timestamp (ms), 0 when absent
	elem bool  // element of an array: a list instance whose naming values are members
	key  bool  // taken as a naming value; left out of Content
}

func (n *node) scalar() bool { return !n.obj && !n.arr && !n.null }

func (n *node) child(name string) *node {
	for i := range n.kids {
		if n.kids[i].name == name {
			return &n.kids[i]
		}
	}
	return nil
}

// rowTimeKey is the member that carries a row's own collection time in PDT JSON.
const rowTimeKey = "CollectionTime"

// walker turns a node tree into rows along a parsed policy path.
type walker struct {
	els  []Element
	ts   int64 // message timestamp, for rows without their own
	rows []xr.Row
	// budget is how many more leaves (keys repeated per row included) rows may hold;
	// naming values copied into every row could otherwise multiply a message's size.
	budget int
}

func (w *walker) walk(v *node, i int, keys []xr.Leaf, ts int64) {
	if w.budget < 0 {
		return
	}
	if v.ts != 0 {
		ts = v.ts
	}
	if i == len(w.els) {
		w.emit(v, keys, ts)
		return
	}
	if !v.obj {
		return
	}
	e := &w.els[i]
	matched := false
	for k := range v.kids {
		c := &v.kids[k]
		if c.name != e.Name {
			continue
		}
		matched = true
		if c.arr {
			for j := range c.kids {
				c.kids[j].elem = true
				w.step(&c.kids[j], i, keys, ts)
			}
			continue
		}
		w.step(c, i, keys, ts)
	}
	// XR 6.0.0 ("format 1") leaves out the list's own level: the naming values sit
	// directly below the parent (InfraStatistics -> "GigabitEthernet0/0/0/0" -> Latest).
	if !matched && len(e.Keys) > 0 && i > 0 {
		w.keys(v, i, 0, keys, ts)
	}
}

func (w *walker) step(c *node, i int, keys []xr.Leaf, ts int64) {
	if len(w.els[i].Keys) == 0 {
		w.walk(c, i+1, keys, ts)
		return
	}
	w.keys(c, i, 0, keys, ts)
}

// keys takes the naming values of element i, from the j-th on, from v.
func (w *walker) keys(v *node, i, j int, keys []xr.Leaf, ts int64) {
	if w.budget < 0 {
		return
	}
	if v.ts != 0 {
		ts = v.ts
	}
	e := &w.els[i]
	if j == len(e.Keys) {
		w.walk(v, i+1, keys, ts)
		return
	}
	switch {
	case v.arr:
		for k := range v.kids {
			v.kids[k].elem = true
			w.keys(&v.kids[k], i, j, keys, ts)
		}
	case !v.obj:
		return
	case v.child("keys") != nil && v.child("content") != nil:
		// Model-driven style rows inside a key-value message: explicit keys and content.
		kn := v.child("keys")
		kn.key = true
		var kl []xr.Leaf
		flatten(kn, "", &kl)
		w.walk(v.child("content"), i+1, appendKeys(keys, kl...), ts)
	case v.elem || len(v.kids) > 0 && v.kids[0].scalar():
		// An instance whose naming values are its own members, first in order
		// ({"Name": "GigabitEthernet0/0/0/1", "Counters": {...}}).
		add := make([]xr.Leaf, 0, len(e.Keys)-j)
		next := 0
		for m := j; m < len(e.Keys); m++ {
			var c *node
			if n := e.Keys[m].Name; n != "" {
				if c = v.child(n); c != nil && !c.scalar() {
					c = nil
				}
			}
			for c == nil && next < len(v.kids) {
				if k := &v.kids[next]; k.scalar() && !k.key {
					c = k
				}
				next++
			}
			if c == nil {
				break
			}
			c.key = true
			l := c.leaf
			l.Name = c.name
			add = append(add, l)
		}
		w.walk(v, i+1, appendKeys(keys, add...), ts)
	default:
		// Naming values as object keys ("Interface": {"GigabitEthernet0/0/0/1": {...}}),
		// one level per naming parameter.
		want := e.Keys[j]
		for k := range v.kids {
			c := &v.kids[k]
			if c.scalar() || !want.Wildcard && want.Value != "" && c.name != want.Value {
				continue
			}
			w.keys(c, i, j+1, appendKeys(keys, xr.Leaf{Name: e.KeyName(j), Kind: xr.LeafString, S: c.name}), ts)
		}
	}
}

// appendKeys never writes into keys' backing array, which sibling instances share.
func appendKeys(keys []xr.Leaf, add ...xr.Leaf) []xr.Leaf {
	out := make([]xr.Leaf, 0, len(keys)+len(add))
	return append(append(out, keys...), add...)
}

func (w *walker) emit(v *node, keys []xr.Leaf, ts int64) {
	switch {
	case v.null:
		return
	case v.arr:
		for k := range v.kids {
			w.emit(&v.kids[k], keys, ts)
		}
		return
	case v.scalar():
		l := v.leaf
		l.Name = v.name
		w.budget -= len(keys) + 1
		w.rows = append(w.rows, xr.Row{TimestampMs: ts, Keys: keys, Content: []xr.Leaf{l}})
		return
	}
	if kn, cn := v.child("keys"), v.child("content"); kn != nil && cn != nil {
		kn.key = true
		var kl []xr.Leaf
		flatten(kn, "", &kl)
		keys = appendKeys(keys, kl...)
		if cn.ts != 0 {
			ts = cn.ts
		}
		v = cn
	}
	if c := v.child(rowTimeKey); c != nil && c.scalar() {
		switch c.leaf.Kind {
		case xr.LeafUint:
			if c.leaf.U <= 1<<62 {
				ts, c.key = int64(c.leaf.U), true
			}
		case xr.LeafInt:
			ts, c.key = c.leaf.I, true
		}
	}
	n := countScalars(v)
	if n == 0 && len(keys) == 0 {
		return // an empty container names nothing and holds nothing
	}
	if w.budget -= len(keys) + n; w.budget < 0 {
		return
	}
	row := xr.Row{TimestampMs: ts, Keys: keys, Content: make([]xr.Leaf, 0, n)}
	flatten(v, "", &row.Content)
	w.rows = append(w.rows, row)
}

// flatten appends v's scalars below it, named by slash-joined member names; elements of
// an array repeat their array's name.
func flatten(v *node, prefix string, out *[]xr.Leaf) {
	for k := range v.kids {
		c := &v.kids[k]
		if c.key {
			continue
		}
		name := c.name
		if v.arr {
			name = prefix
		} else if prefix != "" {
			name = prefix + "/" + c.name
		}
		switch {
		case c.obj || c.arr:
			flatten(c, name, out)
		case c.null:
		default:
			l := c.leaf
			l.Name = name
			*out = append(*out, l)
		}
	}
}

// rowsAlong walks data along path and returns the rows found, or an error when they
// would hold more than maxLeaves leaves.
func rowsAlong(data *node, els []Element, ts int64, maxLeaves int) ([]xr.Row, *Error) {
	w := walker{els: els, ts: ts, budget: maxLeaves}
	w.walk(data, 0, nil, ts)
	if w.budget < 0 {
		return nil, errAt(ReasonTooManyLeaves, -1, "rows would hold over "+strconv.Itoa(maxLeaves)+" leaves with their naming values")
	}
	return w.rows, nil
}

// countScalars is the number of leaves flatten will append for v.
func countScalars(v *node) int {
	c := 0
	for k := range v.kids {
		switch n := &v.kids[k]; {
		case n.key || n.null:
		case n.obj || n.arr:
			c += countScalars(n)
		default:
			c++
		}
	}
	return c
}
