package server

import (
	"testing"

	"github.com/netlens/netlens/pkg/config"
	"github.com/netlens/netlens/pkg/decode/intreport"
)

// records_max_bytes split between the tables that run: xr_state an eighth
// beside others (at least 1 MiB, at most half), ipfix_flow and int_report
// halves of the rest, a table alone all of it.
func TestRecordBudgets(t *testing.T) {
	const mib = 1 << 20
	for _, c := range []struct {
		total            int64
		ipfix, xr, intr  bool
		flows, xrS, ints int64
	}{
		{512 * mib, true, true, true, 224 * mib, 64 * mib, 224 * mib},
		{512 * mib, true, true, false, 448 * mib, 64 * mib, 0},
		{512 * mib, true, false, true, 256 * mib, 0, 256 * mib},
		{512 * mib, false, true, true, 0, 64 * mib, 448 * mib},
		{512 * mib, true, false, false, 512 * mib, 0, 0},
		{512 * mib, false, true, false, 0, 512 * mib, 0},
		{512 * mib, false, false, true, 0, 0, 512 * mib},
		{512 * mib, false, false, false, 0, 0, 0},
		{4 * mib, true, true, true, 3 * mib / 2, mib, 3 * mib / 2}, // an eighth would be under 1 MiB
		{4 * mib, true, true, false, 3 * mib, mib, 0},
		{mib, true, true, false, mib / 2, mib / 2, 0}, // at most half
		{mib, false, true, true, 0, mib / 2, mib / 2},
		{mib + 1, true, false, true, mib/2 + 1, 0, mib / 2}, // an odd byte goes to the flows, none is lost
	} {
		f, x, i := recordBudgets(c.total, c.ipfix, c.xr, c.intr)
		if f != c.flows || x != c.xrS || i != c.ints {
			t.Errorf("recordBudgets(%d, ipfix %v, xr %v, int %v) = %d, %d, %d; want %d, %d, %d",
				c.total, c.ipfix, c.xr, c.intr, f, x, i, c.flows, c.xrS, c.ints)
		}
	}
}

// int_max_hops is bounded by what the decoder can hold.
func TestINTMaxHopsIsTheDecodersLimit(t *testing.T) {
	if config.MaxINTHops != intreport.HopLimit {
		t.Fatalf("config.MaxINTHops %d, intreport.HopLimit %d", config.MaxINTHops, intreport.HopLimit)
	}
}
