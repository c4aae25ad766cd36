package input

import (
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestKeysyms(t *testing.T) {
	want := map[uint32]hardware.KeyCode{
		0xFF0D: hardware.KeyEnter, 0xFF1B: hardware.KeyEscape, 0xFF08: hardware.KeyBackspace,
		0xFF09: hardware.KeyTab, 0xFE20: hardware.KeyTab, 0x20: hardware.KeySpace,
		0xFFE1: hardware.KeyLeftShift, 0xFFE2: hardware.KeyRightShift,
		0xFFE3: hardware.KeyLeftCtrl, 0xFFE4: hardware.KeyRightCtrl,
		0xFFE9: hardware.KeyLeftAlt, 0xFFEA: hardware.KeyRightAlt, 0xFE03: hardware.KeyRightAlt,
		0xFFEB: hardware.KeyLeftGUI, 0xFFE7: hardware.KeyLeftGUI, 0xFFEC: hardware.KeyRightGUI,
		0xFFE5: hardware.KeyCapsLock, 0xFF7F: hardware.KeyNumLock, 0xFFFF: hardware.KeyDelete,
		0xFF52: 0x52, 0xFF8D: 0x58, 0xFFB0: 0x62, 0xFFB9: 0x61, 0xFFAE: 0x63, 0xFFAC: 0x63,
		'!': hardware.Key1, '@': 0x1F, '~': 0x35, '`': 0x35, '|': 0x31, '?': 0x38,
	}
	for i := range 26 {
		want[uint32('a'+i)] = hardware.KeyA + hardware.KeyCode(i)
		want[uint32('A'+i)] = hardware.KeyA + hardware.KeyCode(i)
	}
	for i := 1; i <= 9; i++ {
		want[uint32('0'+i)] = hardware.Key1 + hardware.KeyCode(i-1)
	}
	want['0'] = hardware.Key0
	for i := range 12 {
		want[0xFFBE+uint32(i)] = hardware.KeyF1 + hardware.KeyCode(i)
		want[0xFFCA+uint32(i)] = 0x68 + hardware.KeyCode(i)
	}
	for sym, k := range want {
		if got, ok := KeyForKeysym(sym); !ok || got != k {
			t.Errorf("KeyForKeysym(0x%X) = 0x%02X, %v; want 0x%02X", sym, got, ok, k)
		}
	}
	for _, sym := range []uint32{0, 0xFE52 /* dead_circumflex */, 0x6D1 /* Cyrillic_ya */, 0xE4 /* ä */, 0x1000000 + 'я', 0xFFFFFF} {
		if k, ok := KeyForKeysym(sym); ok {
			t.Errorf("KeyForKeysym(0x%X) = 0x%02X, want none", sym, k)
		}
	}
	for _, e := range keysymTable {
		if !e.key.Valid() {
			t.Errorf("keysym 0x%X → 0x%02X, not a key", e.sym, e.key)
		}
	}
}

func TestKeysymRune(t *testing.T) {
	for _, tc := range []struct {
		sym uint32
		r   rune
	}{
		{'a', 'a'}, {'~', '~'}, {0xE4, 'ä'}, {0xFF, 'ÿ'}, {0x20AC, '€'},
		{0x6D1, 'я'}, {0x6F1, 'Я'}, {0x6C0, 'ю'}, {0x6FF, 'Ъ'}, {0x6A3, 'ё'}, {0x6B3, 'Ё'},
		{0x1000000 + 'ж', 'ж'}, {0x1000000 + '☃', '☃'},
	} {
		if got, ok := KeysymRune(tc.sym); !ok || got != tc.r {
			t.Errorf("KeysymRune(0x%X) = %q, %v; want %q", tc.sym, got, ok, tc.r)
		}
	}
	for _, sym := range []uint32{0x1F, 0x7F, 0x9F, 0xFF0D, 0xFE52, 0x1000000, 0x1110000} {
		if r, ok := KeysymRune(sym); ok {
			t.Errorf("KeysymRune(0x%X) = %q, want none", sym, r)
		}
	}
	// A Russian VNC client's keysym typed through the host's layout.
	r, _ := KeysymRune(0x6D1)
	if s, ok := RU.Strokes(r); !ok || len(s) != 1 || s[0].Key != hardware.KeyZ {
		t.Errorf("Cyrillic_ya on ru: %v", s)
	}
}
