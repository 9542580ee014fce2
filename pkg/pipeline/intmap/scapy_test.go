package intmap

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/netlens/netlens/pkg/decode/intreport"
	"github.com/netlens/netlens/pkg/model"
	"github.com/netlens/netlens/pkg/pcap"
)

// The decoder's scapy vectors (built from the published layouts by
// pkg/decode/intreport/testdata/scapy/gen_vectors.py) run through the
// decoder and a worker; the paths the script computed must come out as
// postcard-path and int rows.
var scapyDir = filepath.Join("..", "..", "decode", "intreport", "testdata", "scapy", "vectors")

type scapyPath struct {
	Dropped      bool      `json:"dropped"`
	E2E          *uint64   `json:"e2e_latency"`
	HopLatencies []*uint64 `json:"hop_latencies"`
	IPID         uint16    `json:"ip_id"`
	SwitchIDs    []uint32  `json:"switch_ids"`
}

type scapyCase struct {
	Name    string `json:"name"`
	Pcap    string `json:"pcap"`
	Options struct {
		IntDSCP     uint8    `json:"int_dscp"`
		IntDSCPMask uint8    `json:"int_dscp_mask"`
		IntPorts    []uint16 `json:"int_ports"`
	} `json:"options"`
	Paths []scapyPath `json:"paths"`
}

func scapyCases(t *testing.T) map[string]scapyCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scapyDir, "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []scapyCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	m := map[string]scapyCase{}
	for _, c := range f.Cases {
		m[c.Name] = c
	}
	return m
}

// feed decodes a case's pcap into a fresh worker and returns its rows.
func feed(t *testing.T, c scapyCase) []map[string]any {
	t.Helper()
	dgs, err := pcap.ReadFile(filepath.Join(scapyDir, c.Pcap))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Options{})
	d := intreport.NewDecoder(intreport.Options{INTDSCP: c.Options.IntDSCP, INTDSCPMask: c.Options.IntDSCPMask, INTPorts: c.Options.IntPorts})
	var r intreport.Report
	for i, dg := range dgs {
		if err := d.Decode(dg.Payload, &r); err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		dev := model.DeviceRef{Source: model.SourceINT, ID: dg.Src.Addr().String(), Remote: dg.Src.String()}
		if r.Header.HasSwitchID {
			dev.ID = SwitchName(r.Header.SwitchID)
		}
		e.w.Report(dev, &r, t0+int64(i))
	}
	e.w.FlushAll(t0 + int64(len(dgs)))
	return e.rows(t)
}

func TestScapyPostcardsBecomePaths(t *testing.T) {
	cases := scapyCases(t)
	for _, name := range []string{"postcards_v05", "postcards_v10_drop"} {
		t.Run(name, func(t *testing.T) {
			c, ok := cases[name]
			if !ok || len(c.Paths) == 0 {
				t.Fatalf("vectors.json has no paths for %s", name)
			}
			var got []scapyPath
			for _, row := range feed(t, c) {
				if row["type"] != TypePostcardPath {
					continue
				}
				hops, err := ExpandHops(nil, row["hops"].(string), nil)
				if err != nil {
					t.Fatal(err)
				}
				p := scapyPath{Dropped: row["flags"] == "D"}
				if v, ok := row["e2e_latency"].(uint64); ok {
					p.E2E = &v
				}
				for _, h := range hops {
					p.SwitchIDs = append(p.SwitchIDs, h.SwitchID)
					var l *uint64
					if h.HasHopLatency {
						v := uint64(h.HopLatency)
						l = &v
					}
					p.HopLatencies = append(p.HopLatencies, l)
					if h.Dropped != (p.Dropped && h.Hop == len(hops)-1) {
						t.Errorf("hop %d of %d: dropped %v", h.Hop, len(hops), h.Dropped)
					}
				}
				// The script's drop is reason 80 at the last switch.
				if p.Dropped && (row["drop_reason"] != uint64(80) || hops[len(hops)-1].DropReason != 80) {
					t.Errorf("drop reason %v / %d, want 80", row["drop_reason"], hops[len(hops)-1].DropReason)
				}
				got = append(got, p)
			}
			// IP ids are not a column; the paths come out in the order their
			// windows close, which is the order of their first postcards.
			for i := range c.Paths {
				c.Paths[i].IPID = 0
			}
			if !reflect.DeepEqual(jsonOf(t, got), jsonOf(t, c.Paths)) {
				t.Errorf("paths\n got %s\nwant %s", jsonOf(t, got), jsonOf(t, c.Paths))
			}
		})
	}
}

func TestScapyWrappedINTReport(t *testing.T) {
	rows := feed(t, scapyCases(t)["v05_int_wrapped"])
	if len(rows) != 1 || rows[0]["type"] != TypeINT {
		t.Fatalf("rows %v", rows)
	}
	hops, err := ExpandHops(nil, rows[0]["hops"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hops) < 2 {
		t.Fatalf("%d hops", len(hops))
	}
	for _, h := range hops {
		// The script's timestamps wrap inside a hop; its latency must
		// still be egress − ingress modulo 2^32, never near 2^32.
		if !h.HasHopLatency || h.HopLatency != h.EgressTS-h.IngressTS || h.HopLatency > 1<<20 {
			t.Errorf("hop %d: latency %d from %d..%d", h.Hop, h.HopLatency, h.IngressTS, h.EgressTS)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
