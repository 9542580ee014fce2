package model

// Source names the protocol a batch came from. The query model, the editors
// and the status board use the same strings.
type Source string

const (
	SourceFTD   Source = "ftd"
	SourceXR    Source = "xr"
	SourceINT   Source = "int"
	SourceIPFIX Source = "ipfix"
)

// DeviceRef identifies the device that sent a batch.
type DeviceRef struct {
	Source Source
	// ID is the stable identity: FTD uuid, XR node, INT switch id, IPFIX
	// exporter address and observation domain.
	ID       string
	Hostname string
	// Remote is the peer address the data came from.
	Remote string
}

// Batch is what a receiver hands to the pipeline: everything one device sent
// in one message, already decoded.
type Batch struct {
	Device  DeviceRef
	Samples []Sample
	// ReceivedMs is when the receiver got the message, for latency tracking
	// and for samples that carry no timestamp of their own.
	ReceivedMs int64
}
