package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestXRBadCommandLinesExitWithUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"xr", "-target", "nowhere"}, `-target "nowhere"`},
		{[]string{"xr", "-generation", "ems"}, `-generation "ems"`},
		{[]string{"xr", "-encoding", "xml"}, `encoding "xml"`},
		{[]string{"xr", "-transport", "udp"}, "compact GPB only"},
		{[]string{"xr", "-generation", "mdt", "-zlib"}, "without compression"},
		{[]string{"xr", "-framing", "v3"}, `-framing "v3"`},
		{[]string{"xr", "-json-keys", "7.0"}, `-json-keys "7.0"`},
		{[]string{"xr", "-routers", "0"}, "-routers 0"},
		{[]string{"xr", "-rate", "-1"}, "-rate, -duration"},
		{[]string{"xr", "-policy", "/nonexistent/x.policy"}, "-policy"},
		{[]string{"xr", "-cert", "c.pem"}, "need -tls"},
		{[]string{"xr", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, out := runArgs(context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("netlens-sim %q: exit %d, output %q; want exit %d and %q", c.args, code, out, exitUsage, c.want)
		}
	}
}

// Two routers share the count and the rate; each opens its own
// connection and sends PDT v2 frames of zlib JSON with resets.
func TestXRSendsFromEachRouterUntilTheCount(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var mu sync.Mutex
	types := map[uint32]int{}
	conns := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns++
			mu.Unlock()
			go func() {
				defer c.Close()
				var h [12]byte
				for {
					if _, err := io.ReadFull(c, h[:]); err != nil {
						return
					}
					if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(h[8:]))); err != nil {
						return
					}
					mu.Lock()
					types[binary.BigEndian.Uint32(h[:])]++
					mu.Unlock()
				}
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out := runArgs(ctx, "xr", "-target", ln.Addr().String(), "-zlib", "-reset-every", "5", "-rate", "2000",
		"-count", "41", "-routers", "2", "-interfaces", "3", "-stats", "0")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"2 router(s) sending pdt json over tcp (v2 framing, zlib, reset every 5 messages) to " + ln.Addr().String() + ": 2000 messages/s in all",
		"policy NetlensDemo group Fast every 10s: counters, rates",
		"xr-pe1: 21 messages", "xr-pe2: 20 messages", "1 connections, 4 resets",
		"RootOper.InfraStatistics.Interface(*).Latest.GenericCounters: 8 messages",
		"netlens-sim xr: done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := types[2]
		mu.Unlock()
		if n == 41 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if conns != 2 || types[2] != 41 || types[1] != 7 || len(types) != 2 {
		t.Errorf("%d connections, frames by type %v; want 2, 41 JSON and 7 resets (4 + 3)", conns, types)
	}
}

func TestXRWritesCollectorFiles(t *testing.T) {
	dir := t.TempDir()
	code, out := runArgs(context.Background(), "xr", "-write", dir)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, f := range []string{"policies/NetlensDemo.policy", "protos/cisco.proto", "protos/infrastatistics_generic.proto"} {
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("../../provisioning/xr", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from provisioning/xr/%s", f, f)
		}
	}
}
