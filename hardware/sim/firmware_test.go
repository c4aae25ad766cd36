package sim

import (
	"regexp"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestBiosRegistry: every attribute is fully described and its factory
// value obeys its own rules.
func TestBiosRegistry(t *testing.T) {
	m := New(Config{ID: "0", Seed: "s"})
	info, r := m.Info(), m.BiosRegistry()
	if r.Name == "" || !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(r.Version) {
		t.Fatalf("registry %q version %q", r.Name, r.Version)
	}
	seen := map[string]bool{}
	types := map[hardware.AttributeType]int{}
	for _, a := range r.Attributes {
		if seen[a.Name] || a.Name == "" || a.DisplayName == "" || a.HelpText == "" {
			t.Errorf("attribute %+v: duplicate or undescribed", a)
		}
		seen[a.Name] = true
		types[a.Type]++
		if a.ReadOnly {
			if _, err := r.Check(a.Name, a.Default); err == nil || err.Problem != hardware.AttrReadOnly {
				t.Errorf("%s: read-only attribute accepted a write (%v)", a.Name, err)
			}
			continue
		}
		if _, err := r.Check(a.Name, a.Default); err != nil {
			t.Errorf("%s: factory value %v refused: %v", a.Name, a.Default, err)
		}
	}
	for _, typ := range []hardware.AttributeType{hardware.AttrEnumeration, hardware.AttrString, hardware.AttrInteger, hardware.AttrBoolean} {
		if types[typ] == 0 {
			t.Errorf("no %s attribute", typ)
		}
	}
	if a, _ := r.Attribute("PxeNicIndex"); a.UpperBound != int64(len(info.NICs)-1) {
		t.Errorf("PxeNicIndex upper bound %d for %d NICs", a.UpperBound, len(info.NICs))
	}
	if a, _ := r.Attribute("SystemBiosVersion"); a.Default != info.BiosVersion || !a.ReadOnly || !a.ShowsBiosVersion {
		t.Errorf("SystemBiosVersion %+v", a)
	}
}

// TestBootOptions: one option per disk, virtual media slot, network boot
// kind per NIC and the UEFI Shell, each with a unique reference and
// device path naming what it boots.
func TestBootOptions(t *testing.T) {
	m := New(Config{ID: "0", Seed: "s"})
	info, caps := m.Info(), caps(m)
	opts := caps.BootOptions
	refs, paths := map[string]bool{}, map[string]bool{}
	byAlias := map[hardware.BootSource]int{}
	for i, o := range opts {
		if o.Reference != []string{"Boot0001", "Boot0002", "Boot0003", "Boot0004", "Boot0005", "Boot0006", "Boot0007", "Boot0008", "Boot0009", "Boot000A"}[i] {
			t.Errorf("option %d is %s", i, o.Reference)
		}
		if refs[o.Reference] || paths[o.DevicePath] || o.DevicePath == "" || o.DisplayName == "" || o.Disabled {
			t.Errorf("option %+v: duplicate, undescribed or disabled", o)
		}
		refs[o.Reference], paths[o.DevicePath] = true, true
		byAlias[o.Alias]++
		if !caps.CanBoot(o.Alias) {
			t.Errorf("%s: alias %s is not a boot target", o.Reference, o.Alias)
		}
	}
	want := map[hardware.BootSource]int{
		hardware.BootHdd: len(info.Disks), hardware.BootCd: 1, hardware.BootUsb: 1,
		hardware.BootPxe: len(info.NICs), hardware.BootUefiHttp: len(info.NICs), hardware.BootUefiShell: 1,
	}
	for a, n := range want {
		if byAlias[a] != n {
			t.Errorf("%d %s options, want %d", byAlias[a], a, n)
		}
	}
	if len(opts) != 10 {
		t.Errorf("%d options", len(opts))
	}
	// The disk fitted after the firmware first started comes last, so the
	// others keep their numbers.
	if last := opts[len(opts)-1]; last.Alias != hardware.BootHdd || last.Disk != "Disk2" || last.Reference != "Boot000A" {
		t.Errorf("last option %+v", last)
	}
	// Disks come first: the default order boots the system disk.
	if opts[0].Alias != hardware.BootHdd || opts[0].Disk != info.Disks[0].ID {
		t.Errorf("first option %+v", opts[0])
	}
	for _, o := range opts {
		switch o.Alias {
		case hardware.BootCd, hardware.BootUsb:
			if o.Slot == "" {
				t.Errorf("%s: media option without a slot", o.Reference)
			}
		case hardware.BootPxe, hardware.BootUefiHttp:
			if o.NIC == "" || !regexp.MustCompile(`/MAC\([0-9a-f]{12},0x1\)/`).MatchString(o.DevicePath) {
				t.Errorf("%s: %s / %s", o.Reference, o.NIC, o.DevicePath)
			}
		}
	}
}
