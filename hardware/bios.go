package hardware

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// AttributeType is the type of a BIOS attribute, as the DMTF
// AttributeRegistry schema names it.
type AttributeType string

// Attribute types.
const (
	AttrEnumeration AttributeType = "Enumeration"
	AttrString      AttributeType = "String"
	AttrInteger     AttributeType = "Integer"
	AttrBoolean     AttributeType = "Boolean"
)

// AttributeValue is one value an Enumeration attribute takes.
type AttributeValue struct {
	Name        string // the value itself, e.g. "Enabled"
	DisplayName string
}

// BiosAttribute describes one firmware setting: an entry of the attribute
// registry (DSP0266 §Attribute registries; AttributeRegistry schema).
type BiosAttribute struct {
	Name        string
	Type        AttributeType
	DisplayName string
	HelpText    string
	// Default is the factory value: a string (Enumeration, String), a
	// float64 holding an integer (Integer) or a bool (Boolean).
	Default  any
	ReadOnly bool
	// ShowsBiosVersion marks a read-only String attribute that reports the
	// version the BIOS runs: its current value is Info().BiosVersion, so it
	// follows a BIOS update activated at a host reset (firmwareupdate.go),
	// while Default stays the factory version.
	ShowsBiosVersion bool
	// Values are what an Enumeration takes.
	Values []AttributeValue
	// Integer: LowerBound <= v <= UpperBound and, when ScalarIncrement is
	// not 0, v - LowerBound a multiple of it.
	LowerBound, UpperBound, ScalarIncrement int64
	// String: MinLength <= characters <= MaxLength (0: no maximum).
	MinLength, MaxLength int
}

// FirmwareSettings are the host firmware's settings the BMC changes: BIOS
// attributes, staged by the Machine and in force from the next boot
// (BootPlan.Bios; the simulation's firmware takes them at Host.Booted), and
// the Secure Boot switch. A machine without any has
// DisabledFirmwareSettings: only the BootMode attribute, from BootControl.
type FirmwareSettings interface {
	// BiosRegistry describes the attributes: each one's type, the values
	// it takes and its factory value. The Machine adds BootMode when the
	// registry lacks it.
	BiosRegistry() BiosRegistry
	// SecureBootToggle reports whether the firmware has a Secure Boot
	// switch the BMC sets.
	SecureBootToggle() bool
}

// DisabledFirmwareSettings are the settings of a firmware the BMC cannot
// configure.
type DisabledFirmwareSettings struct{}

// BiosRegistry implements FirmwareSettings: no attributes.
func (DisabledFirmwareSettings) BiosRegistry() BiosRegistry { return BiosRegistry{} }

// SecureBootToggle implements FirmwareSettings: no switch.
func (DisabledFirmwareSettings) SecureBootToggle() bool { return false }

// BiosRegistry is a firmware's attribute registry: the settings it has and
// the rules each value follows. Protocols serve it (Redfish under
// /redfish/v1/Registries) and every change is checked against it.
type BiosRegistry struct {
	// Name identifies the registry, e.g. "BiosAttributeRegistryS1". Two
	// machines whose firmware has different attributes must not share a
	// Name and Version.
	Name string
	// Version is major.minor.errata, e.g. "1.0.0".
	Version    string
	Attributes []BiosAttribute
}

// ID is the registry's identifier: Name.Version, e.g.
// "BiosAttributeRegistryS1.1.0.0".
func (r BiosRegistry) ID() string { return r.Name + "." + r.Version }

// Attribute looks an attribute up by name.
func (r BiosRegistry) Attribute(name string) (BiosAttribute, bool) {
	for _, a := range r.Attributes {
		if a.Name == name {
			return a, true
		}
	}
	return BiosAttribute{}, false
}

// AttributeProblem says what is wrong with a requested attribute value.
type AttributeProblem string

