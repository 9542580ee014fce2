package xrmap

import (
	"context"
	"testing"

	"github.com/netlens/netlens/pkg/decode/xr"
	"github.com/netlens/netlens/pkg/model"
)

// fuzzMessage builds a message from bytes: a path, then rows of leaves, each
// a kind byte and a name (names repeat often, so repeated containers, list
// keys and reserved keys all occur).
func fuzzMessage(b []byte) *xr.Message {
	names := []string{"a", "b/name", "x/state/name", "x/ip", "x/state/ip", "index", "Device", "BytesReceived",
		"l/m/n", "°", "", "__name__", "path", "c/index"}
	next := func() byte {
		if len(b) == 0 {
			return 0
		}
		c := b[0]
		b = b[1:]
		return c
	}
	m := &xr.Message{Node: "r" + string(rune('0'+next()%3)), Path: []string{"m:a/b", "RootOper.A(*).B", "", "m:x[k='a/b']"}[next()%4]}
	if next()%2 == 0 {
		m.Policy = "P"
	}
	for len(b) > 0 && len(m.Rows) < 16 {
		r := xr.Row{TimestampMs: int64(next())}
		nk := int(next() % 3)
		for range nk {
			r.Keys = append(r.Keys, xr.Leaf{Name: names[int(next())%len(names)], Kind: xr.Kind(next() % 6), S: "k", U: uint64(next())})
		}
		nl := int(next() % 12)
		for range nl {
			c := next()
			r.Content = append(r.Content, xr.Leaf{Name: names[int(c>>4)%len(names)], Kind: xr.Kind(c % 7), U: uint64(next()), S: string(rune('a' + next()%3))})
		}
		m.Rows = append(m.Rows, r)
	}
	return m
}

// Whatever a router sends, the mapper neither panics nor emits a sample
// with an invalid name or unsorted, duplicated labels, and it never emits
// more samples than numeric leaves.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{1, 2, 0, 5, 2, 1, 0, 1, 9, 0x12, 1, 2, 0x21, 3, 4, 0x30, 5, 6})
	f.Add([]byte{0, 0, 1, 0, 0, 11, 0x10, 1, 1, 0x10, 2, 2, 0x40, 1, 1, 0x30, 3, 3, 0x50, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e := newEnv(t, Options{MaxSeriesPerRouter: 100})
		msg := fuzzMessage(b)
		numericLeaves := 0
		for _, r := range msg.Rows {
			for _, l := range r.Content {
				if numeric(l.Kind) {
					numericLeaves++
				}
			}
		}
		for i := range 2 {
			if err := e.m.Write(context.Background(), router, msg, t0+int64(i)*61_000); err != nil {
				t.Fatal(err)
			}
		}
		for _, bt := range e.sink.batches {
			if len(bt.Samples) > numericLeaves {
				t.Fatalf("%d samples from %d numeric leaves", len(bt.Samples), numericLeaves)
			}
			for _, s := range bt.Samples {
				if !model.ValidMetricName(s.Name) {
					t.Fatalf("name %q", s.Name)
				}
				for i, l := range s.Labels {
					if !model.ValidLabelName(l.Name) || l.Value == "" || (i > 0 && s.Labels[i-1].Name >= l.Name) {
						t.Fatalf("labels %v", s.Labels)
					}
				}
			}
		}
		e.m.Paths("")
		for _, p := range e.m.Paths("") {
			e.m.Leaves("", p.Path)
		}
	})
}
