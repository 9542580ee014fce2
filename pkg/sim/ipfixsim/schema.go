package ipfixsim

import (
	"encoding/binary"
	"fmt"
)

// Template ids. Data templates: 256 + 4 for IPv6 + the L7 kind, so IPv4
// plain flows use 256, IPv4 HTTP 257, DNS 258, TLS 259, IPv6 260..263.
const (
	TemplateIDSampling     = 264 // options: the sampler table
	TemplateIDApplications = 265 // options: the application table
)

// DataTemplateID is the template of a flow of that address family and L7 kind.
func DataTemplateID(v6 bool, l7 L7) uint16 {
	id := uint16(MinDataSetID) + uint16(l7)
	if v6 {
		id += uint16(numL7)
	}
	return id
}

// SamplingMode is how the exporter tells the collector its sampling rate.
type SamplingMode uint8

const (
	// SamplingCisco is what Cisco IOS XR sends (shared/testdata/ipfix
	// pmacct-104): an options table scoped by selectorId (4 octets) with
	// selectorAlgorithm 3 (random n-out-of-N), samplingSize 1 and
	// samplingPopulation N, plus samplingPacketInterval 1, samplerName
	// (fixed 90 octets, NUL-padded) and selectorName (variable length);
	// every flow record carries selectorId. The rate is
	// samplingPopulation/samplingSize: a collector that takes
	// samplingPacketInterval alone for the rate gets 1 and is caught.
	SamplingCisco SamplingMode = iota
	// SamplingPSAMP is RFC 5476/5477 systematic count-based sampling:
	// selectorId scope, selectorAlgorithm 1, samplingPacketInterval 1 and
	// samplingPacketSpace N-1 (rate = (interval+space)/interval).
	SamplingPSAMP
	// SamplingInterval is the NetFlow v9 heritage kept by many IPFIX
	// exporters: samplerId (1 octet) scope, samplingInterval N and
	// samplingAlgorithm 1 (deterministic); flow records carry samplerId.
	SamplingInterval
	// SamplingRandomInterval is samplerId scope with samplerMode 2 (random)
	// and samplerRandomInterval N.
	SamplingRandomInterval
)

var samplingModeNames = []string{"cisco", "psamp", "interval", "random"}

func (m SamplingMode) String() string {
	if int(m) < len(samplingModeNames) {
		return samplingModeNames[m]
	}
	return fmt.Sprintf("SamplingMode(%d)", m)
}

// ParseSamplingMode reads a mode's name.
func ParseSamplingMode(s string) (SamplingMode, error) {
	for i, n := range samplingModeNames {
		if n == s {
			return SamplingMode(i), nil
		}
	}
	return 0, fmt.Errorf("sampling mode %q: want one of %v", s, samplingModeNames)
}

// selectorField is the element flow records and the sampler table share.
func (m SamplingMode) selectorField() Field {
	if m == SamplingInterval || m == SamplingRandomInterval {
		return iana(ieSamplerID, 1)
	}
	return iana(ieSelectorID, 4)
}

// samplerName is what Cisco calls its sampler map in samplerName and selectorName.
const samplerName = "NETFLOW-SAMPLER-MAP"

// samplingTemplate is the options template of the sampler table.
func (m SamplingMode) samplingTemplate() Template {
	t := Template{ID: TemplateIDSampling, Scope: 1, Fields: []Field{m.selectorField()}}
	switch m {
	case SamplingCisco:
		t.Fields = append(t.Fields, iana(ieSamplingPacketInterval, 4), iana(ieSelectorAlgorithm, 2),
			iana(ieSamplingSize, 4), iana(ieSamplingPopulation, 4), iana(ieSamplerName, 90), iana(ieSelectorName, VarLen))
	case SamplingPSAMP:
		t.Fields = append(t.Fields, iana(ieSelectorAlgorithm, 2), iana(ieSamplingPacketInterval, 4), iana(ieSamplingPacketSpace, 4))
	case SamplingInterval:
		t.Fields = append(t.Fields, iana(ieSamplingInterval, 4), iana(ieSamplingAlgorithm, 1))
	case SamplingRandomInterval:
		t.Fields = append(t.Fields, iana(ieSamplerMode, 1), iana(ieSamplerRandomInterval, 4))
	}
	return t
}

