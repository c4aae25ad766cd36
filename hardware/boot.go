package hardware

import (
	"fmt"
	"slices"
	"strings"
)

// BootOption is one of the firmware's UEFI boot options: a Boot####
// load option (UEFI 2.10 §3.1.3), what the boot order and BootNext name.
type BootOption struct {
	// Reference is the option's variable name, e.g. "Boot0001": unique.
	Reference   string
	DisplayName string
	// Alias is the device class the option boots (Hdd, Cd, Usb, Pxe,
	// UefiHttp, UefiShell): what a class override such as Cd picks it by.
	Alias BootSource
	// DevicePath is the UEFI device path in its text form (UEFI §10.6),
	// what BootOverride.UefiTarget names.
	DevicePath string
	// What the option boots, when it is part of the inventory: a virtual
	// media slot (the option boots only while it holds a medium), a NIC,
	// a disk (their IDs).
	Slot, NIC, Disk string
	// Disabled is the LOAD_OPTION_ACTIVE attribute cleared: the boot order
	// skips the option. Backends declare options enabled; the Machine
	// keeps this setting.
	Disabled bool
}

// uefiOnly reports whether an option class cannot boot in Legacy mode.
func uefiOnly(b BootSource) bool { return b == BootUefiShell || b == BootUefiHttp }

func bootOptionIndex(opts []BootOption) ([]BootOption, map[string]int) {
	out := make([]BootOption, 0, len(opts))
	idx := make(map[string]int, len(opts))
	for _, o := range opts {
		if _, dup := idx[o.Reference]; dup || o.Reference == "" {
			continue // a backend bug; the first declaration wins
		}
		o.Disabled = false
		idx[o.Reference] = len(out)
		out = append(out, o)
	}
	return out, idx
}

// loadBootLocked drops persisted references to options the backend no
// longer has.
func (m *Machine) loadBootLocked() {
	known := func(ref string) bool { _, ok := m.optIdx[ref]; return ok }
	m.st.BootOrder = slices.DeleteFunc(m.st.BootOrder, func(r string) bool { return !known(r) })
	m.st.BootDisabled = slices.DeleteFunc(m.st.BootDisabled, func(r string) bool { return !known(r) })
	if !known(m.st.BootNext) {
		m.st.BootNext = ""
	}
}

// BootOptions lists the firmware's boot options in the backend's order,
// with their enabled state. Empty when the backend declares none.
func (m *Machine) BootOptions() []BootOption {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.opts)
	for i := range out {
		out[i].Disabled = slices.Contains(m.st.BootDisabled, out[i].Reference)
	}
	return out
}

// BootOption returns one boot option by reference.
func (m *Machine) BootOption(ref string) (BootOption, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, ok := m.optIdx[ref]
	if !ok {
		return BootOption{}, false
	}
	o := m.opts[i]
	o.Disabled = slices.Contains(m.st.BootDisabled, ref)
	return o, true
}

// BootOrder is the persistent boot order: option references, first tried
// first. Until one is set it is every option in the backend's order.
func (m *Machine) BootOrder() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.orderLocked(&m.st)
}

func (m *Machine) orderLocked(st *state) []string {
	if st.BootOrderSet {
		return slices.Clone(st.BootOrder)
	}
	out := make([]string, len(m.opts))
	for i, o := range m.opts {
		out[i] = o.Reference
	}
	return out
}

// BootNext is the option the firmware boots once at the next boot (UEFI
// BootNext), or "".
func (m *Machine) BootNext() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.BootNext
}

// BootOverride returns the current override. Its Mode is always the mode
// the next boot uses, as Redfish's BootSourceOverrideMode and IPMI's
// efiboot flag report it (and Ironic reads the node's boot mode from it):
// an active one-time override's own mode, else the BIOS BootMode the
// firmware reads at the next POST (a pending value included).
func (m *Machine) BootOverride() BootOverride {
	m.mu.Lock()
	defer m.mu.Unlock()
	ov := m.st.Override
	ov.Mode = m.nextModeLocked(&m.st)
	return ov
}

