// Package records is the bounded in-memory record store: typed rows (flow
// records, later INT reports) kept in time partitions, column by column, under
// a hard memory cap that evicts the oldest partition first and counts what it
// evicted (design.md, Store: Records; contract section 3 of ipfix-contracts.md).
//
// It knows nothing of wire formats. A Table has dynamic columns created by
// name and type; writers append rows through an Appender that buffers rows
// and moves them into the table under one lock per Flush; queries run while
// writers append and see every row flushed before they started.
//
// Every table has the built-in column "time" (Type Time): the row's
// timestamp given to Appender.Begin, which also decides the row's partition.
// Column("time", Time) returns it, and Appender.Time on it moves the row's
// timestamp, so a writer that sets "time" like any other column does not
// store it twice.
//
// Layout, chosen to keep a flow record near 50 bytes (target ≤ 120; see
// BenchmarkBytesPerRecord): every value is a 64-bit word while its chunk of
// 4096 rows is open, and the sealed chunk keeps only each word minus the
// chunk's minimum in 0, 1, 2, 4 or 8 bytes, whichever holds the chunk's
// spread; strings and addresses are codes into per-partition dictionaries,
// so they pack to a byte or two; nulls cost a bitmap only in chunks that
// have them. A String column that proves nearly unique in a partition (INT
// hop lists) stops looking its values up, so a value may appear there
// under two codes; queries only ever compare values, never codes. Partitions near the newest keep their open chunks and
// dictionary indexes ("hot"); older ones are packed and drop the indexes,
// and reopen if a late row reaches them. Appenders buffer rows column by
// column and a Flush stores each column's run of rows in one pass. Bytes are counted from the
// buffers' capacities and the indexes' estimated sizes, and agree with the
// Go heap within a few percent.
package records

import "fmt"

// Type is a column's type. Values are appended in the Go type named in the
// comment and come back in results as the slice type named there.
type Type uint8

const (
	Uint   Type = iota + 1 // uint64; results []uint64
	Int                    // int64; results []int64
	Float                  // float64; results []float64
	Time                   // int64 unix milliseconds; results []int64
	String                 // []byte in, string out; results []string
	Addr                   // netip.Addr (IPv4-mapped IPv6 is stored as IPv4, zones dropped); results []string
	Bool                   // bool; results []bool
)

var typeNames = [...]string{Uint: "uint", Int: "int", Float: "float", Time: "time", String: "string", Addr: "addr", Bool: "bool"}

