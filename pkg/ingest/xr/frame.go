package xr

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/mdt"
	"github.com/netlens/netlens/pkg/decode/xr/pdt"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/status"
)

// decoders is the decoding state one connection (or one HandleFrame call)
// owns: the MDT decoder reuses its buffers from message to message, so it
// cannot be shared.
type decoders struct {
	mdt *mdt.Decoder
	one [1]*xr.Message // backs the slice of a single decoded message
	// w, when the Handler can batch (*xrmap.Mapper), holds the samples of
	// the messages handled since the transport last called flush.
	w *xrmap.Writer
	// conn is set for a TCP connection's decoders, and dev is then the
	// router its messages last named: a reset or heartbeat belongs to that
	// router, not to whichever router last spoke from the same address
	// (two routers behind one NAT address, or a 6.0.0 router opening a
	// TLV connection with a reset while another one streams).
	conn bool
	dev  string
}

// batcher is a Handler that can group one connection's messages into one
// store commit per read (*xrmap.Mapper).
type batcher interface {
	NewWriter() *xrmap.Writer
}

// batching gives d a Writer when the Handler can batch; the transport
// must then call flush after every read it handed over.
func (r *Receiver) batching(d *decoders) {
	if b, ok := r.h.(batcher); ok {
		d.w = b.NewWriter()
	}
}

// flush writes what d's Writer holds: called by a transport once it has
// handed over everything one read held, before it waits for the next.
func (r *Receiver) flush(ctx context.Context, d *decoders, remote string) {
	if d.w == nil {
		return
	}
	if err := d.w.Flush(ctx); err != nil {
		r.handlerFailed(ctx, remote, "", err)
	}
}

// handlerFailed counts and records what the Handler could not store: one
// message, or every message of a batch a Writer failed to write.
func (r *Receiver) handlerFailed(ctx context.Context, remote, path string, err error) {
	dev, n := "", uint64(1)
	var ns *xrmap.NotStoredError
	if errors.As(err, &ns) {
		dev, n = ns.Device.ID, uint64(ns.Messages)
	}
	ref := model.DeviceRef{Source: model.SourceXR, ID: dev, Remote: remote}
	r.drop(dev, remote, DropHandler, n)
	r.logEvery("handler", "IOS XR message not stored", "router", dev, "path", path, "messages", n, "error", err)
	if ctx.Err() == nil {
		what := "message of " + path
		if path == "" {
			what = fmt.Sprintf("%d messages", n)
		}
		r.board.Error(ref, status.CatBuffer, fmt.Errorf("%s not stored: %w", what, err))
	}
}

func (r *Receiver) newDecoders() *decoders {
	return &decoders{mdt: mdt.NewDecoder(mdt.Limits{MaxBytes: r.max})}
}

// HandleFrame decodes one framed (and inflated) message from any transport
// ("tcp", "udp", "grpc") and hands what it holds to the Handler. Errors are
// already counted on the router's row with the decoder's reason when
// HandleFrame returns them; they concern that message only, so a transport
// keeps its connection (only framing and zlib errors, which the transport
// sees before calling this, end one).
func (r *Receiver) HandleFrame(ctx context.Context, transport string, remote netip.AddrPort, f wire.Frame) error {
	d := r.decoders.Get().(*decoders)
	remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	_, err := r.handle(ctx, transport, remote, remote.String(), f, d)
	r.decoders.Put(d)
	return err
}

// frameEncoding names a frame's encoding as routers' status shows it, in
// the words of xr.Encoding.
func frameEncoding(f wire.Frame) string {
	switch f.Encoding {
	case wire.EncodingJSON:
		return xr.EncodingJSON.String()
	case wire.EncodingGPB, wire.EncodingGPBKV:
		return xr.EncodingGPBKV.String()
	case wire.EncodingGPBCompact:
		return xr.EncodingGPBCompact.String()
	}
	return ""
}

