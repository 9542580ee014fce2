package query

import (
	"fmt"
	"strings"
	"testing"
)

// Any text is names or errors, never a panic; the names read back from
// their canonical spelling, and errors stay bounded.
func FuzzParseSwitchNames(f *testing.F) {
	f.Add("0x0000000a=leaf1, 0xB=leaf2\n12=spine1\n192.0.2.7=edge\n[2001:db8::7]:31337=edge6")
	f.Add("nonsense,=x,0x=y,0x1ffffffff=big,# comment\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		n, errs := ParseSwitchNames(text)
		if len(errs) > 11 {
			t.Fatalf("%d errors", len(errs))
		}
		if n.Len() > MaxSwitchNames {
			t.Fatalf("%d names", n.Len())
		}
		var b strings.Builder
		for id, name := range n.ids {
			fmt.Fprintf(&b, "0x%08x=%s\n", id, name)
		}
		for a, name := range n.addrs {
			fmt.Fprintf(&b, "%s=%s\n", a, name)
		}
		again, errs := ParseSwitchNames(b.String())
		for id, name := range n.ids {
			if again.ID(id) != name && !strings.ContainsAny(name, ",\n\r") {
				t.Fatalf("id %d: %q read back as %q (%v)", id, name, again.ID(id), errs)
			}
		}
	})
}

// Any flow text gives at most as many flows as it has parts, none empty.
func FuzzParseFlows(f *testing.F) {
	f.Add(`["10.1.1.10:40000 > 10.2.2.20:443 tcp","x"]`)
	f.Add(`{a,b,,a}`)
	f.Add(`[2001:db8::1]:5000 > [2001:db8::2]:6000 udp`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, fl := range ParseFlows(s) {
			if fl == "" || strings.TrimSpace(fl) != fl {
				t.Fatalf("flow %q from %q", fl, s)
			}
		}
	})
}
