package hardware_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated server's boot options (hardware/sim/firmware.go).
const (
	nvme  = "Boot0001" // Disk0
	sata  = "Boot0002" // Disk1
	vcd   = "Boot0003" // CD slot
	vusb  = "Boot0004" // USB slot
	pxe1  = "Boot0005"
	http1 = "Boot0006"
	pxe2  = "Boot0007"
	http2 = "Boot0008"
	shell = "Boot0009"
	sata2 = "Boot000A" // Disk2, fitted after the firmware first started
)

func devicePath(t *testing.T, m *hardware.Machine, ref string) string {
	t.Helper()
	o, ok := m.BootOption(ref)
	if !ok {
		t.Fatalf("no option %s", ref)
	}
	return o.DevicePath
}

// TestBootChoice is the firmware's choice table: boot override x BootNext
// x boot order x media present, over several boots, with what each boot
// consumes.
func TestBootChoice(t *testing.T) {
	type boot struct {
		src   hardware.BootSource
		ref   string // option booted ("" for none)
		via   string // in the event: "boot override", "BootNext", "BootOrder"
		slot  string // the image booted is this slot's
		note  string // in the event
		next  string // BootNext after this boot
		ovOff bool   // the override is consumed after this boot
	}
	cases := []struct {
		name     string
		ov       *hardware.BootOverride // UefiTarget "shell" means the UEFI Shell's device path
		order    []string               // nil: the default order
		next     string
		disabled []string
		media    []string
		pending  map[string]any
		boots    []boot
	}{
		{name: "default order boots the first disk",
			boots: []boot{{src: hardware.BootHdd, ref: nvme, via: "BootOrder"}, {src: hardware.BootHdd, ref: nvme, via: "BootOrder"}}},
		{name: "order decides", order: []string{pxe2, nvme},
			boots: []boot{{src: hardware.BootPxe, ref: pxe2, via: "BootOrder"}}},
		{name: "empty CD in the order is skipped", order: []string{vcd, sata, nvme},
			boots: []boot{{src: hardware.BootHdd, ref: sata, via: "BootOrder", note: vcd + " skipped: no medium in CD"}}},
		{name: "CD with medium in the order boots", order: []string{vcd, nvme}, media: []string{"CD"},
			boots: []boot{{src: hardware.BootCd, ref: vcd, via: "BootOrder", slot: "CD"}}},
		{name: "disabled option is skipped", order: []string{sata, nvme}, disabled: []string{sata},
			boots: []boot{{src: hardware.BootHdd, ref: nvme, via: "BootOrder"}}},
		{name: "nothing bootable enters setup", order: []string{vusb, vcd},
			boots: []boot{{src: hardware.BootBiosSetup, note: "nothing bootable"}}},
		{name: "empty order enters setup", order: []string{},
			boots: []boot{{src: hardware.BootBiosSetup, note: "nothing bootable"}}},
		{name: "UEFI-only option skipped in Legacy mode", order: []string{shell, http1, sata}, pending: map[string]any{"BootMode": "Legacy"},
			boots: []boot{{src: hardware.BootHdd, ref: sata, via: "BootOrder", note: shell + " skipped: UEFI only"}}},
		{name: "BootNext boots once, then the order", next: pxe2,
			boots: []boot{{src: hardware.BootPxe, ref: pxe2, via: "BootNext"}, {src: hardware.BootHdd, ref: nvme, via: "BootOrder"}}},
		{name: "BootNext even if not in the order or disabled", order: []string{nvme}, next: shell, disabled: []string{shell},
			boots: []boot{{src: hardware.BootUefiShell, ref: shell, via: "BootNext"}}},
		{name: "BootNext on an empty CD is consumed and falls through", next: vcd,
			boots: []boot{{src: hardware.BootHdd, ref: nvme, via: "BootOrder", note: "BootNext " + vcd + " skipped: no medium in CD"}}},
		{name: "Once override before BootNext, which waits", ov: &hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce}, next: http2,
			boots: []boot{
				{src: hardware.BootPxe, ref: pxe1, via: "boot override", next: http2, ovOff: true},
				{src: hardware.BootUefiHttp, ref: http2, via: "BootNext", ovOff: true},
				{src: hardware.BootHdd, ref: nvme, via: "BootOrder", ovOff: true}}},
		{name: "class override follows the order within the class", ov: &hardware.BootOverride{Target: hardware.BootPxe, Enabled: hardware.BootOnce},
			order: []string{nvme, pxe2, pxe1},
			boots: []boot{{src: hardware.BootPxe, ref: pxe2, via: "boot override", ovOff: true}}},
		{name: "class override skips disabled, then takes them", ov: &hardware.BootOverride{Target: hardware.BootHdd, Enabled: hardware.BootContinuous},
			order: []string{sata, nvme}, disabled: []string{sata},
			boots: []boot{{src: hardware.BootHdd, ref: nvme, via: "boot override"}}},
		{name: "Continuous Cd with medium keeps BootNext waiting", ov: &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootContinuous},
			media: []string{"CD"}, next: pxe1,
			boots: []boot{
				{src: hardware.BootCd, ref: vcd, via: "boot override", slot: "CD", next: pxe1},
				{src: hardware.BootCd, ref: vcd, via: "boot override", slot: "CD", next: pxe1}}},
		{name: "Cd override without medium falls through to BootNext", ov: &hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce},
			next: pxe1, media: []string{"USB"},
			boots: []boot{{src: hardware.BootPxe, ref: pxe1, via: "BootNext", note: "boot override Cd skipped: no medium in CD", ovOff: true}}},
		{name: "Usb override with medium", ov: &hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootOnce}, media: []string{"CD", "USB"},
			boots: []boot{{src: hardware.BootUsb, ref: vusb, via: "boot override", slot: "USB", ovOff: true}}},
		{name: "UefiBootNext boots BootNext and consumes both", ov: &hardware.BootOverride{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce},
			next: vusb, media: []string{"USB"},
			boots: []boot{
				{src: hardware.BootUsb, ref: vusb, via: "boot override UefiBootNext", slot: "USB", ovOff: true},
				{src: hardware.BootHdd, ref: nvme, via: "BootOrder", ovOff: true}}},
		{name: "UefiBootNext without a medium falls through to the order", ov: &hardware.BootOverride{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce},
			next: vusb, order: []string{sata},
			boots: []boot{{src: hardware.BootHdd, ref: sata, via: "BootOrder", note: "boot override UefiBootNext (" + vusb + ") skipped: no medium in USB", ovOff: true}}},
		{name: "UefiTarget boots that device path", ov: &hardware.BootOverride{Target: hardware.BootUefiTarget, Enabled: hardware.BootOnce, UefiTarget: "shell"},
			boots: []boot{{src: hardware.BootUefiShell, ref: shell, via: "boot override UefiTarget", ovOff: true}, {src: hardware.BootHdd, ref: nvme, via: "BootOrder", ovOff: true}}},
		{name: "UefiTarget in Legacy falls through", ov: &hardware.BootOverride{Target: hardware.BootUefiTarget, Enabled: hardware.BootContinuous, Mode: legacy, UefiTarget: "shell"},
			boots: []boot{{src: hardware.BootHdd, ref: nvme, via: "BootOrder", note: "boot override UefiTarget (" + shell + ") skipped: UEFI only"}}},
		{name: "BiosSetup override is not an option", ov: &hardware.BootOverride{Target: hardware.BootBiosSetup, Enabled: hardware.BootOnce}, next: pxe1,
			boots: []boot{{src: hardware.BootBiosSetup, via: "boot override", next: pxe1, ovOff: true}, {src: hardware.BootPxe, ref: pxe1, via: "BootNext", ovOff: true}}},
	}
	im := newImages(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newEnv(t).m
			for _, slot := range c.media {
				if err := m.InsertMedia(context.Background(), slot, im.URL+"/"+slot+".iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
					t.Fatal(err)
				}
			}
			for _, ref := range c.disabled {
				if err := m.SetBootOptionEnabled(ref, false); err != nil {
					t.Fatal(err)
				}
			}
			if c.pending != nil {
				if err := m.SetBiosPending(c.pending); err != nil {
					t.Fatal(err)
				}
			}
			var ch hardware.BootChange
			if c.order != nil {
				ch.Order = &c.order
			}
			if c.next != "" {
				ch.Next = &c.next
			}
			if c.ov != nil {
				ch.Target, ch.Enabled, ch.Mode = c.ov.Target, c.ov.Enabled, c.ov.Mode
				if c.ov.UefiTarget != "" {
					p := devicePath(t, m, shell)
					ch.UefiTarget = &p
				}
			}
			if err := m.ChangeBoot(ch); err != nil {
				t.Fatal(err)
			}
			for i, want := range c.boots {
				got := m.Boot()
				img := ""
				if want.slot != "" {
					img = im.URL + "/" + want.slot + ".iso"
				}
				if got.Source != want.src || got.Option.Reference != want.ref || got.Image != img {
					t.Errorf("boot %d: %s %s %q, want %s %s %q", i+1, got.Source, got.Option.Reference, got.Image, want.src, want.ref, img)
				}
				if got.Option.Reference != "" && got.Option.Alias != got.Source {
					t.Errorf("boot %d: option %+v for source %s", i+1, got.Option, got.Source)
				}
				ev := last(t, m.Events(), hardware.EventBoot)
				by := ""
				if want.via != "" {
					by = "by " + want.via
				}
				for _, s := range []string{"from " + string(want.src), want.ref, by, want.note, img} {
					if !strings.Contains(ev.Message, s) {
						t.Errorf("boot %d: event %q lacks %q", i+1, ev.Message, s)
					}
				}
				if want.via == "" && strings.Contains(ev.Message, " by ") {
					t.Errorf("boot %d: event %q", i+1, ev.Message)
				}
				if n := m.BootNext(); n != want.next {
					t.Errorf("boot %d: BootNext %q after, want %q", i+1, n, want.next)
				}
				if ov := m.BootOverride(); c.ov != nil && (ov.Enabled == hardware.BootDisabled) != want.ovOff {
					t.Errorf("boot %d: override %+v after", i+1, ov)
				}
			}
			// The boots changed neither the order nor the options.
			if c.order != nil && !slices.Equal(m.BootOrder(), c.order) {
				t.Errorf("order %v after the boots, want %v", m.BootOrder(), c.order)
			}
		})
	}
}

