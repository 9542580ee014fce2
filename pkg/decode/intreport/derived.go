package intreport

// Derived figures. INT timestamps are 32-bit device-local nanoseconds that
// wrap every 2^32 ns (about 4.295 s): differences are taken modulo 2^32,
// which is right as long as the true latency is below 4.295 s.

// Flow is the inner packet's 5-tuple as the sender sent it: an INT v0.5
// source marking by port replaced the destination port, and kept the
// original in the tail.
func (r *Report) Flow() FlowKey {
	k := FlowOf(&r.Inner)
	if r.INT.ByPort && r.INT.HasTail {
		k.DstPort = r.INT.TailDstPort
	}
	return k
}

// OriginalDSCP is the inner packet's DSCP as the sender set it: an INT
// source marking by DSCP keeps the original in the v0.5 tail or the v1.0
// shim.
func (r *Report) OriginalDSCP() uint8 {
	switch {
	case !r.INT.ByDSCP:
		return r.Inner.DSCP
	case r.INT.HasTail:
		return r.INT.TailDSCP & 0x3f
	}
	return r.INT.ShimDSCP
}

// HopLatency is a hop's latency in ns: its hop-latency word when present,
// else egress − ingress timestamp modulo 2^32. ok is false when the hop has
// neither.
func HopLatency(h *Hop) (ns uint32, ok bool) {
	if h.Present&ItemHopLatency != 0 {
		return h.HopLatency, true
	}
	if h.Present&(ItemIngressTS|ItemEgressTS) == ItemIngressTS|ItemEgressTS {
		return h.EgressTS - h.IngressTS, true
	}
	return 0, false
}

// LocalLatency is the reporting switch's own latency from the report-level
// metadata: the v1.0 hop-latency word, else the egress timestamp (switch
// local header, v1.0 word) minus the fixed header's ingress timestamp,
// modulo 2^32.
func LocalLatency(h *Header) (ns uint32, ok bool) {
	if h.Md&MdHopLatency != 0 {
		return h.HopLatency, true
	}
	if h.Md&MdEgressTS != 0 {
		return h.EgressTS - h.IngressTS, true
	}
	return 0, false
}

// EndToEnd is the latency of the packet across the INT domain, in ns.
//
// With an INT stack: the last hop's egress minus the first hop's ingress
// timestamp (modulo 2^32) when both are present; this assumes the
// switches' clocks are synchronized, as INT deployments do (PTP). Else the
// sum of every hop's latency (HopLatency), which needs no common clock but
// leaves out the links; ok is false if a hop has no latency at all.
// Without a stack: the reporting switch's LocalLatency.
func EndToEnd(r *Report) (ns uint32, ok bool) {
	n := r.INT.HopCount
	if !r.INT.Present || n == 0 {
		return LocalLatency(&r.Header)
	}
	first, last := &r.Hops[0], &r.Hops[n-1]
	if first.Present&ItemIngressTS != 0 && last.Present&ItemEgressTS != 0 {
		return last.EgressTS - first.IngressTS, true
	}
	var sum uint32
	for i := range n {
		l, ok := HopLatency(&r.Hops[i])
		if !ok {
			return 0, false
		}
		sum += l
	}
	return sum, true
}
