package hardware_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

var testRegistry = hardware.BiosRegistry{Name: "T", Version: "1.0.0", Attributes: []hardware.BiosAttribute{
	{Name: "Mode", Type: hardware.AttrEnumeration, Default: "A", Values: []hardware.AttributeValue{{Name: "A"}, {Name: "B"}}},
	{Name: "Tag", Type: hardware.AttrString, Default: "", MinLength: 2, MaxLength: 4},
	{Name: "Free", Type: hardware.AttrString, Default: ""},
	{Name: "Delay", Type: hardware.AttrInteger, Default: float64(30), LowerBound: 10, UpperBound: 100, ScalarIncrement: 10},
	{Name: "Count", Type: hardware.AttrInteger, Default: float64(0), LowerBound: -5, UpperBound: 5},
	{Name: "Flag", Type: hardware.AttrBoolean, Default: false},
	{Name: "Version", Type: hardware.AttrString, Default: "1.2", ReadOnly: true},
}}

func TestBiosRegistryCheck(t *testing.T) {
	for _, c := range []struct {
		name    string
		value   any
		want    any
		problem hardware.AttributeProblem
		limit   int
	}{
		{"Mode", "B", "B", "", 0},
		{"Mode", "C", nil, hardware.AttrNotInList, 0},
		{"Mode", "b", nil, hardware.AttrNotInList, 0},
		{"Mode", 1.0, nil, hardware.AttrWrongType, 0},
		{"Mode", nil, nil, hardware.AttrWrongType, 0},
		{"Tag", "ab", "ab", "", 0},
		{"Tag", "abcd", "abcd", "", 0},
		{"Tag", "ééé", "ééé", "", 0}, // characters, not bytes
		{"Tag", "a", nil, hardware.AttrTooShort, 2},
		{"Tag", "abcde", nil, hardware.AttrTooLong, 4},
		{"Tag", true, nil, hardware.AttrWrongType, 0},
		{"Free", "", "", "", 0},
		{"Free", string(make([]byte, 5000)), string(make([]byte, 5000)), "", 0},
		{"Delay", 10.0, 10.0, "", 0},
		{"Delay", 100, 100.0, "", 0},
		{"Delay", int64(40), 40.0, "", 0},
		{"Delay", json.Number("50"), 50.0, "", 0},
		{"Delay", 0.0, nil, hardware.AttrOutOfRange, 0},
		{"Delay", 110.0, nil, hardware.AttrOutOfRange, 0},
		{"Delay", 15.0, nil, hardware.AttrOutOfRange, 0},
		{"Delay", 20.5, nil, hardware.AttrWrongType, 0},
		{"Delay", "20", nil, hardware.AttrWrongType, 0},
		{"Count", -5.0, -5.0, "", 0},
		{"Count", -6.0, nil, hardware.AttrOutOfRange, 0},
		{"Count", 3.0, 3.0, "", 0},
		{"Flag", true, true, "", 0},
		{"Flag", "true", nil, hardware.AttrWrongType, 0},
		{"Flag", 1.0, nil, hardware.AttrWrongType, 0},
		{"Version", "1.2", nil, hardware.AttrReadOnly, 0},
		{"Version", 7.0, nil, hardware.AttrReadOnly, 0},
		{"Nope", "x", nil, hardware.AttrUnknown, 0},
		{"mode", "A", nil, hardware.AttrUnknown, 0}, // names are case-sensitive
	} {
		got, err := testRegistry.Check(c.name, c.value)
		switch {
		case c.problem == "" && err != nil:
			t.Errorf("%s=%v: %v", c.name, c.value, err)
		case c.problem == "" && got != c.want:
			t.Errorf("%s=%v: normalized to %#v, want %#v", c.name, c.value, got, c.want)
		case c.problem != "" && (err == nil || err.Problem != c.problem || err.Limit != c.limit || err.Name != c.name):
			t.Errorf("%s=%v: %+v, want %s (limit %d)", c.name, c.value, err, c.problem, c.limit)
		case c.problem == hardware.AttrUnknown && !errors.Is(err, hardware.ErrNotFound),
			c.problem != "" && c.problem != hardware.AttrUnknown && !errors.Is(err, hardware.ErrInvalid):
			t.Errorf("%s=%v: %v does not wrap the right sentinel", c.name, c.value, err)
		}
	}
}