// TestChangeBootErrors: every refused field is reported, and a refused
// change changes nothing.
func TestChangeBootErrors(t *testing.T) {
	type want struct {
		f     hardware.BootField
		index int
		p     hardware.BootProblem
		with  hardware.BootField
	}
	str := func(s string) *string { return &s }
	list := func(s ...string) *[]string { return &s }
	for _, c := range []struct {
		name  string
		setup hardware.BootChange // applied first, must succeed
		ch    hardware.BootChange
		want  []want
	}{
		{name: "unknown reference in order", ch: hardware.BootChange{Order: list(nvme, "Boot00FF", "x")},
			want: []want{{hardware.FieldOrder, 1, hardware.BootNotInList, ""}, {hardware.FieldOrder, 2, hardware.BootNotInList, ""}}},
		{name: "duplicate in order", ch: hardware.BootChange{Order: list(nvme, sata, nvme)},
			want: []want{{hardware.FieldOrder, 2, hardware.BootDuplicate, ""}}},
		{name: "case matters", ch: hardware.BootChange{Order: list("boot0001")},
			want: []want{{hardware.FieldOrder, 0, hardware.BootNotInList, ""}}},
		{name: "unknown BootNext", ch: hardware.BootChange{Next: str("Boot0000")},
			want: []want{{hardware.FieldNext, -1, hardware.BootNotInList, ""}}},
		{name: "unknown device path", ch: hardware.BootChange{UefiTarget: str("PciRoot(0x9)")},
			want: []want{{hardware.FieldUefiTarget, -1, hardware.BootNotInList, ""}}},
		{name: "unsupported target and mode", ch: hardware.BootChange{Target: hardware.BootFloppy, Mode: "BIOS", Enabled: "Twice"},
			want: []want{{hardware.FieldTarget, -1, hardware.BootNotInList, ""}, {hardware.FieldEnabled, -1, hardware.BootNotInList, ""},
				{hardware.FieldMode, -1, hardware.BootNotInList, ""}}},
		{name: "UefiBootNext Continuous", ch: hardware.BootChange{Target: hardware.BootUefiBootNext, Enabled: hardware.BootContinuous, Next: str(pxe1)},
			want: []want{{hardware.FieldTarget, -1, hardware.BootConflict, hardware.FieldEnabled}}},
		{name: "Continuous onto UefiBootNext", setup: hardware.BootChange{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce, Next: str(pxe1)},
			ch:   hardware.BootChange{Enabled: hardware.BootContinuous},
			want: []want{{hardware.FieldEnabled, -1, hardware.BootConflict, hardware.FieldTarget}}},
		{name: "UefiBootNext without BootNext", ch: hardware.BootChange{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce},
			want: []want{{hardware.FieldNext, -1, hardware.BootMissing, ""}}},
		{name: "clearing the BootNext UefiBootNext needs", setup: hardware.BootChange{Target: hardware.BootUefiBootNext, Enabled: hardware.BootOnce, Next: str(pxe1)},
			ch:   hardware.BootChange{Next: str("")},
			want: []want{{hardware.FieldNext, -1, hardware.BootConflict, hardware.FieldTarget}}},
		{name: "UefiTarget without a path", ch: hardware.BootChange{Target: hardware.BootUefiTarget, Enabled: hardware.BootOnce},
			want: []want{{hardware.FieldUefiTarget, -1, hardware.BootMissing, ""}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newEnv(t).m
			if err := m.ChangeBoot(c.setup); err != nil {
				t.Fatal(err)
			}
			ov, order, next, g := m.BootOverride(), m.BootOrder(), m.BootNext(), m.Generation()
			if err := m.CheckBoot(c.ch); err == nil {
				t.Error("CheckBoot accepted it")
			}
			err := m.ChangeBoot(c.ch)
			var errs hardware.BootErrors
			if !errors.As(err, &errs) || !errors.Is(err, hardware.ErrInvalid) {
				t.Fatalf("%v is not BootErrors", err)
			}
			if len(errs) != len(c.want) {
				t.Fatalf("errors %v, want %d", errs, len(c.want))
			}
			for i, w := range c.want {
				if e := errs[i]; e.Field != w.f || e.Index != w.index || e.Problem != w.p || e.With != w.with {
					t.Errorf("error %d: %+v, want %+v", i, e, w)
				}
			}
			if m.BootOverride() != ov || !slices.Equal(m.BootOrder(), order) || m.BootNext() != next || m.Generation() != g {
				t.Error("a refused change changed something")
			}
		})
	}
}

