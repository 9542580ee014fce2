package compact

import (
	"context"
	_ "embed"
	"errors"
	"sort"
	"strconv"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"github.com/bufbuild/protocompile/reporter"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

//go:embed cisco.proto
var ciscoProto string

// CiscoProtoName is the import path router-generated files use for Cisco's options.
const CiscoProtoName = "cisco.proto"

// Extension numbers of Cisco's options (protocols.md 1.3) and their sub-fields.
const (
	extCiscoMsg        = 29051 // MessageOptions: CiscoMessageOptions
	extCiscoField      = 29052 // FieldOptions: CiscoFieldOptions
	optSchemaPath      = 1     // CiscoMessageOptions.schema_path
	optFieldName       = 1     // CiscoFieldOptions.name
	optFieldPathElem   = 2     // CiscoFieldOptions.path_element
	firstDataTag       = 50    // Cisco's convention: naming fields below 50, data from 50
	maxProtoFileBytes  = 4 << 20
	maxListedLeafNames = 4096
	maxListedDepth     = 8
)

// Schema maps policy paths to compiled row messages. It is immutable after Compile
// (set Limits before sharing it) and safe for concurrent Decode calls.
type Schema struct {
	// Limits bound each Decode; zero fields take DefaultLimits.
	Limits Limits

	byPath map[string]*msgPlan // normalized schema path → top-level row plan
	paths  []SchemaPath
	files  []string
}

// Paths lists the row messages found, sorted by schema path.
func (s *Schema) Paths() []SchemaPath {
	if s == nil {
		return nil
	}
	return append([]SchemaPath(nil), s.paths...)
}

// Files lists the .proto files that compiled, sorted, whether or not they define a
// row message.
func (s *Schema) Files() []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s.files...)
}

// Compile compiles .proto sources (file name → text) and indexes every message that
// carries a (cisco_msg).schema_path option. Imports resolve among the given files, then
// Cisco's cisco.proto (embedded; a given "cisco.proto" wins), then the standard
// google/protobuf files. Each file compiles on its own, so one broken file does not
// stop the others: the returned Schema holds every good file, and the error, when not
// nil, is a *CompileError listing every problem with file, line and column.
func Compile(files map[string][]byte) (*Schema, error) {
	var problems []Problem
	srcs := make(map[string]string, len(files)+1)
	names := make([]string, 0, len(files))
	for name, b := range files {
		if len(b) > maxProtoFileBytes {
			problems = append(problems, Problem{File: name, Msg: "file of " + strconv.Itoa(len(b)) + " bytes, limit " + strconv.Itoa(maxProtoFileBytes)})
			continue
		}
		srcs[name] = string(b)
		names = append(names, name)
	}
	if _, ok := srcs[CiscoProtoName]; !ok {
		srcs[CiscoProtoName] = ciscoProto
	}
	sort.Strings(names)

	s := &Schema{byPath: map[string]*msgPlan{}}
	seen := map[Problem]bool{}
	for _, name := range names {
		f, probs := compileOne(srcs, name)
		own := false
		for _, p := range probs {
			own = own || p.File == name
			if !seen[p] {
				seen[p] = true
				problems = append(problems, p)
			}
		}
		if f == nil {
			if !own {
				problems = append(problems, Problem{File: name, Msg: "not loaded: a file it imports has problems"})
			}
			continue
		}
		s.files = append(s.files, name)
		problems = append(problems, s.index(name, f)...)
	}
	sort.Slice(s.paths, func(i, j int) bool { return s.paths[i].Path < s.paths[j].Path })
	sortProblems(problems)
	if len(problems) > 0 {
		return s, &CompileError{Problems: problems}
	}
	return s, nil
}

