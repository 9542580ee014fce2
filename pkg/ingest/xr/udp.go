package xr

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr/wire"
)

// readUDP reads datagrams until the socket closes. Each is sniffed on its
// own (bare PDT compact GPB, or an MDT header) and decoded in place: no
// state crosses datagrams, so one goroutine with one buffer suffices.
func (r *Receiver) readUDP(ctx context.Context) {
	defer r.wg.Done()
	buf := make([]byte, maxDatagram)
	d := r.newDecoders()
	// A datagram's messages (a compact GPB header may hold several tables)
	// share one store commit.
	r.batching(d)
	for {
		n, from, err := r.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.count.udpReadErrors.Add(1)
			r.logEvery("udp-read", "IOS XR UDP read failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !r.Allowed(from.Addr()) {
			r.notAllowed(from.Addr())
			continue
		}
		r.count.udpDatagrams.Add(1)
		r.count.udpBytes.Add(uint64(n))
		f, err := wire.Sniff(buf[:n], r.max)
		if err != nil {
			dev := r.routers.deviceOf(from.Addr())
			reason := decodeReason(err)
			r.logEvery("udp-"+reason, "IOS XR UDP datagram dropped", "router", dev, "remote", from, "error", err)
			r.routers.heard(dev, seenFrame{transport: "udp", remote: from.String(), ms: r.nowMs()})
			r.drop(dev, from.String(), reason, 1)
			continue
		}
		fromStr := from.String()
		r.handle(ctx, "udp", from, fromStr, f, d)
		r.flush(ctx, d, fromStr)
	}
}
