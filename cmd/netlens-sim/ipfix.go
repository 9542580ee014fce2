package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/netlens/netlens/pkg/sim/ipfixsim"
)

func runIPFIX(ctx context.Context, args []string, stderr io.Writer) int {
	fs := newIPFIXFlags(stderr)
	if code, ok := parse(fs.set, args); !ok {
		return code
	}
	cfgs, problems := fs.configs()
	exps, logger, ok := build("ipfix", cfgs, problems, stderr, func(c ipfixsim.Config, logf func(string, ...any)) (*ipfixsim.Exporter, error) {
		c.Logf = logf
		return ipfixsim.New(c)
	})
	if !ok {
		return exitUsage
	}
	ctx, cancel := withDuration(ctx, *fs.duration)
	defer cancel()
	logger.Printf("netlens-sim ipfix: %d exporter(s) sending to %s over %s, %s records/s in all",
		len(exps), *fs.target, *fs.transport, rateText(*fs.rate))
	for _, e := range exps {
		c := e.Config()
		logger.Printf("netlens-sim ipfix: exporter odid %d: sampling 1:%d (%v), %v records/s, templates %v",
			c.ODID, e.SamplingRate(), c.SamplingMode, rateText(c.Rate), templateIDs(e))
	}

	runs := make([]func(context.Context), len(exps))
	for i, e := range exps {
		runs[i] = func(ctx context.Context) { e.Run(ctx) }
	}
	runAll(ctx, logger, "ipfix", runs, *fs.stats, func(bool) { logIPFIXTotals(logger, exps) })
	return exitOK
}

type ipfixFlags struct {
	set                               *flag.FlagSet
	target, transport, sampling, mode *string
	sources                           *string
	rate, ipv6                        *float64
	count                             *uint64
	duration, refresh, stats, retry   *time.Duration
	exporters, maxMessage, clients    *int
	servers, gapAfter                 *int
	odid, gapRecords                  *uint
	seed                              *uint64
	dataFirst, trackFlows             *bool
}

func newIPFIXFlags(stderr io.Writer) *ipfixFlags {
	fs := flag.NewFlagSet("ipfix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &ipfixFlags{
		set:        fs,
		target:     fs.String("target", "127.0.0.1:4739", "collector host:port"),
		transport:  fs.String("transport", "udp", "udp or tcp"),
		rate:       fs.Float64("rate", 1000, "flow records per second over all exporters (0: as fast as possible)"),
		duration:   fs.Duration("duration", 0, "stop after this long (0: until interrupted or -count is reached)"),
		count:      fs.Uint64("count", 0, "stop after this many flow records over all exporters (0: no limit)"),
		exporters:  fs.Int("exporters", 1, "number of exporters, each its own socket and observation domain"),
		odid:       fs.Uint("odid", 1, "observation domain id of the first exporter; the next ones count up"),
		sources:    fs.String("source", "", "comma-separated local addresses, one per exporter in turn (e.g. 127.0.0.2,127.0.0.3 on loopback); empty: the system's choice"),
		sampling:   fs.String("sampling", "1", "comma-separated 1-in-N sampling rates, one per exporter in turn (1: unsampled)"),
		mode:       fs.String("sampling-mode", "cisco", "how the rate is announced: cisco (selectorId, samplingSize/Population as IOS XR), psamp (samplingPacketInterval/Space), interval (samplerId, samplingInterval), random (samplerRandomInterval)"),
		refresh:    fs.Duration("template-refresh", time.Minute, "UDP: send templates and options data again this often"),
		maxMessage: fs.Int("max-message", 1400, "largest IPFIX message in octets, 512..65535"),
		ipv6:       fs.Float64("ipv6-share", 0.2, "share of flows over IPv6, 0..1"),
		clients:    fs.Int("clients", 200, "client addresses (10.10.0.0/16, 2001:db8:1::/64)"),
		servers:    fs.Int("servers", 20, "server addresses (203.0.113.0/24, 2001:db8:2::/64)"),
		seed:       fs.Uint64("seed", 1, "seed of the flows; exporter i uses seed+i"),
		dataFirst:  fs.Bool("data-before-template", false, "send the first data message of each session before the templates"),
		gapAfter:   fs.Int("gap-after", 0, "after this many data messages, skip -gap-records sequence numbers once (0: never)"),
		gapRecords: fs.Uint("gap-records", 100, "sequence numbers skipped by -gap-after"),
		retry:      fs.Duration("retry", time.Second, "TCP: wait before dialling again after a connection is lost"),
		stats:      fs.Duration("stats", time.Minute, "log totals this often (0: only at the end)"),
		trackFlows: fs.Bool("track-flows", false, "keep totals per five-tuple (memory grows with sessions)"),
	}
}

