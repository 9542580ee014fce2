package query

import (
	"strings"
	"testing"
)

func TestSwitchNamesReadIDsInEverySpellingAndAddresses(t *testing.T) {
	n, errs := ParseSwitchNames("0x0000000a=leaf1, 0xB=leaf2\n12=spine1\r\n# a comment\n192.0.2.7 = edge\n[2001:db8::7]:31337=edge6,,$switch_names")
	if len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	for dev, want := range map[string]string{
		"0x0000000a": "leaf1", "0x0000000b": "leaf2", "0x0000000c": "spine1",
		"192.0.2.7": "edge", "::ffff:192.0.2.7": "edge", "2001:db8::7": "edge6", "0x0000000d": "", "192.0.2.8": "",
	} {
		if got := n.Device(dev); got != want {
			t.Errorf("Device(%q) = %q, want %q", dev, got, want)
		}
	}
	if n.ID(10) != "leaf1" || n.ID(12) != "spine1" || n.ID(13) != "" {
		t.Errorf("ID: %q %q %q", n.ID(10), n.ID(12), n.ID(13))
	}
	if n.DeviceOr("0x0000000d") != "0x0000000d" || n.Len() != 5 {
		t.Errorf("DeviceOr %q, Len %d", n.DeviceOr("0x0000000d"), n.Len())
	}
}

func TestSwitchNamesKeepGoodEntriesAndNameBadOnes(t *testing.T) {
	n, errs := ParseSwitchNames("0xa=leaf1,nonsense,0xb=,zz=x,0x1ffffffff=big,0xc=spine")
	if n.ID(10) != "leaf1" || n.ID(12) != "spine" || n.Len() != 2 {
		t.Fatalf("names %v", n)
	}
	if len(errs) != 4 {
		t.Fatalf("errors %v", errs)
	}
	for i, want := range []string{`"nonsense" is not id=name`, `"0xb=" has no name`, `"zz" is neither`, `"0x1ffffffff" is neither`} {
		if !strings.Contains(errs[i].Error(), want) {
			t.Errorf("error %d = %v, want %q", i, errs[i], want)
		}
	}
	_, errs = ParseSwitchNames(strings.Repeat("bad,", 30))
	if len(errs) != 11 || !strings.Contains(errs[10].Error(), "20 more entries") {
		t.Errorf("many bad entries: %d errors, last %v", len(errs), errs[len(errs)-1])
	}
}

func TestQuerySwitchNamesOverrideTheSettingsPerID(t *testing.T) {
	settings, _ := ParseSwitchNames("0xa=leaf1,0xb=leaf2,192.0.2.7=edge")
	q, _ := ParseSwitchNames("10=renamed,192.0.2.8=other")
	n := settings.Override(q)
	for dev, want := range map[string]string{"0x0000000a": "renamed", "0x0000000b": "leaf2", "192.0.2.7": "edge", "192.0.2.8": "other"} {
		if got := n.Device(dev); got != want {
			t.Errorf("Device(%q) = %q, want %q", dev, got, want)
		}
	}
	if settings.Device("0x0000000a") != "leaf1" {
		t.Error("Override changed the settings' names")
	}
	var none SwitchNames
	if none.Override(q).Device("0x0000000a") != "renamed" || settings.Override(none).Device("0x0000000a") != "leaf1" {
		t.Error("an empty side must leave the other as it is")
	}
}
