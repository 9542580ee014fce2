package peers

import (
	"context"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TsharkMessage is one IPFIX or NetFlow v9 message as tshark's cflow
// dissector decoded it.
type TsharkMessage struct {
	Frame      int // 1-based packet number in the capture
	Version    uint16
	ExportTime uint32
	Sequence   uint32
	ODID       uint32
	// SysUptimeMs is NetFlow v9's header sysUpTime: the exporter's
	// milliseconds since boot at export time.
	SysUptimeMs int64
	Templates   []TsharkTemplate // (options) templates defined in this message
	Records     []TsharkRecord   // data and options data records, in message order
}

// TsharkTemplate is a template record: its id and the element ids of its
// fields (scope fields first for an options template).
type TsharkTemplate struct {
	ID       uint16
	Options  bool
	Elements []uint16
}

// TsharkRecord is one data record: the id of the set that holds it (its
// template id) and the dissector's fields in document order, nested
// fields flattened.
type TsharkRecord struct {
	SetID  uint16
	Fields []TsharkField
}

// TsharkField is one PDML field: Value is the hex of the bytes the field
// was decoded from.
type TsharkField struct {
	Name, ShowName, Show, Value string
	Size                        int
}

// Field returns the first field called name ("cflow.octets"), not
// counting RFC 5103 reverse fields, which the dissector names as their
// forward element.
func (r TsharkRecord) Field(name string) (TsharkField, bool) {
	for _, f := range r.Fields {
		if f.Name == name && !f.reverse() {
			return f, true
		}
	}
	return TsharkField{}, false
}

// ReverseField returns the first RFC 5103 reverse field called name: the
// dissector shows it as "Octets: 5524 (Reverse Type 1 BYTES)".
func (r TsharkRecord) ReverseField(name string) (TsharkField, bool) {
	for _, f := range r.Fields {
		if f.Name == name && f.reverse() {
			return f, true
		}
	}
	return TsharkField{}, false
}

func (f TsharkField) reverse() bool { return strings.Contains(f.ShowName, "(Reverse ") }

// Labeled returns the first field whose display line starts with label
// ("StartTime:"). The cflow dissector names flow times by how it
// renders them (cflow.timestart, cflow.abstimestart, ...), not by their
// element, so the label is the stable handle.
func (r TsharkRecord) Labeled(label string) (TsharkField, bool) {
	for _, f := range r.Fields {
		if strings.HasPrefix(f.ShowName, label) {
			return f, true
		}
	}
	return TsharkField{}, false
}

// Uint is the field's raw bytes as a big-endian unsigned number.
func (f TsharkField) Uint() (uint64, error) {
	b, err := hex.DecodeString(f.Value)
	if err != nil {
		return 0, fmt.Errorf("tshark field %s value %q: %w", f.Name, f.Value, err)
	}
	if len(b) == 0 || len(b) > 8 {
		return 0, fmt.Errorf("tshark field %s: %d bytes is not a number", f.Name, len(b))
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// TsharkDecode has tshark read pcapPath, decode port of transport ("udp"
// or "tcp") as IPFIX/NetFlow ("-d udp.port==N,cflow") and returns every
// message it found, in capture order; over TCP tshark reassembles the
// stream and finds the messages by their length.
func TsharkDecode(ctx context.Context, pcapPath, transport string, port uint16) ([]TsharkMessage, error) {
	path, err := Tshark.Path()
	if err != nil {
		return nil, err
	}
	// -n: no name resolution; -o: the cflow dissector otherwise only
	// looks at its default ports, and -d covers ours.
	if transport != "udp" && transport != "tcp" {
		return nil, fmt.Errorf("tshark: transport %q", transport)
	}
	args := []string{"-n", "-r", pcapPath, "-d", transport + ".port==" + strconv.Itoa(int(port)) + ",cflow", "-T", "pdml"}
	out, err := runStdout(ctx, path, args, 60*time.Second)
	if err != nil {
		return nil, err
	}
	return parsePDML(out)
}

type pdmlField struct {
	Name     string      `xml:"name,attr"`
	ShowName string      `xml:"showname,attr"`
	Show     string      `xml:"show,attr"`
	Value    string      `xml:"value,attr"`
	Size     int         `xml:"size,attr"`
	Fields   []pdmlField `xml:"field"`
}

type pdmlProto struct {
	Name   string      `xml:"name,attr"`
	Fields []pdmlField `xml:"field"`
}

type pdmlPacket struct {
	Protos []pdmlProto `xml:"proto"`
}

type pdmlDoc struct {
	Packets []pdmlPacket `xml:"packet"`
}

func parsePDML(b []byte) ([]TsharkMessage, error) {
	var doc pdmlDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("tshark pdml: %w", err)
	}
	var msgs []TsharkMessage
	for i, p := range doc.Packets {
		for _, pr := range p.Protos {
			if pr.Name != "cflow" {
				continue
			}
			m, err := pdmlMessage(pr)
			if err != nil {
				return nil, fmt.Errorf("tshark pdml frame %d: %w", i+1, err)
			}
			m.Frame = i + 1
			msgs = append(msgs, m)
		}
	}
	return msgs, nil
}

func pdmlMessage(pr pdmlProto) (TsharkMessage, error) {
	var m TsharkMessage
	num := func(f TsharkField) (uint64, error) {
		return strconv.ParseUint(f.Show, 10, 64)
	}
	for _, f := range flatten(pr.Fields) {
		var err error
		var v uint64
		switch f.Name {
		case "cflow.version":
			v, err = num(f)
			m.Version = uint16(v)
		case "cflow.exporttime", "cflow.unix_secs":
			v, err = num(f)
			m.ExportTime = uint32(v)
		case "cflow.sequence":
			v, err = num(f)
			m.Sequence = uint32(v)
		case "cflow.od_id", "cflow.source_id":
			v, err = num(f)
			m.ODID = uint32(v)
		case "cflow.sysuptime":
			// Shown in seconds; the raw value is milliseconds.
			v, err = f.Uint()
			m.SysUptimeMs = int64(v)
		}
		if err != nil {
			return m, fmt.Errorf("%s %q: %w", f.Name, f.Show, err)
		}
	}
	// Sets are unnamed fields whose first child is cflow.flowset_id.
	for _, set := range pr.Fields {
		if set.Name != "" || len(set.Fields) == 0 || set.Fields[0].Name != "cflow.flowset_id" {
			continue
		}
		id, err := strconv.ParseUint(set.Fields[0].Show, 10, 16)
		if err != nil {
			return m, fmt.Errorf("flowset id %q: %w", set.Fields[0].Show, err)
		}
		switch {
		case id == 2 || id == 3 || id == 0 || id == 1: // IPFIX and v9 (options) template sets
			for _, t := range set.Fields {
				if t.Name != "" {
					continue
				}
				tpl, err := pdmlTemplate(t, id == 3 || id == 1)
				if err != nil {
					return m, err
				}
				m.Templates = append(m.Templates, tpl)
			}
		case id >= 256:
			for _, rec := range set.Fields {
				if rec.Name == "" && strings.HasPrefix(rec.Show, "Flow ") {
					m.Records = append(m.Records, TsharkRecord{SetID: uint16(id), Fields: flatten(rec.Fields)})
				}
			}
		}
	}
	return m, nil
}

func pdmlTemplate(t pdmlField, options bool) (TsharkTemplate, error) {
	tpl := TsharkTemplate{Options: options}
	for _, f := range t.Fields {
		if f.Name == "cflow.template_id" {
			v, err := strconv.ParseUint(f.Show, 10, 16)
			if err != nil {
				return tpl, fmt.Errorf("template id %q: %w", f.Show, err)
			}
			tpl.ID = uint16(v)
		}
		// Each template field is an unnamed "Field (i/n): NAME" node whose
		// children carry the element id.
		if f.Name == "" && strings.HasPrefix(f.Show, "Field (") {
			for _, c := range f.Fields {
				if strings.HasPrefix(c.Name, "cflow.template_") && strings.HasSuffix(c.Name, "field_type") {
					v, err := strconv.ParseUint(c.Show, 10, 16)
					if err != nil {
						return tpl, fmt.Errorf("template %d field type %q: %w", tpl.ID, c.Show, err)
					}
					tpl.Elements = append(tpl.Elements, uint16(v))
					break
				}
			}
		}
	}
	return tpl, nil
}

func flatten(fs []pdmlField) []TsharkField {
	var out []TsharkField
	var walk func([]pdmlField)
	walk = func(fs []pdmlField) {
		for _, f := range fs {
			out = append(out, TsharkField{Name: f.Name, ShowName: f.ShowName, Show: f.Show, Value: f.Value, Size: f.Size})
			walk(f.Fields)
		}
	}
	walk(fs)
	return out
}