// nextModeLocked is the mode the next boot uses: see BootOverride.
func (m *Machine) nextModeLocked(st *state) BootMode {
	if ov := st.Override; ov.Enabled == BootOnce && ov.Target != BootNone && ov.Mode != "" && m.BootOverrideSupported() {
		return ov.Mode
	}
	return m.biosNextModeLocked(st)
}

// biosNextModeLocked is the BIOS BootMode the next POST reads: the pending
// value if one is staged, else the current one.
func (m *Machine) biosNextModeLocked(st *state) BootMode {
	if s, ok := st.BiosPending["BootMode"].(string); ok {
		return biosMode(map[string]any{"BootMode": s}, m.defaultMode())
	}
	return biosMode(st.Bios, m.defaultMode())
}

// BootOverrideDevice is the device class the current override boots:
// its target, or for UefiBootNext and UefiTarget the class of the option
// they resolve to (None if none), so protocols that know only classes
// (IPMI's boot flags) can report it.
func (m *Machine) BootOverrideDevice() BootSource {
	m.mu.Lock()
	defer m.mu.Unlock()
	ov := m.st.Override
	switch ov.Target {
	case BootUefiBootNext:
		if i, ok := m.optIdx[m.st.BootNext]; ok {
			return m.opts[i].Alias
		}
		return BootNone
	case BootUefiTarget:
		if o, ok := m.optionByPath(ov.UefiTarget); ok {
			return o.Alias
		}
		return BootNone
	}
	return ov.Target
}

func (m *Machine) optionByPath(p string) (BootOption, bool) {
	for _, o := range m.opts {
		if p != "" && o.DevicePath == p {
			return o, true
		}
	}
	return BootOption{}, false
}

// BootOverrideSupported reports whether the backend can change the boot
// device (BootAllowable().Supported()). When it cannot, override changes
// are accepted and ignored.
func (m *Machine) BootOverrideSupported() bool { return m.BootAllowable().Supported() }

// BootAllowable is what a boot override may be set to on a machine: the
// values ChangeBoot accepts for BootChange.Target, Enabled and Mode, which
// Redfish publishes as @Redfish.AllowableValues and IPMI maps its boot
// flags onto. A machine without boot control has no Targets and no
// Enabled values: it accepts any override and ignores it.
type BootAllowable struct {
	// Targets are BootNone, then every device class the backend can boot.
	Targets []BootSource
	// Enabled are Disabled, Once and Continuous.
	Enabled []BootEnabled
	// Modes are the firmware's boot modes, its default first; empty when
	// the backend does not say (the firmware boots UEFI).
	Modes []BootMode
}

// Supported reports whether an override can change the boot device.
func (a BootAllowable) Supported() bool { return len(a.Targets) > 0 }

// AllowsTarget reports whether t is one of the Targets.
func (a BootAllowable) AllowsTarget(t BootSource) bool { return slices.Contains(a.Targets, t) }

// AllowsEnabled reports whether e is one of the Enabled values.
func (a BootAllowable) AllowsEnabled(e BootEnabled) bool { return slices.Contains(a.Enabled, e) }

// AllowsMode reports whether md is one of the Modes.
func (a BootAllowable) AllowsMode(md BootMode) bool { return slices.Contains(a.Modes, md) }

// BootAllowable returns what a boot override may be set to. It is the one
// place the machine reads the backend's boot targets and modes from.
func (m *Machine) BootAllowable() BootAllowable {
	a := BootAllowable{Modes: slices.Clone(m.caps.BootModes)}
	if len(m.caps.BootTargets) == 0 {
		return a
	}
	a.Targets = []BootSource{BootNone}
	for _, t := range m.caps.BootTargets {
		if !slices.Contains(a.Targets, t) {
			a.Targets = append(a.Targets, t)
		}
	}
	a.Enabled = []BootEnabled{BootDisabled, BootOnce, BootContinuous}
	return a
}

// BootChange is one change to the boot configuration, checked whole and
// applied in one durable write. Empty Target, Enabled and Mode and nil
// pointers leave the setting as it is.
type BootChange struct {
	Target     BootSource
	Enabled    BootEnabled
	Mode       BootMode
	UefiTarget *string   // "" clears
	Order      *[]string // the new persistent boot order
	Next       *string   // "" clears
}

