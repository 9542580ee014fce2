package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/netlens/netlens/pkg/config"
	xrin "github.com/netlens/netlens/pkg/ingest/xr"
	"github.com/netlens/netlens/pkg/ingest/xr/dialout"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/xrmap"
	"github.com/netlens/netlens/pkg/records"
)

// xrRun is what Shutdown stops: the receiver's and the gRPC server's
// Serve loops, which return once their context ends.
type xrRun struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startXR creates the xr_state table and the mapper writing to it and to
// the series pipeline, then the receiver (TCP and UDP) and, when its
// address is set, the gRPC dial-out server handing frames to the same
// receiver. A gRPC server that does not start (a certificate that does
// not load) leaves TCP and UDP running: they are separate listeners a
// router may be using.
func (s *Server) startXR(cfg config.Config, sink pipeline.Sink, maxBytes int64) {
	table := records.NewTable(XRTable, records.Options{MaxBytes: maxBytes})
	m := xrmap.New(sink, table, s.Board, xrmap.Options{MaxSeriesPerRouter: cfg.XR.MaxSeriesPerRouter})
	rcv, err := xrin.New(cfg.XR, cfg.AllowedNetworks, m, s.Board, s.Logger, xrin.WithSeries(sink))
	if err != nil {
		s.problem(fmt.Errorf("IOS XR receiver on %s: %w; XR is off", xrAddresses(cfg.XR), err))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &xrRun{cancel: cancel}
	serve := func(what string, f func(context.Context) error) {
		run.wg.Go(func() {
			if err := f(ctx); err != nil && ctx.Err() == nil {
				s.Logger.Error("IOS XR "+what+" stopped", "error", err.Error())
			}
		})
	}
	serve("receiver", rcv.Serve)
	grpcAddr := "off"
	if cfg.XR.GRPCListenAddress != "" {
		g, err := dialout.New(cfg.XR, rcv, s.Board, s.Logger)
		if err != nil {
			s.problem(fmt.Errorf("IOS XR gRPC dial-out on %s: %w; TCP and UDP keep running", cfg.XR.GRPCListenAddress, err))
		} else {
			serve("gRPC dial-out", g.Serve)
			if a := g.Addr(); a != nil {
				grpcAddr = a.String()
			}
		}
	}
	s.XRState, s.XR, s.xr = table, xrService{rcv: rcv, m: m}, run
	tcp, udp := "off", "off"
	if a := rcv.TCPAddr(); a != nil {
		tcp = a.String()
	}
	if a := rcv.UDPAddr(); a != nil {
		udp = a.String()
	}
	s.Logger.Info("IOS XR receiver listening", "tcp", tcp, "udp", udp, "grpc", grpcAddr)
}

func xrAddresses(c config.XR) string {
	var a []string
	if c.TCPListenAddress != "" {
		a = append(a, c.TCPListenAddress+"/tcp")
	}
	if c.UDPListenAddress != "" {
		a = append(a, c.UDPListenAddress+"/udp")
	}
	if c.GRPCListenAddress != "" {
		a = append(a, c.GRPCListenAddress+"/grpc")
	}
	return strings.Join(a, ", ")
}

// stop ends the Serve loops and waits for them (connections closed, their
// last messages mapped) or for ctx.
func (r *xrRun) stop(ctx context.Context) error {
	r.cancel()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("IOS XR receiver: connections still open at the shutdown deadline")
	}
}

// xrService shows the receiver and the mapper to the plugin in the shapes
// of its resources.
type xrService struct {
	rcv *xrin.Receiver
	m   *xrmap.Mapper
}

func (x xrService) Routers() []XRRouter { return x.rcv.Routers() }

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

func (x xrService) Policies() []XRPolicyFile {
	ps := x.rcv.Policies()
	out := make([]XRPolicyFile, len(ps))
	for i, p := range ps {
		groups := make([]XRGroup, len(p.Groups))
		for j, g := range p.Groups {
			groups[j] = XRGroup{Name: g.Name, PeriodSeconds: seconds(g.Period), Paths: g.Paths}
		}
		out[i] = XRPolicyFile{File: p.File, Name: p.Name, Groups: groups, Problems: p.Problems}
	}
	return out
}

func (x xrService) Protos() []XRProtoFile { return x.rcv.ProtoFiles() }

func (x xrService) SilentGroups(nowMs int64) []XRSilentGroup {
	gs := x.rcv.SilentGroups(nowMs)
	out := make([]XRSilentGroup, len(gs))
	for i, g := range gs {
		out[i] = XRSilentGroup{Router: g.Router, Policy: g.Policy, Group: g.Group, PeriodSeconds: seconds(g.Period), LastSeenMs: g.LastSeenMs, SinceMs: g.SinceMs}
	}
	return out
}

func (x xrService) Paths(device string) []XRDataPath { return x.m.Paths(device) }

func (x xrService) Leaves(device, path string) []XRLeaf { return x.m.Leaves(device, path) }
