package input

import "github.com/bmcd/bmcd/hardware"

// keysymTable maps the X11 keysyms (X Window System Protocol, Appendix A;
// X11/keysymdef.h) of keys that are not characters to HID usages. RFB's
// KeyEvent carries keysyms (RFC 6143 §7.5.4).
var keysymTable = []struct {
	sym uint32
	key hardware.KeyCode
}{
	{0xFF08, 0x2A}, // BackSpace
	{0xFF09, 0x2B}, // Tab
	{0xFF0D, 0x28}, // Return
	{0xFF13, 0x48}, // Pause
	{0xFF14, 0x47}, // Scroll_Lock
	{0xFF15, 0x46}, // Sys_Req: Print Screen's key
	{0xFF1B, 0x29}, // Escape
	{0xFF50, 0x4A}, // Home
	{0xFF51, 0x50}, // Left
	{0xFF52, 0x52}, // Up
	{0xFF53, 0x4F}, // Right
	{0xFF54, 0x51}, // Down
	{0xFF55, 0x4B}, // Page_Up (Prior)
	{0xFF56, 0x4E}, // Page_Down (Next)
	{0xFF57, 0x4D}, // End
	{0xFF61, 0x46}, // Print
	{0xFF63, 0x49}, // Insert
	{0xFF67, 0x65}, // Menu
	{0xFF6A, 0x75}, // Help
	{0xFF7F, 0x53}, // Num_Lock
	{0xFF8D, 0x58}, // KP_Enter
	{0xFF95, 0x5F}, // KP_Home
	{0xFF96, 0x5C}, // KP_Left
	{0xFF97, 0x60}, // KP_Up
	{0xFF98, 0x5E}, // KP_Right
	{0xFF99, 0x5A}, // KP_Down
	{0xFF9A, 0x61}, // KP_Page_Up
	{0xFF9B, 0x5B}, // KP_Page_Down
	{0xFF9C, 0x59}, // KP_End
	{0xFF9D, 0x5D}, // KP_Begin
	{0xFF9E, 0x62}, // KP_Insert
	{0xFF9F, 0x63}, // KP_Delete
	{0xFFAA, 0x55}, // KP_Multiply
	{0xFFAB, 0x57}, // KP_Add
	{0xFFAC, 0x63}, // KP_Separator: the keypad decimal key of layouts with a decimal comma (de)
	{0xFFAD, 0x56}, // KP_Subtract
	{0xFFAE, 0x63}, // KP_Decimal
	{0xFFAF, 0x54}, // KP_Divide
	{0xFFB0, 0x62}, {0xFFB1, 0x59}, {0xFFB2, 0x5A}, {0xFFB3, 0x5B}, {0xFFB4, 0x5C},
	{0xFFB5, 0x5D}, {0xFFB6, 0x5E}, {0xFFB7, 0x5F}, {0xFFB8, 0x60}, {0xFFB9, 0x61}, // KP_0..KP_9
	{0xFFBD, 0x67}, // KP_Equal
	{0xFFBE, 0x3A}, {0xFFBF, 0x3B}, {0xFFC0, 0x3C}, {0xFFC1, 0x3D}, {0xFFC2, 0x3E}, {0xFFC3, 0x3F},
	{0xFFC4, 0x40}, {0xFFC5, 0x41}, {0xFFC6, 0x42}, {0xFFC7, 0x43}, {0xFFC8, 0x44}, {0xFFC9, 0x45}, // F1..F12
	{0xFFCA, 0x68}, {0xFFCB, 0x69}, {0xFFCC, 0x6A}, {0xFFCD, 0x6B}, {0xFFCE, 0x6C}, {0xFFCF, 0x6D},
	{0xFFD0, 0x6E}, {0xFFD1, 0x6F}, {0xFFD2, 0x70}, {0xFFD3, 0x71}, {0xFFD4, 0x72}, {0xFFD5, 0x73}, // F13..F24
	{0xFFE1, 0xE1}, // Shift_L
	{0xFFE2, 0xE5}, // Shift_R
	{0xFFE3, 0xE0}, // Control_L
	{0xFFE4, 0xE4}, // Control_R
	{0xFFE5, 0x39}, // Caps_Lock
	{0xFFE7, 0xE3}, // Meta_L
	{0xFFE8, 0xE7}, // Meta_R
	{0xFFE9, 0xE2}, // Alt_L
	{0xFFEA, 0xE6}, // Alt_R
	{0xFFEB, 0xE3}, // Super_L
	{0xFFEC, 0xE7}, // Super_R
	{0xFFFF, 0x4C}, // Delete
	{0xFE03, 0xE6}, // ISO_Level3_Shift: AltGr, the right Alt key
	{0xFF7E, 0xE6}, // Mode_switch: AltGr too
	{0xFE20, 0x2B}, // ISO_Left_Tab: Shift+Tab's keysym
}

var keysymKeys = map[uint32]hardware.KeyCode{}

func init() {
	for _, e := range keysymTable {
		keysymKeys[e.sym] = e.key
	}
}

// cyrillicKeysyms are the Cyrillic keysyms 0x6C0..0x6FF in order: the
// lower case letters, then the upper case, in KOI8-R order.
const cyrillicKeysyms = "юабцдефгхийклмнопярстужвьызшэщчъЮАБЦДЕФГХИЙКЛМНОПЯРСТУЖВЬЫЗШЭЩЧЪ"

var cyrillicRunes = []rune(cyrillicKeysyms)

// KeysymRune is the character an X11 keysym stands for: Latin-1 keysyms
// (0x20..0x7E, 0xA0..0xFF) are their code point, Unicode keysyms
// (0x01000100..0x0110FFFF) the code point plus 0x01000000, and the legacy
// Cyrillic ones (0x6A3, 0x6B3, 0x6C0..0x6FF) and EuroSign (0x20AC) theirs;
// false for a keysym that is no character (a function key, a modifier, a
// dead key) or one of another legacy block.
func KeysymRune(sym uint32) (rune, bool) {
	switch {
	case sym >= 0x20 && sym <= 0x7E, sym >= 0xA0 && sym <= 0xFF:
		return rune(sym), true
	case sym >= 0x01000100 && sym <= 0x0110FFFF:
		return rune(sym - 0x01000000), true
	case sym >= 0x6C0 && sym <= 0x6FF:
		return cyrillicRunes[sym-0x6C0], true
	case sym == 0x6A3:
		return 'ё', true
	case sym == 0x6B3:
		return 'Ё', true
	case sym == 0x20AC:
		return '€', true
	}
	return 0, false
}

// KeyForKeysym is the HID usage of the key an X11 keysym names: a key that
// is no character by keysymTable, a character by the key that types it on
// a US keyboard at any shift level ('a' and 'A' → 0x04, '!' → 0x1E), as a
// VNC client on a US layout sends them with Shift already pressed. False
// for a keysym with no such key: a VNC server types those characters
// through the host's layout (KeysymRune, then Layout.Strokes).
func KeyForKeysym(sym uint32) (hardware.KeyCode, bool) {
	if k, ok := keysymKeys[sym]; ok {
		return k, true
	}
	r, ok := KeysymRune(sym)
	if !ok {
		return 0, false
	}
	s, ok := US.Strokes(r)
	if !ok || len(s) != 1 {
		return 0, false
	}
	return s[0].Key, true
}
