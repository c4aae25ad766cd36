package input

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bmcd/bmcd/hardware"
	"golang.org/x/text/unicode/norm"
)

// Mods are the modifiers held for a Stroke.
type Mods uint8

// The modifiers a layout's levels need.
const (
	// ModShift is the left Shift key (level 2).
	ModShift Mods = 1 << iota
	// ModAltGr is AltGr, the right Alt key (ISO_Level3_Shift: level 3).
	ModAltGr
)

// Keys are the modifier keys m holds, Shift before AltGr.
func (m Mods) Keys() []hardware.KeyCode {
	var ks []hardware.KeyCode
	if m&ModShift != 0 {
		ks = append(ks, hardware.KeyLeftShift)
	}
	if m&ModAltGr != 0 {
		ks = append(ks, hardware.KeyRightAlt)
	}
	return ks
}

// Stroke is one press and release of Key with Mods held.
type Stroke struct {
	Key  hardware.KeyCode
	Mods Mods
}

// keyDef is one key of a layout: the characters it types at levels 1-4
// (none, Shift, AltGr, Shift+AltGr), 0 where it types none; a combining
// mark (U+0300..U+036F) is a dead key that adds that mark to the next
// character.
type keyDef struct {
	key    hardware.KeyCode
	levels [4]rune
}

// isoKey is the key left of Z on ISO keyboards (IntlBackslash).
const isoKey hardware.KeyCode = 0x64

var levelMods = [4]Mods{0, ModShift, ModAltGr, ModShift | ModAltGr}

// deadSpacing is what a dead key followed by Space types where X11's
// Compose table, the Linux console and Windows agree.
var deadSpacing = map[rune]rune{'\u0300': '`', '\u0302': '^', '\u0303': '~'}

// Layout is a host keyboard layout: which keys, with which modifiers, type
// a character. It is what the host is set to, not what the client has:
// text pasted in a browser is typed as a user of the host's layout would
// type it. The tables are X11's (xkb-data's basic variants, see
// layouts_xkb.go); the Linux console's and Windows' layouts of the same
// name agree on every character of the typing block's first two levels and
// on the common AltGr characters (@ € { [ ] } \ ~ |).
type Layout struct {
	// Name is the layout's short name ("us", "de", "fr", "ru"), as X11
	// and the protocols name it.
	Name string
	// Title is its name for people ("German").
	Title string
	chars map[rune][]Stroke
	// caps are the keys Caps Lock shifts: letters whose Shift level is
	// their upper case.
	caps map[hardware.KeyCode]bool
}

func newLayout(name, title string, keys []keyDef) *Layout {
	l := &Layout{Name: name, Title: title, chars: map[rune][]Stroke{}, caps: map[hardware.KeyCode]bool{}}
	type dead struct {
		mark   rune
		stroke Stroke
	}
	var deads []dead
	// Lower levels first: a character on two keys is typed the simplest
	// way. The ISO key left of Z comes last: ANSI keyboards lack it, and
	// hosts' layouts disagree more about it.
	for _, iso := range []bool{false, true} {
		for lvl, mods := range levelMods {
			for _, k := range keys {
				r := k.levels[lvl]
				s := Stroke{k.key, mods}
				switch {
				case r == 0 || (k.key == isoKey) != iso:
				case unicode.Is(unicode.Mn, r):
					deads = append(deads, dead{r, s})
				case l.chars[r] == nil:
					l.chars[r] = []Stroke{s}
				}
			}
		}
	}
	for _, k := range keys {
		lo, up := k.levels[0], k.levels[1]
		if unicode.IsLetter(lo) && lo != up && unicode.ToUpper(lo) == up {
			l.caps[k.key] = true
		}
	}
	// A dead key then a base character types the composed character.
	direct := make([]rune, 0, len(l.chars))
	for r := range l.chars {
		direct = append(direct, r)
	}
	slices.Sort(direct)
	for _, d := range deads {
		for _, base := range direct {
			c := norm.NFC.String(string(base) + string(d.mark))
			r, n := utf8.DecodeRuneInString(c)
			if n != len(c) || l.chars[r] != nil {
				continue
			}
			l.chars[r] = []Stroke{d.stroke, l.chars[base][0]}
		}
		if r, ok := deadSpacing[d.mark]; ok && l.chars[r] == nil && l.chars[' '] != nil {
			l.chars[r] = []Stroke{d.stroke, l.chars[' '][0]}
		}
	}
	// Layout-independent controls.
	l.chars['\n'] = []Stroke{{Key: hardware.KeyEnter}}
	l.chars['\r'] = []Stroke{{Key: hardware.KeyEnter}}
	l.chars['\t'] = []Stroke{{Key: hardware.KeyTab}}
	return l
}

