package query

import (
	"strings"
	"testing"
	"time"
)

// Buckets of 10 s of one switch's drops on port 3 (reason 7): runs split
// where the gap between one bucket's last report and the next's first is
// over 10 s, whatever the buckets' order.
func TestJoinEpisodesSplitsOnGapsOverTenSeconds(t *testing.T) {
	drop := func(first, last int64, n uint64) EpisodeBucket {
		return EpisodeBucket{Type: EpisodeDrop, Device: "0x0000000a", Port: "3", Reason: "7", FirstMs: first, LastMs: last, Count: n}
	}
	queue := func(first, last int64, n, occ uint64) EpisodeBucket {
		return EpisodeBucket{Type: EpisodeCongestion, Device: "0x0000000a", Queue: "2", FirstMs: first, LastMs: last, Count: n, MaxOccupancy: occ, HasMaxOccupancy: true}
	}
	eps := JoinEpisodes([]EpisodeBucket{
		drop(20_000, 29_000, 4),
		drop(1_000, 9_999, 5), drop(10_000, 19_000, 3), // 1 ms apart: one run with the first
		drop(39_001, 39_500, 2),                                     // 10.001 s after 29_000: a new run
		queue(5_000, 6_000, 2, 900), queue(16_000, 16_000, 1, 4000), // exactly 10 s: joined
		{Type: EpisodeDrop, Device: "0x0000000a", Port: "3", Reason: "9", FirstMs: 2_000, LastMs: 2_000, Count: 1}, // another reason
	}, EpisodeGapMs)
	want := []Episode{
		{drop(39_001, 39_500, 2)},
		{queue(5_000, 16_000, 3, 4000)},
		{EpisodeBucket{Type: EpisodeDrop, Device: "0x0000000a", Port: "3", Reason: "9", FirstMs: 2_000, LastMs: 2_000, Count: 1}},
		{drop(1_000, 29_000, 12)},
	}
	if len(eps) != len(want) {
		t.Fatalf("episodes %+v", eps)
	}
	for i := range want {
		if eps[i] != want[i] {
			t.Errorf("episode %d = %+v, want %+v", i, eps[i], want[i])
		}
	}
}

func TestEpisodesFrameReadsAsAnnotations(t *testing.T) {
	names, _ := ParseSwitchNames("0xa=leaf1")
	f := EpisodesFrame([]Episode{
		{EpisodeBucket{Type: EpisodeDrop, Device: "0x0000000a", Port: "3", Reason: "7", FirstMs: 1_000, LastMs: 13_000, Count: 12}},
		{EpisodeBucket{Type: EpisodeCongestion, Device: "192.0.2.9", Queue: "2", FirstMs: 500, LastMs: 500, Count: 1, MaxOccupancy: 4000, HasMaxOccupancy: true}},
	}, names)
	var got []string
	for _, fd := range f.Fields {
		got = append(got, fd.Name)
	}
	if want := "time timeEnd title text tags device switch type count"; strings.Join(got, " ") != want {
		t.Fatalf("fields %v, want %s", got, want)
	}
	row := func(i int) []any {
		var out []any
		for _, fd := range f.Fields[2:] {
			out = append(out, fd.At(i))
		}
		return out
	}
	for i, want := range [][]any{
		{"leaf1 drops on port 3, reason 7", "12 drop reports over 12s", "int,drop,leaf1", "0x0000000a", "leaf1", "drop", uint64(12)},
		{"192.0.2.9 congestion on queue 2", "1 queue reports over 0s, deepest queue 4000", "int,congestion,192.0.2.9", "192.0.2.9", "192.0.2.9", "congestion", uint64(1)},
	} {
		r := row(i)
		for k := range want {
			if r[k] != want[k] {
				t.Errorf("row %d field %s = %v, want %v", i, f.Fields[k+2].Name, r[k], want[k])
			}
		}
	}
	start, end := f.Fields[0].At(0).(time.Time), f.Fields[1].At(0).(time.Time)
	if start.UnixMilli() != 1_000 || end.UnixMilli() != 13_000 {
		t.Errorf("episode 0 spans %v to %v", start, end)
	}
}