// String is the spelling used by the plugin's records/fields resource.
func (t Type) String() string {
	if t >= Uint && t <= Bool {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ParseType is the inverse of String.
func ParseType(s string) (Type, bool) {
	for t := Uint; t <= Bool; t++ {
		if typeNames[t] == s {
			return t, true
		}
	}
	return 0, false
}

// Defaults and limits applied by NewTable and Query.
const (
	DefaultMaxBytes    = 512 << 20
	DefaultPartitionMs = 60_000
	DefaultMaxColumns  = 256
	// DefaultLateMs bounds out-of-order rows: a row older than the oldest
	// partition's start by more than this is refused and counted.
	DefaultLateMs = 3_600_000
	// DefaultFutureMs refuses rows stamped further than this ahead of the
	// table's clock (an exporter with a wrong clock must not push every
	// correct row out as "late").
	DefaultFutureMs  = 600_000
	DefaultMaxGroups = 100_000
	// DefaultMaxGroupBytes bounds the group state of a query with TopN:
	// about 2M groups of a conversation (src, dst, protocol, port).
	DefaultMaxGroupBytes = 64 << 20
	// MaxCells caps groups × time buckets of one aggregate query.
	MaxCells     = 1_000_000
	MaxBuckets   = 100_000
	DefaultLimit = 1_000
	MaxLimit     = 100_000
)

// Options configure a Table; zero fields take the defaults above.
type Options struct {
	// MaxBytes is the hard memory cap, counted from the real sizes of the
	// column buffers and dictionaries (Stats.Bytes).
	MaxBytes int64
	// PartitionMs is the time span of one partition, the unit of eviction.
	PartitionMs int64
	// MaxColumns caps the number of columns, "time" included.
	MaxColumns int
	// MaxGroups caps the groups of one aggregate query without TopN (every
	// group is in its answer).
	MaxGroups int
	// MaxGroupBytes caps the memory of the groups one aggregate query with
	// TopN ranks (keys, hash slots and the ranking aggregate's cells):
	// such a query answers TopN groups however many it ranks, so its
	// bound is memory, not a count.
	MaxGroupBytes int64
	LateMs        int64
	FutureMs      int64
	// Now is the table's clock in unix ms (time.Now by default); only the
	// future-row check uses it.
	Now func() int64
}

// Col is a column handle returned by Table.Column, valid for the table's
// lifetime. Passing a Col to the Appender method of another type drops the
// value and counts it in Stats.TypeErrors, as does a Col of another table.
type Col struct {
	t   *Table
	id  uint16
	typ Type
}

// Type is the column's type.
func (c Col) Type() Type { return c.typ }

// Query asks for rows flushed with FromMs ≤ time ≤ ToMs (ToMs 0: no upper
// bound). With no Aggregates it returns raw rows, newest first; with
// Aggregates it groups.
type Query struct {
	FromMs, ToMs int64
	// Filters all apply. Rows where the column is null match only the
	// negative operators (!=, not in, not cidr).
	Filters []Filter
	GroupBy []string
	// Aggregates are computed per group (and per time bucket); the first
	// one ranks the groups, largest first.
	Aggregates []Aggregate
	// BucketMs > 0 adds a leading "time" column: bucket starts aligned to
	// multiples of BucketMs since the epoch. Empty buckets are left out.
	BucketMs int64
	// TopN > 0 keeps the TopN groups ranked by the first aggregate over the
	// whole range; Other folds the rest into one group per bucket, whose
	// rows Result.Other marks. Groups ranked are bounded by
	// Options.MaxGroupBytes with TopN, by Options.MaxGroups without.
	TopN  int
	Other bool
	// Raw rows: Columns (empty: all, "time" first) of at most Limit rows
	// (0: DefaultLimit, capped at MaxLimit), newest first.
	Columns []string
	Limit   int
}

// Filter narrows rows on one column. Op is one of the pkg/query Op*
// constants: = != in "not in" cidr "not cidr" range < <= > >=. Values are
// text parsed per column type: numbers, times (unix ms or RFC 3339), true or
// false, addresses (compared as addresses: "::ffff:10.0.0.1" equals
// "10.0.0.1"), prefixes for cidr, "lo-hi" for range. = and != take one or
// more values (meaning in / not in); comparisons and range take one.
type Filter struct {
	Column string
	Op     string
	Values []string
}

// Aggregate is one computed column. Func is sum, count, avg, min, max, p50,
// p90, p95 or p99; Column is empty for count() (rows). Quantiles are exact
// for cells of up to 64 values; past that they come from a log-bucket
// sketch whose answer is within 1% (relative) of the exact nearest-rank
// value.
type Aggregate struct {
	Func   string
	Column string
}

// Name is the result column's name: "sum(bytes)", "count()", "p95(rtt)".
func (a Aggregate) Name() string { return a.Func + "(" + a.Column + ")" }

// Result is a query's answer, column by column; every column has the same
// number of rows.
//
// Aggregate results: ["time" when BucketMs > 0], the GroupBy columns, then one
// column per aggregate. Rows are ordered by group (rank of the first
// aggregate over the whole range, largest first; nulls last; equal ranks by
// the group values ascending, nulls first, addresses by their 16-byte form),
// then by time. Types: count
// is Uint; sum keeps the column's type (Uint, Int, Float); avg and quantiles
// are Float; min and max keep the column's type.
type Result struct {
	Columns []ResultColumn
	// Truncated: raw rows: Limit rows came back and older rows in range
	// matched or were not examined; aggregates: groups cut by TopN
	// without Other.
	Truncated bool
	// RowsScanned counts rows in the time range that the query examined.
	RowsScanned int
	// Other marks the rows of the "other" group (nil when there are none);
	// their group columns are null.
	Other []bool
}

// ResultColumn holds one column's values: []uint64 (Uint), []int64 (Int,
// Time), []float64 (Float), []string (String, Addr), []bool (Bool). Null is
// nil when no value is null.
type ResultColumn struct {
	Name   string
	Type   Type
	Values any
	Null   []bool
}

// Len is the number of rows.
func (c ResultColumn) Len() int {
	switch v := c.Values.(type) {
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []string:
		return len(v)
	case []bool:
		return len(v)
	}
	return 0
}

// ColumnInfo describes one column for the editors' autocomplete.
type ColumnInfo struct {
	Name string
	Type Type
	Rows int64 // rows held where the column is not null
}

// Stats is the table's state and counters.
type Stats struct {
	Rows       int64
	Bytes      int64 // memory held by column buffers and dictionaries
	MaxBytes   int64
	Partitions int
	Columns    int
	// EvictedRows and EvictedPartitions count what the memory cap removed.
	EvictedRows       int64
	EvictedPartitions int64
	// RefusedRows counts rows refused for their time: older than the oldest
	// partition by more than LateMs, older than data already evicted, or
	// ahead of the clock by more than FutureMs.
	RefusedRows int64
	// TypeErrors counts values dropped because the Col's type did not
	// match the Appender method or whose Col is unknown to this table.
	TypeErrors int64
	// OldestMs and NewestMs are the oldest and newest row times held (0
	// when empty).
	OldestMs, NewestMs int64
}