// TestBootSettingsPersist: order, BootNext, disabled options and a
// UefiTarget override survive a restart; SetDefaultBootOrder restores the
// backend's order.
func TestBootSettingsPersist(t *testing.T) {
	e := newEnv(t)
	m := e.m
	def := m.BootOrder()
	if len(def) != 10 || def[0] != nvme || def[9] != sata2 || m.BootNext() != "" {
		t.Fatalf("default order %v, BootNext %q", def, m.BootNext())
	}
	path := devicePath(t, m, http1)
	order := []string{pxe1, nvme}
	next := vcd
	evs := len(m.Events())
	if err := m.ChangeBoot(hardware.BootChange{Order: &order, Next: &next, Target: hardware.BootUefiTarget,
		Enabled: hardware.BootContinuous, UefiTarget: &path}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetBootOptionEnabled(nvme, false); err != nil {
		t.Fatal(err)
	}
	if n := len(m.Events()) - evs; n != 4 { // override, order, BootNext, option
		t.Errorf("%d events for 4 changes: %v", n, m.Events()[evs:])
	}
	if err := m.ChangeBoot(hardware.BootChange{Order: &order, Next: &next}); err != nil || len(m.Events())-evs != 4 {
		t.Errorf("the same change again: %v, %d events", err, len(m.Events())-evs)
	}
	e.reopen()
	m = e.m
	if !slices.Equal(m.BootOrder(), order) || m.BootNext() != vcd || m.BootOverride().UefiTarget != path ||
		m.BootOverride().Target != hardware.BootUefiTarget {
		t.Errorf("after restart: order %v, BootNext %q, override %+v", m.BootOrder(), m.BootNext(), m.BootOverride())
	}
	if o, _ := m.BootOption(nvme); !o.Disabled {
		t.Error("nvme enabled again after restart")
	}
	if opts := m.BootOptions(); len(opts) != 10 || !opts[0].Disabled || opts[1].Disabled {
		t.Errorf("options %+v", opts)
	}
	if err := m.SetBootOptionEnabled("Boot1234", false); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("unknown option: %v", err)
	}
	if err := m.SetDefaultBootOrder(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.BootOrder(), def) {
		t.Errorf("default order %v", m.BootOrder())
	}
	e.reopen()
	if !slices.Equal(e.m.BootOrder(), def) {
		t.Errorf("default order after restart %v", e.m.BootOrder())
	}
}