// appendSamplingRecord appends the sampler table's one record.
func (m SamplingMode) appendSamplingRecord(b []byte, selector, rate uint32) []byte {
	if m == SamplingInterval || m == SamplingRandomInterval {
		b = append(b, byte(selector))
	} else {
		b = binary.BigEndian.AppendUint32(b, selector)
	}
	switch m {
	case SamplingCisco:
		b = binary.BigEndian.AppendUint32(b, 1)    // samplingPacketInterval
		b = binary.BigEndian.AppendUint16(b, 3)    // selectorAlgorithm: random n-out-of-N
		b = binary.BigEndian.AppendUint32(b, 1)    // samplingSize n
		b = binary.BigEndian.AppendUint32(b, rate) // samplingPopulation N
		b = AppendFixedString(b, samplerName, 90)  // samplerName
		b = AppendVarLen(b, []byte(samplerName))   // selectorName
	case SamplingPSAMP:
		b = binary.BigEndian.AppendUint16(b, 1)      // selectorAlgorithm: systematic count-based
		b = binary.BigEndian.AppendUint32(b, 1)      // samplingPacketInterval
		b = binary.BigEndian.AppendUint32(b, rate-1) // samplingPacketSpace
	case SamplingInterval:
		b = binary.BigEndian.AppendUint32(b, rate) // samplingInterval
		b = append(b, 1)                           // samplingAlgorithm: deterministic
	case SamplingRandomInterval:
		b = append(b, 2)                           // samplerMode: random
		b = binary.BigEndian.AppendUint32(b, rate) // samplerRandomInterval
	}
	return b
}

// applicationTemplate is the options template of the application table
// (RFC 6759 §5): scope applicationId, then its name and description.
func applicationTemplate() Template {
	return Template{ID: TemplateIDApplications, Scope: 1, Fields: []Field{
		iana(ieApplicationID, 4), iana(ieApplicationName, VarLen), iana(ieApplicationDescription, VarLen),
	}}
}

func appendApplicationRecord(b []byte, a *Application) []byte {
	id := a.ID()
	b = append(b, id[:]...)
	b = AppendVarLen(b, []byte(a.Name))
	return AppendVarLen(b, []byte(a.Description))
}

// dataTemplate is the flow template of one address family and L7 kind.
// Counters follow what devices do: octets in 8 octets, packets in 4
// (reduced size, RFC 7011 §6.2), tcpControlBits in 1; the reverse
// direction of a biflow under PEN 29305 (RFC 5103); Flowmon's network
// performance and L7 elements under PEN 39499.
func dataTemplate(v6 bool, l7 L7, selector *Field) Template {
	src, dst, alen := uint16(ieSourceIPv4Address), uint16(ieDestinationIPv4Address), uint16(4)
	if v6 {
		src, dst, alen = ieSourceIPv6Address, ieDestinationIPv6Address, 16
	}
	fs := []Field{
		iana(ieFlowStartMilliseconds, 8), iana(ieFlowEndMilliseconds, 8),
		iana(src, alen), iana(dst, alen),
		iana(ieSourceTransportPort, 2), iana(ieDestinationTransportPort, 2),
		iana(ieProtocolIdentifier, 1), iana(ieTCPControlBits, 1), iana(ieIPClassOfService, 1),
		iana(ieIngressInterface, 4), iana(ieEgressInterface, 4),
		iana(ieOctetDeltaCount, 8), iana(iePacketDeltaCount, 4),
		reverse(ieOctetDeltaCount, 8), reverse(iePacketDeltaCount, 4),
		iana(ieBiflowDirection, 1), iana(ieFlowEndReason, 1),
		iana(ieApplicationID, 4),
	}
	if selector != nil {
		fs = append(fs, *selector)
	}
	fs = append(fs,
		flowmon(fmRoundTripTime, 4), flowmon(fmServerResponseTime, 4), flowmon(fmTCPRetransmission, 4),
		flowmon(fmTCPSynTTL, 1), flowmon(fmTCPSynSize, 1))
	switch l7 {
	case L7HTTP:
		fs = append(fs, flowmon(fmHTTPHost, VarLen), flowmon(fmHTTPURL, VarLen), flowmon(fmHTTPStatusCode, 2))
	case L7DNS:
		fs = append(fs, flowmon(fmDNSQName, VarLen), flowmon(fmDNSQType, 2))
	case L7TLS:
		fs = append(fs, flowmon(fmTLSSNI, VarLen), flowmon(fmTLSServerVersion, 2))
	}
	return Template{ID: DataTemplateID(v6, l7), Fields: fs}
}

