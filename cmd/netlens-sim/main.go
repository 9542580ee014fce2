// Command netlens-sim drives Netlens with simulated devices, and writes the
// demo PKI they and the collector use.
//
//	netlens-sim certs -dir DIR -server-hosts localhost,127.0.0.1,grafana
//	netlens-sim ftd -target host:port -ca FILE -cert FILE -key FILE [-devices N] [-speedup X] ...
//	netlens-sim ipfix [-target host:port] [-transport udp|tcp] [-rate N] [-exporters N] ...
//	netlens-sim xr [-target host:port] [-generation pdt|mdt] [-encoding json|gpbkv|compact] [-transport tcp|udp|grpc] ...
//	netlens-sim int [-target host:port] [-mode int|postcard] [-version 0.5|1.0] [-rate N|-flood] ...
//
// See README.md beside this file.
package main

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netlens/netlens/pkg/sim/certs"
	"github.com/netlens/netlens/pkg/sim/ftdsim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

const usage = `usage: netlens-sim <command> [flags]

commands:
  certs   write the demo PKI (CA, collector and device certificates); keeps valid files
  ftd     run simulated Cisco FTD devices streaming telemetry to a collector
  ipfix   run simulated IPFIX exporters sending flows to a collector
  xr      run simulated Cisco IOS XR routers streaming telemetry to a collector
  int     run a simulated leaf-spine INT domain sending telemetry reports to a collector

run "netlens-sim <command> -h" for the flags of a command.
`

// Exit codes: 2 for a command line that makes no sense, 1 for a failure
// while doing what it asked.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func run(ctx context.Context, args []string, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "certs":
		return runCerts(args[1:], stderr)
	case "ftd":
		return runFTD(ctx, args[1:], stderr)
	case "ipfix":
		return runIPFIX(ctx, args[1:], stderr)
	case "xr":
		return runXR(ctx, args[1:], stderr)
	case "int":
		return runINT(ctx, args[1:], stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stderr, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "netlens-sim: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parse parses flags and refuses stray arguments, which usually mean a
// typo that would otherwise be silently ignored.
func parse(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "netlens-sim %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runCerts(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("certs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory to write ca.crt, ca.key, server.crt, server.key, client.crt, client.key (required)")
	hosts := fs.String("server-hosts", "localhost,127.0.0.1", "comma-separated names and IPv4 addresses the collector's certificate covers")
	clientCN := fs.String("client-cn", certs.DefaultClientCN, "common name of the device certificate")
	caCN := fs.String("ca-cn", "Netlens demo CA", "common name of a new CA")
	caValidity := fs.Duration("ca-validity", 10*365*24*time.Hour, "lifetime of a new CA")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "netlens-sim certs: -dir is required")
		return exitUsage
	}
	serverHosts := splitList(*hosts)
	if len(serverHosts) == 0 {
		fmt.Fprintln(stderr, "netlens-sim certs: -server-hosts is empty")
		return exitUsage
	}

	names := []string{certs.CACertFile, certs.CAKeyFile, certs.ServerCertFile, certs.ServerKeyFile, certs.ClientCertFile, certs.ClientKeyFile}
	before := map[string][]byte{}
	for _, n := range names {
		before[n], _ = os.ReadFile(filepath.Join(*dir, n))
	}
	// The new CA is used only if dir holds no valid one (WriteFiles keeps it).
	p, err := certs.NewPKI(*caCN, *caValidity)
	if err != nil {
		fmt.Fprintf(stderr, "netlens-sim certs: %v\n", err)
		return exitFail
	}
	if err := certs.WriteFiles(*dir, p, serverHosts, *clientCN); err != nil {
		fmt.Fprintf(stderr, "netlens-sim certs: %v\n", err)
		return exitFail
	}
	for _, n := range names {
		after, err := os.ReadFile(filepath.Join(*dir, n))
		if err != nil {
			fmt.Fprintf(stderr, "netlens-sim certs: %v\n", err)
			return exitFail
		}
		what := "wrote"
		if string(after) == string(before[n]) {
			what = "kept "
		}
		fmt.Fprintf(stderr, "netlens-sim certs: %s %s\n", what, filepath.Join(*dir, n))
	}
	return exitOK
}

