// Package udpsock opens the UDP sockets of the datagram receivers (IPFIX,
// INT): several sockets on one port so the kernel spreads senders over
// several readers, a receive buffer as large as the operator asks, and the
// kernel's own count of datagrams it dropped, read from each datagram's
// control messages. Receivers own their read loops; this is the part they
// shared word for word.
package udpsock

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Options says how each socket is set up.
type Options struct {
	// ReadBufferBytes is asked of each socket (SO_RCVBUF).
	ReadBufferBytes int
	// GRO turns UDP_GRO on: the kernel hands over runs of same-sized
	// datagrams from one sender as one buffer, with their size in a
	// control message (see ControlMessages), one copy and one wakeup for
	// many datagrams. Kernels without it deliver datagrams one by one,
	// which works the same, only slower.
	GRO bool
}

// Listen opens n sockets on one port with SO_REUSEPORT so the kernel
// spreads senders over n readers, each with SO_RXQ_OVFL on, so every
// datagram it delivers carries the socket's running count of datagrams
// dropped for want of buffer. granted is what the kernel gave the first
// socket (ReadBufferGranted). On an error no socket stays open.
func Listen(address string, n int, o Options) (conns []*net.UDPConn, granted int, err error) {
	var optErr error
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if err := c.Control(func(fd uintptr) { optErr = setOptions(int(fd), o) }); err != nil {
			return err
		}
		return optErr
	}}
	defer func() {
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			conns = nil
		}
	}()
	addr := address
	for i := range n {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			return conns, 0, fmt.Errorf("UDP socket %d of %d on %s: %w", i+1, n, addr, err)
		}
		c := pc.(*net.UDPConn)
		conns = append(conns, c)
		if i == 0 {
			// With port 0 the first socket picked the port: the others join it.
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return conns, 0, err
			}
			addr = net.JoinHostPort(host, strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port))
			if granted, err = ReadBufferGranted(c); err != nil {
				return conns, 0, err
			}
		}
	}
	return conns, granted, nil
}

func setOptions(fd int, o Options) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fmt.Errorf("SO_REUSEPORT: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fmt.Errorf("SO_RXQ_OVFL: %w", err)
	}
	if o.GRO {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_GRO, 1)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, o.ReadBufferBytes); err != nil {
		return fmt.Errorf("SO_RCVBUF: %w", err)
	}
	// SO_RCVBUF stops at net.core.rmem_max; with CAP_NET_ADMIN the forced
	// variant goes past it. Without the capability it fails and the capped
	// size stays, which ReadBufferGranted tells.
	if got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err == nil && got/2 < o.ReadBufferBytes {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, o.ReadBufferBytes)
	}
	return nil
}

// ReadBufferGranted is the receive buffer in the unit it was asked in:
// Linux doubles the asked size for its bookkeeping and reports the double.
func ReadBufferGranted(c *net.UDPConn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	var gerr error
	if err := rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF) }); err != nil {
		return 0, err
	}
	return got / 2, gerr
}
