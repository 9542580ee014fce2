package store

import (
	"context"
	"log/slog"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// slogHandler forwards the TSDB's and the PromQL engine's slog records to the
// SDK logger, so that everything the plugin process says goes through the one
// logger Grafana collects (and nothing reaches stdout, which go-plugin's
// handshake owns).
type slogHandler struct {
	l      log.Logger
	attrs  []any
	prefix string // group names joined with dots, applied to later attributes
}

func newSlogLogger(l log.Logger) *slog.Logger {
	if l == nil {
		l = log.NewNullLogger()
	}
	return slog.New(&slogHandler{l: l})
}

func (h *slogHandler) Enabled(_ context.Context, lvl slog.Level) bool {
	switch h.l.Level() {
	case log.Trace, log.Debug:
		return true
	case log.Info:
		return lvl >= slog.LevelInfo
	case log.Warn:
		return lvl >= slog.LevelWarn
	case log.Error:
		return lvl >= slog.LevelError
	default:
		// NoLevel: the wrapper could not tell; let the SDK logger decide.
		return true
	}
}

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	args := make([]any, 0, len(h.attrs)+2*r.NumAttrs())
	args = append(args, h.attrs...)
	r.Attrs(func(a slog.Attr) bool {
		args = h.appendAttr(args, h.prefix, a)
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		h.l.Error(r.Message, args...)
	case r.Level >= slog.LevelWarn:
		h.l.Warn(r.Message, args...)
	case r.Level >= slog.LevelInfo:
		h.l.Info(r.Message, args...)
	default:
		h.l.Debug(r.Message, args...)
	}
	return nil
}

// appendAttr flattens groups into dotted keys because the SDK logger takes
// plain key/value pairs.
func (h *slogHandler) appendAttr(args []any, prefix string, a slog.Attr) []any {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, g := range v.Group() {
			args = h.appendAttr(args, p, g)
		}
		return args
	}
	if a.Key == "" {
		return args
	}
	return append(args, prefix+a.Key, v.Any())
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := &slogHandler{l: h.l, prefix: h.prefix}
	n.attrs = append(n.attrs, h.attrs...)
	for _, a := range as {
		n.attrs = h.appendAttr(n.attrs, h.prefix, a)
	}
	return n
}

func (h *slogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &slogHandler{l: h.l, attrs: h.attrs, prefix: h.prefix + name + "."}
}
