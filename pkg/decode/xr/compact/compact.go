// Package compact decodes IOS XR policy-driven telemetry in the compact GPB encoding:
// a TelemetryHeader whose tables carry rows serialized with per-path messages that only
// the router's generated .proto files describe. Those files are compiled at run time
// with a pure-Go compiler (no protoc); each row message names its schema path with
// Cisco's (cisco_msg).schema_path option, and its fields become the row's Keys (naming
// parameters) and Content leaves of the normalized xr.Message.
//
// Compiling reads only the bytes given (LoadDir reads a directory for convenience);
// decoding is a pure function of the bytes and the compiled Schema.
package compact

import (
	"strconv"
)

// Limits bound the work one TelemetryHeader can cause. Zero fields take the defaults.
type Limits struct {
	MaxBytes     int // header size (default 16 MiB, the receiver's framing limit)
	MaxDepth     int // nested row messages (default 32)
	MaxRowLeaves int // leaves of one row, keys included (default 1<<16)
	MaxLeaves    int // leaves of the whole header, every table and row (default 1<<20)
	MaxRows      int // rows of the whole header (default 1<<18)
	MaxTables    int // tables of one header (default 4096; routers send one per path)
}

// DefaultLimits are used for zero fields of Schema.Limits, and by a nil *Schema.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 32, MaxRowLeaves: 1 << 16, MaxLeaves: 1 << 20, MaxRows: 1 << 18, MaxTables: 4096}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxBytes > 0 {
		d.MaxBytes = l.MaxBytes
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxRowLeaves > 0 {
		d.MaxRowLeaves = l.MaxRowLeaves
	}
	if l.MaxLeaves > 0 {
		d.MaxLeaves = l.MaxLeaves
	}
	if l.MaxRows > 0 {
		d.MaxRows = l.MaxRows
	}
	if l.MaxTables > 0 {
		d.MaxTables = l.MaxTables
	}
	return d
}

// Error is why a TelemetryHeader was rejected. Reason is stable and short, meant as the
// name of a drop counter; Detail is for the log.
type Error struct {
	Reason string
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "xr/compact: " + e.Reason
	}
	return "xr/compact: " + e.Reason + ": " + e.Detail
}

// Reasons.
const (
	ReasonTooLarge        = "too_large"         // header over Limits.MaxBytes
	ReasonBadGPB          = "bad_gpb"           // TelemetryHeader or TelemetryTable truncated or malformed
	ReasonBadEncodingWord = "bad_encoding_word" // encoding field absent or not 0x87654321
	ReasonBadRow          = "bad_row"           // a row's bytes are not valid protobuf
	ReasonSchemaMismatch  = "schema_mismatch"   // a row field's wire type disagrees with its .proto type
	ReasonTooDeep         = "too_deep"          // nested row messages over Limits.MaxDepth
	ReasonTooManyLeaves   = "too_many_leaves"   // leaves over Limits.MaxRowLeaves or Limits.MaxLeaves
	ReasonTooManyRows     = "too_many_rows"     // rows over Limits.MaxRows
	ReasonTooManyTables   = "too_many_tables"   // tables over Limits.MaxTables
)

// Reasons lists every Reason, for registering counters up front.
var Reasons = []string{
	ReasonTooLarge, ReasonBadGPB, ReasonBadEncodingWord, ReasonBadRow,
	ReasonSchemaMismatch, ReasonTooDeep, ReasonTooManyLeaves, ReasonTooManyRows, ReasonTooManyTables,
}

func newErr(reason, detail string) *Error { return &Error{Reason: reason, Detail: detail} }

// Problem is one thing wrong in a .proto file, at a 1-based line and column when known
// (0 when the problem concerns the whole file).
type Problem struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (p Problem) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col)
	}
	return s + ": " + p.Msg
}

// CompileError lists every problem found while compiling a set of .proto files. The
// files without problems are still usable: Compile and LoadDir return their Schema
// alongside this error.
type CompileError struct {
	Problems []Problem
}

func (e *CompileError) Error() string {
	if len(e.Problems) == 0 {
		return "xr/compact: .proto files do not compile"
	}
	s := "xr/compact: " + e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		s += " (and " + strconv.Itoa(n) + " more problems)"
	}
	return s
}

// SchemaPath describes one row message: the schema path it answers (as written in its
// option), the message's full name and file, and the leaf names its rows can carry.
type SchemaPath struct {
	Path    string
	Message string
	File    string
	Keys    []string
	Fields  []string
}
