package sim

import (
	"strings"
	"testing"
)

func TestTextGrid(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		row, col       int
	}{
		{"plain", "ab", "ab", 0, 2},
		{"crlf", "ab\r\ncd", "ab\ncd", 1, 2},
		{"lf keeps the column", "ab\ncd", "ab\n  cd", 1, 4},
		{"cr overwrites", "abc\rX", "Xbc", 0, 1},
		{"backspace erase", "abc\b \b", "ab", 0, 2},
		{"backspace at the left edge", "\b\ba", "a", 0, 1},
		{"wrap at the edge", "abcdefg", "abcde\nfg", 1, 2},
		{"full line then crlf does not skip a line", "abcde\r\nf", "abcde\nf", 1, 1},
		{"scroll", "1\r\n2\r\n3\r\n4", "2\n3\n4", 2, 1},
		{"tab", "a\tb", "a   b", 0, 4}, // the last column stops a tab
		{"escape sequences hidden", "a\x1b[1;31mb\x1bcc\x1b[2Kd", "abcd", 0, 4},
		{"other controls hidden", "a\x00\x07\x7fb", "ab", 0, 2},
		{"utf-8", "é€", "é€", 0, 2},
		{"utf-8 cut short", "\xc3a", "\ufffda", 0, 2},
		{"invalid utf-8", "\xff", "\ufffd", 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var g textGrid
			g.size(5, 3)
			g.writeString(c.in)
			if got := g.text(); got != c.want {
				t.Errorf("text %q, want %q", got, c.want)
			}
			if g.row != c.row || g.col != c.col {
				t.Errorf("cursor %d,%d, want %d,%d", g.row, g.col, c.row, c.col)
			}
		})
	}
}

func TestTextGridColours(t *testing.T) {
	var g textGrid
	g.size(4, 2)
	g.colors(colWhite, colBlue)
	g.writeString("ab")
	g.colors(colLightGray, colBlack)
	g.writeString("c")
	want := []cell{{'a', colWhite, colBlue}, {'b', colWhite, colBlue}, {'c', colLightGray, colBlack}, {' ', colLightGray, colBlack}}
	for i, w := range want {
		if g.cells[i] != w {
			t.Errorf("cell %d: %+v, want %+v", i, g.cells[i], w)
		}
	}
	g.reset()
	if g.text() != "" || g.row != 0 || g.col != 0 {
		t.Errorf("after reset: %q at %d,%d", g.text(), g.row, g.col)
	}
}

// The glyphs come from basicfont's 7x13 face: each printable character
// inks something inside its cell, space nothing, and runes the face lacks
// look like U+FFFD.
func TestGlyphs(t *testing.T) {
	blank := glyph{}
	if *glyphFor(' ') != blank {
		t.Error("space inks")
	}
	seen := map[glyph]rune{}
	for r := rune('!'); r <= '~'; r++ {
		g := *glyphFor(r)
		if g == blank {
			t.Errorf("%q is blank", r)
		}
		if g[0] != 0 || g[1] != 0 || g[cellH-1] != 0 {
			t.Errorf("%q inks the cell's spacing rows", r)
		}
		for _, row := range g {
			if row&0x81 != 0 {
				t.Errorf("%q inks the cell's spacing columns", r)
			}
		}
		if o, dup := seen[g]; dup {
			t.Errorf("%q looks like %q", r, o)
		}
		seen[g] = r
	}
	if *glyphFor('☃') != *glyphFor('\ufffd') || *glyphFor('\ufffd') == blank {
		t.Error("a rune the face lacks is not drawn as U+FFFD")
	}
	// The letter A, as the face draws it, one row per line.
	var b strings.Builder
	for _, row := range glyphFor('A') {
		for x := 0; x < cellW; x++ {
			if row&(0x80>>x) != 0 {
				b.WriteByte('#')
			} else {
				b.WriteByte('.')
			}
		}
		b.WriteByte('\n')
	}
	wantA := strings.Repeat("........\n", 4) + "...##...\n..#..#..\n" + strings.Repeat(".#....#.\n", 3) +
		".######.\n" + strings.Repeat(".#....#.\n", 3) + strings.Repeat("........\n", 3)
	if b.String() != wantA {
		t.Errorf("A does not look like one:\n%s", b.String())
	}
}