// TestBootEvents: each boot manager change is logged once, as an event
// whose fields say what changed (for Redfish's MessageArgs), and the
// fields survive a restart; a change that changes nothing logs nothing.
func TestBootEvents(t *testing.T) {
	e := newEnv(t)
	m := e.m
	def := m.BootOrder()
	order, empty, next, none := []string{pxe1, sata, nvme}, []string{}, pxe2, ""
	type want struct {
		kind    hardware.EventKind
		order   []string
		option  string
		enabled bool
		message string
	}
	for _, tc := range []struct {
		name   string
		change func() error
		want   []want // in log order
	}{
		{"order", func() error { return m.ChangeBoot(hardware.BootChange{Order: &order}) },
			[]want{{kind: hardware.EventBootOrderSet, order: order, message: "Boot order set: Boot0005, Boot0002, Boot0001"}}},
		{"same order", func() error { return m.ChangeBoot(hardware.BootChange{Order: &order}) }, nil},
		{"BootNext", func() error { return m.ChangeBoot(hardware.BootChange{Next: &next}) },
			[]want{{kind: hardware.EventBootNext, option: pxe2, message: "BootNext set: Boot0007"}}},
		{"BootNext cleared", func() error { return m.ChangeBoot(hardware.BootChange{Next: &none}) },
			[]want{{kind: hardware.EventBootNext, message: "BootNext cleared"}}},
		{"order and BootNext", func() error { return m.ChangeBoot(hardware.BootChange{Order: &empty, Next: &next}) },
			[]want{{kind: hardware.EventBootOrderSet, order: []string{}, message: "Boot order set: "},
				{kind: hardware.EventBootNext, option: pxe2, message: "BootNext set: Boot0007"}}},
		{"option disabled", func() error { return m.SetBootOptionEnabled(pxe1, false) },
			[]want{{kind: hardware.EventBootOptionEnabled, option: pxe1, enabled: false, message: "Boot option Boot0005 disabled"}}},
		{"option disabled again", func() error { return m.SetBootOptionEnabled(pxe1, false) }, nil},
		{"option enabled", func() error { return m.SetBootOptionEnabled(pxe1, true) },
			[]want{{kind: hardware.EventBootOptionEnabled, option: pxe1, enabled: true, message: "Boot option Boot0005 enabled"}}},
		{"default order", m.SetDefaultBootOrder,
			[]want{{kind: hardware.EventBootOrderReset, order: def, message: "Boot order set to the default: " + strings.Join(def, ", ")}}},
		{"default order again", m.SetDefaultBootOrder, nil},
	} {
		before := len(m.Events())
		if err := tc.change(); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := m.Events()[before:]
		if len(got) != len(tc.want) {
			t.Errorf("%s: %d events, want %d: %+v", tc.name, len(got), len(tc.want), got)
			continue
		}
		for i, w := range tc.want {
			g := got[i]
			if g.Kind != w.kind || !slices.Equal(g.BootOrder, w.order) || (w.order != nil) != (g.BootOrder != nil) ||
				g.BootOption != w.option || g.BootOptionEnabled != w.enabled || g.Message != w.message || g.Severity != hardware.SeverityOK {
				t.Errorf("%s: event %d %+v, want %+v", tc.name, i, g, w)
			}
		}
	}
	logged := m.Events()
	e.reopen()
	after := e.m.Events()
	if len(after) != len(logged) {
		t.Fatalf("%d events after restart, %d before", len(after), len(logged))
	}
	for i := range logged {
		a, b := logged[i], after[i]
		// An empty order is stored as absent; the kind still says what it was.
		if a.Kind != b.Kind || !slices.Equal(a.BootOrder, b.BootOrder) || a.BootOption != b.BootOption || a.BootOptionEnabled != b.BootOptionEnabled {
			t.Errorf("event %d after restart %+v, before %+v", i, b, a)
		}
	}
}

