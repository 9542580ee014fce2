package server

// XRTable is the record table of IOS XR string leaves (states,
// descriptions), one record per row and leaf, written when the value
// changes or a minute after its last write (xrmap.StateTable).
const XRTable = "xr_state"

// XRService is the running IOS XR telemetry as the plugin sees it: what
// the receiver knows of routers and of the operator's .policy and .proto
// files, and what the mapper has seen arrive. Its shapes are the plugin's
// HTTP resources' (camelCase JSON), so the editors read them as they are;
// the adapter over the real receiver and mapper converts, and the plugin's
// tests use their own.
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

// XRRouter is one router the receiver heard from.
type XRRouter struct {
	Device      string   `json:"device"`
	Remote      string   `json:"remote"`
	Transports  []string `json:"transports"`
	Generations []string `json:"generations"`
	Encodings   []string `json:"encodings"`
	FirstSeenMs int64    `json:"firstSeenMs"`
	LastSeenMs  int64    `json:"lastSeenMs"`
	Messages    uint64   `json:"messages"`
	Bytes       uint64   `json:"bytes"`
	// Drops counts what the receiver dropped, by reason.
	Drops map[string]uint64 `json:"drops"`
	// MissingProtos counts compact GPB rows whose policy path has no .proto,
	// by path: the rows were skipped, the connection kept.
	MissingProtos map[string]uint64 `json:"missingProtos"`
	// Stopped: silent past xr_router_timeout, or three periods of the
	// slowest group it sends, whichever is longer.
	Stopped bool `json:"stopped"`
}

// XRProblem is one thing wrong in a .policy or .proto file. Where is
// "file:line" (or "file:line:col") when the parser knows the position, else
// a place in the file such as "group Interfaces".
type XRProblem struct {
	Where  string `json:"where"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

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

// XRSchemaPath is one policy path a .proto file describes rows of.
type XRSchemaPath struct {
	Path    string   `json:"path"`
	Message string   `json:"message"`
	Keys    []string `json:"keys"`
	Fields  []string `json:"fields"`
}

// XRProtoFile is one .proto file of the proto directory.
type XRProtoFile struct {
	File     string         `json:"file"`
	Paths    []XRSchemaPath `json:"paths"`
	Problems []XRProblem    `json:"problems"`
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

// XRDataPath is one path as data arrived for it from one router.
type XRDataPath struct {
	Device       string
	Path         string
	Policy       string
	Subscription string // MDT subscription; the PDT policy group
	Encoding     string
	LastSeenMs   int64
	Messages     uint64
	Rows         int
	Keys         []string
	Leaves       int
}

// XRLeaf is one leaf of a path: a series (Metric) for numbers, xr_state
// records for strings.
type XRLeaf struct {
	Leaf   string `json:"leaf"`
	Metric string `json:"metric"`
	Kind   string `json:"kind"` // counter, gauge or string
	Type   string `json:"type"` // uint, int, float, bool, string or bytes
}
