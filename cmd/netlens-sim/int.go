package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/netlens/netlens/pkg/sim/intsim"
)

// instructionNames are the -instructions words, in bit order.
var instructionNames = []struct {
	name string
	bit  uint16
}{
	{"switch-id", intsim.InsSwitchID},
	{"ports", intsim.InsPorts},
	{"hop-latency", intsim.InsHopLatency},
	{"queue", intsim.InsQueue},
	{"ingress-ts", intsim.InsIngressTS},
	{"egress-ts", intsim.InsEgressTS},
	{"bit6", intsim.InsBit6}, // v0.5 queue congestion status, v1.0 level-2 ports
	{"tx-util", intsim.InsTxUtil},
	{"checksum", intsim.InsChecksum},
}

func parseInstructions(s string) (uint16, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 16)
		if err != nil {
			return 0, fmt.Errorf("-instructions %q: %v", s, err)
		}
		return uint16(v), nil
	}
	var bits uint16
	for _, w := range splitList(s) {
		found := false
		for _, n := range instructionNames {
			if n.name == w {
				bits |= n.bit
				found = true
			}
		}
		if !found {
			var names []string
			for _, n := range instructionNames {
				names = append(names, n.name)
			}
			return 0, fmt.Errorf("-instructions: %q is none of %s (or give a 0x bitmap)", w, strings.Join(names, ", "))
		}
	}
	return bits, nil
}

type intFlags struct {
	set                                          *flag.FlagSet
	target, sources, mode, version, ins, inner   *string
	spines, leaves, hosts, flows, batch, workers *int
	maxHops, quota                               *int
	dscp, dscpMask, port                         *uint
	ipv6, udp, icmp, watch, drop, loss, rate     *float64
	congEvery, congFor, downEvery, downFor, wrap *time.Duration
	duration, step, stats                        *time.Duration
	depth, limit                                 *uint
	count, seed                                  *uint64
	flood, noSinkLocal, noGSO                    *bool
}

