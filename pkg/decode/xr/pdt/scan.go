package pdt

import (
	"strconv"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/xrjson"
)

// parseJSON builds the node tree of one JSON document with the shared strict
// scanner, which keeps member order (naming values come first in list instances,
// and leaves keep their order) and exact 64-bit integers. Containers nest at most
// lim.MaxDepth deep (the outermost is at depth 1); scalars count against
// lim.MaxLeaves, nulls do not.
func parseJSON(b []byte, lim Limits) (node, *Error) {
	t := jsonTree{lim: lim}
	t.s.MaxDepth = lim.MaxDepth
	t.s.Reset(b)
	var root node
	err := t.value(&root)
	if err == nil {
		err = t.s.Finish()
	}
	switch e := err.(type) {
	case nil:
		return root, nil
	case *xrjson.Error:
		if e.TooDeep {
			return node{}, errAt(ReasonTooDeep, e.Offset, "nesting over "+strconv.Itoa(lim.MaxDepth))
		}
		return node{}, errAt(ReasonBadJSON, e.Offset, e.Msg)
	case *Error:
		return node{}, e
	}
	return node{}, errAt(ReasonBadJSON, t.s.Offset(), err.Error())
}

type jsonTree struct {
	s      xrjson.Scanner
	lim    Limits
	leaves int
}

// value fills n, which its parent has named, from the next value.
func (t *jsonTree) value(n *node) error {
	s := &t.s
	kind := s.Peek()
	switch kind {
	case xrjson.Object:
		n.obj = true
		return s.Object(func(name []byte) error {
			n.kids = append(n.kids, node{name: string(name)})
			return t.value(&n.kids[len(n.kids)-1])
		})
	case xrjson.Array:
		n.arr = true
		return s.Array(func() error {
			n.kids = append(n.kids, node{})
			return t.value(&n.kids[len(n.kids)-1])
		})
	case xrjson.Null:
		n.null = true
		return s.Null()
	case xrjson.EOF, xrjson.Invalid:
		return s.Unexpected()
	}
	if t.leaves++; t.leaves > t.lim.MaxLeaves {
		return errAt(ReasonTooManyLeaves, s.Offset(), "over "+strconv.Itoa(t.lim.MaxLeaves)+" values")
	}
	var err error
	switch kind {
	case xrjson.String:
		var v []byte
		v, err = s.Str()
		n.leaf = xr.Leaf{Kind: xr.LeafString, S: string(v)}
	case xrjson.Number:
		var text []byte
		text, err = s.Num()
		n.leaf = xrjson.NumberLeaf(text)
	default:
		n.leaf.Kind = xr.LeafBool
		n.leaf.B, err = s.Bool()
	}
	return err
}
