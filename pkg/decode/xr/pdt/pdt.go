// Package pdt decodes IOS XR policy-driven telemetry (XR 5.3 to 6.x): the JSON
// encoder's messages (both the 6.0.0 and the 6.0.1+ key spellings), the self-describing
// key-value GPB encoder's Telemetry/TelemetryField messages, and the router's .policy
// files. Input is one framed message payload, already de-framed and inflated by
// pkg/decode/xr/wire; output is the normalized xr.Message. Nothing here touches
// sockets, clocks or globals.
//
// Rows come from walking the data along the message's policy path: an element with a
// naming parameter, such as Interface(*), turns the level(s) below it into Keys leaves
// (one row per instance), and what is left below the last path element becomes the
// row's Content leaves, named by slash-joined field names.
package pdt

import (
	"strconv"

	"github.com/netlens/netlens/pkg/decode/xr"
)

// Limits bound the work one message can cause. Zero fields take the defaults.
type Limits struct {
	MaxBytes  int // payload size (default 16 MiB: real messages exceed 600 KB)
	MaxDepth  int // nesting of JSON containers or TelemetryFields (default 64)
	MaxLeaves int // scalar values in one message, keys included (default 1<<20)
}

// DefaultLimits are used for zero fields of Decoder.Limits.
var DefaultLimits = Limits{MaxBytes: 16 << 20, MaxDepth: 64, MaxLeaves: 1 << 20}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultLimits.MaxDepth
	}
	if l.MaxLeaves <= 0 {
		l.MaxLeaves = DefaultLimits.MaxLeaves
	}
	return l
}

// Decoder decodes PDT messages. The zero value is ready; it keeps no state between
// messages, so one value may serve many goroutines.
type Decoder struct {
	Limits Limits
	// Paths are the policy paths of the policy the messages belong to. XR 6.0.0 JSON
	// does not say which path a message answers; the decoder then uses the one of
	// these whose rows hold the most leaves (the first on a tie).
	Paths []string
}

// DecodeJSON decodes one PDT JSON message with default limits and no path hints.
func DecodeJSON(b []byte) (*xr.Message, error) { return (&Decoder{}).DecodeJSON(b) }

// DecodeGPBKV decodes one PDT key-value GPB message with default limits.
func DecodeGPBKV(b []byte) (*xr.Message, error) { return (&Decoder{}).DecodeGPBKV(b) }

// Error is why a message was rejected. Reason is stable and short, meant as the name
// of a drop counter; Detail is for the log.
type Error struct {
	Reason string
	Offset int // byte offset in the payload where it was noticed, -1 when not known
	Detail string
}

func (e *Error) Error() string {
	s := "xr/pdt: " + e.Reason
	if e.Offset >= 0 {
		s += " at offset " + strconv.Itoa(e.Offset)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Reasons.
const (
	ReasonTooLarge      = "too_large"       // payload over Limits.MaxBytes
	ReasonTooDeep       = "too_deep"        // nesting over Limits.MaxDepth
	ReasonTooManyLeaves = "too_many_leaves" // scalars over Limits.MaxLeaves
	ReasonBadJSON       = "bad_json"        // not strict JSON, or not an object at the top
	ReasonBadProtobuf   = "bad_protobuf"    // truncated or malformed protobuf
	ReasonBadWireType   = "bad_wire_type"   // a known field number with the wrong wire type
	ReasonBadHeader     = "bad_header"      // a header field of the wrong JSON type
	ReasonNoPath        = "no_path"         // the message names no path and no policy path matches its data
	ReasonBadPath       = "bad_path"        // the message's path is not a well-formed policy path
	ReasonPathMismatch  = "path_mismatch"   // data present, but none of it lies along the path
)

// Reasons lists every Reason, for registering counters up front.
var Reasons = []string{
	ReasonTooLarge, ReasonTooDeep, ReasonTooManyLeaves, ReasonBadJSON, ReasonBadProtobuf,
	ReasonBadWireType, ReasonBadHeader, ReasonNoPath, ReasonBadPath, ReasonPathMismatch,
}

func errAt(reason string, off int, detail string) *Error {
	return &Error{Reason: reason, Offset: off, Detail: detail}
}
