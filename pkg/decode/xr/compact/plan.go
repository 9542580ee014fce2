package compact

import (
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Field numbers up to this bound are looked up in a slice; Cisco's tags are small.
const maxDenseField = 1024

// msgPlan is a message descriptor prepared for decoding under one leaf-name prefix:
// every field's leaf name, wire type and destination (keys or content) is computed once,
// so the row walk only switches on precomputed values.
type msgPlan struct {
	md     protoreflect.MessageDescriptor
	dense  []*fieldPlan // by field number
	sparse map[protowire.Number]*fieldPlan
	// keyHint and contentHint count the scalar fields of this level, to size the
	// arenas rows are sliced from.
	keyHint, contentHint int
}

type conv uint8

const (
	convBool conv = iota
	convEnum
	convInt32
	convInt64
	convUint32
	convUint64
	convSint32
	convSint64
	convFixed32
	convSfixed32
	convFloat
	convFixed64
	convSfixed64
	convDouble
	convString
	convBytes
	convMessage
	convGroup
)

type fieldPlan struct {
	leaf     string // full slash-joined leaf name
	key      bool   // goes to Row.Keys
	conv     conv
	wire     protowire.Type
	packable bool // a repeated scalar that may arrive packed
	fd       protoreflect.FieldDescriptor
	enum     map[protoreflect.EnumNumber]string // value names of an enum field
	// child is the plan of a message field's type under this field's name, built on
	// first use: recursive messages would otherwise make the plan tree infinite.
	child atomic.Pointer[msgPlan]
}

func (p *msgPlan) field(n protowire.Number) *fieldPlan {
	if int(n) < len(p.dense) {
		return p.dense[n]
	}
	return p.sparse[n]
}

// newPlan prepares md. top marks the row message itself, where naming fields are told
// from data; below it every leaf inherits key from the field that led there.
func newPlan(md protoreflect.MessageDescriptor, prefix string, key, top bool) *msgPlan {
	p := &msgPlan{md: md}
	fds := md.Fields()
	maxNum := 0
	for i := 0; i < fds.Len(); i++ {
		if n := int(fds.Get(i).Number()); n > maxNum && n <= maxDenseField {
			maxNum = n
		}
	}
	p.dense = make([]*fieldPlan, maxNum+1)
	for i := 0; i < fds.Len(); i++ {
		fd := fds.Get(i)
		name, pathElem := fieldOptions(fd)
		fk := key
		leaf := name
		if leaf == "" {
			leaf = string(fd.Name())
		}
		if top {
			fk = pathElem != "" || fd.Number() < firstDataTag
			if fk {
				if np := namingParam(pathElem, name, string(fd.Name())); np != "" {
					leaf = np
				}
			}
		}
		if prefix != "" {
			leaf = prefix + "/" + leaf
		}
		f := &fieldPlan{leaf: leaf, key: fk, fd: fd}
		f.conv, f.wire = convOf(fd.Kind())
		f.packable = fd.IsList() && f.wire != protowire.BytesType && f.conv != convGroup
		if f.conv == convEnum {
			// The compiler's descriptors find values by a linear scan; enums of
			// interface states and the like are looked up once per leaf.
			vals := fd.Enum().Values()
			f.enum = make(map[protoreflect.EnumNumber]string, vals.Len())
			for k := vals.Len() - 1; k >= 0; k-- { // the first of aliased numbers wins
				f.enum[vals.Get(k).Number()] = string(vals.Get(k).Name())
			}
		}
		if f.conv != convMessage && f.conv != convGroup {
			if fk {
				p.keyHint++
			} else {
				p.contentHint++
			}
		}
		if int(fd.Number()) < len(p.dense) {
			p.dense[fd.Number()] = f
		} else {
			if p.sparse == nil {
				p.sparse = map[protowire.Number]*fieldPlan{}
			}
			p.sparse[fd.Number()] = f
		}
	}
	return p
}

func (f *fieldPlan) childPlan() *msgPlan {
	if c := f.child.Load(); c != nil {
		return c
	}
	// Two goroutines may both build it; either result is the same, one wins.
	c := newPlan(f.fd.Message(), f.leaf, f.key, false)
	if f.child.CompareAndSwap(nil, c) {
		return c
	}
	return f.child.Load()
}

func convOf(k protoreflect.Kind) (conv, protowire.Type) {
	switch k {
	case protoreflect.BoolKind:
		return convBool, protowire.VarintType
	case protoreflect.EnumKind:
		return convEnum, protowire.VarintType
	case protoreflect.Int32Kind:
		return convInt32, protowire.VarintType
	case protoreflect.Int64Kind:
		return convInt64, protowire.VarintType
	case protoreflect.Uint32Kind:
		return convUint32, protowire.VarintType
	case protoreflect.Uint64Kind:
		return convUint64, protowire.VarintType
	case protoreflect.Sint32Kind:
		return convSint32, protowire.VarintType
	case protoreflect.Sint64Kind:
		return convSint64, protowire.VarintType
	case protoreflect.Fixed32Kind:
		return convFixed32, protowire.Fixed32Type
	case protoreflect.Sfixed32Kind:
		return convSfixed32, protowire.Fixed32Type
	case protoreflect.FloatKind:
		return convFloat, protowire.Fixed32Type
	case protoreflect.Fixed64Kind:
		return convFixed64, protowire.Fixed64Type
	case protoreflect.Sfixed64Kind:
		return convSfixed64, protowire.Fixed64Type
	case protoreflect.DoubleKind:
		return convDouble, protowire.Fixed64Type
	case protoreflect.StringKind:
		return convString, protowire.BytesType
	case protoreflect.BytesKind:
		return convBytes, protowire.BytesType
	case protoreflect.GroupKind:
		return convGroup, protowire.StartGroupType
	}
	return convMessage, protowire.BytesType
}

// leafNames lists the key and content leaf names rows of this message can carry, each
// once, nested messages expanded to a bounded depth.
func (p *msgPlan) leafNames() (keys, fields []string) {
	seen := map[string]bool{}
	var walk func(p *msgPlan, depth int)
	walk = func(p *msgPlan, depth int) {
		fds := p.md.Fields()
		for i := 0; i < fds.Len(); i++ {
			f := p.field(fds.Get(i).Number())
			if len(keys)+len(fields) >= maxListedLeafNames {
				return
			}
			if f.conv == convMessage || f.conv == convGroup {
				if depth < maxListedDepth {
					walk(f.childPlan(), depth+1)
				}
				continue
			}
			if seen[f.leaf] {
				continue
			}
			seen[f.leaf] = true
			if f.key {
				keys = append(keys, f.leaf)
			} else {
				fields = append(fields, f.leaf)
			}
		}
	}
	walk(p, 0)
	return keys, fields
}

// normalizePath drops the parenthesised parts of a schema path, so that
// "RootOper.InfraStatistics.Interface(*).Latest.GenericCounters", the same path with
// naming parameters spelled out, and "RootOper.InfraStatistics.Interface.Latest.GenericCounters"
// all match one row message. Quotes inside parentheses may hide parentheses.
func normalizePath(p string) string {
	if strings.IndexByte(p, '(') < 0 {
		return strings.TrimSpace(p)
	}
	var b strings.Builder
	b.Grow(len(p))
	depth := 0
	var quote byte
	for i := 0; i < len(p); i++ {
		c := p[i]
		if depth == 0 {
			if c == '(' {
				depth = 1
			} else {
				b.WriteByte(c)
			}
			continue
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		}
	}
	return strings.TrimSpace(b.String())
}

// namingParam returns the naming parameter a key field holds, from its path_element
// option: "RootOper.InfraStatistics.Interface(InterfaceName)" gives "InterfaceName".
// When the parentheses list several names, the one matching the field's cisco name or
// proto name is chosen. "" means no usable name there (the caller then uses the cisco
// name, else the proto name).
func namingParam(pathElem, ciscoName, protoName string) string {
	open := strings.LastIndexByte(pathElem, '(')
	if open < 0 {
		return ""
	}
	inner := pathElem[open+1:]
	if c := strings.IndexByte(inner, ')'); c >= 0 {
		inner = inner[:c]
	}
	var names []string
	for _, part := range strings.Split(inner, ",") {
		part = strings.TrimSpace(part)
		if isIdent(part) {
			names = append(names, part)
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	for _, n := range names {
		if sameName(n, ciscoName) || sameName(n, protoName) {
			return n
		}
	}
	return ""
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// sameName compares CamelCase and snake_case spellings: "InterfaceName" = "interface_name".
func sameName(a, b string) bool {
	if b == "" {
		return false
	}
	norm := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }
	return norm(a) == norm(b)
}
