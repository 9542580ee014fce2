package ipfix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	dec "github.com/netlens/netlens/pkg/decode/ipfix"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	"github.com/netlens/netlens/pkg/status"
)

// Handler is what a worker hands decoded records to; pkg/pipeline/flows
// satisfies it. Each worker has its own (newHandler(worker)), called from
// that worker's goroutine only. Flush follows every batch of messages and
// every tick (1 s), so rows reach the store without waiting for traffic.
type Handler interface {
	dec.Handler
	Flush(ctx context.Context, nowMs int64) error
}

// maxPendingBytesPerScope bounds the data a scope may hold while its
// template is unknown (a template often follows its data after a restart
// of the exporter or of the collector).
const maxPendingBytesPerScope = 1 << 20

// New starts the receiver: it binds the configured UDP sockets and TCP
// listener, restores the templates saved in dataDir (empty: none are
// saved), and starts one decoding worker per cfg.Workers, each with the
// Handler newHandler returns for it. allowed may be nil to allow every
// exporter; reg nil is the IANA registry. WithSeries among opts writes
// exporter health as series.
func New(cfg config.IPFIX, allowed func(netip.Addr) bool, reg *ie.Registry, dataDir string,
	newHandler func(worker int) Handler, board *status.Board, logger log.Logger, opts ...Option) (*Server, error) {
	if newHandler == nil {
		return nil, errors.New("ipfix receiver: a handler is required")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	o.engine = decoderEngine(cfg, reg, newHandler)
	return newServer(cfg, allowed, dataDir, board, logger, o)
}

// decoderOptions are the decoder's limits from the configuration.
func decoderOptions(cfg config.IPFIX, reg *ie.Registry) dec.Options {
	o := dec.Options{
		Registry:                reg,
		MaxTemplatesPerScope:    cfg.MaxTemplates,
		TemplateLifetimeMs:      cfg.TemplateLifetime.Milliseconds(),
		MaxPendingBytesPerScope: maxPendingBytesPerScope,
	}
	if len(cfg.SamplingOverrides) > 0 {
		o.SamplingOverride = cfg.SamplingOverrideFor
	}
	return o
}

func decoderEngine(cfg config.IPFIX, reg *ie.Registry, newHandler func(int) Handler) func(int) engine {
	opts := decoderOptions(cfg, reg)
	return func(w int) engine {
		h := newHandler(w)
		return engine{
			newDecoder: func() decoder { return &ipfixDecoder{d: dec.New(opts), h: h} },
			flush:      h.Flush,
		}
	}
}

// ipfixDecoder adapts dec.Decoder to the worker. It stands between the
// decoder and the handler to see the sampling rate records carry.
type ipfixDecoder struct {
	d    *dec.Decoder
	h    Handler
	rate uint64
}

func (x *ipfixDecoder) Record(r *dec.Record) {
	x.rate = r.SamplingRate
	x.h.Record(r)
}

func (x *ipfixDecoder) Options(r *dec.Record) { x.h.Options(r) }

func (x *ipfixDecoder) decode(msg []byte, from netip.AddrPort, tcp bool, nowMs int64, res *decodeResult) {
	tr := dec.UDP
	if tcp {
		tr = dec.TCP
	}
	x.rate = 0
	st, err := x.d.Decode(msg, from, tr, nowMs, x)
	res.records, res.optionsRecords = st.Records, st.OptionsRecords
	res.templates, res.withdrawals = st.Templates, st.Withdrawals
	res.held, res.droppedPending = st.Held, st.DroppedPending
	res.lostRecords, res.lostPackets = st.LostRecords, st.LostPackets
	res.samplingRate = x.rate
	// A held set the decoder had no room for is also one of its errors
	// (pending_full); that drop is counted as unknown_template, from the
	// decoder's totals. Every other error counts as malformed by reason.
	if st.Malformed > st.DroppedPending {
		st.ByReason.Each(func(reason string, n int) {
			if reason == dec.ReasonPendingFull {
				return
			}
			for range n {
				res.malformed = append(res.malformed, reason)
			}
		})
		var e *dec.Error
		if errors.As(err, &e) && e.Reason != dec.ReasonPendingFull {
			res.lastErr = err
		}
	}
}

func (x *ipfixDecoder) expire(nowMs int64) { x.d.Expire(nowMs) }

func (x *ipfixDecoder) scopes(fn func(scopeInfo)) {
	for _, s := range x.d.Scopes() {
		fn(scopeInfo{
			exporter: s.Scope.Exporter, odid: s.Scope.ODID,
			templates: s.Templates, optionsTemplates: s.OptionsTemplates,
			heldSets: s.HeldSets, heldBytes: s.HeldBytes, droppedPending: s.DroppedPending,
		})
	}
}

func (x *ipfixDecoder) snapshot() (json.RawMessage, error) {
	return json.Marshal(x.d.Snapshot())
}

// restore keeps the UDP scopes owns accepts from every saved state; TCP
// scopes belonged to connections that are gone.
func (x *ipfixDecoder) restore(saved []json.RawMessage, owns func(netip.AddrPort) bool) (int, error) {
	var mine dec.State
	var errs []error
	for i, raw := range saved {
		var st dec.State
		if err := json.Unmarshal(raw, &st); err != nil {
			errs = append(errs, fmt.Errorf("saved state %d: %w", i, err))
			continue
		}
		for _, sc := range st.Scopes {
			if sc.Transport == dec.UDP && owns(sc.Exporter) {
				mine.Scopes = append(mine.Scopes, sc)
			}
		}
	}
	if err := x.d.Restore(mine); err != nil {
		errs = append(errs, err)
	}
	return len(mine.Scopes), errors.Join(errs...)
}