func runFTD(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ftd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "", "collector host:port, e.g. grafana:50051 (required)")
	caFile := fs.String("ca", "", "CA certificate that signed the collector's certificate (required)")
	certFile := fs.String("cert", "", "device client certificate (required)")
	keyFile := fs.String("key", "", "device client key (required)")
	serverName := fs.String("server-name", "", "name expected in the collector's certificate (default: the host of -target)")
	devices := fs.Int("devices", 1, "number of devices, each with its own uuid and hostname")
	hostnamePrefix := fs.String("hostname", "firepower", "hostnames are this prefix plus -1, -2, ...")
	speedUp := fs.Float64("speedup", 1, "divide the negotiated interval by this (6 turns 60 s into 10 s)")
	interfaces := fs.Int("interfaces", 16, "interfaces per device")
	cpus := fs.Int("cpus", 8, "CPU cores (and snort instances) per device")
	retry := fs.Duration("retry", 5*time.Minute, "wait before reconnecting after a session ends")
	ackTimeout := fs.Duration("ack-timeout", 30*time.Second, "wait for the collector's acknowledgement of a batch or cancel")
	seed := fs.Int64("seed", 1, "seed of the device identities and metric values")
	version := fs.String("version", "1.0", "protocol version sent in the handshake")
	statsEvery := fs.Duration("stats", time.Minute, "log totals this often (0: never)")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	var problems []string
	for _, f := range []struct{ name, value string }{{"target", *target}, {"ca", *caFile}, {"cert", *certFile}, {"key", *keyFile}} {
		if f.value == "" {
			problems = append(problems, "-"+f.name+" is required")
		}
	}
	if *devices < 1 || *devices > 10000 {
		problems = append(problems, fmt.Sprintf("-devices %d: want 1..10000", *devices))
	}
	if !(*speedUp > 0) {
		problems = append(problems, fmt.Sprintf("-speedup %v: want a positive number", *speedUp))
	}
	if *retry <= 0 || *ackTimeout <= 0 || *statsEvery < 0 {
		problems = append(problems, "-retry and -ack-timeout must be positive, -stats not negative")
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "netlens-sim ftd: %s\n", strings.Join(problems, "; "))
		return exitUsage
	}
	tlsCfg, err := loadClientTLS(*caFile, *certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "netlens-sim ftd: %v\n", err)
		return exitFail
	}
	if *serverName != "" {
		tlsCfg.ServerName = *serverName
	} else if host, _, err := net.SplitHostPort(*target); err == nil {
		tlsCfg.ServerName = host
	}

	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)
	var devs []*ftdsim.Device
	for i := range *devices {
		d, err := ftdsim.New(ftdsim.Config{
			Target:     *target,
			TLS:        tlsCfg,
			UUID:       deviceUUID(*seed, i),
			Hostname:   fmt.Sprintf("%s-%d", *hostnamePrefix, i+1),
			Version:    *version,
			Interfaces: *interfaces,
			CPUs:       *cpus,
			SpeedUp:    *speedUp,
			RetryAfter: *retry,
			AckTimeout: *ackTimeout,
			Seed:       *seed + int64(i),
			Logf:       logger.Printf,
		})
		if err != nil {
			fmt.Fprintf(stderr, "netlens-sim ftd: %v\n", err)
			return exitUsage
		}
		devs = append(devs, d)
	}
	logger.Printf("netlens-sim ftd: %d device(s) streaming to %s (server name %q, speed-up %v)", len(devs), *target, tlsCfg.ServerName, *speedUp)

	var wg sync.WaitGroup
	for _, d := range devs {
		wg.Go(func() { d.Run(ctx) })
	}
	if *statsEvery > 0 {
		wg.Go(func() {
			t := time.NewTicker(*statsEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					logTotals(logger, devs)
				}
			}
		})
	}
	wg.Wait()
	logTotals(logger, devs)
	logger.Printf("netlens-sim ftd: stopped (%v)", context.Cause(ctx))
	return exitOK
}

func logTotals(logger *log.Logger, devs []*ftdsim.Device) {
	var t ftdsim.Stats
	var connected int
	for _, d := range devs {
		s := d.Stats()
		t.Sessions += s.Sessions
		t.Batches += s.Batches
		t.BatchesAcked += s.BatchesAcked
		t.Metrics += s.Metrics
		t.Cancels += s.Cancels
		t.Errors += s.Errors
		if s.Connected {
			connected++
		}
		if s.LastError != "" {
			t.LastError = s.LastError
		}
	}
	logger.Printf("netlens-sim ftd: %d/%d connected, %d sessions, %d batches (%d acked), %d metrics, %d cancels, %d errors%s",
		connected, len(devs), t.Sessions, t.Batches, t.BatchesAcked, t.Metrics, t.Cancels, t.Errors, lastError(t.LastError))
}

func lastError(s string) string {
	if s == "" {
		return ""
	}
	return ", last: " + s
}

// loadClientTLS reads the device's certificate, key and trusted CA, naming
// the file in every error.
func loadClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("-ca %s: no PEM certificate in it", caFile)
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("-cert %s / -key %s: %w", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// deviceUUID gives device i a stable uuid, so a restarted simulator comes
// back as the same devices rather than as new ones on the dashboards.
func deviceUUID(seed int64, i int) string {
	sum := sha1.Sum(fmt.Appendf(nil, "netlens-sim ftd %d %d", seed, i))
	sum[6] = sum[6]&0x0f | 0x50 // version 5 (name based, SHA-1)
	sum[8] = sum[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}
