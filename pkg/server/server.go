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
	"github.com/netlens/netlens/pkg/ingest/ftd"
	"github.com/netlens/netlens/pkg/live"
	"github.com/netlens/netlens/pkg/pipeline"
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

	// Problems are start-up failures: bad configuration, a store that did
	// not open, a receiver that did not start. The process keeps running so
	// the health check can tell the operator instead of Grafana restarting
	// a crashed plugin every second.
	Problems []error
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
	return s
}

// hasFTDConfigProblem keeps a receiver with a refused setting (an interval
// outside 60 s..24 h, say) from starting with a default instead.
func hasFTDConfigProblem(err error) bool {
	for _, k := range config.BadKeys(err) {
		if strings.HasPrefix(k, "ftd_") {
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
	if s.Store != nil {
		if err := s.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}
