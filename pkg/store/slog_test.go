package store

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// recordingLogger is an SDK logger that keeps what it is told.
type recordingLogger struct {
	level log.Level
	lines []string
}

func (r *recordingLogger) add(lvl, msg string, args []any) {
	r.lines = append(r.lines, fmt.Sprint(lvl, " ", msg, " ", args))
}
func (r *recordingLogger) Debug(msg string, args ...any)          { r.add("debug", msg, args) }
func (r *recordingLogger) Info(msg string, args ...any)           { r.add("info", msg, args) }
func (r *recordingLogger) Warn(msg string, args ...any)           { r.add("warn", msg, args) }
func (r *recordingLogger) Error(msg string, args ...any)          { r.add("error", msg, args) }
func (r *recordingLogger) With(...any) log.Logger                 { return r }
func (r *recordingLogger) Level() log.Level                       { return r.level }
func (r *recordingLogger) FromContext(context.Context) log.Logger { return r }

func TestSlogRecordsReachTheSDKLogger(t *testing.T) {
	rec := &recordingLogger{level: log.Info}
	l := newSlogLogger(rec)
	l.Debug("hidden at info level")
	l.With("component", "tsdb").WithGroup("wal").Info("replayed", "segments", 3, slog.Group("time", "ms", 12))
	l.Error("compaction failed", "err", "disk full")
	want := []string{
		"info replayed [component tsdb wal.segments 3 wal.time.ms 12]",
		"error compaction failed [err disk full]",
	}
	if fmt.Sprint(rec.lines) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", rec.lines, want)
	}
}