// handle decodes one frame and returns the router it was attributed to.
// remote is unmapped already and remoteStr is its text, which a
// connection makes once.
func (r *Receiver) handle(ctx context.Context, transport string, remote netip.AddrPort, remoteStr string, f wire.Frame, d *decoders) (string, error) {
	nowMs := r.nowMs()
	seen := seenFrame{transport: transport, generation: f.Gen.String(), encoding: frameEncoding(f), remote: remoteStr, bytes: uint64(len(f.Payload)), ms: nowMs}
	switch f.Kind {
	case wire.KindReset, wire.KindHeartbeat:
		if f.Kind == wire.KindReset {
			r.count.resets.Add(1)
			seen.bytes = 0
		} else {
			r.count.heartbeats.Add(1)
		}
		seen.encoding = ""
		dev := d.dev
		if !d.conn {
			dev = r.routers.deviceOf(remote.Addr())
		}
		if dev == "" {
			// A connection that has named no router yet: its first
			// message will record it, with this generation.
			return "", nil
		}
		r.routers.heard(dev, seen)
		return dev, nil
	}
	cat := r.files.Load()
	msgs, missing, err := r.decode(f, d, cat)
	if err != nil {
		dev := d.dev
		if dev == "" {
			dev = r.routers.deviceOf(remote.Addr())
		}
		r.routers.heard(dev, seen)
		reason := decodeReason(err)
		r.drop(dev, seen.remote, reason, 1)
		r.logEvery("decode-"+reason, "IOS XR message dropped", "router", dev, "remote", seen.remote, "transport", transport,
			"generation", seen.generation, "encoding", seen.encoding, "error", err)
		return dev, err
	}
	policyDriven := f.Gen != wire.GenMDT || f.Encoding == wire.EncodingGPBCompact || f.Encoding == wire.EncodingGPBKV
	dev := ""
	for _, m := range msgs {
		if policyDriven && m.Node != "" && m.Policy != "" && cat.loaded[m.Policy].pol != nil && m.Node == cat.loaded[m.Policy].pol.Identifier {
			// The policy's Metadata.Identifier comes back in every message of
			// every router that runs the policy: it names no router.
			m.Node = ""
		}
		if m.Node == "" {
			m.Node = remote.Addr().String()
		}
		if dev == "" {
			dev = m.Node
		}
	}
	if dev == "" && f.Encoding == wire.EncodingGPBCompact {
		// Every table missing: the header still names the router.
		if policy, ident := peekCompact(f.Payload); ident != "" && (cat.loaded[policy].pol == nil || cat.loaded[policy].pol.Identifier != ident) {
			dev = ident
		}
	}
	if dev == "" {
		dev = r.routers.deviceOf(remote.Addr())
	}
	if d.conn {
		d.dev = dev
	}
	r.count.messages.Add(1)
	r.routers.decoded(dev, remote.Addr(), seen)
	for _, p := range missing {
		r.count.missingProto.Add(1)
		r.routers.missingProto(dev, p)
	}
	if len(missing) > 0 {
		r.logEvery("missing-proto", "IOS XR compact GPB rows skipped: no .proto describes their policy path (put it in xr_proto_dir)",
			"router", dev, "paths", missing)
	}
	var first error
	for _, m := range msgs {
		if policyDriven {
			r.policyOf(cat, m, nowMs)
		}
		ref := model.DeviceRef{Source: model.SourceXR, ID: m.Node, Remote: seen.remote}
		var err error
		if d.w != nil {
			err = d.w.Write(ctx, ref, m, nowMs)
		} else {
			err = r.h.Write(ctx, ref, m, nowMs)
		}
		if err != nil {
			var ns *xrmap.NotStoredError
			if !errors.As(err, &ns) {
				ns = &xrmap.NotStoredError{Device: ref, Messages: 1, Err: err}
			}
			r.handlerFailed(ctx, seen.remote, m.Path, ns)
			if first == nil {
				first = err
			}
		}
	}
	return dev, first
}

