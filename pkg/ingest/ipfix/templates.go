package ipfix

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/netlens/netlens/pkg/persist"
)

// TemplatesFile is where UDP templates are kept between runs, in the data
// directory. Templates learnt over TCP are not: they belong to their
// connection, and an exporter sends them again when it reconnects.
const TemplatesFile = "ipfix-templates.json"

func templatesPath(dataDir string) string { return filepath.Join(dataDir, TemplatesFile) }

// templatesFileVersion changes when the file's layout does; a file of
// another version is ignored (and logged), never half-read.
const templatesFileVersion = 1

// savedTemplates is the file: one decoder state per worker of the run that
// wrote it. The worker count may differ in the next run, so each worker
// restores from every state the scopes sharded to it.
type savedTemplates struct {
	Version int               `json:"version"`
	SavedAt time.Time         `json:"savedAt"`
	Workers []json.RawMessage `json:"workers"`
}

func (s *Server) restoreTemplates() {
	if s.tmplPath == "" {
		return
	}
	var f savedTemplates
	found, err := persist.ReadJSON(s.tmplPath, &f)
	switch {
	case err != nil:
		s.log.Warn("IPFIX templates file unreadable; starting without saved templates", "file", s.tmplPath, "error", err)
		return
	case !found:
		return
	case f.Version != templatesFileVersion:
		s.log.Warn("IPFIX templates file has another version; starting without saved templates", "file", s.tmplPath, "version", f.Version)
		return
	}
	total := 0
	for _, w := range s.workers {
		id := w.id
		n, err := w.udp.restore(f.Workers, func(ap netip.AddrPort) bool { return s.shard(ap) == id })
		if err != nil {
			s.log.Warn("IPFIX templates not restored", "file", s.tmplPath, "worker", id, "error", err)
		}
		total += n
	}
	s.log.Info("IPFIX templates restored", "file", s.tmplPath, "scopes", total, "savedAt", f.SavedAt)
}

// saveLoop writes the templates every saveEvery when a worker learnt or
// withdrew one since the last write.
func (s *Server) saveLoop() {
	defer s.bgWG.Done()
	if s.tmplPath == "" {
		return
	}
	t := time.NewTicker(s.opt.saveEvery)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			if err := s.saveTemplates(false); err != nil {
				s.logEvery("template-save", "IPFIX templates not saved", "file", s.tmplPath, "error", err)
			}
		}
	}
}

type snapReply struct {
	raw   json.RawMessage
	dirty bool
	err   error
}

// saveTemplates collects every worker's state (in the worker's goroutine
// while it runs) and writes the file if anything changed or final is set.
// final is for Shutdown, once the workers have returned.
func (s *Server) saveTemplates(final bool) error {
	if s.tmplPath == "" {
		return nil
	}
	f := savedTemplates{Version: templatesFileVersion, SavedAt: s.now().UTC()}
	changed := final
	for _, w := range s.workers {
		var r snapReply
		if final {
			r.raw, r.dirty, r.err = w.snapshot()
		} else {
			reply := make(chan snapReply, 1)
			select {
			case w.ctl <- func(w *worker) {
				var r snapReply
				r.raw, r.dirty, r.err = w.snapshot()
				reply <- r
			}:
				r = <-reply
			case <-w.done:
				return nil // shutting down: Shutdown saves
			}
		}
		if r.err != nil {
			s.board.Add(CounterTemplateSaveErr, 1)
			return fmt.Errorf("worker %d templates: %w", w.id, r.err)
		}
		changed = changed || r.dirty
		f.Workers = append(f.Workers, r.raw)
	}
	if !changed {
		return nil
	}
	if err := persist.WriteJSON(s.tmplPath, f); err != nil {
		s.board.Add(CounterTemplateSaveErr, 1)
		// Keep the change pending so the next round tries again.
		for _, w := range s.workers {
			w.redirty()
		}
		return err
	}
	s.board.Add(CounterTemplateSaves, 1)
	return nil
}