// TestBootOverrideDevice: UefiBootNext and UefiTarget report the class of
// the option they resolve to (what IPMI's boot flags can say).
func TestBootOverrideDevice(t *testing.T) {
	m := newEnv(t).m
	next, path := pxe2, devicePath(t, m, vcd)
	for _, c := range []struct {
		ch   hardware.BootChange
		want hardware.BootSource
	}{
		{hardware.BootChange{Target: hardware.BootHdd, Enabled: hardware.BootOnce}, hardware.BootHdd},
		{hardware.BootChange{Target: hardware.BootUefiBootNext, Next: &next}, hardware.BootPxe},
		{hardware.BootChange{Target: hardware.BootUefiTarget, UefiTarget: &path}, hardware.BootCd},
		{hardware.BootChange{Target: hardware.BootNone, Enabled: hardware.BootDisabled}, hardware.BootNone},
	} {
		if err := m.ChangeBoot(c.ch); err != nil {
			t.Fatal(err)
		}
		if got := m.BootOverrideDevice(); got != c.want {
			t.Errorf("%+v: device %s, want %s", c.ch, got, c.want)
		}
	}
}

// TestNoBootOptions: a backend that declares no options has no order and
// refuses references, but still takes override changes.
func TestNoBootOptions(t *testing.T) {
	m, err := hardware.NewMachine("kvm", &atx{power: hardware.PowerOff}, newMemStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.BootOptions()) != 0 || len(m.BootOrder()) != 0 {
		t.Errorf("options %v order %v", m.BootOptions(), m.BootOrder())
	}
	order, next := []string{"Boot0001"}, "Boot0001"
	if err := m.ChangeBoot(hardware.BootChange{Order: &order}); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("order: %v", err)
	}
	if err := m.ChangeBoot(hardware.BootChange{Next: &next}); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("BootNext: %v", err)
	}
	if err := m.SetDefaultBootOrder(); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("SetDefaultBootOrder: %v", err)
	}
	if res := m.Boot(); res.Source != hardware.BootHdd || res.Option.Reference != "" {
		t.Errorf("boot %+v", res)
	}
}

