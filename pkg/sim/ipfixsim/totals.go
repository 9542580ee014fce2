package ipfixsim

import "maps"

// Counts adds up flow records. Packets and Bytes are the values in the
// records; the Scaled ones are multiplied by the exporter's sampling rate,
// which is what a collector should store as the traffic's volume.
type Counts struct {
	Records                      uint64
	Packets, Bytes               uint64
	ReversePackets, ReverseBytes uint64

	ScaledPackets, ScaledBytes               uint64
	ScaledReversePackets, ScaledReverseBytes uint64
}

func (c *Counts) add(f *Flow, rate uint64) {
	c.Records++
	c.Packets += f.Packets
	c.Bytes += f.Bytes
	c.ReversePackets += f.ReversePackets
	c.ReverseBytes += f.ReverseBytes
	c.ScaledPackets += f.Packets * rate
	c.ScaledBytes += f.Bytes * rate
	c.ScaledReversePackets += f.ReversePackets * rate
	c.ScaledReverseBytes += f.ReverseBytes * rate
}

// Add sums o into c.
func (c *Counts) Add(o Counts) {
	c.Records += o.Records
	c.Packets += o.Packets
	c.Bytes += o.Bytes
	c.ReversePackets += o.ReversePackets
	c.ReverseBytes += o.ReverseBytes
	c.ScaledPackets += o.ScaledPackets
	c.ScaledBytes += o.ScaledBytes
	c.ScaledReversePackets += o.ScaledReversePackets
	c.ScaledReverseBytes += o.ScaledReverseBytes
}

// Totals is what an exporter has put on the wire: only messages written
// whole count, so a test can compare them with what the collector stored.
type Totals struct {
	Sessions  uint64 // transport sessions: TCP connections, or 1 for UDP
	Messages  uint64
	WireBytes uint64 // IPFIX message octets (no UDP/IP headers)

	TemplateRecords        uint64
	OptionsTemplateRecords uint64
	OptionsRecords         uint64 // options data records (sampler and application tables)

	Flows         Counts
	ByApplication map[string]Counts // by applicationName; "" for flows whose id is not in the table
	ByProtocol    map[uint8]Counts
	ByFiveTuple   map[FiveTuple]Counts // only with Config.TrackFlows

	// SkippedRecords is the sequence numbers jumped over on purpose
	// (Config.GapAfter): the loss a collector should report.
	SkippedRecords uint64
	// NextSequence is the sequence number the next message will carry.
	NextSequence uint32

	Errors    uint64 // failed dials and writes; what they carried is not counted above
	LastError string
}

func (t *Totals) clone() Totals {
	c := *t
	c.ByApplication = maps.Clone(t.ByApplication)
	c.ByProtocol = maps.Clone(t.ByProtocol)
	c.ByFiveTuple = maps.Clone(t.ByFiveTuple)
	return c
}

// Add sums o into t (for a simulator's several exporters). NextSequence
// and LastError are kept from t unless empty.
func (t *Totals) Add(o Totals) {
	t.Sessions += o.Sessions
	t.Messages += o.Messages
	t.WireBytes += o.WireBytes
	t.TemplateRecords += o.TemplateRecords
	t.OptionsTemplateRecords += o.OptionsTemplateRecords
	t.OptionsRecords += o.OptionsRecords
	t.Flows.Add(o.Flows)
	t.SkippedRecords += o.SkippedRecords
	t.Errors += o.Errors
	if t.LastError == "" {
		t.LastError = o.LastError
	}
	t.ByApplication = mergeCounts(t.ByApplication, o.ByApplication)
	t.ByProtocol = mergeCounts(t.ByProtocol, o.ByProtocol)
	t.ByFiveTuple = mergeCounts(t.ByFiveTuple, o.ByFiveTuple)
}

func mergeCounts[K comparable](dst, src map[K]Counts) map[K]Counts {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[K]Counts, len(src))
	}
	for k, v := range src {
		c := dst[k]
		c.Add(v)
		dst[k] = c
	}
	return dst
}
