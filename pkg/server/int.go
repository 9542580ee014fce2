package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/ingest/intrcv"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/intmap"
	"github.com/netlens/netlens/pkg/records"
)

// INTTable is the record table of INT telemetry reports: one row per
// report, plus one postcard-path row per packet whose postcards were
// joined (intmap.ReportTable).
const INTTable = intmap.ReportTable

// INTService is the running INT receiver as the plugin sees it; the
// plugin's tests give their own implementation.
type INTService interface {
	// Switches is every switch heard from (per address and switch id):
	// reports by type, drops by reason, lost reports, state.
	Switches() []INTSwitch
	// ReceiverDrops counts every drop reason, the receiver's own
	// (socket_overflow, queue_full, not_allowed) and the decoder's summed
	// over the switches, zeros included so a page can list them all.
	ReceiverDrops() map[string]uint64
	// Addr is the bound UDP address (with the port the OS chose for ":0").
	Addr() string
}

// INTSwitch is one switch row of the receiver, in its JSON shape.
type INTSwitch = intrcv.SwitchStatus

// intService shows the receiver to the plugin.
type intService struct{ rcv *intrcv.Receiver }

func (s intService) Switches() []INTSwitch { return s.rcv.Switches() }

func (s intService) Addr() string { return s.rcv.UDPAddr().String() }

func (s intService) ReceiverDrops() map[string]uint64 {
	reasons := append([]string{intrcv.DropSocketOverflow, intrcv.DropQueueFull, intrcv.DropNotAllowed}, intreport.Reasons()...)
	out := make(map[string]uint64, len(reasons))
	for _, r := range reasons {
		out[r] = s.rcv.Drops(r)
	}
	return out
}

// intRun is what Shutdown stops: the receiver's Serve loop, which closes
// the sockets, decodes what is queued into the mapper and writes the last
// health series before it returns.
type intRun struct {
	cancel  context.CancelFunc
	done    chan struct{}
	workers []*intmap.Worker
}

// startINT creates the int_report table and its mapper, writing rows to
// the table and series (int_reports_total, int_drops_total, ...) through
// sink to the store and the live hub, then the receiver with one mapper
// worker per receiver worker: a handler is only ever called from its
// worker's goroutine, which is what intmap.Worker needs. The receiver
// shards by switch address while a packet's postcards come from several
// switches: the mapper's workers share its postcard joiners, so they meet
// whatever worker their switches land on. The receiver ticks its
// handlers' Flush itself (after each drained batch and every 100 ms), so
// nothing here runs a clock.
func (s *Server) startINT(cfg config.Config, sink pipeline.Sink, maxBytes int64) {
	table := records.NewTable(INTTable, records.Options{MaxBytes: maxBytes})
	m, err := intmap.New(table, sink, s.Board, intmap.Options{})
	if err != nil {
		s.problem(fmt.Errorf("INT report mapping: %w; INT is off", err))
		return
	}
	c := cfg.INT
	workers := make([]*intmap.Worker, c.Workers)
	for i := range workers {
		workers[i] = m.Worker()
	}
	rcv, err := intrcv.New(intrcv.Config{
		ListenAddress:   c.UDPListenAddress,
		Sockets:         c.Sockets,
		Workers:         c.Workers,
		QueueDatagrams:  c.QueueDatagrams,
		ReadBufferBytes: c.ReadBufferBytes,
		Decode:          intreport.Options{INTDSCP: c.DSCP, INTDSCPMask: c.DSCPMask, INTPorts: c.Ports, MaxHops: c.MaxHops},
		SwitchTimeout:   c.SwitchTimeout,
	}, cfg.AllowedINTNetworks(), func(worker int) intrcv.Handler { return workers[worker] },
		s.Board, s.Logger, intrcv.WithSeries(sink))
	if err != nil {
		s.problem(fmt.Errorf("INT receiver on %s/udp: %w; INT is off", c.UDPListenAddress, err))
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &intRun{cancel: cancel, done: make(chan struct{}), workers: workers}
	go func() {
		defer close(run.done)
		if err := rcv.Serve(ctx); err != nil {
			s.Logger.Error("INT receiver stopped", "error", err.Error())
		}
	}()
	s.INTReports, s.INT, s.int = table, intService{rcv: rcv}, run
	asked, granted := rcv.ReadBuffer()
	s.Logger.Info("INT receiver listening", "udp", rcv.UDPAddr().String(), "workers", c.Workers,
		"dscp", fmt.Sprintf("0x%02x/0x%02x", c.DSCP, c.DSCPMask), "ports", fmt.Sprint(c.Ports),
		"readBufferAsked", asked, "readBufferGranted", granted)
}

// stop ends Serve and waits for it (queues decoded, handlers flushed, last
// health written) or for ctx. Postcards still waiting for the rest of
// their path are then joined as they are, so their rows are not lost with
// the joiner: Serve has returned, no worker runs any more.
func (r *intRun) stop(ctx context.Context) error {
	r.cancel()
	select {
	case <-r.done:
	case <-ctx.Done():
		return errors.New("INT receiver: queues still draining at the shutdown deadline")
	}
	now := time.Now().UnixMilli()
	for _, w := range r.workers {
		w.FlushAll(now)
	}
	return nil
}
