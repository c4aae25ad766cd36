package ipmi

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

func getParam(t *testing.T, c *client, sel byte) []byte {
	t.Helper()
	cc, d := c.mustCmd(NetFnChassis, 0x09, sel, 0, 0)
	if cc != 0 || len(d) < 2 || d[0] != 0x01 || d[1]&0x7F != sel {
		t.Fatalf("get param %d: %#x % x", sel, cc, d)
	}
	return d[2:]
}

func TestBootFlagsReadBackExactly(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	for _, tc := range []struct {
		name string
		data []byte
		want hardware.BootOverride
	}{
		{"ironic: pxe, persistent, EFI", []byte{0xE0, 0x04, 0, 0, 0}, hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootContinuous, Mode: hardware.BootModeUEFI}},
		{"disk, once, legacy", []byte{0x80, 0x08, 0, 0, 0}, hardware.BootOverride{Target: hardware.BootHdd, Enabled: hardware.BootOnce, Mode: hardware.BootModeLegacy}},
		{"cdrom, EFI, clear CMOS, verbose, console redirection", []byte{0xA0, 0x94, 0x41, 0x00, 0x00}, hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}},
		{"bios setup, persistent", []byte{0xC0, 0x18, 0, 0, 0}, hardware.BootOverride{Target: hardware.BootBiosSetup, Enabled: hardware.BootContinuous, Mode: hardware.BootModeLegacy}},
		{"floppy/removable", []byte{0xA0, 0x3C, 0, 0, 0}, hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}},
		{"safe mode disk, device instance 3", []byte{0xA0, 0x0C, 0, 0, 0x03}, hardware.BootOverride{Target: hardware.BootHdd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}},
	} {
		if cc, _ := c.mustCmd(NetFnChassis, 0x08, append([]byte{5}, tc.data...)...); cc != 0 {
			t.Fatalf("%s: set %#x", tc.name, cc)
		}
		if got := e.m.BootOverride(); got != tc.want {
			t.Errorf("%s: machine override %+v, want %+v", tc.name, got, tc.want)
		}
		if got := getParam(t, c, 5); !bytes.Equal(got, tc.data) {
			t.Errorf("%s: read back % x, want % x", tc.name, got, tc.data)
		}
	}
	// Clearing the valid bit disables the override and drops "persistent".
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0x60, 0x04, 0, 0, 0); cc != 0 {
		t.Fatal(cc)
	}
	if got := e.m.BootOverride(); got.Enabled != hardware.BootDisabled {
		t.Fatalf("override %+v", got)
	}
	// "bios setup, persistent" without efiboot made the BIOS BootMode
	// Legacy: with no override the boot type bit says that mode.
	if got := getParam(t, c, 5); !bytes.Equal(got, []byte{0x00, 0x04, 0, 0, 0}) {
		t.Fatalf("cleared: % x", got)
	}
}

func TestBootFlagsFollowTheMachine(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xA0, 0x94, 0x41, 0, 0); cc != 0 {
		t.Fatal(cc)
	}
	// Another interface (Redfish) changes the override: IPMI reads the
	// machine's truth, not the stale bytes.
	if err := e.m.SetBootOverride(hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootContinuous, Mode: hardware.BootModeUEFI}); err != nil {
		t.Fatal(err)
	}
	if got := getParam(t, c, 5); !bytes.Equal(got, []byte{0xE0, 0x04, 0, 0, 0}) {
		t.Fatalf("after a Redfish change: % x", got)
	}
	// A one-time override consumed by the firmware reads back as invalid.
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xA0, 0x14, 0, 0, 0); cc != 0 {
		t.Fatal(cc)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	e.waitPower(hardware.PowerOn)
	if got := getParam(t, c, 5); got[0]&0x80 != 0 {
		t.Fatalf("consumed override still valid: % x", got)
	}
	if lb := e.m.LastBoot(); lb.Source != hardware.BootCd && lb.Source != hardware.BootHdd {
		t.Fatalf("firmware booted %s", lb.Source)
	}
}

// A persistent boot flag at OPERATOR (Ironic's last step of a deploy):
// accepted by default, as OpenBMC does; refused with D4h when
// StrictBootPrivilege asks for Table G-1 note 6. Clearing the flags and
// one-time flags take OPERATOR either way.
// TestBootFlagsModeAfterOneTimeLegacy: "chassis bootdev pxe" without
// efiboot boots Pxe in Legacy once; then the flags (and the machine) say
// the BIOS's UEFI mode again, and the next boot is UEFI.
func TestBootFlagsModeAfterOneTimeLegacy(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0x80, 0x04, 0, 0, 0); cc != 0 {
		t.Fatal(cc)
	}
	if got := getParam(t, c, 5); got[0] != 0x80 {
		t.Fatalf("armed: % x", got)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	e.waitPower(hardware.PowerOn)
	if lb := e.m.LastBoot(); lb.Source != hardware.BootPxe || lb.Mode != hardware.BootModeLegacy {
		t.Fatalf("first boot %+v", lb)
	}
	if got := getParam(t, c, 5); got[0] != 0x20 {
		t.Errorf("after the one-time override: % x, want valid clear and efiboot set", got)
	}
	if m := e.m.BootOverride().Mode; m != hardware.BootModeUEFI {
		t.Errorf("machine mode %s", m)
	}
	if r := e.m.Boot(); r.Mode != hardware.BootModeUEFI {
		t.Errorf("second boot %+v", r)
	}
}

