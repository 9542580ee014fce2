package model

import "testing"

func TestLabelsSortDropsEmptyAndKeepsLastDuplicate(t *testing.T) {
	ls := Labels{{"b", "1"}, {"a", ""}, {"c", "x"}, {"b", "2"}}.Sort()
	want := Labels{{"b", "2"}, {"c", "x"}}
	if len(ls) != len(want) {
		t.Fatalf("got %v, want %v", ls, want)
	}
	for i := range want {
		if ls[i] != want[i] {
			t.Fatalf("got %v, want %v", ls, want)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"Counter": KindCounter, "Gauge": KindGauge, "": KindUnknown, "Histogram": KindUnknown} {
		if got := ParseKind(in); got != want {
			t.Errorf("ParseKind(%q) = %v, want %v", in, got, want)
		}
	}
}
