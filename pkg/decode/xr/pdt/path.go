package pdt

import (
	"errors"
	"strconv"
	"strings"
)

// MaxPathElements bounds a path's length: real policy paths have under 15 elements,
// and the walk along a path costs up to its length per node of a message.
const MaxPathElements = 64

// Element is one level of a policy path, e.g. Interface(*) or
// Instance({'InstanceName': 'default'}).
type Element struct {
	Name string
	Keys []KeySpec // naming parameters; empty for a plain container
}

// KeySpec is one naming parameter of an Element.
type KeySpec struct {
	Name     string // "" when the path does not say (Interface(*)); see KeyName
	Value    string // the selected value, "" for a wildcard
	Wildcard bool
}

// KeyName is the name given to the k-th naming parameter's Keys leaf: the path's own
// name when it has one (Interface(InterfaceName), {'InstanceName': ...},
// Destination(IPAddress=..., Port=...)), else the element's name plus "Name", the
// spelling the compact GPB .proto files use (RootOper.InfraStatistics.Interface(InterfaceName)).
func (e Element) KeyName(k int) string {
	if k < len(e.Keys) && e.Keys[k].Name != "" {
		return e.Keys[k].Name
	}
	if k == 0 {
		return e.Name + "Name"
	}
	return e.Name + "Name" + strconv.Itoa(k+1)
}

// ParsePath splits a policy path into elements. Two spellings are accepted: schema
// paths (RootOper.InfraStatistics.Interface(*).Latest.GenericCounters) and native YANG
// paths (/Cisco-IOS-XR-infra-statsd-oper:infra-statistics/interfaces/interface=*/latest).
func ParsePath(s string) ([]Element, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	if len(s) > 4096 {
		return nil, errors.New("path longer than 4096 bytes")
	}
	if s[0] == '/' {
		return parseYANGPath(s)
	}
	parts, err := splitOutside(s, '.')
	if err != nil {
		return nil, err
	}
	if len(parts) > MaxPathElements {
		return nil, errors.New("path has more than " + strconv.Itoa(MaxPathElements) + " elements")
	}
	els := make([]Element, 0, len(parts))
	for _, p := range parts {
		e, err := parseSchemaElement(p)
		if err != nil {
			return nil, err
		}
		els = append(els, e)
	}
	return els, nil
}

// splitOutside splits s at sep where sep is neither inside brackets nor quotes
// (Protocol(['IPV4_UNICAST']) and Destination(IPAddress=1.1.1.1, Port=2000) hold dots).
func splitOutside(s string, sep byte) ([]string, error) {
	var parts []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '(' || c == '[' || c == '{':
			depth++
		case c == ')' || c == ']' || c == '}':
			depth--
			if depth < 0 {
				return nil, errors.New("unbalanced " + strconv.Quote(string(c)) + " at byte " + strconv.Itoa(i))
			}
		case c == sep && depth == 0:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, errors.New("unterminated quote")
	}
	if depth != 0 {
		return nil, errors.New("unbalanced brackets")
	}
	return append(parts, s[start:]), nil
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func parseSchemaElement(p string) (Element, error) {
	name, args, hasArgs := strings.Cut(p, "(")
	if !isIdent(name) {
		if name == "" {
			return Element{}, errors.New("empty path element")
		}
		return Element{}, errors.New("path element " + strconv.Quote(name) + " is not a name")
	}
	e := Element{Name: name}
	if !hasArgs {
		return e, nil
	}
	if !strings.HasSuffix(args, ")") {
		return Element{}, errors.New("path element " + strconv.Quote(p) + " has text after its naming parameters")
	}
	args = strings.TrimSpace(args[:len(args)-1])
	// Python-style list or dict of the naming values: (['IPV4_UNICAST']), ([*]), ({'InstanceName': 'default'}).
	if n := len(args); n >= 2 && (args[0] == '[' && args[n-1] == ']' || args[0] == '{' && args[n-1] == '}') {
		args = strings.TrimSpace(args[1 : n-1])
	}
	if args == "" {
		return Element{}, errors.New("path element " + strconv.Quote(p) + " has empty naming parameters")
	}
	items, err := splitOutside(args, ',')
	if err != nil {
		return Element{}, err
	}
	for _, it := range items {
		k, err := parseKeySpec(strings.TrimSpace(it))
		if err != nil {
			return Element{}, errors.New("path element " + strconv.Quote(p) + ": " + err.Error())
		}
		e.Keys = append(e.Keys, k)
	}
	return e, nil
}

func parseKeySpec(it string) (KeySpec, error) {
	if it == "" {
		return KeySpec{}, errors.New("empty naming parameter")
	}
	if it == "*" {
		return KeySpec{Wildcard: true}, nil
	}
	if i := indexOutsideQuotes(it, ":="); i >= 0 {
		n, v := unquote(strings.TrimSpace(it[:i])), strings.TrimSpace(it[i+1:])
		if !isIdent(n) {
			return KeySpec{}, errors.New("naming parameter name " + strconv.Quote(n) + " is not a name")
		}
		if v == "" {
			return KeySpec{}, errors.New("naming parameter " + n + " has no value")
		}
		if v == "*" {
			return KeySpec{Name: n, Wildcard: true}, nil
		}
		return KeySpec{Name: n, Value: unquote(v)}, nil
	}
	if it[0] == '\'' || it[0] == '"' {
		return KeySpec{Value: unquote(it)}, nil
	}
	if isIdent(it) {
		// Interface(InterfaceName): names the parameter and selects every instance.
		return KeySpec{Name: it, Wildcard: true}, nil
	}
	return KeySpec{Value: it}, nil
}

func indexOutsideQuotes(s, chars string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case strings.IndexByte(chars, c) >= 0:
			return i
		}
	}
	return -1
}

func unquote(s string) string {
	if n := len(s); n >= 2 && (s[0] == '\'' || s[0] == '"') && s[n-1] == s[0] {
		return s[1 : n-1]
	}
	return s
}

func parseYANGPath(s string) ([]Element, error) {
	segs := strings.Split(s[1:], "/")
	if len(segs) > MaxPathElements {
		return nil, errors.New("path has more than " + strconv.Itoa(MaxPathElements) + " elements")
	}
	els := make([]Element, 0, len(segs))
	for _, seg := range segs {
		name, vals, keyed := strings.Cut(seg, "=")
		if _, local, ok := strings.Cut(name, ":"); ok {
			name = local // module prefix of the first element
		}
		if name == "" {
			return nil, errors.New("empty path element in " + strconv.Quote(s))
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c == '_' || c == '-' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return nil, errors.New("path element " + strconv.Quote(seg) + " is not a YANG name")
			}
		}
		e := Element{Name: name}
		if keyed {
			if vals == "" {
				return nil, errors.New("path element " + strconv.Quote(seg) + " has no key value")
			}
			for v := range strings.SplitSeq(vals, ",") {
				if v == "*" {
					e.Keys = append(e.Keys, KeySpec{Wildcard: true})
				} else {
					e.Keys = append(e.Keys, KeySpec{Value: v})
				}
			}
		}
		els = append(els, e)
	}
	return els, nil
}
