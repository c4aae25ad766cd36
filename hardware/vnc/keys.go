package vnc

import "github.com/bmcd/bmcd/hardware"

// keysyms maps HID usages to the X11 keysyms (X11/keysymdef.h) a US
// keyboard gives them unshifted, what RFB's KeyEvent carries (RFC 6143
// §7.5.4). Letters and digits are filled in by init.
var keysyms = map[hardware.KeyCode]uint32{
	0x28: 0xFF0D, 0x29: 0xFF1B, 0x2A: 0xFF08, 0x2B: 0xFF09, 0x2C: ' ', // Return Escape BackSpace Tab space
	0x2D: '-', 0x2E: '=', 0x2F: '[', 0x30: ']', 0x31: '\\', 0x32: '\\',
	0x33: ';', 0x34: '\'', 0x35: '`', 0x36: ',', 0x37: '.', 0x38: '/',
	0x39: 0xFFE5,                                           // Caps_Lock
	0x46: 0xFF61, 0x47: 0xFF14, 0x48: 0xFF13, 0x49: 0xFF63, // Print Scroll_Lock Pause Insert
	0x4A: 0xFF50, 0x4B: 0xFF55, 0x4C: 0xFFFF, 0x4D: 0xFF57, 0x4E: 0xFF56, // Home Prior Delete End Next
	0x4F: 0xFF53, 0x50: 0xFF51, 0x51: 0xFF54, 0x52: 0xFF52, // Right Left Down Up
	0x53: 0xFF7F, 0x54: 0xFFAF, 0x55: 0xFFAA, 0x56: 0xFFAD, 0x57: 0xFFAB, 0x58: 0xFF8D, // Num_Lock KP_Divide KP_Multiply KP_Subtract KP_Add KP_Enter
	0x62: 0xFFB0, 0x63: 0xFFAE, 0x64: '<', 0x65: 0xFF67, 0x67: 0xFFBD, 0x75: 0xFF6A, // KP_0 KP_Decimal less Menu KP_Equal Help
	0xE0: 0xFFE3, 0xE1: 0xFFE1, 0xE2: 0xFFE9, 0xE3: 0xFFEB, // Control_L Shift_L Alt_L Super_L
	0xE4: 0xFFE4, 0xE5: 0xFFE2, 0xE6: 0xFFEA, 0xE7: 0xFFEC, // Control_R Shift_R Alt_R Super_R
}

func init() {
	for i := range hardware.KeyCode(26) {
		keysyms[hardware.KeyA+i] = 'a' + uint32(i)
	}
	for i := range hardware.KeyCode(9) {
		keysyms[hardware.Key1+i] = '1' + uint32(i)
	}
	keysyms[hardware.Key0] = '0'
	for i := range hardware.KeyCode(12) {
		keysyms[hardware.KeyF1+i] = 0xFFBE + uint32(i) // F1..F12
	}
	for i := range hardware.KeyCode(12) {
		keysyms[0x68+i] = 0xFFCA + uint32(i) // F13..F24
	}
	for i := range hardware.KeyCode(9) {
		keysyms[0x59+i] = 0xFFB1 + uint32(i) // KP_1..KP_9
	}
}

// KeysymForKey returns the keysym of k on a US keyboard, unshifted, if
// it has one.
func KeysymForKey(k hardware.KeyCode) (uint32, bool) {
	s, ok := keysyms[k]
	return s, ok
}
