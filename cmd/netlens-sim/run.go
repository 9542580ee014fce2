package main

import (
	"context"
	"log"
	"sync"
	"time"
)

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
