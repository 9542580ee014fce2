package xr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/status"
)

func (r *Receiver) acceptTCP(ctx context.Context) {
	defer r.wg.Done()
	for {
		c, err := r.tcpLis.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			r.logEvery("tcp-accept", "IOS XR TCP accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		from := tcpPeer(c)
		if !r.Allowed(from.Addr()) {
			r.notAllowed(from.Addr())
			c.Close()
			continue
		}
		r.connMu.Lock()
		if r.stopping || len(r.conns) >= r.cfg.MaxConnections {
			stopping := r.stopping
			r.connMu.Unlock()
			if !stopping { // counted before the close, which the peer sees
				r.logEvery("tcp-limit", "IOS XR TCP connection refused: too many connections", "remote", from, "limit", r.cfg.MaxConnections)
				r.count.refusedLimit.Add(1)
				r.drop(r.routers.deviceOf(from.Addr()), from.String(), DropConnLimit, 1)
			}
			c.Close()
			continue
		}
		r.conns[c] = struct{}{}
		r.connMu.Unlock()
		r.count.accepted.Add(1)
		r.wg.Add(1)
		go r.serveTCP(ctx, c, from)
	}
}

func tcpPeer(c net.Conn) netip.AddrPort {
	ap := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// idleTimeout is how long a connection may send nothing: a router sends at
// least every period of its slowest group (MDT also heartbeats), so three
// of those, and never less than 30 minutes.
func (r *Receiver) idleTimeout() time.Duration {
	if r.opt.tcpIdle > 0 {
		return r.opt.tcpIdle
	}
	return max(defaultTCPIdle, 3*r.files.Load().maxPeriod, 3*r.cfg.RouterTimeout)
}

// serveTCP feeds one connection's bytes to its own wire.Conn (framing
// generation and zlib stream are the connection's) and decodes each frame
// with its own decoders. A framing or zlib error closes the connection:
// the stream cannot be resynchronised. A decoding error drops only its
// message.
func (r *Receiver) serveTCP(ctx context.Context, c net.Conn, from netip.AddrPort) {
	defer r.wg.Done()
	wc := wire.NewConn(r.max)
	defer func() {
		wc.Close()
		c.Close()
		r.connMu.Lock()
		delete(r.conns, c)
		r.connMu.Unlock()
	}()
	d := r.newDecoders()
	d.conn = true
	// One store commit per read rather than per message: see xrmap.Writer
	// for why that keeps every guarantee (XR has no acknowledgement).
	r.batching(d)
	dev, fromStr := "", from.String()
	emit := func(f wire.Frame) error {
		if got, _ := r.handle(ctx, "tcp", from, fromStr, f, d); got != "" {
			dev = got
		}
		return nil
	}
	buf := make([]byte, readBuffer)
	idle := r.idleTimeout()
	for {
		c.SetReadDeadline(r.opt.now().Add(idle))
		n, err := c.Read(buf)
		if n > 0 {
			r.count.tcpBytes.Add(uint64(n))
			ferr := wc.Feed(buf[:n], emit)
			// What the read held is stored before the next read waits,
			// and before a broken stream closes the connection.
			r.flush(ctx, d, fromStr)
			if ferr != nil {
				r.framing(dev, from, wc.Generation(), ferr)
				return
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.count.idleClosed.Add(1)
				r.logEvery("tcp-idle", "IOS XR TCP connection closed: idle", "remote", from, "idle", idle.String())
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				r.logEvery("tcp-read", "IOS XR TCP read failed", "remote", from, "error", err)
			}
			return
		}
	}
}

// framing counts a connection closed because its stream lost framing or
// its zlib stream broke, on the router last heard on it (else from its
// address).
func (r *Receiver) framing(dev string, from netip.AddrPort, gen wire.Generation, err error) {
	if dev == "" {
		dev = r.routers.deviceOf(from.Addr())
	}
	reason := decodeReason(err)
	r.logEvery("tcp-framing-"+reason, "IOS XR TCP stream broken; connection closed", "router", dev, "remote", from, "generation", gen.String(), "error", err)
	ref := model.DeviceRef{Source: model.SourceXR, ID: dev, Remote: from.String()}
	r.board.Error(ref, status.CatStreaming, fmt.Errorf("TCP stream broken (%s), connection closed: %w", reason, err))
	r.drop(dev, from.String(), reason, 1) // last: tests wait on this count
}
