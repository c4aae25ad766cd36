package sim

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestUSLayout(t *testing.T) {
	const (
		kA, kC, kZ               hardware.KeyCode = 0x04, 0x06, 0x1D
		k1, k2, k6, k0           hardware.KeyCode = 0x1E, 0x1F, 0x23, 0x27
		kMinus, kLBracket, kBSl  hardware.KeyCode = 0x2D, 0x2F, 0x31
		kSemicolon, kQuote, kGrv hardware.KeyCode = 0x33, 0x34, 0x35
		kSlash, kF1, kF5, kF12   hardware.KeyCode = 0x38, 0x3A, 0x3E, 0x45
		kRight, kUp, kHome       hardware.KeyCode = 0x4F, 0x52, 0x4A
		kKP1, kKP5, kKPEnter     hardware.KeyCode = 0x59, 0x5D, 0x58
		kKPSlash, kKPDot, kISO   hardware.KeyCode = 0x54, 0x63, 0x64
		kPrintScreen, kF13       hardware.KeyCode = 0x46, 0x68
	)
	none := modifiers{}
	shift := modifiers{shift: true}
	ctrl := modifiers{ctrl: true}
	caps := modifiers{caps: true}
	num := modifiers{num: true}
	for _, c := range []struct {
		k    hardware.KeyCode
		mods modifiers
		want string
	}{
		{kA, none, "a"}, {kZ, none, "z"}, {kA, shift, "A"}, {kA, caps, "A"},
		{kA, modifiers{shift: true, caps: true}, "a"},
		{kC, ctrl, "\x03"}, {kC, modifiers{ctrl: true, shift: true}, "\x03"}, {kA, ctrl, "\x01"}, {kZ, ctrl, "\x1a"},
		{kA, modifiers{alt: true}, "\x1ba"}, {kA, modifiers{gui: true}, ""},
		{k1, none, "1"}, {k1, shift, "!"}, {k2, shift, "@"}, {k6, shift, "^"}, {k0, none, "0"}, {k0, shift, ")"},
		{k1, caps, "1"}, // Caps Lock is for letters
		{kMinus, shift, "_"}, {kLBracket, none, "["}, {kLBracket, shift, "{"}, {kBSl, shift, "|"},
		{kSemicolon, shift, ":"}, {kQuote, shift, "\""}, {kGrv, shift, "~"}, {kSlash, shift, "?"}, {kISO, none, "<"},
		{hardware.KeyEnter, none, "\r"}, {hardware.KeyEscape, none, "\x1b"}, {hardware.KeyBackspace, none, "\x7f"},
		{hardware.KeyBackspace, ctrl, "\x08"}, {hardware.KeyTab, none, "\t"}, {hardware.KeyTab, shift, "\x1b[Z"},
		{hardware.KeySpace, none, " "}, {hardware.KeySpace, ctrl, "\x00"},
		{kLBracket, ctrl, "\x1b"}, {kBSl, ctrl, "\x1c"}, {k2, ctrl, "\x00"}, {k6, ctrl, "\x1e"}, {kMinus, ctrl, "\x1f"},
		{k1, ctrl, "1"}, // nothing to control: as typed
		{kF1, none, "\x1bOP"}, {kF5, none, "\x1b[15~"}, {kF12, shift, "\x1b[24~"},
		{kRight, none, "\x1b[C"}, {kUp, none, "\x1b[A"}, {kHome, none, "\x1b[H"}, {hardware.KeyDelete, none, "\x1b[3~"},
		{kKP1, num, "1"}, {kKP1, none, "\x1b[F"}, {kKP1, modifiers{num: true, shift: true}, "\x1b[F"}, {kKP1, shift, "1"},
		{kKP5, none, ""}, {kKPEnter, none, "\r"}, {kKPSlash, none, "/"}, {kKPDot, num, "."}, {kKPDot, none, "\x1b[3~"},
		{hardware.KeyLeftShift, none, ""}, {hardware.KeyCapsLock, none, ""}, {kPrintScreen, none, ""}, {kF13, none, ""},
	} {
		if got := string(usLayout(c.k, c.mods)); got != c.want {
			t.Errorf("key %#x with %+v: %q, want %q", uint16(c.k), c.mods, got, c.want)
		}
	}
}

// usKeyFor is the key a US keyboard types c with, and whether with Shift.
func usKeyFor(t *testing.T, c byte) (hardware.KeyCode, bool) {
	t.Helper()
	switch {
	case c >= 'a' && c <= 'z':
		return hardware.KeyA + hardware.KeyCode(c-'a'), false
	case c >= 'A' && c <= 'Z':
		return hardware.KeyA + hardware.KeyCode(c-'A'), true
	}
	for k, keys := range usKeys {
		for i, s := range keys {
			if s == string(c) {
				return k, i == 1 && keys[0] != s
			}
		}
	}
	t.Fatalf("no US key types %q", c)
	return 0, false
}