// The layouts Type knows.
var (
	US = newLayout("us", "English (US)", usKeys)
	DE = newLayout("de", "German", deKeys)
	FR = newLayout("fr", "French (AZERTY)", frKeys)
	RU = newLayout("ru", "Russian", ruKeys)
)

var layouts = []*Layout{US, DE, FR, RU}

// DefaultLayout is the layout of a request that names none.
const DefaultLayout = "us"

// Layouts lists the known layouts.
func Layouts() []*Layout { return slices.Clone(layouts) }

// LayoutByName finds a layout by its Name, ignoring case; "" is
// DefaultLayout. Error: ErrUnknownLayout naming the known ones.
func LayoutByName(name string) (*Layout, error) {
	if name == "" {
		name = DefaultLayout
	}
	for _, l := range layouts {
		if strings.EqualFold(l.Name, name) {
			return l, nil
		}
	}
	names := make([]string, len(layouts))
	for i, l := range layouts {
		names[i] = l.Name
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownLayout, name, strings.Join(names, ", "))
}

// Strokes are the strokes that type r: one, or two for a character
// composed with a dead key (the dead key, then the base character; '^' on
// a German keyboard is the dead ^ then Space). '\n', '\r' and '\t' are
// Enter and Tab in every layout. False for a character the layout cannot
// type. The slice is shared: do not modify it.
func (l *Layout) Strokes(r rune) ([]Stroke, bool) {
	s, ok := l.chars[r]
	return s, ok
}

// CapsLocked is s as typed while the host's Caps Lock is on: a letter's
// Shift is inverted (without AltGr: Caps Lock leaves the third level
// alone), so 'a' is still typed as 'a'.
func (l *Layout) CapsLocked(s Stroke) Stroke {
	if l.caps[s.Key] && s.Mods&ModAltGr == 0 {
		s.Mods ^= ModShift
	}
	return s
}

// Plan is the strokes that type text, a "\r\n" as one Enter. Error: an
// *UntypableError listing every character the layout cannot type (nothing
// is typed then).
func (l *Layout) Plan(text string) ([]Stroke, error) {
	var (
		out []Stroke
		bad []rune
	)
	for i, r := range text {
		if r == '\r' && strings.HasPrefix(text[i+1:], "\n") {
			continue
		}
		s, ok := l.chars[r]
		if !ok {
			if !slices.Contains(bad, r) {
				bad = append(bad, r)
			}
			continue
		}
		out = append(out, s...)
	}
	if bad != nil {
		return nil, &UntypableError{Layout: l.Name, Chars: bad}
	}
	return out, nil
}

// UntypableError: text holds characters a layout cannot type. It matches
// hardware.ErrInvalid.
type UntypableError struct {
	Layout string
	// Chars are the characters, each once, in order of appearance.
	Chars []rune
}

func (e *UntypableError) Error() string {
	const most = 20
	q := make([]string, 0, most)
	for i, r := range e.Chars {
		if i == most {
			q = append(q, "…")
			break
		}
		q = append(q, fmt.Sprintf("%q", r))
	}
	return fmt.Sprintf("layout %q cannot type %d character(s): %s", e.Layout, len(e.Chars), strings.Join(q, " "))
}

// Unwrap makes the error match hardware.ErrInvalid.
func (e *UntypableError) Unwrap() error { return hardware.ErrInvalid }