// Attribute problems.
const (
	AttrUnknown    AttributeProblem = "is not an attribute of this firmware"
	AttrReadOnly   AttributeProblem = "is read-only"
	AttrWrongType  AttributeProblem = "has the wrong type"
	AttrNotInList  AttributeProblem = "is not one of the allowed values"
	AttrOutOfRange AttributeProblem = "is out of range"
	AttrTooShort   AttributeProblem = "is too short"
	AttrTooLong    AttributeProblem = "is too long"
)

// AttributeError is one rejected attribute. It wraps ErrNotFound for an
// unknown attribute and ErrInvalid otherwise.
type AttributeError struct {
	Name    string
	Value   any // as requested
	Problem AttributeProblem
	// Limit is the length bound broken (AttrTooShort, AttrTooLong).
	Limit int
}

func (e *AttributeError) Error() string {
	v, _ := json.Marshal(e.Value)
	return fmt.Sprintf("BIOS attribute %s: %s %s", e.Name, v, e.Problem)
}

// Unwrap classifies the error.
func (e *AttributeError) Unwrap() error {
	if e.Problem == AttrUnknown {
		return ErrNotFound
	}
	return ErrInvalid
}

// AttributeErrors are every attribute a change was rejected for, by name.
// Nothing of the change was applied.
type AttributeErrors []*AttributeError

