package input

import (
	"fmt"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestCodeTableRoundTrip(t *testing.T) {
	seen := map[hardware.KeyCode]string{}
	for _, e := range codeTable {
		if !e.key.Valid() {
			t.Errorf("%s → 0x%02X, not a key a keyboard can press", e.code, e.key)
		}
		if prev, dup := seen[e.key]; dup {
			t.Errorf("0x%02X named twice: %s and %s", e.key, prev, e.code)
		}
		seen[e.key] = e.code
		k, ok := KeyForCode(e.code)
		c, ok2 := CodeForKey(k)
		if !ok || !ok2 || k != e.key || c != e.code {
			t.Errorf("%s → 0x%02X → %s", e.code, k, c)
		}
	}
}

func TestCodes(t *testing.T) {
	want := map[string]hardware.KeyCode{
		"Enter": 0x28, "Escape": 0x29, "Backspace": 0x2A, "Tab": 0x2B, "Space": 0x2C,
		"ShiftLeft": 0xE1, "ShiftRight": 0xE5, "ControlLeft": 0xE0, "ControlRight": 0xE4,
		"AltLeft": 0xE2, "AltRight": 0xE6, "MetaLeft": 0xE3, "MetaRight": 0xE7,
		"OSLeft": 0xE3, "OSRight": 0xE7, "VolumeMute": 0x7F,
		"ArrowUp": 0x52, "ArrowDown": 0x51, "ArrowLeft": 0x50, "ArrowRight": 0x4F,
		"NumpadEnter": 0x58, "Numpad0": 0x62, "Numpad9": 0x61, "NumpadDecimal": 0x63,
		"IntlBackslash": 0x64, "IntlRo": 0x87, "IntlYen": 0x89, "Backquote": 0x35,
		"Delete": 0x4C, "Insert": 0x49, "PrintScreen": 0x46, "Pause": 0x48, "CapsLock": 0x39,
		"NumLock": 0x53, "ScrollLock": 0x47, "ContextMenu": 0x65,
	}
	for i := range 26 {
		want[fmt.Sprintf("Key%c", 'A'+i)] = hardware.KeyA + hardware.KeyCode(i)
	}
	for i := 1; i <= 9; i++ {
		want[fmt.Sprintf("Digit%d", i)] = hardware.Key1 + hardware.KeyCode(i-1)
	}
	want["Digit0"] = hardware.Key0
	for i := 1; i <= 12; i++ {
		want[fmt.Sprintf("F%d", i)] = hardware.KeyF1 + hardware.KeyCode(i-1)
	}
	for i := 13; i <= 24; i++ {
		want[fmt.Sprintf("F%d", i)] = 0x68 + hardware.KeyCode(i-13)
	}
	for code, k := range want {
		if got, ok := KeyForCode(code); !ok || got != k {
			t.Errorf("KeyForCode(%q) = 0x%02X, %v; want 0x%02X", code, got, ok, k)
		}
	}
	for _, code := range []string{"", "Unidentified", "Fn", "BrowserBack", "keya", "KeyA "} {
		if k, ok := KeyForCode(code); ok {
			t.Errorf("KeyForCode(%q) = 0x%02X, want none", code, k)
		}
	}
	if c, ok := CodeForKey(0x32); ok {
		t.Errorf("CodeForKey(0x32) = %q, want none", c)
	}
}
