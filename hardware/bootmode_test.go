package hardware_test

import (
	"errors"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestBootModeOneTruth: BootOverride().Mode is the mode the next boot uses
// (an active one-time override's, else the BIOS BootMode, pending value
// included); a Continuous or Disabled override's mode changes the BIOS
// BootMode; Secure Boot runs only in UEFI boots.
func TestBootModeOneTruth(t *testing.T) {
	type step struct {
		do       func(m *hardware.Machine) error
		boot     hardware.BootMode // "" no boot; else the mode Boot must use
		wantMode hardware.BootMode // BootOverride().Mode after the step
	}
	bootmode := func(v string) func(m *hardware.Machine) error {
		return func(m *hardware.Machine) error { return m.SetBiosPending(map[string]any{"BootMode": v}) }
	}
	ov := func(tg hardware.BootSource, en hardware.BootEnabled, md hardware.BootMode) func(m *hardware.Machine) error {
		return func(m *hardware.Machine) error {
			return m.SetBootOverride(hardware.BootOverride{Target: tg, Enabled: en, Mode: md})
		}
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"(a) BIOS BootMode Legacy", []step{
			{do: bootmode("Legacy"), wantMode: legacy},
			{boot: legacy, wantMode: legacy},
			{boot: legacy, wantMode: legacy}}},
		{"(b) one-time Legacy override consumed", []step{
			{do: ov(hardware.BootPxe, hardware.BootOnce, legacy), wantMode: legacy},
			{boot: legacy, wantMode: uefi},
			{boot: uefi, wantMode: uefi}}},
		{"one-time override without mode boots the BIOS mode", []step{
			{do: bootmode("Legacy"), wantMode: legacy},
			{do: ov(hardware.BootPxe, hardware.BootOnce, ""), wantMode: legacy},
			{boot: legacy, wantMode: legacy}}},
		{"Continuous mode is the BIOS's", []step{
			{do: ov(hardware.BootPxe, hardware.BootContinuous, legacy), wantMode: legacy},
			{boot: legacy, wantMode: legacy},
			{do: ov(hardware.BootNone, hardware.BootDisabled, ""), wantMode: legacy},
			{boot: legacy, wantMode: legacy}}},
		{"Disabled with a mode sets the BIOS BootMode (Ironic set_boot_mode)", []step{
			{do: ov("", hardware.BootDisabled, legacy), wantMode: legacy},
			{boot: legacy, wantMode: legacy},
			{do: ov("", hardware.BootDisabled, uefi), wantMode: uefi},
			{boot: uefi, wantMode: uefi}}},
		{"a later BIOS change wins over a Continuous override's mode", []step{
			{do: ov(hardware.BootHdd, hardware.BootContinuous, legacy), wantMode: legacy},
			{do: bootmode("UEFI"), wantMode: uefi},
			{boot: uefi, wantMode: uefi}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newEnv(t).m
			for i, s := range c.steps {
				if s.do != nil {
					if err := s.do(m); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				if s.boot != "" {
					if r := m.Boot(); r.Mode != s.boot {
						t.Errorf("step %d: booted in %s, want %s", i, r.Mode, s.boot)
					}
				}
				if got := m.BootOverride().Mode; got != s.wantMode {
					t.Errorf("step %d: override mode %s, want %s", i, got, s.wantMode)
				}
			}
		})
	}
}

func TestSecureBootNeedsUEFI(t *testing.T) {
	m := newEnv(t).m
	if err := m.SetSecureBoot(true); err != nil {
		t.Fatal(err)
	}
	m.Boot()
	if en, cur := m.SecureBoot(); !en || !cur {
		t.Errorf("UEFI boot: %v %v", en, cur)
	}
	// Switching to Legacy is accepted; the Legacy boot runs without it.
	if err := m.SetBiosPending(map[string]any{"BootMode": "Legacy"}); err != nil {
		t.Fatal(err)
	}
	m.Boot()
	if en, cur := m.SecureBoot(); !en || cur {
		t.Errorf("Legacy boot: %v %v", en, cur)
	}
	if err := m.SetSecureBoot(false); err != nil {
		t.Fatal(err)
	}
	if err := m.SetSecureBoot(true); !errors.Is(err, hardware.ErrSecureBootLegacy) || !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("enable in Legacy: %v", err)
	}
	// A pending UEFI BootMode makes it acceptable again.
	if err := m.SetBiosPending(map[string]any{"BootMode": "UEFI"}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetSecureBoot(true); err != nil {
		t.Errorf("enable with UEFI pending: %v", err)
	}
	m.Boot()
	if en, cur := m.SecureBoot(); !en || !cur {
		t.Errorf("UEFI boot again: %v %v", en, cur)
	}
}

// TestBootModeNoSpuriousOverrideEvent: after a one-time override with its
// own mode is consumed, a change of the boot order alone logs no override
// change.
func TestBootModeNoSpuriousOverrideEvent(t *testing.T) {
	m := newEnv(t).m
	if err := m.SetBootOverride(hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce, Mode: legacy}); err != nil {
		t.Fatal(err)
	}
	m.Boot()
	n := count(m.Events(), hardware.EventBootOverride)
	order := m.BootOrder()
	order[0], order[1] = order[1], order[0]
	if err := m.ChangeBoot(hardware.BootChange{Order: &order}); err != nil {
		t.Fatal(err)
	}
	if got := count(m.Events(), hardware.EventBootOverride); got != n {
		t.Errorf("override events %d, want %d", got, n)
	}
	if got := m.BootOverride().Mode; got != uefi {
		t.Errorf("mode %s", got)
	}
}
