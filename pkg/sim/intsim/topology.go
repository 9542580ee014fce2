// Package intsim simulates a leaf-spine INT domain of Cisco Nexus-like
// switches that send telemetry reports (P4.org report format v0.5, or v1.0
// by choice) to a monitor-collector over UDP: INT reports from the sink
// with the whole hop stack, postcards from every switch, local flow
// reports, drop reports and queue congestion reports, with 32-bit
// nanosecond timestamps that wrap and sequence numbers that skip when a
// report is lost.
//
// It encodes with its own code (encode.go), not with pkg/decode/intreport,
// so the two check each other.
package intsim

import (
	"fmt"
	"net/netip"
)

// Role of a switch in the fabric.
type Role uint8

const (
	Leaf Role = iota
	Spine
)

func (r Role) String() string {
	if r == Spine {
		return "spine"
	}
	return "leaf"
}

// Switch is one INT switch.
type Switch struct {
	Index int
	Name  string
	Role  Role
	MAC   [6]byte
	ID    uint32 // from MAC bytes 0, 1, 4, 5 (NX-OS: "bytes [0][1][4][5] of the VDC MAC")
	Ports int    // leaf: hosts then one uplink per spine; spine: one port per leaf
	// HwIDs is the number of hardware subsystems (line cards) reporting,
	// each with its own sequence numbers.
	HwIDs int
}

// SwitchIDFromMAC derives the INT switch id as NX-OS does: bytes 0, 1, 4
// and 5 of the VDC MAC, so b0:12:80:8f:e3:45 gives 0xB012E345.
func SwitchIDFromMAC(mac [6]byte) uint32 {
	return uint32(mac[0])<<24 | uint32(mac[1])<<16 | uint32(mac[4])<<8 | uint32(mac[5])
}

// Host is an end host behind a leaf.
type Host struct {
	Leaf  int // switch index of its leaf
	Port  uint16
	MAC   [6]byte
	Addr  netip.Addr
	Addr6 netip.Addr
}

// Topology is S spines and L leaves, each leaf linked to every spine, H
// hosts per leaf. Switch indexes: spines first, then leaves.
type Topology struct {
	Spines, Leaves, HostsPerLeaf int
	Switches                     []Switch
	Hosts                        []Host
}

// hwIDOf is the line card that owns a port on a spine: two cards share the
// ports; leaves have one.
func (sw *Switch) hwIDOf(port uint16) uint8 {
	if sw.HwIDs <= 1 || port == 0 {
		return 0
	}
	per := (sw.Ports + sw.HwIDs - 1) / sw.HwIDs
	return uint8((int(port) - 1) / per)
}

// NewTopology builds the fabric. MACs come from the seed; ids are unique
// (a MAC whose id collides is drawn again, as an operator would renumber).
func NewTopology(spines, leaves, hosts int, seed uint64) (*Topology, error) {
	if spines < 1 || spines > 32 || leaves < 1 || leaves > 200 || hosts < 1 || hosts > 200 {
		return nil, fmt.Errorf("intsim: topology %d spines, %d leaves, %d hosts per leaf: want 1..32, 1..200, 1..200", spines, leaves, hosts)
	}
	t := &Topology{Spines: spines, Leaves: leaves, HostsPerLeaf: hosts}
	r := newRand(seed ^ 0x7f4a7c15)
	seen := map[uint32]bool{}
	mac := func() [6]byte {
		for {
			// Cisco-like OUI-free local addresses: unicast, locally administered.
			var m [6]byte
			v := r.next()
			for i := range m {
				m[i] = byte(v >> (8 * i))
			}
			m[0] = m[0]&^1 | 2
			if id := SwitchIDFromMAC(m); id != 0 && id != Unavailable && !seen[id] {
				seen[id] = true
				return m
			}
		}
	}
	for i := range spines {
		t.Switches = append(t.Switches, Switch{Index: i, Name: fmt.Sprintf("spine-%d", i+1), Role: Spine, MAC: mac(), Ports: leaves, HwIDs: 2})
	}
	for i := range leaves {
		t.Switches = append(t.Switches, Switch{Index: spines + i, Name: fmt.Sprintf("leaf-%d", i+1), Role: Leaf, MAC: mac(), Ports: hosts + spines, HwIDs: 1})
	}
	for i := range t.Switches {
		t.Switches[i].ID = SwitchIDFromMAC(t.Switches[i].MAC)
	}
	for l := range leaves {
		for h := range hosts {
			m := [6]byte{0x02, 0x00, 0x0a, byte(l + 1), byte(h >> 8), byte(h + 1)}
			t.Hosts = append(t.Hosts, Host{
				Leaf:  spines + l,
				Port:  uint16(h + 1),
				MAC:   m,
				Addr:  netip.AddrFrom4([4]byte{10, byte(l + 1), byte(h / 250), byte(10 + h%250)}),
				Addr6: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(l + 1), 14: byte(h >> 8), 15: byte(h + 10)}),
			})
		}
	}
	return t, nil
}

// UplinkPort is the leaf port towards spine s (0-based).
func (t *Topology) UplinkPort(s int) uint16 { return uint16(t.HostsPerLeaf + 1 + s) }

// SpinePort is the spine port towards the leaf with switch index leaf.
func (t *Topology) SpinePort(leaf int) uint16 { return uint16(leaf - t.Spines + 1) }

// SwitchByID finds a switch by its INT id.
func (t *Topology) SwitchByID(id uint32) (*Switch, bool) {
	for i := range t.Switches {
		if t.Switches[i].ID == id {
			return &t.Switches[i], true
		}
	}
	return nil, false
}

// rnd is a small splitmix64 generator: deterministic per seed, no
// allocation, and independent of math/rand's evolving algorithms.
type rnd struct{ s uint64 }

func newRand(seed uint64) *rnd { return &rnd{s: seed} }

func (r *rnd) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// intn is uniform in [0, n).
func (r *rnd) intn(n int) int { return int(r.next() % uint64(n)) }

// float is uniform in [0, 1).
func (r *rnd) float() float64 { return float64(r.next()>>11) / (1 << 53) }
