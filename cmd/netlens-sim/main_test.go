package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/netlens/netlens/pkg/proto/ftdpb"
	"github.com/netlens/netlens/pkg/sim/certs"
)

func runArgs(ctx context.Context, args ...string) (int, string) {
	var stderr bytes.Buffer
	code := run(ctx, args, &stderr)
	return code, stderr.String()
}

func TestBadCommandLinesExitWithUsage(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "usage: netlens-sim"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"certs"}, "-dir is required"},
		{[]string{"certs", "-dir", t.TempDir(), "extra"}, `unexpected argument "extra"`},
		{[]string{"ftd"}, "-target is required; -ca is required; -cert is required; -key is required"},
		{[]string{"ftd", "-nosuchflag"}, "flag provided but not defined"},
		{[]string{"ftd", "-target", "x:1", "-ca", "a", "-cert", "b", "-key", "c", "-devices", "0"}, "-devices 0"},
		{[]string{"ftd", "-target", "x:1", "-ca", "a", "-cert", "b", "-key", "c", "-speedup", "-2"}, "-speedup -2"},
	}
	for _, c := range cases {
		code, out := runArgs(context.Background(), c.args...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("netlens-sim %q: exit %d, output %q; want exit %d and %q", c.args, code, out, exitUsage, c.want)
		}
	}
}

func TestCertsWritesOnceThenKeeps(t *testing.T) {
	dir := t.TempDir()
	code, out := runArgs(context.Background(), "certs", "-dir", dir, "-server-hosts", "localhost,127.0.0.1,grafana")
	if code != exitOK || strings.Count(out, "wrote") != 6 {
		t.Fatalf("first run: exit %d\n%s", code, out)
	}
	code, out = runArgs(context.Background(), "certs", "-dir", dir, "-server-hosts", "localhost,127.0.0.1,grafana")
	if code != exitOK || strings.Count(out, "kept") != 6 {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	// Asking for another host renews the server certificate only.
	code, out = runArgs(context.Background(), "certs", "-dir", dir, "-server-hosts", "localhost,127.0.0.1,grafana,collector")
	if code != exitOK || strings.Count(out, "wrote") != 2 || !strings.Contains(out, "wrote "+filepath.Join(dir, "server.crt")) {
		t.Fatalf("third run: exit %d\n%s", code, out)
	}
}

func TestFTDNamesTheFileItCannotRead(t *testing.T) {
	dir := t.TempDir()
	if code, out := runArgs(context.Background(), "certs", "-dir", dir); code != exitOK {
		t.Fatal(out)
	}
	missing := filepath.Join(dir, "nope.crt")
	code, out := runArgs(context.Background(), "ftd", "-target", "127.0.0.1:1",
		"-ca", filepath.Join(dir, "ca.crt"), "-cert", missing, "-key", filepath.Join(dir, "client.key"))
	if code != exitFail || !strings.Contains(out, missing) {
		t.Errorf("exit %d, output %q; want exit %d naming %s", code, out, exitFail, missing)
	}
	code, out = runArgs(context.Background(), "ftd", "-target", "127.0.0.1:1",
		"-ca", filepath.Join(dir, "client.key"), "-cert", filepath.Join(dir, "client.crt"), "-key", filepath.Join(dir, "client.key"))
	if code != exitFail || !strings.Contains(out, "no PEM certificate") {
		t.Errorf("key given as CA: exit %d, output %q", code, out)
	}
}

// miniCollector answers the handshake with a valid ControlRequest and acks
// every batch, remembering which devices sent one.
type miniCollector struct {
	ftdpb.UnimplementedGrpcStreamingServiceServer
	mu      sync.Mutex
	devices map[string]int
}

func (c *miniCollector) ControlStream(s grpc.BidiStreamingServer[ftdpb.ControlResponse, ftdpb.ControlRequest]) error {
	if _, err := s.Recv(); err != nil {
		return err
	}
	if err := s.Send(&ftdpb.ControlRequest{Version: "1.0", Interval: 60, MetricSubscriptions: []string{"all"}}); err != nil {
		return err
	}
	<-s.Context().Done()
	return nil
}

func (c *miniCollector) DataStream(s grpc.BidiStreamingServer[ftdpb.DataResponse, ftdpb.DataRequest]) error {
	for {
		m, err := s.Recv()
		if err != nil {
			return nil
		}
		c.mu.Lock()
		c.devices[m.FtdUuid]++
		c.mu.Unlock()
		if err := s.Send(&ftdpb.DataRequest{Ack: true}); err != nil {
			return err
		}
	}
}

func (c *miniCollector) seen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.devices)
}

func TestFTDStreamsUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	if code, out := runArgs(context.Background(), "certs", "-dir", dir); code != exitOK {
		t.Fatal(out)
	}
	p, err := certs.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.CACert)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &miniCollector{devices: map[string]int{}}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(serverTLS)))
	ftdpb.RegisterGrpcStreamingServiceServer(srv, c)
	go srv.Serve(lis)
	defer srv.Stop()

	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		code int
		out  string
	}
	done := make(chan result, 1)
	go func() {
		code, out := runArgs(ctx, "ftd", "-target", lis.Addr().String(), "-server-name", "localhost",
			"-ca", filepath.Join(dir, "ca.crt"), "-cert", filepath.Join(dir, "client.crt"), "-key", filepath.Join(dir, "client.key"),
			"-devices", "2", "-speedup", "600", "-interfaces", "4", "-stats", "0")
		done <- result{code, out}
	}()
	for i := 0; c.seen() < 2; i++ {
		if i == 500 {
			t.Fatal("two devices did not both send a batch within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("ftd did not stop within 5s of cancellation")
	}
	if r.code != exitOK {
		t.Errorf("exit %d\n%s", r.code, r.out)
	}
	for _, want := range []string{"ftd firepower-1 (", "ftd firepower-2 (", "streaming: interval 1m0s", "stopped"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("log lacks %q:\n%s", want, r.out)
		}
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	c.mu.Lock()
	for u := range c.devices {
		if !uuidRE.MatchString(u) {
			t.Errorf("device uuid %q is not a version 5 uuid", u)
		}
	}
	c.mu.Unlock()
}

func TestDeviceUUIDsAreStableAndDistinct(t *testing.T) {
	if deviceUUID(1, 0) != deviceUUID(1, 0) {
		t.Error("uuid not stable")
	}
	seen := map[string]bool{}
	for s := range int64(3) {
		for i := range 100 {
			u := deviceUUID(s, i)
			if seen[u] {
				t.Fatalf("uuid %s repeated", u)
			}
			seen[u] = true
		}
	}
}

// The UDP subcommands stop by themselves when their -duration is over and
// say why, whether or not anyone listens.
func TestUDPSubcommandsStopAfterTheirDuration(t *testing.T) {
	for _, cmd := range []string{"int", "ipfix"} {
		t.Run(cmd, func(t *testing.T) {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code, out := runArgs(ctx, cmd, "-target", pc.LocalAddr().String(), "-rate", "100", "-duration", "300ms", "-stats", "0")
			if code != exitOK || !strings.Contains(out, "stopped (context deadline exceeded)") {
				t.Fatalf("exit %d\n%s", code, out)
			}
		})
	}
}
