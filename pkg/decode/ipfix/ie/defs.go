package ie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// definition is one entry of the ipfix_definitions_file.
type definition struct {
	PEN       *uint32 `json:"pen"`
	ID        *uint32 `json:"id"`
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	Semantics string  `json:"semantics"`
	Units     string  `json:"units"`
}

// maxDefinitionsBytes bounds the file: it is read whole at start, and a
// few thousand vendor elements fit in far less.
const maxDefinitionsBytes = 8 << 20

// LoadDefinitions reads the ipfix_definitions_file: a JSON array of
// {"pen":39499,"id":1,"name":"flowmonHttpHost","type":"string","semantics":"default","units":""}.
// Errors name the file, the line and the entry, so an operator can fix the
// file from the log line alone.
func LoadDefinitions(path string) ([]Element, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ipfix definitions: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDefinitionsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("ipfix definitions %s: %w", path, err)
	}
	if len(data) > maxDefinitionsBytes {
		return nil, fmt.Errorf("ipfix definitions %s: larger than %d bytes", path, maxDefinitionsBytes)
	}
	defs, err := ParseDefinitions(data)
	if err != nil {
		return nil, fmt.Errorf("ipfix definitions %s:%w", path, err)
	}
	return defs, nil
}

// ParseDefinitions parses the JSON of LoadDefinitions. Error texts start
// with the line number ("12: entry 3 ...") for LoadDefinitions to prefix
// with the file name.
func ParseDefinitions(data []byte) ([]Element, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return 1 + bytes.Count(data[:off], []byte{'\n'})
	}
	syntax := func(err error, fallback int64) error {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return fmt.Errorf("%d: %v", lineAt(se.Offset), err)
		case errors.As(err, &te):
			return fmt.Errorf("%d: field %q: %v", lineAt(te.Offset), te.Field, err)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%d: unexpected end of file", lineAt(int64(len(data))))
		}
		return fmt.Errorf("%d: %v", lineAt(fallback), err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, syntax(err, 0)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%d: want a JSON array of definitions, got %v", lineAt(dec.InputOffset()), tok)
	}
	var out []Element
	seen := map[key]int{}
	names := map[string]int{}
	for n := 1; dec.More(); n++ {
		start := dec.InputOffset()
		// InputOffset sits before the separator and blanks; the entry starts at
		// the next '{'.
		for start < int64(len(data)) && data[start] != '{' && data[start] != '[' && data[start] != '"' && !isDigit(data[start]) {
			start++
		}
		line := lineAt(start)
		var d definition
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("%w (entry %d)", syntax(err, start), n)
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%d: entry %d (%s): %s", line, n, d.describe(), fmt.Sprintf(format, a...))
		}
		if d.PEN == nil {
			return nil, bad(`missing "pen" (the vendor's private enterprise number; 0 for an IANA id newer than this build)`)
		}
		if *d.PEN == ReversePEN {
			return nil, bad("pen %d is RFC 5103's reverse direction of IANA elements, which Netlens names itself", ReversePEN)
		}
		if d.ID == nil {
			return nil, bad(`missing "id"`)
		}
		if *d.ID == 0 || *d.ID > maxID {
			return nil, bad("id %d out of range 1..%d (without the enterprise bit)", *d.ID, maxID)
		}
		if err := validName(d.Name); err != nil {
			return nil, bad("%v", err)
		}
		typ, ok := ParseType(d.Type)
		if !ok {
			return nil, bad("unknown type %q (one of %s)", d.Type, strings.Join(typeNames[:], ", "))
		}
		sem, ok := ParseSemantics(d.Semantics)
		if !ok {
			return nil, bad("unknown semantics %q (one of %s)", d.Semantics, strings.Join(semanticsNames[:], ", "))
		}
		k := key{*d.PEN, uint16(*d.ID)}
		if prev, ok := seen[k]; ok {
			return nil, bad("duplicate of entry %d (same pen and id)", prev)
		}
		if prev, ok := names[d.Name]; ok {
			return nil, bad("duplicate name, also used by entry %d", prev)
		}
		seen[k], names[d.Name] = n, n
		out = append(out, Element{PEN: *d.PEN, ID: uint16(*d.ID), Name: d.Name, Type: typ, Semantics: sem, Units: d.Units, Known: true})
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntax(err, dec.InputOffset())
	}
	if dec.More() {
		return nil, fmt.Errorf("%d: trailing data after the array", lineAt(dec.InputOffset()))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%d: trailing data after the array", lineAt(dec.InputOffset()))
	}
	return out, nil
}

func (d definition) describe() string {
	var parts []string
	if d.PEN != nil {
		parts = append(parts, fmt.Sprintf("pen %d", *d.PEN))
	}
	if d.ID != nil {
		parts = append(parts, fmt.Sprintf("id %d", *d.ID))
	}
	if d.Name != "" {
		parts = append(parts, fmt.Sprintf("%q", d.Name))
	}
	if len(parts) == 0 {
		return "empty"
	}
	return strings.Join(parts, " ")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// validName keeps names usable as record column names and query fields:
// a letter, then letters, digits or underscores.
func validName(s string) error {
	if s == "" {
		return errors.New(`missing "name"`)
	}
	if len(s) > 128 {
		return fmt.Errorf("name longer than 128 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c == '_' || isDigit(c)) {
			continue
		}
		return fmt.Errorf("name %q: use a letter, then letters, digits or _", s)
	}
	return nil
}
