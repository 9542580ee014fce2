// Package server owns what lives for the whole plugin process: the store,
// the live hub, the status board and every receiver. Grafana starts the
// backend when the plugin loads but creates data source instances only on
// the first request, and devices must be able to dial in before anyone opens
// a dashboard, so all of this starts before datasource.Manage and outlives
// every instance.
package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/ipfix/ie"
	"github.com/netlens/netlens/pkg/ingest/ftd"
	"github.com/netlens/netlens/pkg/ingest/ipfix"
	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/pipeline/flows"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

// Server is the process scope. Fields are nil when their part could not
// start; Problems says why, and CheckHealth shows it.
type Server struct {
	Config config.Config
	Store  *store.Store
	Hub    *live.Hub
	Board  *status.Board
	FTD    *ftd.Server
	Logger log.Logger

	// Flows is the ipfix_flow record table and IPFIX the receiver filling
	// it; both nil while IPFIX is off.
	Flows *records.Table
	IPFIX IPFIXReceiver

	// XRState is the xr_state record table (string leaves of IOS XR
	// telemetry) and XR the receiver and mapper filling it and the series
	// store; both nil while XR is off.
	XRState *records.Table
	XR      XRService
	xr      *xrRun

	// INTReports is the int_report record table (INT telemetry reports
	// and joined postcard paths) and INT the receiver filling it and the
	// series store; both nil while INT is off.
	INTReports *records.Table
	INT        INTService
	int        *intRun

	// Problems are start-up failures: bad configuration, a store that did
	// not open, a receiver that did not start. The process keeps running so
	// the health check can tell the operator instead of Grafana restarting
	// a crashed plugin every second.
	Problems []error
}

// IPFIXReceiver is the running IPFIX collector as the plugin sees it
// (*ipfix.Server; tests may pass their own).
type IPFIXReceiver interface {
	Exporters() []ipfix.ExporterStatus
	// ReadBuffer is the UDP receive buffer asked for and the one granted.
	ReadBuffer() (asked, granted int)
	Shutdown(ctx context.Context) error
}

// Start reads nothing itself: cfg and cfgErr come from config.FromEnv. It
// opens the store and starts every configured receiver, recording what
// failed instead of giving up.
func Start(cfg config.Config, cfgErr error, logger log.Logger) *Server {
	s := &Server{Config: cfg, Hub: live.NewHub(), Board: status.NewBoard(nil), Logger: logger}
	if cfgErr != nil {
		s.problem(fmt.Errorf("configuration: %w", cfgErr))
	}
	st, err := store.Open(store.Options{
		Dir:           cfg.DataDir,
		Retention:     cfg.Retention,
		RetentionSize: cfg.RetentionSize,
		Logger:        logger,
	})
	if err != nil {
		s.problem(fmt.Errorf("series store in %s: %w", cfg.DataDir, err))
		return s
	}
	s.Store = st
	sink := pipeline.New(st, s.Hub, s.Board)

	if cfg.FTD.ListenAddress != "" && !hasFTDConfigProblem(cfgErr) {
		srv, err := ftd.New(cfg.FTD, cfg.Allowed, s.Board, sink, logger)
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			s.problem(fmt.Errorf("FTD receiver on %s: %w", cfg.FTD.ListenAddress, err))
		} else {
			s.FTD = srv
			logger.Info("FTD receiver listening", "address", srv.Addr().String(), "interval", cfg.FTD.Interval.String())
		}
	}
	ipfixOn := (cfg.IPFIX.UDPListenAddress != "" || cfg.IPFIX.TCPListenAddress != "") && !hasConfigProblem(cfgErr, "ipfix_")
	xrOn := (cfg.XR.TCPListenAddress != "" || cfg.XR.UDPListenAddress != "" || cfg.XR.GRPCListenAddress != "") && !hasConfigProblem(cfgErr, "xr_")
	intOn := cfg.INT.UDPListenAddress != "" && !hasConfigProblem(cfgErr, "int_")
	flowBytes, xrBytes, intBytes := recordBudgets(cfg.RecordsMaxBytes, ipfixOn, xrOn, intOn)
	if ipfixOn {
		s.startIPFIX(cfg, st, flowBytes)
	}
	if xrOn {
		s.startXR(cfg, sink, xrBytes)
	}
	if intOn {
		s.startINT(cfg, sink, intBytes)
	}
	return s
}

// recordBudgets splits records_max_bytes between the tables that exist.
// A table alone gets all of it.
//
// xr_state, with any other table, gets an eighth (at least 1 MiB, at most
// half): it holds one record per string leaf when the value changes or a
// minute after its last write, so a large router (1000 interfaces, five
// string leaves each) writes some 5000 records a minute, while one busy
// IPFIX exporter writes that many flows a second. An eighth of the default
// 512 MiB keeps hours of such a router's states.
//
// ipfix_flow and int_report share the rest in halves. Both are per-flow or
// per-packet records of the same order of size (an int_report row holds
// about 100 bytes) and both can arrive far faster than any budget keeps:
// INT at up to a million reports a second fills 224 MiB (2.3M rows) in a
// few seconds, flows from a few busy exporters in minutes. Neither rate
// says which history matters more, so equal halves keep equal spans at
// equal rates; switches send reports on events and every flow-profile age
// (30 s by default on NX-OS), so at an ordinary few hundred reports a
// second half the default budget still holds hours. An operator who needs
// one of them longer turns the other off, or raises records_max_bytes.
func recordBudgets(total int64, ipfix, xr, intr bool) (flows, xrState, intReports int64) {
	if xr {
		if !ipfix && !intr {
			return 0, total, 0
		}
		xrState = min(max(total/8, 1<<20), total/2)
	}
	rest := total - xrState
	switch {
	case ipfix && intr:
		intReports = rest / 2
		return rest - intReports, xrState, intReports
	case intr:
		return 0, xrState, rest
	case ipfix:
		return rest, xrState, 0
	}
	return 0, xrState, 0
}