// configs turns the flags into one configuration per exporter, splitting
// the rate and count among them.
func (f *ipfixFlags) configs() ([]ipfixsim.Config, []string) {
	var problems []string
	if _, _, err := net.SplitHostPort(*f.target); err != nil {
		problems = append(problems, fmt.Sprintf("-target %q: %v", *f.target, err))
	}
	if *f.transport != "udp" && *f.transport != "tcp" {
		problems = append(problems, fmt.Sprintf("-transport %q: want udp or tcp", *f.transport))
	}
	if *f.exporters < 1 || *f.exporters > 1000 {
		problems = append(problems, fmt.Sprintf("-exporters %d: want 1..1000", *f.exporters))
	}
	if !(*f.rate >= 0) {
		problems = append(problems, fmt.Sprintf("-rate %v: want a number ≥ 0", *f.rate))
	}
	if *f.duration < 0 || *f.stats < 0 || *f.refresh <= 0 || *f.retry <= 0 {
		problems = append(problems, "-duration and -stats must not be negative, -template-refresh and -retry must be positive")
	}
	if *f.ipv6 < 0 || *f.ipv6 > 1 {
		problems = append(problems, fmt.Sprintf("-ipv6-share %v: want 0..1", *f.ipv6))
	}
	if *f.gapAfter < 0 || *f.gapRecords > 1<<31 {
		problems = append(problems, "-gap-after must not be negative, -gap-records at most 2^31")
	}
	mode, err := ipfixsim.ParseSamplingMode(*f.mode)
	if err != nil {
		problems = append(problems, "-sampling-mode: "+err.Error())
	}
	var rates []uint32
	for _, s := range splitList(*f.sampling) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n < 1 {
			problems = append(problems, fmt.Sprintf("-sampling %q: want rates of 1 or more", s))
			continue
		}
		rates = append(rates, uint32(n))
	}
	if len(rates) == 0 && len(problems) == 0 {
		problems = append(problems, "-sampling is empty")
	}
	if *f.odid+uint(*f.exporters) > 1<<32 {
		problems = append(problems, "-odid plus -exporters passes 2^32")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	sources := splitList(*f.sources)
	ipv6 := *f.ipv6
	if ipv6 == 0 {
		ipv6 = -1 // the library reads 0 as "default"
	}
	n := *f.exporters
	var cfgs []ipfixsim.Config
	for i := range n {
		c := ipfixsim.Config{
			Target:             *f.target,
			Transport:          *f.transport,
			ODID:               uint32(*f.odid) + uint32(i),
			Rate:               *f.rate / float64(n),
			SamplingRate:       rates[i%len(rates)],
			SamplingMode:       mode,
			TemplateRefresh:    *f.refresh,
			MaxMessageSize:     *f.maxMessage,
			IPv6Share:          ipv6,
			Clients:            *f.clients,
			Servers:            *f.servers,
			Seed:               *f.seed + uint64(i),
			DataBeforeTemplate: *f.dataFirst,
			GapAfter:           *f.gapAfter,
			GapRecords:         uint32(*f.gapRecords),
			RetryAfter:         *f.retry,
			TrackFlows:         *f.trackFlows,
		}
		if *f.count > 0 {
			c.Count = *f.count / uint64(n)
			if uint64(i) < *f.count%uint64(n) {
				c.Count++
			}
			if c.Count == 0 {
				continue // fewer records than exporters
			}
		}
		if len(sources) > 0 {
			c.LocalAddr = net.JoinHostPort(sources[i%len(sources)], "0")
		}
		cfgs = append(cfgs, c)
	}
	return cfgs, nil
}

func rateText(r float64) string {
	if r == 0 {
		return "unlimited"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

func templateIDs(e *ipfixsim.Exporter) []uint16 {
	var ids []uint16
	for _, t := range e.Templates() {
		ids = append(ids, t.ID)
	}
	return slices.Compact(ids)
}

func logIPFIXTotals(logger *log.Logger, exps []*ipfixsim.Exporter) {
	var all ipfixsim.Totals
	for _, e := range exps {
		t := e.Totals()
		all.Add(t)
		logger.Printf("netlens-sim ipfix: odid %d: %d flow records (%d packets, %d bytes; scaled 1:%d: %d packets, %d bytes) in %d messages, %d options records, %d sessions, %d errors%s",
			e.Config().ODID, t.Flows.Records, t.Flows.Packets, t.Flows.Bytes, e.SamplingRate(), t.Flows.ScaledPackets, t.Flows.ScaledBytes,
			t.Messages, t.OptionsRecords, t.Sessions, t.Errors, lastError(t.LastError))
	}
	if len(exps) > 1 {
		logger.Printf("netlens-sim ipfix: all: %d flow records, %d scaled bytes, %d messages, %d errors", all.Flows.Records, all.Flows.ScaledBytes, all.Messages, all.Errors)
	}
}