func TestBootFlagsPersistentPrivilege(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			e := newEnv(t, nil, func(c *Config) { c.StrictBootPrivilege = strict })
			c := e.mustLogin(17, operUser, operPass, PrivOperator)
			want, enabled := byte(CCOK), hardware.BootContinuous
			if strict {
				want, enabled = CCInsufficientPriv, hardware.BootDisabled
			}
			// ipmitool raw 0x00 0x08 0x05 0xe0 0x08 0x00 0x00 0x00
			if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x08, 0, 0, 0); cc != want {
				t.Fatalf("persistent at OPERATOR: %#x, want %#x", cc, want)
			}
			if ov := e.m.BootOverride(); ov.Enabled != enabled {
				t.Errorf("override %+v, want %s", ov, enabled)
			}
			if strict {
				a := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
				if cc, _ := a.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x08, 0, 0, 0); cc != CCOK {
					t.Fatalf("persistent at ADMINISTRATOR: %#x", cc)
				}
			}
			if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xA0, 0x04, 0, 0, 0); cc != 0 {
				t.Fatalf("one-time at OPERATOR: %#x", cc)
			}
			if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0x00, 0x00, 0, 0, 0); cc != 0 {
				t.Fatalf("clearing at OPERATOR: %#x", cc)
			}
			r := e.mustLogin(17, roUser, roPass, PrivUser)
			if cc, _ := r.mustCmd(NetFnChassis, 0x09, 5, 0, 0); cc != CCInsufficientPriv {
				t.Fatalf("get boot options at USER: %#x", cc)
			}
			if cc, _ := r.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x08, 0, 0, 0); cc != CCInsufficientPriv {
				t.Fatalf("set boot options at USER: %#x", cc)
			}
		})
	}
}

// TestBootFlagsWithBootOrder: a Redfish UefiBootNext or UefiTarget
// override reads back as the class of the option it names; a persistent
// IPMI override is a Continuous override, not a boot order change, and
// BootNext waits behind it.
func TestBootFlagsWithBootOrder(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	var pxe, cd hardware.BootOption
	for _, o := range e.m.BootOptions() {
		switch {
		case o.Alias == hardware.BootPxe && pxe.Reference == "":
			pxe = o
		case o.Alias == hardware.BootCd:
			cd = o
		}
	}
	next := pxe.Reference
	if err := e.m.ChangeBoot(hardware.BootChange{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce,
		Mode: hardware.BootModeUEFI, Next: &next}); err != nil {
		t.Fatal(err)
	}
	if got := getParam(t, c, 5); !bytes.Equal(got, []byte{0xA0, 0x04, 0, 0, 0}) {
		t.Errorf("UefiBootNext to a PXE option: % x, want PXE", got)
	}
	if err := e.m.ChangeBoot(hardware.BootChange{Target: hardware.BootUefiTarget, Enabled: hardware.BootContinuous,
		UefiTarget: &cd.DevicePath}); err != nil {
		t.Fatal(err)
	}
	if got := getParam(t, c, 5); !bytes.Equal(got, []byte{0xE0, 0x14, 0, 0, 0}) {
		t.Errorf("UefiTarget at the virtual CD: % x, want CD/DVD", got)
	}
	// chassis bootdev disk options=persistent,efiboot
	order := e.m.BootOrder()
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x08, 0, 0, 0); cc != 0 {
		t.Fatal(cc)
	}
	if ov := e.m.BootOverride(); ov.Target != hardware.BootHdd || ov.Enabled != hardware.BootContinuous {
		t.Errorf("override %+v", ov)
	}
	if got := e.m.BootOrder(); len(got) != len(order) || got[0] != order[0] || e.m.BootNext() != next {
		t.Errorf("a persistent IPMI override changed the order %v or BootNext %q", got, e.m.BootNext())
	}
	if res := e.m.Boot(); res.Source != hardware.BootHdd || e.m.BootNext() != next {
		t.Errorf("booted %s; BootNext %q", res.Source, e.m.BootNext())
	}
}

