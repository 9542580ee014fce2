package query

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Switch names. INT names a switch by its 32-bit switch id (Nexus derives
// it from the VDC MAC), or, for a switch whose reports carry none, by the
// address it sends from: that is the device string of the receiver and of
// int_report's device column ("0x0000000a" or "192.0.2.7"). Users map both
// to names in one text, in the data source settings (intSwitchNames) and
// in a query (switchNames, often a dashboard variable), one "id=name" per
// line or comma:
//
//	0x0000000a=leaf1, 0xb=leaf2
//	12=spine1
//	192.0.2.7=edge-without-id
//
// Lines starting with # are comments; an entry starting with $ is a
// dashboard variable Grafana did not replace and is skipped.
// An id is hex with 0x (any width), decimal, or an address. The query's
// text overrides the settings' per id, so a dashboard can rename a switch
// for its own audience without touching the data source.

// Bounds of a names text: a data source's settings are kept in Grafana's
// database and sent with every request, so a pasted inventory must stay
// small enough for that.
const (
	MaxSwitchNamesBytes = 1 << 20
	MaxSwitchNames      = 65536
	maxSwitchNameLen    = 256
)

// SwitchNames maps switch ids and sender addresses to names. The zero
// value names nothing.
type SwitchNames struct {
	ids   map[uint32]string
	addrs map[netip.Addr]string
}

// ParseSwitchNames reads a names text. Entries it cannot read are left
// out and reported, one error each (at most ten, then a count): a typo in
// one line must not cost the names of the others.
func ParseSwitchNames(text string) (SwitchNames, []error) {
	var n SwitchNames
	var errs []error
	bad := 0
	fail := func(err error) {
		bad++
		if len(errs) < 10 {
			errs = append(errs, err)
		}
	}
	if len(text) > MaxSwitchNamesBytes {
		return n, []error{fmt.Errorf("switch names: %d bytes is more than the %d read", len(text), MaxSwitchNamesBytes)}
	}
	entries := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" || strings.HasPrefix(e, "#") || strings.HasPrefix(e, "$") {
			// A dashboard variable left unreplaced names nothing.
			continue
		}
		if n.Len() >= MaxSwitchNames {
			fail(fmt.Errorf("switch names: more than %d entries; the rest are left out", MaxSwitchNames))
			break
		}
		k, v, ok := strings.Cut(e, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
			fail(fmt.Errorf("switch names: %q is not id=name", e))
			continue
		case v == "":
			fail(fmt.Errorf("switch names: %q has no name", e))
			continue
		case len(v) > maxSwitchNameLen:
			fail(fmt.Errorf("switch names: the name of %s is longer than %d bytes", k, maxSwitchNameLen))
			continue
		}
		if id, ok := parseSwitchID(k); ok {
			if n.ids == nil {
				n.ids = map[uint32]string{}
			}
			n.ids[id] = v
			continue
		}
		a, err := netip.ParseAddr(k)
		if err != nil {
			if ap, perr := netip.ParseAddrPort(k); perr == nil {
				a, err = ap.Addr(), nil
			}
		}
		if err != nil {
			fail(fmt.Errorf("switch names: %q is neither a switch id (0x0000000a or decimal) nor an address", k))
			continue
		}
		if n.addrs == nil {
			n.addrs = map[netip.Addr]string{}
		}
		n.addrs[a.Unmap()] = v
	}
	if bad > len(errs) {
		errs = append(errs, fmt.Errorf("switch names: %d more entries left out", bad-len(errs)))
	}
	return n, errs
}

// parseSwitchID reads "0x0000000a", "0XA" or "10" as a 32-bit id.
func parseSwitchID(s string) (uint32, bool) {
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		return uint32(v), err == nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	return uint32(v), err == nil
}

// Len is the number of names.
func (n SwitchNames) Len() int { return len(n.ids) + len(n.addrs) }

// Override returns n with o's names replacing n's per id and address.
func (n SwitchNames) Override(o SwitchNames) SwitchNames {
	if o.Len() == 0 {
		return n
	}
	if n.Len() == 0 {
		return o
	}
	out := SwitchNames{ids: make(map[uint32]string, len(n.ids)+len(o.ids)), addrs: make(map[netip.Addr]string, len(n.addrs)+len(o.addrs))}
	for _, m := range []SwitchNames{n, o} {
		for k, v := range m.ids {
			out.ids[k] = v
		}
		for k, v := range m.addrs {
			out.addrs[k] = v
		}
	}
	return out
}

// ID is the name of a switch id, "" without one. It has the signature
// intmap.ExpandHops and LocalHop take.
func (n SwitchNames) ID(id uint32) string { return n.ids[id] }

// Device is the name of a device string ("0x0000000a" or the sender
// address), "" without one.
func (n SwitchNames) Device(dev string) string {
	if n.Len() == 0 || dev == "" {
		return ""
	}
	if id, ok := parseSwitchID(dev); ok && len(dev) > 2 && (dev[:2] == "0x" || dev[:2] == "0X") {
		return n.ids[id]
	}
	if a, err := netip.ParseAddr(dev); err == nil {
		return n.addrs[a.Unmap()]
	}
	return ""
}

// DeviceOr is the device's name, else the device string itself.
func (n SwitchNames) DeviceOr(dev string) string {
	if s := n.Device(dev); s != "" {
		return s
	}
	return dev
}
