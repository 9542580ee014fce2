package ipfixsim

// Private enterprise numbers the simulator exports under.
const (
	// PENReverse scopes RFC 5103 reverse elements: element n under this PEN
	// is the reverse direction of IANA element n.
	PENReverse = 29305
	// PENFlowmon is Flowmon Networks, whose elements a Kemp LoadMaster
	// exports (shared/reference/protocols.md 4.6, ids from libfds flowmon.xml).
	PENFlowmon = 39499
)

// IANA information element ids (RFC 7012 and the IANA registry).
const (
	ieOctetDeltaCount          = 1
	iePacketDeltaCount         = 2
	ieProtocolIdentifier       = 4
	ieIPClassOfService         = 5
	ieTCPControlBits           = 6
	ieSourceTransportPort      = 7
	ieSourceIPv4Address        = 8
	ieIngressInterface         = 10
	ieDestinationTransportPort = 11
	ieDestinationIPv4Address   = 12
	ieEgressInterface          = 14
	ieSourceIPv6Address        = 27
	ieDestinationIPv6Address   = 28
	ieSamplingInterval         = 34
	ieSamplingAlgorithm        = 35
	ieSamplerID                = 48
	ieSamplerMode              = 49
	ieSamplerRandomInterval    = 50
	ieSamplerName              = 84
	ieApplicationDescription   = 94
	ieApplicationID            = 95
	ieApplicationName          = 96
	ieFlowEndReason            = 136
	ieFlowStartMilliseconds    = 152
	ieFlowEndMilliseconds      = 153
	ieBiflowDirection          = 239
	ieSelectorID               = 302
	ieSelectorAlgorithm        = 304
	ieSamplingPacketInterval   = 305
	ieSamplingPacketSpace      = 306
	ieSamplingSize             = 309
	ieSamplingPopulation       = 310
	ieSelectorName             = 335
)

// Flowmon elements (PEN 39499), the ids and types of protocols.md 4.6. The
// definitions file that names them for the collector must use the same ids.
const (
	fmHTTPHost           = 1   // string
	fmHTTPURL            = 2   // string
	fmHTTPStatusCode     = 12  // unsigned16
	fmRoundTripTime      = 69  // unsigned32, "npnRoundTripTime" in libfds; microseconds here
	fmServerResponseTime = 70  // unsigned32, microseconds here
	fmTCPRetransmission  = 71  // unsigned32
	fmTCPSynSize         = 80  // unsigned8
	fmTCPSynTTL          = 81  // unsigned8
	fmDNSQName           = 121 // string
	fmDNSQType           = 122 // unsigned16
	fmTLSServerVersion   = 333 // unsigned16
	fmTLSSNI             = 338 // string
)

func iana(id, length uint16) Field    { return Field{ID: id, Length: length} }
func reverse(id, length uint16) Field { return Field{PEN: PENReverse, ID: id, Length: length} }
func flowmon(id, length uint16) Field { return Field{PEN: PENFlowmon, ID: id, Length: length} }
