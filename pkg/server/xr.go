package server

import (
	xrin "github.com/netlens/netlens/pkg/ingest/xr"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
)

// XRTable is the record table of IOS XR string leaves (states,
// descriptions), one record per row and leaf, written when the value
// changes or a minute after its last write (xrmap.StateTable).
const XRTable = "xr_state"

// XRService is the running IOS XR telemetry as the plugin sees it: what
// the receiver knows of routers and of the operator's .policy and .proto
// files, and what the mapper has seen arrive, in the shapes of the plugin's
// HTTP resources (camelCase JSON), so the editors read them as they are.
// The plugin's tests give their own implementation.
type XRService interface {
	Routers() []XRRouter
	Policies() []XRPolicyFile
	Protos() []XRProtoFile
	// SilentGroups are policy groups that sent nothing for three of their
	// periods, per router (Router "" when no router ever sent that group).
	SilentGroups(nowMs int64) []XRSilentGroup
	// Paths and Leaves are what arrived; device "" means every router.
	Paths(device string) []XRDataPath
	Leaves(device, path string) []XRLeaf
}

// The receiver's and the mapper's own types where their shapes already
// are the resources' (camelCase JSON): one definition each. Groups and
// silent groups differ: the resources give periods in seconds.
type (
	// XRRouter is one router the receiver heard from.
	XRRouter = xrin.RouterStatus
	// XRProblem is one thing wrong in a .policy or .proto file: Where is
	// "file:line:col" when the parser knows the position, else a place in
	// the file such as "CollectionGroups.Fast.Period".
	XRProblem = xrin.Problem
	// XRSchemaPath is one policy path a .proto file describes rows of.
	XRSchemaPath = xrin.SchemaPath
	// XRProtoFile is one .proto file of the proto directory.
	XRProtoFile = xrin.ProtoInfo
	// XRDataPath is one path as data arrived for it from one router.
	XRDataPath = xrmap.PathInfo
	// XRLeaf is one leaf of a path: a series (Metric) for numbers,
	// xr_state records for strings.
	XRLeaf = xrmap.LeafInfo
)

// XRGroup is one collection group of a policy: what it sends, how often.
type XRGroup struct {
	Name          string   `json:"name"`
	PeriodSeconds int64    `json:"periodSeconds"`
	Paths         []string `json:"paths"`
}

// XRPolicyFile is one .policy file of the policy directory.
type XRPolicyFile struct {
	File     string      `json:"file"`
	Name     string      `json:"name"`
	Groups   []XRGroup   `json:"groups"`
	Problems []XRProblem `json:"problems"`
}

// XRSilentGroup is a policy group a router stopped sending (or never sent).
type XRSilentGroup struct {
	Router        string `json:"router"`
	Policy        string `json:"policy"`
	Group         string `json:"group"`
	PeriodSeconds int64  `json:"periodSeconds"`
	// LastSeenMs is 0 when nothing of the group ever arrived; SinceMs is
	// when the silence began (the last message, else when the policy was
	// loaded).
	LastSeenMs int64 `json:"lastSeenMs"`
	SinceMs    int64 `json:"sinceMs"`
}
