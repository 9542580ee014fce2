// Package xr holds the normalized form that every Cisco IOS XR telemetry decoder
// returns, whatever the generation (policy-driven, model-driven) or the encoding
// (JSON, key-value GPB, compact GPB). Mapping to samples, the store and the editor
// work on Message only, so they never see wire formats.
package xr

// Encoding says which wire encoding a Message was decoded from.
type Encoding uint8

const (
	EncodingJSON Encoding = iota
	EncodingGPBKV
	EncodingGPBCompact
)

func (e Encoding) String() string {
	switch e {
	case EncodingJSON:
		return "json"
	case EncodingGPBKV:
		return "gpbkv"
	case EncodingGPBCompact:
		return "gpb-compact"
	}
	return "unknown"
}

// Kind says which field of a Leaf carries its value.
type Kind uint8

const (
	LeafUint   Kind = iota // U
	LeafInt                // I
	LeafFloat              // F
	LeafBool               // B
	LeafString             // S
	LeafBytes              // S, raw bytes (not necessarily UTF-8)
)

func (k Kind) String() string {
	switch k {
	case LeafUint:
		return "uint"
	case LeafInt:
		return "int"
	case LeafFloat:
		return "float"
	case LeafBool:
		return "bool"
	case LeafString:
		return "string"
	case LeafBytes:
		return "bytes"
	}
	return "unknown"
}

// Leaf is one value. Name is the slash-joined path of field names below the row's
// content (or keys) root, e.g. "generic-counters/bytes-received"; elements of a repeated
// container inside a row repeat the same Name, in order. 64-bit integers are kept exact
// (never through float64).
type Leaf struct {
	Name string
	Kind Kind
	U    uint64
	I    int64
	F    float64
	B    bool
	S    string
}

// Row is one entry of the sensor path (one interface, one process, ...).
type Row struct {
	TimestampMs int64  // row timestamp, or the message's when the row has none
	Keys        []Leaf // naming parameters (MDT "keys"; PDT naming fields / Interface(*) names)
	Content     []Leaf
}

// Message is one decoded telemetry message of either generation.
type Message struct {
	Node           string // router: MDT node_id_str, PDT identifier/router name
	Subscription   string // MDT subscription id string; PDT policy group
	Path           string // MDT encoding_path (sensor path); PDT policy path (e.g. RootOper.InfraStatistics.Interface(*).Latest.GenericCounters)
	Policy         string // PDT policy name; "" for MDT
	CollectionID   uint64
	MsgTimestampMs int64
	Encoding       Encoding
	Rows           []Row
}
