package ipfix

import (
	"context"
	"encoding/json"
	"net/netip"
)

// decoder is what a worker needs of pkg/decode/ipfix: decoding with the
// records handed on, expiry, per-scope status and the template state to
// persist. decoder.go adapts pkg/decode/ipfix and the Handler to it, and
// is the only file that knows their types: the worker, queues and sockets
// deal in bytes, addresses and counts.
//
// One decoder serves either every UDP exporter of one worker, or one TCP
// connection (whose templates die with it, RFC 7011 §8). It is only ever
// used from its worker's goroutine.
type decoder interface {
	decode(msg []byte, from netip.AddrPort, tcp bool, nowMs int64, res *decodeResult)
	expire(nowMs int64)
	scopes(fn func(scopeInfo))
	// snapshot is the template state to persist (UDP decoders only).
	snapshot() (json.RawMessage, error)
	// restore loads saved states (one per worker of the run that saved
	// them), keeping the scopes owns accepts; it is called before the
	// first message. It returns how many scopes it kept.
	restore(saved []json.RawMessage, owns func(netip.AddrPort) bool) (int, error)
}

// decodeResult is what one message did, for the exporter's account.
type decodeResult struct {
	records, optionsRecords int
	templates, withdrawals  int
	held, droppedPending    int    // data sets (their record count needs the template)
	lostRecords             uint64 // IPFIX: data records missing from the sequence
	lostPackets             uint64 // NetFlow v9: export packets missing
	malformed               []string
	samplingRate            uint64 // of the message's last record; 0 without records
	lastErr                 error  // the decoder's error, for the board
}

func (r *decodeResult) reset() {
	m := r.malformed[:0]
	*r = decodeResult{malformed: m}
}

// scopeInfo is a decoder's view of one scope (exporter and observation
// domain).
type scopeInfo struct {
	exporter         netip.AddrPort
	odid             uint32
	templates        []uint16
	optionsTemplates []uint16
	heldSets         int
	heldBytes        int
	droppedPending   uint64 // data sets dropped unheard of template, since the scope began
}

// engine builds what each worker runs: decoders (one for UDP, one per TCP
// connection) sharing the worker's handler, and that handler's Flush.
type engine struct {
	newDecoder func() decoder
	flush      func(ctx context.Context, nowMs int64) error
}