// Field keys for the record encoder's switch.
const (
	kStart      = ieFlowStartMilliseconds
	kEnd        = ieFlowEndMilliseconds
	kSrc4       = ieSourceIPv4Address
	kDst4       = ieDestinationIPv4Address
	kSrc6       = ieSourceIPv6Address
	kDst6       = ieDestinationIPv6Address
	kSrcPort    = ieSourceTransportPort
	kDstPort    = ieDestinationTransportPort
	kProto      = ieProtocolIdentifier
	kFlags      = ieTCPControlBits
	kToS        = ieIPClassOfService
	kIn         = ieIngressInterface
	kOut        = ieEgressInterface
	kOctets     = ieOctetDeltaCount
	kPackets    = iePacketDeltaCount
	kRevOctets  = PENReverse<<16 | ieOctetDeltaCount
	kRevPackets = PENReverse<<16 | iePacketDeltaCount
	kBiflow     = ieBiflowDirection
	kEndReason  = ieFlowEndReason
	kAppID      = ieApplicationID
	kSelector   = ieSelectorID
	kSamplerID  = ieSamplerID
	kRTT        = PENFlowmon<<16 | fmRoundTripTime
	kSRT        = PENFlowmon<<16 | fmServerResponseTime
	kRetrans    = PENFlowmon<<16 | fmTCPRetransmission
	kSynTTL     = PENFlowmon<<16 | fmTCPSynTTL
	kSynSize    = PENFlowmon<<16 | fmTCPSynSize
	kHTTPHost   = PENFlowmon<<16 | fmHTTPHost
	kHTTPURL    = PENFlowmon<<16 | fmHTTPURL
	kHTTPStatus = PENFlowmon<<16 | fmHTTPStatusCode
	kDNSQName   = PENFlowmon<<16 | fmDNSQName
	kDNSQType   = PENFlowmon<<16 | fmDNSQType
	kTLSSNI     = PENFlowmon<<16 | fmTLSSNI
	kTLSVersion = PENFlowmon<<16 | fmTLSServerVersion
)

// appendFlow encodes f as a data record of t. A field the flow has no value
// for is sent as zeros (or empty), as devices do.
func appendFlow(b []byte, t *Template, f *Flow, selector uint32) []byte {
	for _, fs := range t.Fields {
		n := int(fs.Length)
		switch fs.key() {
		case kStart:
			b = AppendUint(b, uint64(f.StartMs), n)
		case kEnd:
			b = AppendUint(b, uint64(f.EndMs), n)
		case kSrc4, kSrc6:
			b = AppendAddr(b, f.Src)
		case kDst4, kDst6:
			b = AppendAddr(b, f.Dst)
		case kSrcPort:
			b = AppendUint(b, uint64(f.SrcPort), n)
		case kDstPort:
			b = AppendUint(b, uint64(f.DstPort), n)
		case kProto:
			b = append(b, f.Proto)
		case kFlags:
			b = AppendUint(b, uint64(f.TCPFlags), n)
		case kToS:
			b = append(b, f.ToS)
		case kIn:
			b = AppendUint(b, uint64(f.InIf), n)
		case kOut:
			b = AppendUint(b, uint64(f.OutIf), n)
		case kOctets:
			b = AppendUint(b, f.Bytes, n)
		case kPackets:
			b = AppendUint(b, f.Packets, n)
		case kRevOctets:
			b = AppendUint(b, f.ReverseBytes, n)
		case kRevPackets:
			b = AppendUint(b, f.ReversePackets, n)
		case kBiflow:
			b = append(b, f.BiflowDirection)
		case kEndReason:
			b = append(b, f.EndReason)
		case kAppID:
			id := f.App.ID()
			b = append(b, id[:]...)
		case kSelector, kSamplerID:
			b = AppendUint(b, uint64(selector), n)
		case kRTT:
			b = AppendUint(b, uint64(f.RTTMicros), n)
		case kSRT:
			b = AppendUint(b, uint64(f.SRTMicros), n)
		case kRetrans:
			b = AppendUint(b, uint64(f.Retransmissions), n)
		case kSynTTL:
			b = append(b, f.SynTTL)
		case kSynSize:
			b = append(b, f.SynSize)
		case kHTTPHost:
			b = appendString(b, f.HTTPHost, n)
		case kHTTPURL:
			b = appendString(b, f.HTTPURL, n)
		case kHTTPStatus:
			b = AppendUint(b, uint64(f.HTTPStatus), n)
		case kDNSQName:
			b = appendString(b, f.DNSQName, n)
		case kDNSQType:
			b = AppendUint(b, uint64(f.DNSQType), n)
		case kTLSSNI:
			b = appendString(b, f.TLSSNI, n)
		case kTLSVersion:
			b = AppendUint(b, uint64(f.TLSVersion), n)
		default:
			if fs.Length == VarLen {
				b = append(b, 0)
			} else {
				b = append(b, make([]byte, n)...)
			}
		}
	}
	return b
}

func appendString(b []byte, s string, n int) []byte {
	if n == VarLen {
		if len(s) < 255 {
			b = append(b, byte(len(s)))
		} else {
			b = append(b, 255, byte(len(s)>>8), byte(len(s)))
		}
		return append(b, s...)
	}
	return AppendFixedString(b, s, n)
}