// BootField names a setting of a BootChange, in the terms of the UEFI
// boot manager and the Redfish Boot object.
type BootField string

// Boot fields.
const (
	FieldTarget     BootField = "Target"
	FieldEnabled    BootField = "Enabled"
	FieldMode       BootField = "Mode"
	FieldUefiTarget BootField = "UefiTarget"
	FieldOrder      BootField = "BootOrder"
	FieldNext       BootField = "BootNext"
)

// BootProblem says what is wrong with a field of a BootChange.
type BootProblem string

// Boot problems.
const (
	BootNotInList BootProblem = "is not a value this machine accepts"
	BootDuplicate BootProblem = "appears twice"
	BootMissing   BootProblem = "is required"
	BootConflict  BootProblem = "conflicts"
)

// BootError is one refused field of a BootChange. It wraps ErrInvalid.
type BootError struct {
	Field   BootField
	Index   int // position in the boot order (FieldOrder), else -1
	Value   string
	Problem BootProblem
	// With is the field a BootConflict is with; for a BootDuplicate,
	// Other is the position of the first occurrence.
	With  BootField
	Other int
}

func (e *BootError) Error() string {
	f := string(e.Field)
	if e.Index >= 0 {
		f = fmt.Sprintf("%s[%d]", f, e.Index)
	}
	switch e.Problem {
	case BootDuplicate:
		return fmt.Sprintf("boot %s %q appears twice (also at %d)", f, e.Value, e.Other)
	case BootConflict:
		return fmt.Sprintf("boot %s %q conflicts with %s", f, e.Value, e.With)
	case BootMissing:
		return fmt.Sprintf("boot %s is required", f)
	}
	return fmt.Sprintf("boot %s %q %s", f, e.Value, e.Problem)
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *BootError) Unwrap() error { return ErrInvalid }

// BootErrors are every problem of a refused BootChange, in field order;
// nothing was changed.
type BootErrors []*BootError