// TestSetBiosPendingRejectsAll: every bad attribute of a request is
// reported, by name, and nothing of it is staged.
func TestSetBiosPendingRejectsAll(t *testing.T) {
	m := newEnv(t).m
	err := m.SetBiosPending(map[string]any{
		"ProcTurboMode":     "Maybe",
		"AssetTag":          "rack-7", // good
		"PxeNicIndex":       float64(7),
		"SystemBiosVersion": "9.9",
		"Bogus":             1,
		"SriovGlobalEnable": "yes",
		"SerialConsole":     "COM2", // good
	})
	var errs hardware.AttributeErrors
	if !errors.As(err, &errs) {
		t.Fatalf("%v is not AttributeErrors", err)
	}
	want := []struct {
		name string
		p    hardware.AttributeProblem
	}{
		{"Bogus", hardware.AttrUnknown}, {"ProcTurboMode", hardware.AttrNotInList}, {"PxeNicIndex", hardware.AttrOutOfRange},
		{"SriovGlobalEnable", hardware.AttrWrongType}, {"SystemBiosVersion", hardware.AttrReadOnly},
	}
	if len(errs) != len(want) {
		t.Fatalf("%d errors: %v", len(errs), errs)
	}
	for i, w := range want {
		if errs[i].Name != w.name || errs[i].Problem != w.p {
			t.Errorf("error %d: %+v, want %s %s", i, errs[i], w.name, w.p)
		}
	}
	if !errors.Is(err, hardware.ErrNotFound) || !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("errors.Is does not see both sentinels in %v", err)
	}
	if _, p := m.Bios(); len(p) != 0 {
		t.Errorf("staged %v", p)
	}
	long := "0123456789012345678901234567890123"
	err = m.SetBiosPending(map[string]any{"AssetTag": long})
	if !errors.As(err, &errs) || errs[0].Problem != hardware.AttrTooLong || errs[0].Limit != 32 {
		t.Errorf("a 34-character asset tag: %v", err)
	}
	// Integers arrive as JSON numbers and are kept as float64.
	if err := m.SetBiosPending(map[string]any{"PxeNicIndex": 1, "SriovGlobalEnable": true}); err != nil {
		t.Fatal(err)
	}
	if _, p := m.Bios(); p["PxeNicIndex"] != float64(1) || p["SriovGlobalEnable"] != true {
		t.Errorf("pending %#v", p)
	}
}

// TestBiosStateFitsRegistry: persisted attributes the registry no longer
// describes, or whose values it no longer accepts, are dropped at load;
// read-only attributes show what the firmware reports.
func TestBiosStateFitsRegistry(t *testing.T) {
	st := newMemStore()
	_ = st.Put("machines", "s", map[string]any{
		"bios":         map[string]any{"Gone": 1, "ProcTurboMode": 5, "SystemBiosVersion": "old", "AssetTag": "kept", "PxeNicIndex": 1},
		"bios_pending": map[string]any{"Gone": "x", "SerialConsole": "COM9", "ProcVirtualization": "Disabled"},
	})
	b := sim.New(sim.Config{ID: "s", Seed: "t"})
	m, err := hardware.NewMachine("s", b, st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cur, pending := m.Bios()
	if _, ok := cur["Gone"]; ok || cur["ProcTurboMode"] != "Enabled" || cur["SystemBiosVersion"] != b.Info().BiosVersion ||
		cur["AssetTag"] != "kept" || cur["PxeNicIndex"] != float64(1) || cur["SriovGlobalEnable"] != false {
		t.Errorf("current %v", cur)
	}
	if len(pending) != 1 || pending["ProcVirtualization"] != "Disabled" {
		t.Errorf("pending %v", pending)
	}
	if len(cur) != len(m.BiosRegistry().Attributes) {
		t.Errorf("%d attributes for %d in the registry", len(cur), len(m.BiosRegistry().Attributes))
	}
}

// TestBiosRegistryOfBackendWithout: a backend that declares no registry
// still has BootMode, read-only when it cannot choose a mode.
func TestBiosRegistryOfBackendWithout(t *testing.T) {
	m, err := hardware.NewMachine("kvm", &atx{power: hardware.PowerOff}, newMemStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	r := m.BiosRegistry()
	if r.Name == "" || r.Version == "" || len(r.Attributes) != 1 {
		t.Fatalf("registry %+v", r)
	}
	if a := r.Attributes[0]; a.Name != "BootMode" || !a.ReadOnly || a.Default != "UEFI" {
		t.Errorf("BootMode %+v", a)
	}
	var errs hardware.AttributeErrors
	if err := m.SetBiosPending(map[string]any{"BootMode": "UEFI"}); !errors.As(err, &errs) || errs[0].Problem != hardware.AttrReadOnly {
		t.Errorf("BootMode write: %v", err)
	}
	if err := m.ResetBios(); err != nil {
		t.Fatal(err)
	}
	if _, p := m.Bios(); len(p) != 0 {
		t.Errorf("ResetBios staged read-only attributes: %v", p)
	}
}