func (es AttributeErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

// Unwrap makes errors.Is see ErrNotFound / ErrInvalid of any element.
func (es AttributeErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Check validates value for the attribute name and returns it normalized
// (integers as float64, as JSON decodes them), or the problem.
func (r BiosRegistry) Check(name string, value any) (any, *AttributeError) {
	a, ok := r.Attribute(name)
	if !ok {
		return nil, &AttributeError{Name: name, Value: value, Problem: AttrUnknown}
	}
	if a.ReadOnly {
		return nil, &AttributeError{Name: name, Value: value, Problem: AttrReadOnly}
	}
	v, p, limit := a.check(value)
	if p != "" {
		return nil, &AttributeError{Name: name, Value: value, Problem: p, Limit: limit}
	}
	return v, nil
}

// check validates a value against the attribute's type and rules.
func (a BiosAttribute) check(value any) (any, AttributeProblem, int) {
	switch a.Type {
	case AttrEnumeration:
		s, ok := value.(string)
		if !ok {
			return nil, AttrWrongType, 0
		}
		for _, v := range a.Values {
			if v.Name == s {
				return s, "", 0
			}
		}
		return nil, AttrNotInList, 0
	case AttrString:
		s, ok := value.(string)
		if !ok {
			return nil, AttrWrongType, 0
		}
		n := utf8.RuneCountInString(s)
		if n < a.MinLength {
			return nil, AttrTooShort, a.MinLength
		}
		if a.MaxLength > 0 && n > a.MaxLength {
			return nil, AttrTooLong, a.MaxLength
		}
		return s, "", 0
	case AttrInteger:
		f, ok := integer(value)
		if !ok {
			return nil, AttrWrongType, 0
		}
		if f < float64(a.LowerBound) || f > float64(a.UpperBound) ||
			(a.ScalarIncrement > 0 && math.Mod(f-float64(a.LowerBound), float64(a.ScalarIncrement)) != 0) {
			return nil, AttrOutOfRange, 0
		}
		return f, "", 0
	case AttrBoolean:
		b, ok := value.(bool)
		if !ok {
			return nil, AttrWrongType, 0
		}
		return b, "", 0
	}
	return nil, AttrWrongType, 0
}

// integer accepts a whole number of any Go numeric type JSON or a caller
// may hand over.
func integer(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case int32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return f, true
}

// biosRegistry is the backend's registry, completed by the machine model:
// every machine has a BootMode attribute (the boot modes the backend
// supports), which the firmware reads at POST.
func biosRegistry(fs FirmwareSettings, caps Capabilities, def BootMode) BiosRegistry {
	r := fs.BiosRegistry()
	r.Attributes = append([]BiosAttribute(nil), r.Attributes...)
	if r.Name == "" {
		r.Name, r.Version = "BiosAttributeRegistryBmcd", "1.0.0"
	}
	if r.Version == "" {
		r.Version = "1.0.0"
	}
	if _, ok := r.Attribute("BootMode"); !ok {
		a := BiosAttribute{
			Name: "BootMode", Type: AttrEnumeration, DisplayName: "Boot Mode",
			HelpText: "The mode the firmware boots in when no boot override names one.",
			Default:  string(def), ReadOnly: len(caps.BootModes) == 0,
			Values: []AttributeValue{{Name: string(def), DisplayName: string(def)}},
		}
		if len(caps.BootModes) > 0 {
			a.Values = nil
			for _, m := range caps.BootModes {
				a.Values = append(a.Values, AttributeValue{Name: string(m), DisplayName: string(m)})
			}
		}
		r.Attributes = append([]BiosAttribute{a}, r.Attributes...)
	}
	return r
}

// BiosRegistry is the machine's attribute registry.
func (m *Machine) BiosRegistry() BiosRegistry { return m.bios }

// Bios returns the current attributes and those pending for the next boot.
// BiosApplied says when staged BIOS settings last took effect (at a host
// boot) and which attributes they set.
type BiosApplied struct {
	Time       time.Time `json:"time"`
	Attributes []string  `json:"attributes"`
}

// LastBiosApply is the last application of staged settings; ok is false
// if none took effect since the machine's state was created.
func (m *Machine) LastBiosApply() (BiosApplied, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.BiosApplied == nil {
		return BiosApplied{}, false
	}
	a := *m.st.BiosApplied
	a.Attributes = append([]string(nil), a.Attributes...)
	return a, true
}

func (m *Machine) Bios() (current, pending map[string]any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	current = cloneMap(m.st.Bios)
	for _, a := range m.bios.Attributes {
		if a.ShowsBiosVersion {
			current[a.Name] = m.biosVersionLocked()
		}
	}
	return current, cloneMap(m.st.BiosPending)
}

// SetBiosPending stages attribute changes for the next boot, merged with
// those already pending. Every attribute is checked against the registry
// first; if any is rejected the error is AttributeErrors (sorted by name)
// and nothing is staged.
func (m *Machine) SetBiosPending(attrs map[string]any) error {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	ok := make(map[string]any, len(attrs))
	var errs AttributeErrors
	for _, k := range names {
		v, err := m.bios.Check(k, attrs[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok[k] = v
	}
	if len(errs) > 0 {
		return errs
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateLocked(func(st *state) error {
		if st.BiosPending == nil {
			st.BiosPending = map[string]any{}
		}
		for k, v := range ok {
			st.BiosPending[k] = v
		}
		return nil
	})
}

// ResetBios stages the factory value of every writable attribute for the
// next boot.
func (m *Machine) ResetBios() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateLocked(func(st *state) error {
		st.BiosPending = map[string]any{}
		for _, a := range m.bios.Attributes {
			if !a.ReadOnly {
				st.BiosPending[a.Name] = a.Default
			}
		}
		return nil
	})
}

// loadBiosLocked fits persisted attributes to the registry: factory values
// for attributes the state lacks, read-only attributes as the firmware
// reports them, and nothing the registry does not describe (any more).
func (m *Machine) loadBiosLocked() {
	cur := map[string]any{}
	for _, a := range m.bios.Attributes {
		cur[a.Name] = a.Default
		if v, ok := m.st.Bios[a.Name]; ok && !a.ReadOnly {
			if nv, p, _ := a.check(v); p == "" {
				cur[a.Name] = nv
			}
		}
	}
	m.st.Bios = cur
	for k, v := range m.st.BiosPending {
		if nv, err := m.bios.Check(k, v); err == nil {
			m.st.BiosPending[k] = nv
		} else {
			delete(m.st.BiosPending, k)
		}
	}
	if len(m.st.BiosPending) == 0 {
		m.st.BiosPending = nil
	}
}
