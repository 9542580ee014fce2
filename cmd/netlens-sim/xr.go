package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/sim/xrsim"
)

func runXR(ctx context.Context, args []string, stderr io.Writer) int {
	f := newXRFlags(stderr)
	if code, ok := parse(f.set, args); !ok {
		return code
	}
	if *f.write != "" {
		if err := writeXRFiles(*f.write, stderr); err != nil {
			fmt.Fprintf(stderr, "netlens-sim xr: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	cfgs, problems := f.configs()
	routers, logger, ok := build("xr", cfgs, problems, stderr, func(c xrsim.Config, logf func(string, ...any)) (*xrsim.Router, error) {
		c.Logf = logf
		return xrsim.New(c)
	})
	if !ok {
		return exitUsage
	}
	ctx, cancel := withDuration(ctx, *f.duration)
	defer cancel()
	c0 := routers[0].Config()
	cadence := "each group at its period"
	if *f.rate > 0 {
		cadence = fmt.Sprintf("%v messages/s in all", *f.rate)
	}
	if *f.flood {
		cadence = "as fast as the connection takes"
	}
	logger.Printf("netlens-sim xr: %d router(s) sending %s to %s: %s", len(routers), describeXR(c0), *f.target, cadence)
	for _, g := range c0.Policy.Groups {
		var paths []string
		for _, p := range g.Paths {
			paths = append(paths, p.ID)
		}
		logger.Printf("netlens-sim xr: policy %s group %s every %v: %s", c0.Policy.Name, g.Name, g.Period, strings.Join(paths, ", "))
	}

	runs := make([]func(context.Context), len(routers))
	for i, r := range routers {
		runs[i] = func(ctx context.Context) { r.Run(ctx) }
	}
	runAll(ctx, logger, "xr", runs, *f.stats, func(bool) { logXRTotals(logger, routers) })
	return exitOK
}

type xrFlags struct {
	set                                         *flag.FlagSet
	target, generation, encoding, transport     *string
	framing, jsonKeys, policy, name, sources    *string
	caFile, certFile, keyFile, serverName       *string
	write                                       *string
	zlib, useTLS, flood                         *bool
	resetEvery, routers, interfaces, nodes, nbr *int
	maxDatagram                                 *int
	rate                                        *float64
	count, seed                                 *uint64
	duration, retry, retryMax, stats            *time.Duration
}

func newXRFlags(stderr io.Writer) *xrFlags {
	fs := flag.NewFlagSet("xr", flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &xrFlags{
		set:         fs,
		target:      fs.String("target", "127.0.0.1:57500", "collector host:port (gRPC dial-out: the gRPC port, e.g. :57000)"),
		generation:  fs.String("generation", "pdt", "pdt (policy-driven, XR 5.3-6.x) or mdt (model-driven, current routers)"),
		encoding:    fs.String("encoding", "json", "json, gpbkv (key-value GPB) or compact (PDT compact GPB)"),
		transport:   fs.String("transport", "tcp", "tcp, udp (PDT compact only) or grpc (MDT dial-out)"),
		framing:     fs.String("framing", "v2", "PDT over TCP: v2 (Type/Flags/Length, XR 6.0.1+) or v1 (XR 6.0.0 TLV blocks; JSON with zlib)"),
		jsonKeys:    fs.String("json-keys", "6.0.1", "PDT JSON layout: 6.0.1 (CollectionStartTime, Path, list level) or 6.0.0 (\"Start Time\", no Path)"),
		zlib:        fs.Bool("zlib", false, "PDT over TCP: compress, one zlib stream per connection"),
		resetEvery:  fs.Int("reset-every", 0, "with -zlib: send RESET_COMPRESSOR and start a new stream after this many messages (0: never)"),
		policy:      fs.String("policy", "", "policy file to follow (default: the built-in NetlensDemo.policy)"),
		rate:        fs.Float64("rate", 0, "messages per second over all routers, the policy's paths in turn (0: each group at its period)"),
		flood:       fs.Bool("flood", false, "send as fast as the connection takes, the paths in turn (benchmarks); overrides -rate"),
		duration:    fs.Duration("duration", 0, "stop after this long (0: until interrupted or -count is reached)"),
		count:       fs.Uint64("count", 0, "stop after this many messages over all routers (0: no limit)"),
		routers:     fs.Int("routers", 1, "number of routers, each its own connection"),
		name:        fs.String("name", "xr-pe", "router names are this prefix plus 1, 2, ... (PDT Identifier, MDT node_id_str)"),
		interfaces:  fs.Int("interfaces", 8, "interfaces per router"),
		nodes:       fs.Int("nodes", 2, "nodes (route processors, line cards) per router, for the memory summary"),
		nbr:         fs.Int("neighbors", 4, "BGP neighbours per router"),
		seed:        fs.Uint64("seed", 1, "seed of the values; router i uses seed+i"),
		sources:     fs.String("source", "", "comma-separated local addresses, one per router in turn (e.g. 127.0.0.2,127.0.0.3); empty: the system's choice"),
		maxDatagram: fs.Int("max-datagram", 1400, "UDP: largest datagram; a collection's rows are split across datagrams"),
		retry:       fs.Duration("retry", time.Second, "TCP and gRPC: first wait before dialling again; doubles up to -retry-max"),
		retryMax:    fs.Duration("retry-max", 30*time.Second, "longest wait between dials"),
		useTLS:      fs.Bool("tls", false, "gRPC: use TLS (with -cert and -key: mutual TLS)"),
		caFile:      fs.String("ca", "", "gRPC TLS: CA that signed the collector's certificate (default: the system's roots)"),
		certFile:    fs.String("cert", "", "gRPC mutual TLS: router certificate"),
		keyFile:     fs.String("key", "", "gRPC mutual TLS: router key"),
		serverName:  fs.String("server-name", "", "gRPC TLS: name in the collector's certificate (default: the host of -target)"),
		stats:       fs.Duration("stats", time.Minute, "log totals this often (0: only at the end)"),
		write:       fs.String("write", "", "write the policy and .proto files a collector needs into DIR/policies and DIR/protos, then exit"),
	}
}

func (f *xrFlags) configs() ([]xrsim.Config, []string) {
	var problems []string
	if _, _, err := net.SplitHostPort(*f.target); err != nil {
		problems = append(problems, fmt.Sprintf("-target %q: %v", *f.target, err))
	}
	var gen xrsim.Generation
	switch *f.generation {
	case "pdt":
	case "mdt":
		gen = xrsim.GenMDT
	default:
		problems = append(problems, fmt.Sprintf("-generation %q: want pdt or mdt", *f.generation))
	}
	var keys xrsim.JSONKeys
	switch *f.jsonKeys {
	case "6.0.1":
	case "6.0.0":
		keys = xrsim.JSON600
	default:
		problems = append(problems, fmt.Sprintf("-json-keys %q: want 6.0.1 or 6.0.0", *f.jsonKeys))
	}
	if *f.framing != "v1" && *f.framing != "v2" {
		problems = append(problems, fmt.Sprintf("-framing %q: want v1 or v2", *f.framing))
	}
	if *f.routers < 1 || *f.routers > 1000 {
		problems = append(problems, fmt.Sprintf("-routers %d: want 1..1000", *f.routers))
	}
	if !(*f.rate >= 0) || *f.duration < 0 || *f.stats < 0 || *f.retry <= 0 || *f.retryMax <= 0 {
		problems = append(problems, "-rate, -duration and -stats must not be negative, -retry and -retry-max must be positive")
	}
	if *f.resetEvery < 0 {
		problems = append(problems, "-reset-every must not be negative")
	}
	var policy *xrsim.Policy
	if *f.policy != "" {
		p, err := xrsim.LoadPolicy(*f.policy)
		if err != nil {
			problems = append(problems, "-policy: "+err.Error())
		}
		policy = p
	}
	var tlsCfg *tls.Config
	if *f.useTLS {
		var err error
		if tlsCfg, err = f.tlsConfig(); err != nil {
			problems = append(problems, err.Error())
		}
	} else if *f.caFile != "" || *f.certFile != "" || *f.keyFile != "" {
		problems = append(problems, "-ca, -cert and -key need -tls")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	sources := splitList(*f.sources)
	n := *f.routers
	var cfgs []xrsim.Config
	for i := range n {
		c := xrsim.Config{
			Name:        fmt.Sprintf("%s%d", *f.name, i+1),
			Target:      *f.target,
			Generation:  gen,
			Encoding:    *f.encoding,
			Transport:   *f.transport,
			TLS:         tlsCfg,
			V1:          *f.framing == "v1",
			JSONKeys:    keys,
			Zlib:        *f.zlib,
			ResetEvery:  *f.resetEvery,
			Policy:      policy,
			Rate:        *f.rate / float64(n),
			Flood:       *f.flood,
			Interfaces:  *f.interfaces,
			Nodes:       *f.nodes,
			Neighbors:   *f.nbr,
			Seed:        *f.seed + uint64(i),
			MaxDatagram: *f.maxDatagram,
			RetryMin:    *f.retry,
			RetryMax:    *f.retryMax,
		}
		if *f.count > 0 {
			c.Count = *f.count / uint64(n)
			if uint64(i) < *f.count%uint64(n) {
				c.Count++
			}
			if c.Count == 0 {
				continue // fewer messages than routers
			}
		}
		if len(sources) > 0 {
			c.LocalAddr = net.JoinHostPort(sources[i%len(sources)], "0")
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

func (f *xrFlags) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: *f.serverName}
	if cfg.ServerName == "" {
		cfg.ServerName, _, _ = net.SplitHostPort(*f.target)
	}
	if *f.caFile != "" {
		pem, err := os.ReadFile(*f.caFile)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate in it", *f.caFile)
		}
	}
	if (*f.certFile == "") != (*f.keyFile == "") {
		return nil, fmt.Errorf("-cert and -key go together")
	}
	if *f.certFile != "" {
		pair, err := tls.LoadX509KeyPair(*f.certFile, *f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("-cert %s / -key %s: %w", *f.certFile, *f.keyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

func describeXR(c xrsim.Config) string {
	s := c.Generation.String() + " " + c.Encoding + " over " + c.Transport
	if c.Transport == "tcp" && c.Generation == xrsim.GenPDT {
		s += map[bool]string{false: " (v2 framing", true: " (v1 framing"}[c.V1]
		if c.Zlib {
			s += ", zlib"
			if c.ResetEvery > 0 {
				s += fmt.Sprintf(", reset every %d messages", c.ResetEvery)
			}
		}
		s += ")"
	}
	if c.Transport == "grpc" && c.TLS != nil {
		s += " with TLS"
		if len(c.TLS.Certificates) > 0 {
			s = strings.TrimSuffix(s, "TLS") + "mutual TLS"
		}
	}
	return s
}

func logXRTotals(logger *log.Logger, routers []*xrsim.Router) {
	var all xrsim.Totals
	for _, r := range routers {
		t := r.Totals()
		all.Add(t)
		logger.Printf("netlens-sim xr: %s: %d messages (%d rows, %d leaves, %d bytes), %d connections, %d resets, %d errors%s",
			r.Config().Name, t.Messages, t.Rows, t.Leaves, t.WireBytes, t.Connections, t.Resets, t.Errors, lastError(t.LastError))
	}
	if len(routers) > 1 {
		logger.Printf("netlens-sim xr: all: %d messages, %d series, %d string leaves, %d errors", all.Messages, len(all.Series), len(all.States), all.Errors)
	}
	for _, p := range slices.Sorted(maps.Keys(all.ByPath)) {
		logger.Printf("netlens-sim xr:   %s: %d messages", p, all.ByPath[p])
	}
}

// writeXRFiles writes what a collector needs to understand the simulated
// routers: the demo policy, and the .proto files of the compact rows.
func writeXRFiles(dir string, stderr io.Writer) error {
	files := map[string][]byte{filepath.Join("policies", xrsim.DemoPolicyName+".policy"): []byte(xrsim.DemoPolicy)}
	for name, b := range xrsim.ProtoFiles() {
		files[filepath.Join("protos", name)] = b
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "netlens-sim xr: wrote %s\n", path)
	}
	return nil
}
