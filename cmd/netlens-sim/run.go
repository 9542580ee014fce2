package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"time"
)

// build turns a subcommand's configurations (or the problems its flags
// had) into simulated devices, each logging through the logger it returns;
// a problem or a configuration the simulator refuses is told on stderr and
// ok is false (a usage error). newDevice gets the logger's Printf to put
// in the configuration.
func build[C, D any](cmd string, cfgs []C, problems []string, stderr io.Writer,
	newDevice func(c C, logf func(string, ...any)) (D, error)) (devices []D, logger *log.Logger, ok bool) {
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "netlens-sim %s: %s\n", cmd, strings.Join(problems, "; "))
		return nil, nil, false
	}
	logger = log.New(stderr, "", log.LstdFlags|log.LUTC)
	for _, c := range cfgs {
		d, err := newDevice(c, logger.Printf)
		if err != nil {
			fmt.Fprintf(stderr, "netlens-sim %s: %v\n", cmd, err)
			return nil, nil, false
		}
		devices = append(devices, d)
	}
	return devices, logger, true
}

// withDuration ends ctx after d (0: never).
func withDuration(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// runAll runs every simulated device until each returns (its count sent,
// the duration over, or the command interrupted), logs the totals every
// stats (0: never) and once at the end (final), and says how the run
// ended. Every
// subcommand that plays several devices ends the same way, so a user reads
// the same lines whichever protocol they simulate.
func runAll(ctx context.Context, logger *log.Logger, cmd string, runs []func(context.Context), stats time.Duration, logTotals func(final bool)) {
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() { run(ctx) })
	}
	stop := make(chan struct{})
	if stats > 0 {
		go func() {
			t := time.NewTicker(stats)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					logTotals(false)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	logTotals(true)
	if err := context.Cause(ctx); err != nil {
		logger.Printf("netlens-sim %s: stopped (%v)", cmd, err)
	} else {
		logger.Printf("netlens-sim %s: done", cmd)
	}
}
