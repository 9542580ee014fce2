package ipfix

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestAgreesWithWireshark compares every record of every capture, field by
// field, with what Wireshark's own dissector decodes from it (the
// testdata/*.tshark.tsv files, written by testdata/tshark-records.py):
// addresses, ports, protocol, octets, packets and interfaces of each data
// record, in message order.
func TestAgreesWithWireshark(t *testing.T) {
	inputs := map[string][]benchMsg{}
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap"))
	for _, f := range files {
		for _, d := range datagrams(t, filepath.Base(f)) {
			inputs[filepath.Base(f)] = append(inputs[filepath.Base(f)], benchMsg{d.Payload, d.Src})
		}
	}
	for _, m := range fileMessages(t, "ipfixcol2-example_flows.ipfix") {
		inputs["ipfixcol2-example_flows.ipfix"] = append(inputs["ipfixcol2-example_flows.ipfix"], benchMsg{m, exporter})
	}
	for name, msgs := range inputs {
		t.Run(name, func(t *testing.T) {
			want := readTSV(t, strings.TrimSuffix(strings.TrimSuffix(name, ".pcap"), ".ipfix")+".tshark.tsv")
			d := New(Options{})
			c := &collect{}
			for i, m := range msgs {
				// The exporter of sample 112 restarts on a new port: the
				// port scopes its templates, as Wireshark's do.
				if _, err := d.Decode(m.b, m.from, UDP, int64(i), c); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
			}
			if len(c.recs) != len(want) {
				t.Fatalf("%d records, Wireshark has %d", len(c.recs), len(want))
			}
			for i, r := range c.recs {
				if r.options {
					continue // Wireshark labels options fields its own way
				}
				got := []string{
					first(r, render, 8, 27), first(r, render, 12, 28), first(r, render, 7), first(r, render, 11),
					first(r, render, 4), first(r, render, 1), first(r, render, 2), first(r, render, 10), first(r, render, 14),
				}
				if strings.Join(got, "\t") != strings.Join(want[i][1:], "\t") {
					t.Fatalf("record %d (frame %s):\n got  %q\n want %q", i, want[i][0], got, want[i][1:])
				}
			}
		})
	}
}

func render(f gotField) string {
	switch f.id {
	case 8, 12, 27, 28:
		return Field{Value: f.value}.Addr().String()
	}
	return strconv.FormatUint(Field{Value: f.value}.Uint(), 10)
}

// first renders the first field of the record with one of the IANA ids.
func first(r got, fn func(gotField) string, ids ...uint16) string {
	for _, f := range r.fields {
		for _, id := range ids {
			if f.pen == 0 && f.id == id {
				return fn(f)
			}
		}
	}
	return ""
}

func readTSV(t *testing.T, name string) [][]string {
	f, err := os.Open(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	s := bufio.NewScanner(f)
	for s.Scan() {
		rows = append(rows, strings.Split(s.Text(), "\t"))
	}
	return rows
}