func TestOtherBootParameters(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	// Set in progress: claim, conflict, commit, complete.
	for _, tc := range []struct{ v, want byte }{{1, 0}, {1, ccSetInProgress}, {2, 0}, {0, 0}, {3, CCInvalidData}} {
		if cc, _ := c.mustCmd(NetFnChassis, 0x08, 0, tc.v); cc != tc.want {
			t.Errorf("set in progress %d: %#x, want %#x", tc.v, cc, tc.want)
		}
	}
	if got := getParam(t, c, 0); !bytes.Equal(got, []byte{0}) {
		t.Fatalf("set in progress % x", got)
	}
	// Boot flag valid bit clearing (Ironic writes 08h).
	if cc, _ := c.mustCmd(NetFnChassis, 0x08, 3, 0x08); cc != 0 || !bytes.Equal(getParam(t, c, 3), []byte{0x08}) {
		t.Fatal("param 3")
	}
	// Boot info acknowledge: the write mask selects bits; it reads as 0.
	c.mustCmd(NetFnChassis, 0x08, 4, 0x01, 0x01)
	c.mustCmd(NetFnChassis, 0x08, 4, 0x06, 0xFF)
	if got := getParam(t, c, 4); !bytes.Equal(got, []byte{0x00, 0x07}) {
		t.Fatalf("param 4 % x", got)
	}
	// Boot initiator info is stored as given.
	info := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}
	c.mustCmd(NetFnChassis, 0x08, append([]byte{6}, info...)...)
	if !bytes.Equal(getParam(t, c, 6), info) {
		t.Fatal("param 6")
	}
	// Marking a parameter locked with no data.
	c.mustCmd(NetFnChassis, 0x08, 0x83)
	if cc, d := c.mustCmd(NetFnChassis, 0x09, 3, 0, 0); cc != 0 || d[1] != 0x83 {
		t.Fatalf("locked: % x", d)
	}
	// A cold reset restores the semi-volatile defaults, not the override.
	c.mustCmd(NetFnChassis, 0x08, 5, 0xE0, 0x04, 0, 0, 0)
	if cc, _ := c.mustCmd(NetFnApp, 0x02); cc != 0 {
		t.Fatal("cold reset")
	}
	c = e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if !bytes.Equal(getParam(t, c, 3), []byte{0}) {
		t.Fatal("param 3 survived a cold reset")
	}
	if got := getParam(t, c, 5); !bytes.Equal(got, []byte{0xE0, 0x04, 0, 0, 0}) {
		t.Fatalf("override lost by a cold reset: % x", got)
	}
}

// uefiOnly is a sim whose firmware boots UEFI only and has no diagnostics.
type uefiOnly struct{ *sim.Machine }

func (u uefiOnly) Attach(h hardware.Host) hardware.Parts {
	p := u.Machine.Attach(h)
	p.Boot = uefiOnlyBoot{p.Boot}
	return p
}

type uefiOnlyBoot struct{ hardware.BootControl }

func (uefiOnlyBoot) BootModes() []hardware.BootMode {
	return []hardware.BootMode{hardware.BootModeUEFI}
}
func (b uefiOnlyBoot) BootTargets() []hardware.BootSource {
	return slices.DeleteFunc(slices.Clone(b.BootControl.BootTargets()), func(t hardware.BootSource) bool { return t == hardware.BootDiags })
}

// TestBootFlagsAllowable: the boot flags are checked by the machine
// (BootAllowable), not here: a device it cannot boot is CCh and changes
// nothing; the BIOS boot type bit, which always says a mode, leaves the
// mode alone where the machine has only one.
func TestBootFlagsAllowable(t *testing.T) {
	e := newEnv(t, uefiOnly{sim.New(sim.Config{ID: "0", Seed: "ipmi-test", PowerOnDelay: simDelay, PowerOffDelay: simDelay, ShutdownDelay: simDelay})})
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	for _, tc := range []struct {
		name string
		data []byte
		cc   byte
		want hardware.BootOverride
	}{
		{"disk without efiboot", []byte{0x80, 0x08, 0, 0, 0}, CCOK, hardware.BootOverride{Target: hardware.BootHdd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}},
		{"diagnostics", []byte{0xA0, 0x10, 0, 0, 0}, CCInvalidData, hardware.BootOverride{Target: hardware.BootHdd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}},
		{"pxe, persistent, EFI", []byte{0xE0, 0x04, 0, 0, 0}, CCOK, hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootContinuous, Mode: hardware.BootModeUEFI}},
	} {
		if cc, _ := c.mustCmd(NetFnChassis, 0x08, append([]byte{5}, tc.data...)...); cc != tc.cc {
			t.Errorf("%s: %#x, want %#x", tc.name, cc, tc.cc)
		}
		if got := e.m.BootOverride(); got != tc.want {
			t.Errorf("%s: machine override %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