func newINTFlags(stderr io.Writer) *intFlags {
	fs := flag.NewFlagSet("int", flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &intFlags{
		set:         fs,
		target:      fs.String("target", "127.0.0.1:31337", "collector host:port (NX-OS exporter default port 31337)"),
		sources:     fs.String("source", "", "comma-separated local addresses, one per switch in turn (e.g. 127.0.0.11,127.0.0.12,... on loopback); v0.5 reports name no switch, so a collector tells them apart by address"),
		mode:        fs.String("mode", "int", "int (source leaf inserts, spines push, sink reports the stack) or postcard (every switch reports its hop)"),
		version:     fs.String("version", "0.5", "report and INT version: 0.5 or 1.0"),
		ins:         fs.String("instructions", "switch-id,ports,hop-latency,queue,ingress-ts,egress-ts", "INT instructions: names (switch-id, ports, hop-latency, queue, ingress-ts, egress-ts, bit6, tx-util, checksum) or a 0x bitmap"),
		inner:       fs.String("inner", "eth", "v1.0: the report's copy starts at eth (NProt 0) or ip (NProt 1/2)"),
		maxHops:     fs.Int("max-hops", 8, "INT max hop count, 3..16"),
		spines:      fs.Int("spines", 2, "spine switches"),
		leaves:      fs.Int("leaves", 4, "leaf switches"),
		hosts:       fs.Int("hosts", 4, "hosts per leaf"),
		flows:       fs.Int("flows", 64, "flows between hosts"),
		dscp:        fs.Uint("int-dscp", 1, "DSCP value that marks INT in the inner packet (NX-OS flow-profile dscp)"),
		dscpMask:    fs.Uint("int-dscp-mask", 0, "bits of the DSCP the marker uses (0: the marker's own bits)"),
		port:        fs.Uint("int-port", 0, "mark INT by this L4 destination port instead of the DSCP (v0.5 only)"),
		ipv6:        fs.Float64("ipv6-share", 0, "share of flows over IPv6 (v1.0 only)"),
		udp:         fs.Float64("udp-share", 0.3, "share of UDP flows"),
		icmp:        fs.Float64("icmp-share", 0.1, "share of ICMP flows (no INT after ICMP: local reports instead)"),
		watch:       fs.Float64("watch-share", 1, "share of flows on the watchlist (others make only drop and queue reports)"),
		drop:        fs.Float64("drop-rate", 0.002, "chance a packet is dropped at some hop (plus tail drops at full queues)"),
		loss:        fs.Float64("loss-rate", 0.001, "chance a report is lost: its sequence number is skipped"),
		congEvery:   fs.Duration("congestion-every", 10*time.Second, "mean time between congestion episodes per egress port (0: none)"),
		congFor:     fs.Duration("congestion-for", time.Second, "mean length of an episode"),
		depth:       fs.Uint("queue-depth", 300, "cells above which a queue congestion report is sent"),
		limit:       fs.Uint("queue-limit", 2000, "cells at which a queue tail-drops"),
		quota:       fs.Int("queue-quota", 32, "queue reports per port and episode"),
		downEvery:   fs.Duration("spine-down-every", 0, "mean time between spine maintenances that move flows (0: never)"),
		downFor:     fs.Duration("spine-down-for", 3*time.Second, "length of a maintenance"),
		wrap:        fs.Duration("wrap-after", 500*time.Millisecond, "when the 32-bit ns clocks first wrap (then every 4.295 s)"),
		noSinkLocal: fs.Bool("no-sink-local", false, "INT mode: the sink sends only the INT report, not also a local report"),
		rate:        fs.Float64("rate", 1000, "reports per second over all switches (0: as fast as possible)"),
		flood:       fs.Bool("flood", false, "same as -rate 0: as fast as the sockets take them, for benchmarks"),
		count:       fs.Uint64("count", 0, "stop after this many reports (0: no limit)"),
		duration:    fs.Duration("duration", 0, "stop after this long (0: until interrupted or -count)"),
		batch:       fs.Int("batch", 64, "datagrams per sendmmsg call per switch"),
		noGSO:       fs.Bool("no-gso", false, "send every datagram on its own instead of equal-length runs as one segmented send (Linux UDP_SEGMENT)"),
		workers:     fs.Int("workers", 1, "independent domains sending in parallel (seed+i; each its own switches), for floods"),
		step:        fs.Duration("time-step", 0, "advance the fabric clock by this per packet instead of following the wall clock"),
		seed:        fs.Uint64("seed", 1, "seed of the fabric, flows and events"),
		stats:       fs.Duration("stats", time.Minute, "log totals this often (0: only at the end)"),
	}
}

// neg turns a flag's 0 ("none") into the library's negative "none" (its 0
// means "default").
func neg(v float64) float64 {
	if v == 0 {
		return -1
	}
	return v
}

func (f *intFlags) configs() ([]intsim.Config, []string) {
	var problems []string
	if _, _, err := net.SplitHostPort(*f.target); err != nil {
		problems = append(problems, fmt.Sprintf("-target %q: %v", *f.target, err))
	}
	var mode intsim.Mode
	switch *f.mode {
	case "int":
		mode = intsim.ModeINT
	case "postcard":
		mode = intsim.ModePostcard
	default:
		problems = append(problems, fmt.Sprintf("-mode %q: want int or postcard", *f.mode))
	}
	var ver intsim.Version
	switch *f.version {
	case "0.5":
		ver = intsim.V05
	case "1.0", "1":
		ver = intsim.V10
	default:
		problems = append(problems, fmt.Sprintf("-version %q: want 0.5 or 1.0", *f.version))
	}
	if *f.inner != "eth" && *f.inner != "ip" {
		problems = append(problems, fmt.Sprintf("-inner %q: want eth or ip", *f.inner))
	}
	ins, err := parseInstructions(*f.ins)
	if err != nil {
		problems = append(problems, err.Error())
	}
	rate := *f.rate
	if *f.flood {
		rate = 0
	}
	if !(rate >= 0) {
		problems = append(problems, fmt.Sprintf("-rate %v: want a number ≥ 0", rate))
	}
	if *f.workers < 1 || *f.workers > 64 {
		problems = append(problems, fmt.Sprintf("-workers %d: want 1..64", *f.workers))
	}
	if *f.duration < 0 || *f.stats < 0 || *f.step < 0 {
		problems = append(problems, "-duration, -stats and -time-step must not be negative")
	}
	if *f.dscp > 63 || *f.dscpMask > 63 || *f.port > 65535 || *f.depth > 1<<24 || *f.limit > 1<<24 || *f.maxHops < 0 || *f.maxHops > 255 {
		problems = append(problems, "-int-dscp and -int-dscp-mask are 6 bits, -int-port 16, queue sizes 24, -max-hops 8")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	mask := uint8(*f.dscpMask)
	if mask == 0 {
		mask = uint8(*f.dscp)
	}
	congEvery := *f.congEvery
	if congEvery == 0 {
		congEvery = -1
	}
	n := *f.workers
	var cfgs []intsim.Config
	for i := range n {
		c := intsim.Config{
			Target:   *f.target,
			Sources:  splitList(*f.sources),
			Rate:     rate / float64(n),
			Batch:    *f.batch,
			NoGSO:    *f.noGSO,
			TimeStep: *f.step,
			Domain: intsim.DomainConfig{
				Spines: *f.spines, Leaves: *f.leaves, HostsPerLeaf: *f.hosts, Flows: *f.flows,
				Mode: mode,
				Encoding: intsim.Encoding{Version: ver, Instructions: ins, MaxHopCount: uint8(*f.maxHops),
					InnerIP: *f.inner == "ip"},
				INTDSCP: uint8(*f.dscp), INTDSCPMask: mask, INTPort: uint16(*f.port),
				IPv6Share: *f.ipv6, UDPShare: neg(*f.udp), ICMPShare: neg(*f.icmp), WatchShare: neg(*f.watch),
				DropRate: neg(*f.drop), LossRate: neg(*f.loss),
				CongestionEvery: congEvery, CongestionFor: *f.congFor,
				QueueThreshold: uint32(*f.depth), QueueLimit: uint32(*f.limit), QueueQuota: *f.quota,
				SpineDownEvery: *f.downEvery, SpineDownFor: *f.downFor,
				WrapAfter: *f.wrap, NoSinkLocal: *f.noSinkLocal,
				Seed: *f.seed + uint64(i),
			},
		}
		if *f.count > 0 {
			c.Count = *f.count / uint64(n)
			if uint64(i) < *f.count%uint64(n) {
				c.Count++
			}
			if c.Count == 0 {
				continue
			}
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

func runINT(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newINTFlags(stderr)
	if code, ok := parse(fs.set, args); !ok {
		return code
	}
	cfgs, problems := fs.configs()
	sims, logger, ok := build("int", cfgs, problems, stderr, func(c intsim.Config, logf func(string, ...any)) (*intsim.Sim, error) {
		c.Logf = logf
		return intsim.New(c)
	})
	if !ok {
		return exitUsage
	}
	ctx, cancel := withDuration(ctx, *fs.duration)
	defer cancel()
	for i, s := range sims {
		logger.Printf("netlens-sim int: domain %d: %s, sending to %s, %s reports/s", i+1, s.Describe(), *fs.target, rateText(s.Config().Rate))
		for _, sw := range s.Domain().Topo.Switches {
			logger.Printf("netlens-sim int: domain %d: %s mac %x switch id %#08x", i+1, sw.Name, sw.MAC, sw.ID)
		}
	}
	errs := make([]error, len(sims))
	runs := make([]func(context.Context), len(sims))
	for i, s := range sims {
		runs[i] = func(ctx context.Context) { errs[i] = s.Run(ctx) }
	}
	start := time.Now()
	runAll(ctx, logger, "int", runs, *fs.stats, func(final bool) {
		all := logINTTotals(logger, sims, final)
		if final {
			elapsed := time.Since(start)
			logger.Printf("netlens-sim int: %d reports in %v (%.0f reports/s)", all, elapsed.Round(time.Millisecond), float64(all)/elapsed.Seconds())
		}
	})
	for _, err := range errs {
		if err != nil {
			fmt.Fprintf(stderr, "netlens-sim int: %v\n", err)
			return exitFail
		}
	}
	return exitOK
}

// logINTTotals logs what each domain sent; with detail, per switch, drop
// place and sequence gap too. It returns the reports sent in all.
func logINTTotals(logger *log.Logger, sims []*intsim.Sim, detail bool) uint64 {
	var all uint64
	for i, s := range sims {
		t := s.Totals()
		all += t.Reports
		logger.Printf("netlens-sim int: domain %d: %d reports (int %d, postcard %d, local %d, drop %d, queue %d) from %d packets, %d lost on purpose (%d sequence numbers skipped between sent reports), %d errors%s",
			i+1, t.Reports, t.Kind(intsim.KindINT), t.Kind(intsim.KindPostcard), t.Kind(intsim.KindLocal), t.Kind(intsim.KindDrop), t.Kind(intsim.KindQueue),
			t.Packets, t.Lost, t.GapTotal(), t.Errors, lastError(t.LastError))
		if !detail {
			continue
		}
		for _, sw := range t.Switches {
			logger.Printf("netlens-sim int: domain %d: %s (%#08x): int %d, postcard %d, local %d, drop %d, queue %d",
				i+1, sw.Name, sw.ID, sw.Reports[intsim.KindINT], sw.Reports[intsim.KindPostcard], sw.Reports[intsim.KindLocal], sw.Reports[intsim.KindDrop], sw.Reports[intsim.KindQueue])
		}
		var lines []string
		for k, n := range t.Drops {
			lines = append(lines, fmt.Sprintf("netlens-sim int: domain %d: drops at %#08x port %d->%d reason %d: %d", i+1, k.Switch, k.IngressPort, k.EgressPort, k.Reason, n))
		}
		for k, n := range t.Gaps {
			lines = append(lines, fmt.Sprintf("netlens-sim int: domain %d: gap %#08x hw_id %d: %d", i+1, k.Switch, k.HwID, n))
		}
		sort.Strings(lines)
		for _, l := range lines {
			logger.Print(l)
		}
	}
	return all
}