// FlowTable is the record table of IPFIX flows.
const FlowTable = "ipfix_flow"

// startIPFIX creates the flow table and starts the IPFIX receiver with one
// flow pipeline per decoding worker, all writing to that table and to the
// series store. A definitions file that does not load turns IPFIX off: its
// vendor fields would otherwise come out under placeholder names, and the
// columns would change name once the file is fixed.
func (s *Server) startIPFIX(cfg config.Config, st *store.Store, maxBytes int64) {
	reg := ie.IANA()
	if path := cfg.IPFIX.DefinitionsFile; path != "" {
		defs, err := ie.LoadDefinitions(path)
		if err == nil {
			reg, err = reg.With(defs)
		}
		if err != nil {
			s.problem(fmt.Errorf("ipfix_definitions_file: %w; IPFIX is off", err))
			return
		}
	}
	table := records.NewTable(FlowTable, records.Options{MaxBytes: maxBytes})
	series := liveAppender{store: st, hub: s.Hub}
	vol := flows.NewVolumes(series, s.Board)
	handlers := make([]ipfix.Handler, cfg.IPFIX.Workers)
	for i := range handlers {
		f, err := flows.New(table, vol)
		if err != nil {
			s.problem(fmt.Errorf("IPFIX flow pipeline: %w; IPFIX is off", err))
			return
		}
		handlers[i] = f
	}
	rcv, err := ipfix.New(cfg.IPFIX, cfg.AllowedIPFIX, reg, cfg.DataDir,
		func(worker int) ipfix.Handler { return handlers[worker] }, s.Board, s.Logger, ipfix.WithSeries(series))
	if err != nil {
		s.problem(fmt.Errorf("IPFIX receiver on %s: %w", ipfixAddresses(cfg.IPFIX), err))
		return
	}
	s.Flows, s.IPFIX = table, rcv
	udp, tcp := "off", "off"
	if a := rcv.UDPAddr(); a != nil {
		udp = a.String()
	}
	if a := rcv.TCPAddr(); a != nil {
		tcp = a.String()
	}
	s.Logger.Info("IPFIX receiver listening", "udp", udp, "tcp", tcp, "workers", cfg.IPFIX.Workers)
}

func ipfixAddresses(c config.IPFIX) string {
	var a []string
	if c.UDPListenAddress != "" {
		a = append(a, c.UDPListenAddress+"/udp")
	}
	if c.TCPListenAddress != "" {
		a = append(a, c.TCPListenAddress+"/tcp")
	}
	return strings.Join(a, " and ")
}

// liveAppender writes the flow pipeline's volume series and the receiver's
// exporter health series to the store and tells the live hub, so live
// panels of ipfix_bytes_total or ipfix_exporter_lost_records_total move as
// FTD's do.
type liveAppender struct {
	store *store.Store
	hub   *live.Hub
}

func (a liveAppender) Append(ctx context.Context, samples []model.Sample) (pipeline.AppendResult, error) {
	res, err := a.store.Append(ctx, samples)
	if err == nil && res.Appended > 0 {
		a.hub.Publish(&model.Batch{Device: model.DeviceRef{Source: model.SourceIPFIX}, Samples: samples, ReceivedMs: time.Now().UnixMilli()})
	}
	return res, err
}

// hasFTDConfigProblem keeps a receiver with a refused setting (an interval
// outside 60 s..24 h, say) from starting with a default instead.
func hasFTDConfigProblem(err error) bool { return hasConfigProblem(err, "ftd_") }

func hasConfigProblem(err error, prefix string) bool {
	for _, k := range config.BadKeys(err) {
		// The record tables take their caps from records_max_bytes.
		if strings.HasPrefix(k, prefix) || ((prefix == "ipfix_" || prefix == "xr_" || prefix == "int_") && k == "records_max_bytes") {
			return true
		}
	}
	return false
}

func (s *Server) problem(err error) {
	s.Problems = append(s.Problems, err)
	s.Logger.Error("Netlens start-up problem", "error", err.Error())
}

// Shutdown stops the receivers first, so in-flight batches are written and
// acknowledged, then closes the store so its write-ahead log is complete.
func (s *Server) Shutdown(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var errs []error
	if s.FTD != nil {
		if err := s.FTD.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("FTD receiver: %w", err))
		}
	}
	// The IPFIX receiver drains its queues into the flow pipelines (which
	// write volume series) and saves its templates before the store closes.
	if s.IPFIX != nil {
		if err := s.IPFIX.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("IPFIX receiver: %w", err))
		}
	}
	// The XR receiver closes its connections (their last messages mapped
	// into series and xr_state) and writes its last health series.
	if s.xr != nil {
		if err := s.xr.stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	// The INT receiver decodes what is queued into the mapper (rows and
	// series) and writes its last switch health.
	if s.int != nil {
		if err := s.int.stop(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Store != nil {
		if err := s.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}
