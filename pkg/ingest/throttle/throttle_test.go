package throttle

import "testing"

// Each key once a minute, apart from the others; past the bound every key
// is forgotten at once and may be told again.
func TestKeyedOncePerIntervalPerKey(t *testing.T) {
	k := New[string](60_000, 3)
	steps := []struct {
		key  string
		ms   int64
		want bool
	}{
		{"a", 0, true},
		{"a", 59_999, false},
		{"b", 1_000, true},
		{"a", 60_000, true},
		{"b", 30_000, false},
		{"c", 30_000, true},
		{"d", 30_001, true}, // a fourth key: a, b and c forgotten
		{"b", 30_002, true},
		{"b", 30_003, false},
	}
	for i, s := range steps {
		if got := k.Allow(s.key, s.ms); got != s.want {
			t.Errorf("step %d: Allow(%q, %d) = %v, want %v", i, s.key, s.ms, got, s.want)
		}
	}
}
