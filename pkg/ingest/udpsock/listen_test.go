package udpsock

import (
	"net"
	"testing"
	"time"
)

// Three sockets share the port the first one picked, each with at least
// the buffer asked for (loopback machines allow 1 MiB), and a datagram
// sent to the port arrives on one of them.
func TestListenSharesOnePort(t *testing.T) {
	conns, granted, err := Listen("127.0.0.1:0", 3, Options{ReadBufferBytes: 1 << 20, GRO: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if len(conns) != 3 || granted <= 0 {
		t.Fatalf("%d sockets, %d bytes granted", len(conns), granted)
	}
	port := conns[0].LocalAddr().(*net.UDPAddr).Port
	for _, c := range conns[1:] {
		if p := c.LocalAddr().(*net.UDPAddr).Port; p != port {
			t.Fatalf("ports %d and %d", port, p)
		}
	}
	s, err := net.DialUDP("udp", nil, conns[0].LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, len(conns))
	for _, c := range conns {
		go func() {
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, err := c.Read(buf); err == nil {
				got <- string(buf[:n])
			}
		}()
	}
	select {
	case m := <-got:
		if m != "hello" {
			t.Fatalf("read %q", m)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the datagram reached no socket")
	}
}

// A port in use without SO_REUSEPORT is an error, and nothing stays open.
func TestListenOnATakenPortFails(t *testing.T) {
	taken, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	conns, _, err := Listen(taken.LocalAddr().String(), 2, Options{ReadBufferBytes: 1 << 16})
	if err == nil || conns != nil {
		t.Fatalf("listened beside a plain socket: %v, %d sockets", err, len(conns))
	}
}