// sortProblems orders problems by file and position, so that the same files always
// give the same list.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// compileOne compiles one file with its imports and returns it, or nil and why not.
func compileOne(srcs map[string]string, name string) (linker.File, []Problem) {
	var probs []Problem
	rep := reporter.NewReporter(func(err reporter.ErrorWithPos) error {
		probs = append(probs, problemOf(err, name))
		return nil // keep going: report every problem of the file at once
	}, nil)
	c := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(srcs)}),
		Reporter:       rep,
		SourceInfoMode: protocompile.SourceInfoStandard,
		MaxParallelism: 1,
	}
	res, err := c.Compile(context.Background(), name)
	if err != nil || len(probs) > 0 || len(res) != 1 || res[0] == nil {
		if len(probs) == 0 {
			if err == nil {
				err = errors.New("does not compile")
			}
			probs = append(probs, problemOf(err, name))
		}
		return nil, probs
	}
	return res[0], nil
}

// problemOf places a compiler error at its file, line and column when it has them
// (an unresolvable import, for one, comes back as a positioned error of the importer).
func problemOf(err error, name string) Problem {
	var ep reporter.ErrorWithPos
	if !errors.As(err, &ep) {
		return Problem{File: name, Msg: err.Error()}
	}
	pos := ep.GetPosition()
	msg := ep.Error()
	if u := errors.Unwrap(ep); u != nil {
		msg = u.Error()
	}
	if pos.Filename == "" {
		pos.Filename = name
	}
	return Problem{File: pos.Filename, Line: pos.Line, Col: pos.Col, Msg: msg}
}

// index registers the row messages of one compiled file (nested messages included).
func (s *Schema) index(name string, f linker.File) []Problem {
	var probs []Problem
	var walk func(protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			md := ms.Get(i)
			walk(md.Messages())
			sp, ok := messageSchemaPath(md)
			if !ok {
				continue
			}
			norm := normalizePath(sp)
			if prev, dup := s.byPath[norm]; dup {
				loc := f.SourceLocations().ByDescriptor(md)
				probs = append(probs, Problem{File: name, Line: loc.StartLine + 1, Col: loc.StartColumn + 1,
					Msg: "schema path " + strconv.Quote(sp) + " already defined by " + string(prev.md.FullName()) + "; this message is ignored"})
				continue
			}
			p := newPlan(md, "", false, true)
			s.byPath[norm] = p
			keys, fields := p.leafNames()
			s.paths = append(s.paths, SchemaPath{Path: sp, Message: string(md.FullName()), File: name, Keys: keys, Fields: fields})
		}
	}
	walk(f.Messages())
	return probs
}

// optionBytes returns the serialized options of a descriptor. Custom options compiled
// from source are not Go types, so reading them back from the wire form works whether
// the compiler kept them as extension fields or as unknown fields.
func optionBytes(opts proto.Message) []byte {
	if opts == nil {
		return nil
	}
	b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(opts)
	if err != nil {
		return nil
	}
	return b
}

// subMessage returns the concatenated bodies of field num in b: several occurrences of
// one message field merge, so their fields read as one message (last scalar wins).
func subMessage(b []byte, num protowire.Number) []byte {
	var out []byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return out
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return out
			}
			out = append(out, v...)
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(n, typ, b)
		if m < 0 {
			return out
		}
		b = b[m:]
	}
	return out
}

// stringField returns the last value of string field num in b.
func stringField(b []byte, num protowire.Number) (string, bool) {
	var s string
	found := false
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			break
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				break
			}
			s, found = string(v), true
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(n, typ, b)
		if m < 0 {
			break
		}
		b = b[m:]
	}
	return s, found
}

func messageSchemaPath(md protoreflect.MessageDescriptor) (string, bool) {
	sub := subMessage(optionBytes(md.Options()), extCiscoMsg)
	if sub == nil {
		return "", false
	}
	sp, ok := stringField(sub, optSchemaPath)
	return sp, ok && sp != ""
}

// fieldOptions returns a field's (cisco_field).name and .path_element, "" when absent.
func fieldOptions(fd protoreflect.FieldDescriptor) (name, pathElem string) {
	sub := subMessage(optionBytes(fd.Options()), extCiscoField)
	if sub == nil {
		return "", ""
	}
	name, _ = stringField(sub, optFieldName)
	pathElem, _ = stringField(sub, optFieldPathElem)
	return name, pathElem
}