// TestBootAllowable: what the machine publishes as allowable is exactly
// what CheckBoot accepts, field by field, and a machine without boot
// control publishes nothing and accepts anything.
func TestBootAllowable(t *testing.T) {
	m := newEnv(t).m
	a := m.BootAllowable()
	if !a.Supported() || !m.BootOverrideSupported() || a.Targets[0] != hardware.BootNone ||
		!slices.Equal(a.Enabled, []hardware.BootEnabled{hardware.BootDisabled, hardware.BootOnce, hardware.BootContinuous}) ||
		!slices.Equal(a.Modes, []hardware.BootMode{hardware.BootModeUEFI, hardware.BootModeLegacy}) {
		t.Fatalf("sim allowable %+v", a)
	}
	for _, target := range a.Targets {
		// UefiBootNext and UefiTarget need what they name.
		c := hardware.BootChange{Target: target, Enabled: hardware.BootOnce}
		switch target {
		case hardware.BootUefiBootNext:
			c.Next = ptr(nvme)
		case hardware.BootUefiTarget:
			c.UefiTarget = ptr(devicePath(t, m, nvme))
		}
		if err := m.CheckBoot(c); err != nil {
			t.Errorf("allowable target %s refused: %v", target, err)
		}
	}
	for _, e := range a.Enabled {
		if err := m.CheckBoot(hardware.BootChange{Target: hardware.BootPxe, Enabled: e}); err != nil {
			t.Errorf("allowable enabled %s refused: %v", e, err)
		}
	}
	for _, md := range a.Modes {
		if err := m.CheckBoot(hardware.BootChange{Mode: md}); err != nil {
			t.Errorf("allowable mode %s refused: %v", md, err)
		}
	}
	for _, tc := range []struct {
		c     hardware.BootChange
		field hardware.BootField
	}{
		{hardware.BootChange{Target: hardware.BootFloppy}, hardware.FieldTarget},
		{hardware.BootChange{Target: "Tape"}, hardware.FieldTarget},
		{hardware.BootChange{Enabled: "Twice"}, hardware.FieldEnabled},
		{hardware.BootChange{Mode: "BIOS"}, hardware.FieldMode},
	} {
		var errs hardware.BootErrors
		if err := m.CheckBoot(tc.c); !errors.As(err, &errs) || len(errs) != 1 || errs[0].Field != tc.field || errs[0].Problem != hardware.BootNotInList {
			t.Errorf("%+v: %v, want %s not in list", tc.c, err, tc.field)
		}
	}
}