func (es BootErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Unwrap makes errors.Is see ErrInvalid.
func (es BootErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// CheckBoot reports whether ChangeBoot would accept c (BootErrors if not),
// changing nothing, so a caller can validate a whole request first.
func (m *Machine) CheckBoot(c BootChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, errs := m.checkBootLocked(c)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// ChangeBoot applies c as one durable change and logs it. Every field is
// checked first: options named must exist, the boot order may not repeat
// one, targets and modes must be ones the backend can boot, UefiBootNext
// needs a BootNext and is one-time only, UefiTarget needs the device path
// of an option. The error is BootErrors and nothing changes if any fails.
// A backend without boot control accepts override changes and ignores
// them, as PiKVM does, so provisioning tools carry on. A Mode with a
// resulting Once override is that boot's only; with Continuous or Disabled
// it is staged as the BIOS BootMode (see settleModeLocked).
func (m *Machine) ChangeBoot(c BootChange) error {
	return m.Apply(Change{Boot: &c})
}

// applyBootLocked stores the boot settings of next (from checkBootLocked)
// and logs what changed; the caller holds m.mu.
func (m *Machine) applyBootLocked(next state) error {
	prev := m.st
	biosModeChanged := m.biosNextModeLocked(&next) != m.biosNextModeLocked(&prev)
	if next.Override == prev.Override && next.BootNext == prev.BootNext && !biosModeChanged &&
		next.BootOrderSet == prev.BootOrderSet && slices.Equal(next.BootOrder, prev.BootOrder) {
		return nil
	}
	if err := m.updateLocked(func(st *state) error {
		if biosModeChanged {
			st.BiosPending = cloneMap(next.BiosPending)
		}
		st.Override, st.BootNext = next.Override, next.BootNext
		st.BootOrder, st.BootOrderSet = next.BootOrder, next.BootOrderSet
		return nil
	}); err != nil {
		return err
	}
	if ov := next.Override; ov != prev.Override {
		msg := fmt.Sprintf("Boot override set: %s %s (%s)", ov.Target, ov.Enabled, ov.Mode)
		if ov.Target == BootUefiTarget {
			msg += " device path " + ov.UefiTarget
		}
		m.logLocked(Event{Kind: EventBootOverride, Severity: SeverityOK, Message: msg,
			Source: ov.Target, Enabled: ov.Enabled, Mode: ov.Mode})
	}
	if biosModeChanged {
		m.log.Info("BIOS BootMode staged by the boot override mode", "mode", m.biosNextModeLocked(&next))
	}
	if next.BootOrderSet != prev.BootOrderSet || !slices.Equal(next.BootOrder, prev.BootOrder) {
		m.logLocked(Event{Kind: EventBootOrderSet, Severity: SeverityOK,
			Message: "Boot order set: " + strings.Join(next.BootOrder, ", "), BootOrder: slices.Clone(next.BootOrder)})
	}
	if next.BootNext != prev.BootNext {
		msg := "BootNext cleared"
		if next.BootNext != "" {
			msg = "BootNext set: " + next.BootNext
		}
		m.logLocked(Event{Kind: EventBootNext, Severity: SeverityOK, Message: msg, BootOption: next.BootNext})
	}
	return nil
}

// checkBootLocked computes the boot settings c leads to and every problem
// with them.
func (m *Machine) checkBootLocked(c BootChange) (state, BootErrors) {
	next := state{Override: m.st.Override, BootNext: m.st.BootNext,
		BootOrder: slices.Clone(m.st.BootOrder), BootOrderSet: m.st.BootOrderSet,
		Bios: m.st.Bios, BiosPending: m.st.BiosPending}
	var errs BootErrors
	bad := func(f BootField, v string, p BootProblem) {
		errs = append(errs, &BootError{Field: f, Index: -1, Value: v, Problem: p})
	}
	allow := m.BootAllowable()
	if allow.Supported() {
		ov := &next.Override
		if c.Target != "" {
			if !allow.AllowsTarget(c.Target) {
				bad(FieldTarget, string(c.Target), BootNotInList)
			}
			ov.Target = c.Target
		}
		if c.Enabled != "" {
			if !allow.AllowsEnabled(c.Enabled) {
				bad(FieldEnabled, string(c.Enabled), BootNotInList)
			}
			ov.Enabled = c.Enabled
		}
		if c.Mode != "" {
			if !allow.AllowsMode(c.Mode) {
				bad(FieldMode, string(c.Mode), BootNotInList)
			}
			ov.Mode = c.Mode
		}
		if c.UefiTarget != nil {
			if _, ok := m.optionByPath(*c.UefiTarget); *c.UefiTarget != "" && !ok {
				bad(FieldUefiTarget, *c.UefiTarget, BootNotInList)
			}
			ov.UefiTarget = *c.UefiTarget
		}
	}
	if c.Order != nil {
		seen := map[string]int{}
		for i, ref := range *c.Order {
			if _, ok := m.optIdx[ref]; !ok {
				errs = append(errs, &BootError{Field: FieldOrder, Index: i, Value: ref, Problem: BootNotInList})
			} else if j, dup := seen[ref]; dup {
				errs = append(errs, &BootError{Field: FieldOrder, Index: i, Value: ref, Problem: BootDuplicate, Other: j})
			} else {
				seen[ref] = i
			}
		}
		next.BootOrder, next.BootOrderSet = slices.Clone(*c.Order), true
		if next.BootOrder == nil {
			next.BootOrder = []string{}
		}
	}
	if c.Next != nil {
		if _, ok := m.optIdx[*c.Next]; *c.Next != "" && !ok {
			bad(FieldNext, *c.Next, BootNotInList)
		}
		next.BootNext = *c.Next
	}
	if len(errs) == 0 && allow.Supported() {
		m.settleModeLocked(&next, c)
	}
	if ov := next.Override; len(errs) == 0 && ov.Enabled != BootDisabled {
		switch ov.Target {
		case BootUefiBootNext:
			switch {
			case ov.Enabled == BootContinuous && c.Target != "":
				errs = append(errs, &BootError{Field: FieldTarget, Index: -1, Value: string(ov.Target), Problem: BootConflict, With: FieldEnabled})
			case ov.Enabled == BootContinuous:
				errs = append(errs, &BootError{Field: FieldEnabled, Index: -1, Value: string(ov.Enabled), Problem: BootConflict, With: FieldTarget})
			case next.BootNext == "" && c.Next != nil:
				errs = append(errs, &BootError{Field: FieldNext, Index: -1, Value: "", Problem: BootConflict, With: FieldTarget})
			case next.BootNext == "":
				bad(FieldNext, "", BootMissing)
			}
		case BootUefiTarget:
			if ov.UefiTarget == "" {
				bad(FieldUefiTarget, "", BootMissing)
			}
		}
	}
	return next, errs
}

// settleModeLocked makes next's boot modes one truth. A mode asked for
// with a one-time override is that boot's only; asked for with a
// Continuous or Disabled override it is the firmware's persistent mode, so
// it is staged as the BIOS BootMode for the next POST (as OpenBMC and
// iDRAC do when BootSourceOverrideMode is set). A one-time override armed
// without a mode boots in the mode the firmware would use anyway.
func (m *Machine) settleModeLocked(next *state, c BootChange) {
	ov := &next.Override
	if ov.Enabled == BootOnce {
		switch {
		case c.Mode != "":
		case m.st.Override.Enabled == BootOnce && m.st.Override.Target != BootNone && ov.Mode != "":
			// the armed override keeps its mode
		default:
			ov.Mode = m.biosNextModeLocked(next)
		}
		return
	}
	if c.Mode != "" && c.Mode != m.biosNextModeLocked(next) {
		p := cloneMap(next.BiosPending)
		if p == nil {
			p = map[string]any{}
		}
		if cur := biosMode(next.Bios, m.defaultMode()); cur == c.Mode {
			delete(p, "BootMode")
		} else {
			p["BootMode"] = string(c.Mode)
		}
		if len(p) == 0 {
			p = nil
		}
		next.BiosPending = p
	}
	if c.Mode != "" {
		// Without one the stored mode stays: it is not read while no
		// one-time override is active, and rewriting it would log an
		// override change nobody made.
		ov.Mode = c.Mode
	}
}

// SetBootOverride records a new override for the next boot(s), as
// ChangeBoot does: empty fields keep their current value.
func (m *Machine) SetBootOverride(ov BootOverride) error {
	c := BootChange{Target: ov.Target, Enabled: ov.Enabled, Mode: ov.Mode}
	if ov.UefiTarget != "" {
		c.UefiTarget = &ov.UefiTarget
	}
	return m.ChangeBoot(c)
}

// SetBootOptionEnabled sets an option's LOAD_OPTION_ACTIVE attribute: a
// disabled option stays in the boot order but is skipped. ErrNotFound for
// an unknown reference.
func (m *Machine) SetBootOptionEnabled(ref string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.optIdx[ref]; !ok {
		return fmt.Errorf("boot option %q: %w", ref, ErrNotFound)
	}
	if slices.Contains(m.st.BootDisabled, ref) != on {
		return nil
	}
	err := m.updateLocked(func(st *state) error {
		st.BootDisabled = slices.DeleteFunc(st.BootDisabled, func(r string) bool { return r == ref })
		if !on {
			st.BootDisabled = append(st.BootDisabled, ref)
		}
		return nil
	})
	if err != nil {
		return err
	}
	state := "enabled"
	if !on {
		state = "disabled"
	}
	m.logLocked(Event{Kind: EventBootOptionEnabled, Severity: SeverityOK, Message: fmt.Sprintf("Boot option %s %s", ref, state),
		BootOption: ref, BootOptionEnabled: on})
	return nil
}

// SetDefaultBootOrder restores the backend's boot order (every option, in
// its order). ErrNotSupported when the backend declares no options.
func (m *Machine) SetDefaultBootOrder() error {
	if len(m.opts) == 0 {
		return fmt.Errorf("boot order: %w", ErrNotSupported)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.st.BootOrderSet {
		return nil
	}
	err := m.updateLocked(func(st *state) error { st.BootOrder, st.BootOrderSet = nil, false; return nil })
	if err != nil {
		return err
	}
	order := m.orderLocked(&m.st)
	m.logLocked(Event{Kind: EventBootOrderReset, Severity: SeverityOK, Message: "Boot order set to the default: " + strings.Join(order, ", "),
		BootOrder: order})
	return nil
}
