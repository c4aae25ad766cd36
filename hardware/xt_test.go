package hardware

import "testing"

func TestXTRoundTrip(t *testing.T) {
	seen := map[uint16]bool{}
	for _, e := range xtTable {
		if !e.key.Valid() {
			t.Errorf("XT 0x%02X → 0x%02X, not a key", e.xt, e.key)
		}
		if seen[e.xt] {
			t.Errorf("XT 0x%02X listed twice", e.xt)
		}
		seen[e.xt] = true
		k, ok := KeyForXT(uint32(e.xt))
		if !ok || k != e.key {
			t.Errorf("KeyForXT(0x%02X) = 0x%02X, %v", e.xt, k, ok)
		}
		x, ok := XTForKey(k)
		if k2, _ := KeyForXT(x); !ok || k2 != k {
			t.Errorf("0x%02X → XT 0x%02X → 0x%02X", k, x, k2)
		}
	}
}

func TestXT(t *testing.T) {
	for _, tc := range []struct {
		xt  uint32
		key KeyCode
	}{
		{0x1E, KeyA}, {0x2C, KeyZ}, {0x10, 0x14}, {0x02, Key1},
		{0x0B, Key0}, {0x1C, KeyEnter}, {0x01, KeyEscape},
		{0x3B, KeyF1}, {0x44, 0x43}, {0x57, 0x44}, {0x58, 0x45},
		{0x1D, KeyLeftCtrl}, {0x2A, KeyLeftShift}, {0x38, KeyLeftAlt},
		{0x36, KeyRightShift}, {0x3A, KeyCapsLock}, {0x45, KeyNumLock},
		{0x9D, KeyRightCtrl}, {0xE01D, KeyRightCtrl}, {0xB8, KeyRightAlt},
		{0xDB, KeyLeftGUI}, {0xDC, KeyRightGUI}, {0xD3, KeyDelete},
		{0xE053, KeyDelete}, {0xC8, 0x52}, {0x9C, 0x58}, {0x54, 0x46}, {0xB7, 0x46},
		{0x56, 0x64}, {0x2B, 0x31},
	} {
		if got, ok := KeyForXT(tc.xt); !ok || got != tc.key {
			t.Errorf("KeyForXT(0x%X) = 0x%02X, %v; want 0x%02X", tc.xt, got, ok, tc.key)
		}
	}
	for _, x := range []uint32{0, 0x80, 0xFF, 0x100, 0xE0FF, 0xE1, 0x1_0000_1E} {
		if k, ok := KeyForXT(x); ok {
			t.Errorf("KeyForXT(0x%X) = 0x%02X, want none", x, k)
		}
	}
	if x, ok := XTForKey(0x32); !ok || x != 0x2B {
		t.Errorf("XTForKey(0x32) = 0x%X, want 0x2B (the key of \\)", x)
	}
	if x, _ := XTForKey(0x46); x != 0x54 {
		t.Errorf("XTForKey(PrintScreen) = 0x%X, want QEMU's 0x54", x)
	}
}