// decode dispatches by generation and encoding. MDT encapsulations 3 and 4
// are the legacy PDT encodings carried in the MDT header (pipeline calls
// them GPB_COMPACT and GPB_KV), so they go to the PDT decoders.
func (r *Receiver) decode(f wire.Frame, d *decoders, cat *catalog) ([]*xr.Message, []string, error) {
	one := func(m *xr.Message, err error) ([]*xr.Message, []string, error) {
		if err != nil {
			return nil, nil, err
		}
		d.one[0] = m
		return d.one[:], nil, nil
	}
	pd := pdt.Decoder{Limits: pdt.Limits{MaxBytes: r.max}, Paths: cat.allPaths}
	switch {
	case f.Encoding == wire.EncodingGPBCompact:
		return cat.decodeCompact(f.Payload)
	case f.Gen == wire.GenMDT && f.Encoding == wire.EncodingGPB:
		return one(d.mdt.DecodeGPBKV(f.Payload))
	case f.Gen == wire.GenMDT && f.Encoding == wire.EncodingJSON:
		return one(d.mdt.DecodeJSON(f.Payload))
	case f.Encoding == wire.EncodingJSON:
		return one(pd.DecodeJSON(f.Payload))
	case f.Encoding == wire.EncodingGPBKV:
		return one(pd.DecodeGPBKV(f.Payload))
	}
	return nil, nil, &unknownEncodingError{f}
}

type unknownEncodingError struct{ f wire.Frame }

func (e *unknownEncodingError) Error() string {
	return fmt.Sprintf("xr: %s data frame of type %d with no encoding to decode", e.f.Gen, e.f.Type)
}

// decodeReason is the stable reason of a decoder's error, the drop
// counter's name.
func decodeReason(err error) string {
	var pe *pdt.Error
	var me *mdt.Error
	var we *wire.Error
	var ue *unknownEncodingError
	switch {
	case errors.As(err, &pe):
		return pe.Reason
	case errors.As(err, &me):
		return me.Reason
	case errors.As(err, &we):
		return we.Reason
	case errors.As(err, &ue):
		return DropUnknownEncoding
	}
	if reason, ok := compactReason(err); ok {
		return reason
	}
	return "decode_error"
}

// policyOf fills a policy-driven message's Policy (key-value GPB carries
// none) and Subscription (its collection group) from the loaded policies
// when they say it without ambiguity, and refreshes the groups the
// message's path belongs to: the group the message names, else every
// group of its policy (or of any policy, when it names none) that lists
// the path.
func (r *Receiver) policyOf(cat *catalog, m *xr.Message, nowMs int64) {
	refs := cat.paths[normPath(m.Path)]
	if len(refs) == 0 {
		return
	}
	if m.Policy == "" && samePolicy(refs) {
		m.Policy = refs[0].policy
	}
	var cands []groupRef
	for _, g := range refs {
		if m.Policy == "" || g.policy == m.Policy {
			cands = append(cands, g)
		}
	}
	if len(cands) == 0 {
		return
	}
	if m.Subscription == "" && m.Policy != "" && sameGroup(cands) {
		m.Subscription = cands[0].group
	}
	named := false
	for _, g := range cands {
		if g.group == m.Subscription {
			named = true
		}
	}
	for _, g := range cands {
		if named && g.group != m.Subscription {
			continue
		}
		r.groups.refresh(m.Node, g, nowMs)
		r.routers.period(m.Node, g.period)
	}
}

func samePolicy(refs []groupRef) bool {
	for _, g := range refs[1:] {
		if g.policy != refs[0].policy {
			return false
		}
	}
	return true
}

func sameGroup(refs []groupRef) bool {
	for _, g := range refs[1:] {
		if g.group != refs[0].group {
			return false
		}
	}
	return true
}

// peekCompact reads policy_name (2) and identifier (4) of a compact
// TelemetryHeader that Decode already accepted.
func peekCompact(b []byte) (policy, ident string) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		if typ == protowire.BytesType && (num == 2 || num == 4) {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return
			}
			if num == 2 {
				policy = string(v)
			} else {
				ident = string(v)
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return
		}
		b = b[m:]
	}
	return
}
