package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestINTBadCommandLinesExitWithUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"int", "-target", "nowhere"}, `-target "nowhere"`},
		{[]string{"int", "-mode", "mirror"}, `-mode "mirror"`},
		{[]string{"int", "-version", "2.0"}, `-version "2.0"`},
		{[]string{"int", "-instructions", "switch-id,colour"}, `"colour" is none of`},
		{[]string{"int", "-instructions", "0x0001"}, "reserved in v0.5"},
		{[]string{"int", "-version", "1.0", "-int-port", "5000"}, "needs v0.5"},
		{[]string{"int", "-ipv6-share", "0.5"}, "need report v1.0"},
		{[]string{"int", "-inner", "ip"}, "need report v1.0"},
		{[]string{"int", "-rate", "-1"}, "-rate -1"},
		{[]string{"int", "-spines", "0", "-leaves", "300"}, "want 1..32"},
		{[]string{"int", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, out := runArgs(context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("netlens-sim %q: exit %d, output %q; want exit %d and %q", c.args, code, out, exitUsage, c.want)
		}
	}
}

// Two domains share a count; every report reaches the listener and the
// totals say so per kind and per switch.
func TestINTSendsUntilTheCount(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_ = pc.SetReadBuffer(4 << 20)
	var got atomic.Int64
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 12 {
				got.Add(1)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out := runArgs(ctx, "int", "-target", pc.LocalAddr().String(), "-rate", "20000", "-count", "1001",
		"-workers", "2", "-version", "1.0", "-mode", "postcard", "-time-step", "1ms", "-stats", "0")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"domain 1: 2 spines, 4 leaves, 4 hosts per leaf, 64 flows, postcard mode, report v1.0, instructions 0xfc00",
		"domain 1: 501 reports", "domain 2: 500 reports",
		"domain 1: spine-1 (0x", "switch id 0x",
		"netlens-sim int: done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < 1001 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := got.Load(); n != 1001 {
		t.Fatalf("listener got %d reports, want 1001", n)
	}
}
