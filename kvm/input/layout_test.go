package input

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestLayoutStrokes(t *testing.T) {
	const (
		S = ModShift
		G = ModAltGr
	)
	st := func(k hardware.KeyCode, m Mods) Stroke { return Stroke{k, m} }
	for _, tc := range []struct {
		layout string
		r      rune
		want   []Stroke
	}{
		{"us", 'a', []Stroke{st(0x04, 0)}},
		{"us", 'A', []Stroke{st(0x04, S)}},
		{"us", '~', []Stroke{st(0x35, S)}},
		{"us", '\\', []Stroke{st(0x31, 0)}},
		{"us", '<', []Stroke{st(0x36, S)}},
		{"de", 'z', []Stroke{st(0x1C, 0)}},
		{"de", 'Y', []Stroke{st(0x1D, S)}},
		{"de", 'ß', []Stroke{st(0x2D, 0)}},
		{"de", 'Ä', []Stroke{st(0x34, S)}},
		{"de", '€', []Stroke{st(0x08, G)}},
		{"de", '{', []Stroke{st(0x24, G)}},
		{"de", '\\', []Stroke{st(0x2D, G)}},
		{"de", '|', []Stroke{st(0x64, G)}},
		{"de", '~', []Stroke{st(0x30, G)}},
		{"de", '#', []Stroke{st(0x31, 0)}},
		{"de", '`', []Stroke{st(0x2E, S), st(0x2C, 0)}},
		{"de", 'ô', []Stroke{st(0x35, 0), st(0x12, 0)}},
		{"de", 'È', []Stroke{st(0x2E, S), st(0x08, S)}},
		{"fr", 'a', []Stroke{st(0x14, 0)}},
		{"fr", 'z', []Stroke{st(0x1A, 0)}},
		{"fr", 'm', []Stroke{st(0x33, 0)}},
		{"fr", 'é', []Stroke{st(0x1F, 0)}},
		{"fr", '2', []Stroke{st(0x1F, S)}},
		{"fr", '^', []Stroke{st(0x26, G)}},
		{"fr", 'ë', []Stroke{st(0x2F, S), st(0x08, 0)}},
		{"fr", 'Ê', []Stroke{st(0x2F, 0), st(0x08, S)}},
		{"fr", ';', []Stroke{st(0x36, 0)}},
		{"ru", 'я', []Stroke{st(0x1D, 0)}},
		{"ru", 'й', []Stroke{st(0x14, 0)}},
		{"ru", 'ё', []Stroke{st(0x35, 0)}},
		{"ru", '№', []Stroke{st(0x20, S)}},
		{"ru", '/', []Stroke{st(0x31, S)}},
	} {
		l, err := LayoutByName(tc.layout)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := l.Strokes(tc.r); !ok || !slices.Equal(got, tc.want) {
			t.Errorf("%s %q = %v, %v; want %v", tc.layout, tc.r, got, ok, tc.want)
		}
	}
}

func TestLayoutCoverage(t *testing.T) {
	var ascii strings.Builder
	for r := rune(0x20); r < 0x7F; r++ {
		ascii.WriteRune(r)
	}
	const digits = "0123456789 \n\t"
	for _, tc := range []struct {
		layout  string
		types   string
		cannot  string
		letters string
	}{
		{"us", ascii.String(), "äéЖ€Ç", "abcdefghijklmnopqrstuvwxyz"},
		{"de", ascii.String() + "äöüÄÖÜß€§°µ²³éèêáàâÉÈÊ", "Ж", "abcdefghijklmnopqrstuvwxyzäöü"},
		{"fr", ascii.String() + "éèçàùÉÈÀ€£§°µ²¤êëâîïôûÊËÂ", "ЖÇ", "abcdefghijklmnopqrstuvwxyz"},
		{"ru", digits + "!\"№;%:?*()-_=+.,/\\", "abcxyzäé@#$^&[]{}<>'`~", "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"},
	} {
		l, err := LayoutByName(tc.layout)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range tc.types + digits {
			s, ok := l.Strokes(r)
			if !ok {
				t.Errorf("%s cannot type %q", tc.layout, r)
				continue
			}
			for _, x := range s {
				if !x.Key.Valid() || x.Key.Modifier() {
					t.Errorf("%s %q: stroke %v", tc.layout, r, x)
				}
			}
		}
		for _, r := range tc.cannot {
			if s, ok := l.Strokes(r); ok {
				t.Errorf("%s types %q as %v", tc.layout, r, s)
			}
		}
		// Every letter has its upper case on Shift, and Caps Lock inverts it.
		for _, r := range tc.letters {
			lo, _ := l.Strokes(r)
			up, ok := l.Strokes([]rune(strings.ToUpper(string(r)))[0])
			if !ok || len(lo) != 1 || len(up) != 1 || up[0] != (Stroke{lo[0].Key, lo[0].Mods | ModShift}) {
				t.Errorf("%s %q: %v, upper case %v", tc.layout, r, lo, up)
				continue
			}
			if got := l.CapsLocked(lo[0]); got != up[0] {
				t.Errorf("%s %q with Caps Lock = %v, want %v", tc.layout, r, got, up[0])
			}
		}
		// Digits and punctuation are not shifted by Caps Lock.
		for _, r := range "1;" {
			if s, ok := l.Strokes(r); ok && l.CapsLocked(s[0]) != s[0] {
				t.Errorf("%s %q shifted by Caps Lock", tc.layout, r)
			}
		}
	}
}

func TestLayoutPlan(t *testing.T) {
	got, err := US.Plan("a\r\nb\rc\n")
	want := []Stroke{{0x04, 0}, {0x28, 0}, {0x05, 0}, {0x28, 0}, {0x06, 0}, {0x28, 0}}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("Plan = %v, %v; want %v", got, err, want)
	}
	_, err = DE.Plan("Grüße, ☃ und ☃ и \x00")
	var ue *UntypableError
	if !errors.As(err, &ue) || ue.Layout != "de" || !slices.Equal(ue.Chars, []rune("☃и\x00")) {
		t.Fatalf("Plan of untypable text: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, `'☃'`) || !strings.Contains(msg, `"de"`) || !strings.Contains(msg, "3 character") {
		t.Fatalf("message %q does not name the characters", msg)
	}
	many := strings.Repeat("", 0)
	for r := rune(0x4E00); r < 0x4E00+30; r++ {
		many += string(r)
	}
	_, err = US.Plan(many)
	if msg := err.Error(); !strings.Contains(msg, "30 character") || !strings.Contains(msg, "…") {
		t.Fatalf("long list: %q", msg)
	}
	if s, err := US.Plan(""); err != nil || len(s) != 0 {
		t.Fatalf("empty text: %v, %v", s, err)
	}
}

func TestLayoutByName(t *testing.T) {
	for _, name := range []string{"", "us", "US", "de", "fr", "ru"} {
		if _, err := LayoutByName(name); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	_, err := LayoutByName("dvorak")
	if !errors.Is(err, ErrUnknownLayout) || !strings.Contains(err.Error(), "us, de, fr, ru") {
		t.Fatalf("unknown layout: %v", err)
	}
	if got := len(Layouts()); got != 4 {
		t.Fatalf("%d layouts", got)
	}
}
