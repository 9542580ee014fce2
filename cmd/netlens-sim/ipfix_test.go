package main

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIPFIXBadCommandLinesExitWithUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"ipfix", "-target", "nowhere"}, `-target "nowhere"`},
		{[]string{"ipfix", "-transport", "sctp"}, `-transport "sctp"`},
		{[]string{"ipfix", "-exporters", "0"}, "-exporters 0"},
		{[]string{"ipfix", "-sampling", "1,0"}, `-sampling "0"`},
		{[]string{"ipfix", "-sampling-mode", "sflow"}, `sampling mode "sflow"`},
		{[]string{"ipfix", "-rate", "-5"}, "-rate -5"},
		{[]string{"ipfix", "-ipv6-share", "1.5"}, "-ipv6-share 1.5"},
		{[]string{"ipfix", "-max-message", "20"}, "message size 20"},
		{[]string{"ipfix", "extra"}, `unexpected argument "extra"`},
	}
	for _, c := range cases {
		code, out := runArgs(context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("netlens-sim %q: exit %d, output %q; want exit %d and %q", c.args, code, out, exitUsage, c.want)
		}
	}
}

// The command line of the issue, bounded by a count: three exporters, each
// its own observation domain, share the records and the rate.
func TestIPFIXSendsFromEachExporterUntilTheCount(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var mu sync.Mutex
	odids := map[uint32]int{}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if n >= 16 && binary.BigEndian.Uint16(buf) == 10 {
				mu.Lock()
				odids[binary.BigEndian.Uint32(buf[12:])]++
				mu.Unlock()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code, out := runArgs(ctx, "ipfix", "--target", pc.LocalAddr().String(), "--transport", "udp", "--rate", "20000",
		"--count", "1000", "--exporters", "3", "--odid", "7", "--sampling", "1,100", "--stats", "0")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"3 exporter(s) sending to " + pc.LocalAddr().String() + " over udp, 20000 records/s in all",
		"exporter odid 8: sampling 1:100 (cisco)",
		"odid 7: 334 flow records", "odid 8: 333 flow records", "odid 9: 333 flow records",
		"all: 1000 flow records",
		"netlens-sim ipfix: done",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(odids) != 3 || odids[7] == 0 || odids[8] == 0 || odids[9] == 0 {
		t.Errorf("messages by observation domain: %v; want 7, 8 and 9", odids)
	}
}
