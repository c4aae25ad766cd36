package hardware

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// BootControl is how the BMC tells the host what to boot. There are two
// kinds, and a backend may be both:
//
//   - a firmware that asks at boot time (the simulation, a real BIOS
//     reading IPMI boot flags): the backend calls Host.Booted when the
//     firmware picks its device and boots what it returns;
//   - a machine whose boot device is set before it starts (a libvirt
//     domain's XML, a vSphere VM's boot order): the Machine calls
//     SetNextBoot before every power-on or reset, and again whenever the
//     plan changes (an override set, or consumed at a boot, media
//     inserted), and the backend writes the plan into the machine's
//     definition; it still reports each boot it observes (the VM
//     started) through Host.Booted, which consumes a one-time override.
//
// A machine whose boot device the BMC cannot change (a board wired to ATX
// pins) has DisabledBootControl: no targets, and a boot override is
// accepted and recorded as Disabled (the PiKVM behaviour OKD needs).
type BootControl interface {
	// BootTargets are the override targets the backend can honour.
	BootTargets() []BootSource
	// BootModes are the boot modes it can honour, the default first.
	BootModes() []BootMode
	// BootOptions are the firmware's UEFI boot options (Boot####), in the
	// order it enumerates them, which is also the default boot order.
	// Empty when the firmware's boot order is not visible to the BMC:
	// without an override it boots the disk.
	BootOptions() []BootOption
	// SetNextBoot hands the backend what the next boot is to use: once
	// when the Machine starts, before every reset, and after each change
	// of the plan (never the same plan twice in a row). A firmware that
	// asks at boot time ignores it. An error keeps the reset from
	// happening; one that is not of this package's (ErrBusy, ErrState...)
	// is taken as ErrUnavailable.
	SetNextBoot(ctx context.Context, p BootPlan) error
}

// BootPlan is what the next boot will use if nothing changes before it:
// the device the firmware would pick now (Machine.Boot's rules, without
// consuming anything), its mode, Secure Boot, and the BIOS settings that
// take effect at that boot.
type BootPlan struct {
	// Source is the device class to boot: the override's target, else
	// BootNext's or the boot order's first bootable option's class, else
	// Hdd when the backend declares no options (BiosSetup when none of its
	// options can boot). Option is the boot option, zero when the backend
	// declares none or the target is not an option (BiosSetup, Diags);
	// Image the virtual media image, when it boots a media slot.
	Source BootSource
	Option BootOption
	Image  string
	Mode   BootMode
	// Once: the plan comes from a one-time override, consumed by the next
	// boot (Host.Booted); a backend that writes the boot device into the
	// machine's definition gets the plan after it again.
	Once bool
	// UefiTarget is the device path booted, for a UefiTarget override.
	UefiTarget string
	// SecureBoot: the firmware enforces Secure Boot at that boot.
	SecureBoot bool
	// Order is the boot order (option references), enabled options only;
	// nil when the backend declares no options.
	Order []string
	// Bios are the BIOS attributes in force at that boot: current ones
	// with the pending ones applied. BootMode is always there (the
	// Machine keeps it even without FirmwareSettings).
	Bios map[string]any
}

// DisabledBootControl is the boot control of a machine whose boot device
// the BMC cannot change.
type DisabledBootControl struct{}

// BootTargets implements BootControl: none.
func (DisabledBootControl) BootTargets() []BootSource { return nil }

// BootModes implements BootControl: none.
func (DisabledBootControl) BootModes() []BootMode { return nil }

// BootOptions implements BootControl: none.
func (DisabledBootControl) BootOptions() []BootOption { return nil }

// SetNextBoot implements BootControl: nothing to do.
func (DisabledBootControl) SetNextBoot(context.Context, BootPlan) error { return nil }

// NextBoot is the plan for the next boot: what Boot would choose now,
// without consuming an override or BootNext.
func (m *Machine) NextBoot() BootPlan {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.planLocked()
}

func (m *Machine) planLocked() BootPlan {
	st := m.st.clone()
	for k, v := range st.BiosPending {
		st.Bios[k] = v
	}
	once := st.Override.Enabled == BootOnce && st.Override.Target != BootNone && m.BootOverrideSupported()
	res, _, _ := m.chooseLocked(&st)
	p := BootPlan{
		Source: res.Source, Option: res.Option, Image: res.Image, Mode: res.Mode,
		Once: once, SecureBoot: st.SecureBoot && res.Mode == BootModeUEFI,
		Bios: st.Bios,
	}
	if m.st.Override.Target == BootUefiTarget && m.st.Override.Enabled != BootDisabled {
		p.UefiTarget = m.st.Override.UefiTarget
	}
	for _, ref := range m.orderLocked(&st) {
		if !slices.Contains(st.BootDisabled, ref) {
			p.Order = append(p.Order, ref)
		}
	}
	return p
}

// planTimeout bounds how long a backend may take to record a plan that
// changed outside a reset.
const planTimeout = 30 * time.Second

// handPlan gives the backend the plan for the next boot, before a reset
// that may boot the host and after every change: the same plan is handed
// once (a libvirt backend redefines its domain for each), and nothing once
// the machine is closed. A failure is ErrUnavailable unless the backend
// said more.
func (m *Machine) handPlan(ctx context.Context) error {
	if disabled(m.parts.Boot) {
		return nil
	}
	m.planMu.Lock()
	defer m.planMu.Unlock()
	m.planQueued.Store(false) // changes from now on queue another
	if m.closed {
		return fmt.Errorf("set next boot: machine closed: %w", ErrState)
	}
	p := m.NextBoot()
	if m.handed != nil && reflect.DeepEqual(*m.handed, p) {
		return nil
	}
	if err := m.parts.Boot.SetNextBoot(ctx, p); err != nil {
		if !classified(err) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("set next boot: %w", err)
	}
	m.handed = &p
	return nil
}

// classified reports whether err is one of the machine model's errors.
func classified(err error) bool {
	for _, e := range []error{ErrNotSupported, ErrInvalid, ErrBusy, ErrNotFound, ErrState, ErrMedia, ErrFull, ErrExists, ErrUnavailable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// planChanged hands the backend the new plan after a change that did not
// come with a reset (an override set or consumed, media inserted), in the
// background: the caller may hold the backend's own locks (Host.Booted).
// Plans handed in order; a failure is logged, and the next reset tries
// again.
func (m *Machine) planChanged() {
	if disabled(m.parts.Boot) || !m.planQueued.CompareAndSwap(false, true) {
		return // a hand-over is queued already; it reads the latest state
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		if err := m.handPlan(ctx); err != nil {
			m.log.Warn("boot plan not recorded by the backend", "err", err)
		}
	}()
}
