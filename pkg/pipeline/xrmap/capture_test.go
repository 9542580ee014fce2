package xrmap

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/decode/xr/mdt"
	"github.com/netlens/netlens/pkg/decode/xr/wire"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pcap"
	"github.com/netlens/netlens/pkg/pipeline"
	"github.com/netlens/netlens/pkg/records"
	"github.com/netlens/netlens/pkg/status"
	"github.com/netlens/netlens/pkg/store"
)

const capture = "../../decode/xr/mdt/testdata/pmacct-801-iosxr-24.4-mdt-tcp-json.pcap"

// captureMessages decodes the 44 messages of the real IOS XR 24.4 capture
// (model-driven, TCP, JSON) the way the receiver will: the reassembled
// stream through a wire.Conn, each frame through the MDT JSON decoder.
func captureMessages(t testing.TB) []*xr.Message {
	t.Helper()
	streams, _, err := pcap.ReadTCPFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 1 || streams[0].Missing {
		t.Fatalf("want one complete stream, got %d", len(streams))
	}
	c := wire.NewConn(0)
	defer c.Close()
	var msgs []*xr.Message
	err = c.Feed(streams[0].Data, func(f wire.Frame) error {
		// A fresh decoder per message: the decoder reuses its Message.
		m, err := mdt.DecodeJSON(bytes.Clone(f.Payload))
		if err != nil {
			return err
		}
		msgs = append(msgs, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 44 {
		t.Fatalf("%d messages, want 44", len(msgs))
	}
	return msgs
}

// Every message of the real capture maps to one batch in which every
// numeric leaf is exactly one sample, valued and stamped as it arrived,
// with a valid name and no two samples of one series at one time; every
// string leaf reaches xr_state on first sight and on change. The OpenConfig list keys of
// keyless rows (interface/name, subinterface/index, component/name) are
// labels instead: without them the 11 rows of one interface message would
// be 11 samples of each series at one time.
func TestRealCaptureEveryNumericLeafIsOneSample(t *testing.T) {
	msgs := captureMessages(t)
	e := newEnv(t, Options{})
	// The capture is from 2024; the record table must take rows of then.
	e.now = 1728034880000
	wantSamples, wantState, promoted := 0, 0, 0
	// An independent model of the change tracker: the last value per
	// (path, keys, leaf, occurrence); the clock moves 1 ms per message, far
	// from the refresh, so a record is written on first sight and change.
	last := map[string]string{}
	for i, m := range msgs {
		before := len(e.sink.batches)
		e.write(t, m, e.now+int64(i))
		numericLeaves := 0
		for r := range m.Rows {
			row := &m.Rows[r]
			p := promote(nil, row)
			if len(p) > 0 {
				promoted++
			}
			id := m.Path
			for _, k := range row.Keys {
				id += "|" + k.Name + "=" + string(appendValue(nil, &k))
			}
			for _, j := range p {
				id += "|" + row.Content[j].Name + "=" + string(appendValue(nil, &row.Content[j]))
			}
			times, nth := map[string]int{}, map[string]int{}
			for _, l := range row.Content {
				times[l.Name]++
			}
			for j, l := range row.Content {
				switch {
				case contains(p, j):
				case numeric(l.Kind):
					numericLeaves++
				default:
					key := id + "|" + l.Name
					if times[l.Name] > 1 {
						key += "#" + strconv.Itoa(nth[l.Name])
					}
					if v, ok := last[key]; !ok || v != l.S {
						last[key] = l.S
						wantState++
					}
				}
				nth[l.Name]++
			}
		}
		wantSamples += numericLeaves
		if numericLeaves == 0 {
			if len(e.sink.batches) != before {
				t.Errorf("message %d: a batch without samples", i)
			}
			continue
		}
		if len(e.sink.batches) != before+1 {
			t.Fatalf("message %d: %d batches", i, len(e.sink.batches)-before)
		}
		b := e.sink.batches[before]
		if len(b.Samples) != numericLeaves {
			t.Fatalf("message %d (%s): %d samples for %d numeric leaves", i, m.Path, len(b.Samples), numericLeaves)
		}
		// Samples come in leaf order: check each against its leaf.
		k := 0
		seen := map[string]bool{}
		for r := range m.Rows {
			row := &m.Rows[r]
			p := promote(nil, row)
			for j, l := range row.Content {
				if !numeric(l.Kind) || contains(p, j) {
					continue
				}
				s := b.Samples[k]
				k++
				if want, _ := MetricName(m.Path, l.Name); s.Name != want || !model.ValidMetricName(s.Name) {
					t.Fatalf("message %d leaf %s: sample %s", i, l.Name, s.Name)
				}
				if v := leafValue(l); s.Value != v || s.TimestampMs != row.TimestampMs {
					t.Fatalf("message %d leaf %s: %v at %d, want %v at %d", i, l.Name, s.Value, s.TimestampMs, v, row.TimestampMs)
				}
				if s.Labels.Get("device") != "ipf-zbl1327-r-daisy-90" || s.Labels.Get("path") != m.Path || s.Labels.Get("subscription") != "taarole8" {
					t.Fatalf("message %d labels %v", i, s.Labels)
				}
				id := series(s) + " @" + strconvFloat(float64(s.TimestampMs))
				if seen[id] {
					t.Fatalf("message %d: series %s twice", i, id)
				}
				seen[id] = true
			}
		}
	}
	if got := len(e.sink.samples()); got != wantSamples || got < 55027 {
		t.Errorf("%d samples, want %d (at least the 55027 integer leaves counted independently)", got, wantSamples)
	}
	if c := counter(e.board, CounterSamples); c != uint64(wantSamples) {
		t.Errorf("%s = %d", CounterSamples, c)
	}
	for _, name := range []string{CounterSeriesDropped, CounterStateDropped, CounterNamesRefused, CounterCatalogDropped, CounterColumnErrors} {
		if c := counter(e.board, name); c != 0 {
			t.Errorf("%s = %d", name, c)
		}
	}
	if rows := len(e.state(t)); rows != wantState || rows == 0 {
		t.Errorf("%d state rows, want %d", rows, wantState)
	}
	if promoted != 386+1304 {
		t.Errorf("%d rows took their OpenConfig list name, want every interface and component row", promoted)
	}
	if p := e.m.Paths(""); len(p) != 16 {
		t.Errorf("%d paths in the catalog, want 16", len(p))
	}
	t.Logf("%d messages: %d samples, %d state rows", len(msgs), wantSamples, wantState)
}

func leafValue(l xr.Leaf) float64 {
	switch l.Kind {
	case xr.LeafUint:
		return float64(l.U)
	case xr.LeafInt:
		return float64(l.I)
	case xr.LeafFloat:
		return l.F
	case xr.LeafBool:
		if l.B {
			return 1
		}
	}
	return 0
}

// The real capture through the real pipeline: the TSDB store keeps every
// sample (no two values of one series at one time, no invalid name).
func TestRealCaptureIntoStore(t *testing.T) {
	msgs := captureMessages(t)
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	board := status.NewBoard(nil)
	table := records.NewTable(StateTable, records.Options{Now: func() int64 { return 1728034900000 }})
	m := New(pipeline.New(st, nil, board), table, board, Options{})
	for i, msg := range msgs {
		if err := m.Write(context.Background(), router, msg, 1728034880000+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	s := st.Stats()
	if s.Rejected.Total() != 0 || s.SamplesAppended != 61459 {
		t.Errorf("store appended %d, rejected %+v", s.SamplesAppended, s.Rejected)
	}
	if c := board.Snapshot().Counters[CounterSamples]; c != 61459 {
		t.Errorf("%s = %d", CounterSamples, c)
	}
}
