package store

import (
	"context"
	"testing"
	"time"

	"github.com/netlens/netlens/pkg/model"
)

// fillHours appends one sample a minute for hours, in one-hour batches.
func fillHours(t *testing.T, s *Store, hours int) {
	t.Helper()
	for h := range hours {
		batch := make([]model.Sample, 0, 60)
		for m := range 60 {
			batch = append(batch, cpu("fw1", t0.Add(time.Duration(h)*time.Hour+time.Duration(m)*time.Minute), float64(h)))
		}
		mustAppend(t, s, batch...)
	}
}

// compact cuts blocks from the head and applies retention, as the TSDB's
// background loop does every minute.
func compact(t *testing.T, s *Store) {
	t.Helper()
	if err := s.db.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func samplesBetween(t *testing.T, s *Store, from, to time.Time) float64 {
	t.Helper()
	v, err := s.InstantQuery(context.Background(), `count_over_time(ftd_cpu_utilisation[`+promRange(to.Sub(from))+`])`, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(v) == 0 {
		return 0
	}
	return v[0].F
}

func promRange(d time.Duration) string { return d.Truncate(time.Minute).String() }

func TestRetentionByTimeDropsOldBlocks(t *testing.T) {
	s := openTest(t, Options{Retention: 3 * time.Hour, blockDuration: time.Hour})
	fillHours(t, s, 10)
	if got := samplesBetween(t, s, t0, t0.Add(2*time.Hour)); got == 0 {
		t.Fatal("before compaction the first hours are there")
	}
	compact(t, s)

	st := s.Stats()
	if st.Blocks == 0 || st.Blocks > 4 {
		t.Fatalf("%d blocks after compaction with 3h retention of 1h blocks", st.Blocks)
	}
	if got := samplesBetween(t, s, t0, t0.Add(2*time.Hour)); got != 0 {
		t.Fatalf("%v samples of the first two hours survived a 3h retention", got)
	}
	// PromQL windows are open on the left: (8:59, 9:59] holds the last 60.
	if got := samplesBetween(t, s, t0.Add(8*time.Hour+59*time.Minute), t0.Add(9*time.Hour+59*time.Minute)); got != 60 {
		t.Fatalf("%v samples in the last hour, want all 60", got)
	}
}

func TestRetentionBySizeDropsBlocks(t *testing.T) {
	// Without a size cap the same data keeps its blocks.
	s := openTest(t, Options{blockDuration: time.Hour})
	fillHours(t, s, 6)
	compact(t, s)
	if n := s.Stats().Blocks; n < 3 {
		t.Fatalf("%d blocks without a size cap, want several", n)
	}

	// A cap smaller than the WAL alone leaves no room for any block.
	s = openTest(t, Options{RetentionSize: 1, blockDuration: time.Hour})
	fillHours(t, s, 6)
	compact(t, s)
	st := s.Stats()
	if st.Blocks != 0 || st.RetentionSize != 1 {
		t.Fatalf("%d blocks with a 1-byte cap (stats %+v), want none", st.Blocks, st)
	}
	if got := samplesBetween(t, s, t0, t0.Add(2*time.Hour)); got != 0 {
		t.Fatalf("%v old samples survived the size cap", got)
	}
}