// typeText types s on kb, one key at a time, with Shift where needed.
func typeText(t *testing.T, kb hardware.Keyboard, s string) {
	t.Helper()
	press := func(k hardware.KeyCode, down bool) {
		t.Helper()
		if err := kb.Key(k, down); err != nil {
			t.Fatalf("key %#x down %v: %v", uint16(k), down, err)
		}
	}
	for i := 0; i < len(s); i++ {
		k, shift := usKeyFor(t, s[i])
		if shift {
			press(hardware.KeyRightShift, true)
		}
		press(k, true)
		press(k, false)
		if shift {
			press(hardware.KeyRightShift, false)
		}
	}
}

// Typed keys reach the serial line, whose shell echoes them on the serial
// console and on the screen.
func TestKeyboardTypes(t *testing.T) {
	m := New(Config{ID: "k", Seed: "keyboard", PoweredOn: true})
	defer m.Close()
	var serial screen
	m.AttachConsole(serial.out)
	kb := m.Keyboard()
	typeText(t, kb, "\rroot\r")
	pos := serial.waitFor(t, 0, "root@sim-k:~# ")
	waitText(t, m, "sim-k login: root\nWelcome")
	typeText(t, kb, "echo Hello, World!\r")
	serial.waitFor(t, pos, "echo Hello, World!\r\nHello, World!\r\n")
	waitText(t, m, "root@sim-k:~# echo Hello, World!\nHello, World!\nroot@sim-k:~#")

	// Holding a key does not repeat it; Backspace erases; Ctrl+C cancels.
	if err := kb.Key(hardware.KeyA, true); err != nil {
		t.Fatal(err)
	}
	if err := kb.Key(hardware.KeyA, true); err != nil {
		t.Fatal(err)
	}
	_ = kb.Key(hardware.KeyA, false)
	_ = kb.Key(hardware.KeyA, false) // released twice: not an error
	typeText(t, kb, "bc")
	_ = kb.Key(hardware.KeyBackspace, true)
	_ = kb.Key(hardware.KeyBackspace, false)
	_ = kb.Key(hardware.KeyLeftCtrl, true)
	typeText(t, kb, "c")
	_ = kb.Key(hardware.KeyLeftCtrl, false)
	got := waitText(t, m, "^C")
	if !strings.HasSuffix(got, "root@sim-k:~# ab^C\nroot@sim-k:~#") {
		t.Errorf("screen ends:\n%s", got[max(0, len(got)-200):])
	}
	if !strings.HasSuffix(serial.String(), "abc\b \b^C\r\nroot@sim-k:~# ") {
		t.Errorf("serial ends %q", serial.String()[max(0, len(serial.String())-40):])
	}

	// Caps Lock makes letters capitals.
	_ = kb.Key(hardware.KeyCapsLock, true)
	_ = kb.Key(hardware.KeyCapsLock, false)
	typeText(t, kb, "echo x\r")
	waitText(t, m, "root@sim-k:~# ECHO X\n-sh: ECHO: command not found")

	// Ctrl+Alt+Delete reboots the OS.
	for _, k := range []hardware.KeyCode{hardware.KeyLeftCtrl, hardware.KeyLeftAlt, hardware.KeyDelete} {
		_ = kb.Key(k, true)
	}
	serial.waitFor(t, pos, "reboot: Restarting system")
}

func TestKeyboardLEDsAndErrors(t *testing.T) {
	m := New(Config{ID: "l", Seed: "keyboard", PowerOnDelay: forever})
	defer m.Close()
	kb := m.Keyboard()
	if err := kb.Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Errorf("key while off: %v", err)
	}
	for _, k := range []hardware.KeyCode{0, 1, 3, 0xA5, 0xDF, 0xE8, 0xFFFF} {
		if err := kb.Key(k, true); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("key %#x: %v", uint16(k), err)
		}
	}
	ch, stop := kb.WatchLEDs()
	defer stop()
	m.Attach(testHost{fw: &firmware{}})
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	// The firmware takes keys during POST.
	press := func(k hardware.KeyCode) {
		t.Helper()
		if err := kb.Key(k, true); err != nil {
			t.Fatal(err)
		}
		if err := kb.Key(k, false); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		k    hardware.KeyCode
		want hardware.KeyboardLEDs
	}{
		{hardware.KeyCapsLock, hardware.KeyboardLEDs{CapsLock: true}},
		{hardware.KeyNumLock, hardware.KeyboardLEDs{CapsLock: true, NumLock: true}},
		{keyScrollLock, hardware.KeyboardLEDs{CapsLock: true, NumLock: true, ScrollLock: true}},
		{hardware.KeyCapsLock, hardware.KeyboardLEDs{NumLock: true, ScrollLock: true}},
	}
	for _, s := range steps {
		press(s.k)
		if got := kb.LEDs(); got != s.want {
			t.Errorf("after %#x: %+v, want %+v", uint16(s.k), got, s.want)
		}
		if !received(ch) {
			t.Errorf("no LED change reported after %#x", uint16(s.k))
		}
	}
	press(hardware.KeyA)
	if received(ch) {
		t.Error("an LED change reported for A")
	}
	// Off: the LEDs go out, and that is a change.
	if err := m.Reset(context.Background(), hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if got := kb.LEDs(); got != (hardware.KeyboardLEDs{}) || !received(ch) {
		t.Errorf("off: LEDs %+v", got)
	}
	stop()
	stop()
}
