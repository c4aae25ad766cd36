package sim

import (
	"strings"
	"unicode/utf8"
)

// cell is one character on the text screen, with palette colours.
type cell struct {
	r      rune
	fg, bg uint8
}

// textGrid is the text on the simulated screen: rows x cols cells and a
// cursor, written as a dumb terminal shows a serial line: printable runes
// (UTF-8) at the cursor with wrapping at the right edge, CR, LF (scrolling
// at the bottom), BS and TAB; escape sequences (ESC x, and CSI up to its
// final byte) and other control characters are consumed unshown. The zero
// value is empty; size sets its dimensions.
type textGrid struct {
	cols, rows int
	cells      []cell
	row, col   int
	wrapNext   bool // the last column was written: the next rune starts a line
	fg, bg     uint8
	esc        uint8  // 0, escStart or escCSI
	utf        []byte // an incomplete UTF-8 sequence
}

const (
	escStart = 1 // after ESC
	escCSI   = 2 // after ESC [
)

// size makes the grid cols x rows, cleared, if it is not already.
func (g *textGrid) size(cols, rows int) {
	if g.cols == cols && g.rows == rows && g.cells != nil {
		return
	}
	g.cols, g.rows = cols, rows
	g.cells = make([]cell, cols*rows)
	g.reset()
}

// reset clears the screen in light grey on black, cursor home.
func (g *textGrid) reset() {
	g.fg, g.bg = colLightGray, colBlack
	g.esc, g.utf = 0, nil
	g.clear()
}

// clear blanks every cell in the current colours, cursor home.
func (g *textGrid) clear() {
	for i := range g.cells {
		g.cells[i] = cell{' ', g.fg, g.bg}
	}
	g.row, g.col, g.wrapNext = 0, 0, false
}

// colors sets the colours of what is written next.
func (g *textGrid) colors(fg, bg uint8) { g.fg, g.bg = fg, bg }

// writeString writes s as write does.
func (g *textGrid) writeString(s string) { g.write([]byte(s)) }

// write shows p as a terminal would.
func (g *textGrid) write(p []byte) {
	for _, b := range p {
		switch {
		case g.esc == escStart:
			g.esc = 0
			if b == '[' {
				g.esc = escCSI
			}
		case g.esc == escCSI:
			if b >= 0x40 && b <= 0x7e {
				g.esc = 0 // the final byte
			}
		case b >= 0x80:
			g.utf = append(g.utf, b)
			for len(g.utf) > 0 && utf8.FullRune(g.utf) {
				r, n := utf8.DecodeRune(g.utf)
				g.put(r)
				g.utf = g.utf[n:]
			}
		default:
			if len(g.utf) > 0 { // a sequence cut short
				g.utf = nil
				g.put(utf8.RuneError)
			}
			g.control(b)
		}
	}
}

// control handles one byte below 0x80.
func (g *textGrid) control(b byte) {
	switch b {
	case '\r':
		g.col, g.wrapNext = 0, false
	case '\n', '\v', '\f':
		g.wrapNext = false
		g.lineFeed()
	case '\b':
		if g.col > 0 && !g.wrapNext {
			g.col--
		}
		g.wrapNext = false
	case '\t':
		g.col = min(g.cols-1, (g.col/8+1)*8)
		g.wrapNext = false
	case 0x1b:
		g.esc = escStart
	default:
		if b >= ' ' && b < 0x7f {
			g.put(rune(b))
		}
	}
}

// put shows r at the cursor and advances it.
func (g *textGrid) put(r rune) {
	if g.cells == nil {
		return
	}
	if g.wrapNext {
		g.col, g.wrapNext = 0, false
		g.lineFeed()
	}
	g.cells[g.row*g.cols+g.col] = cell{r, g.fg, g.bg}
	if g.col == g.cols-1 {
		g.wrapNext = true
	} else {
		g.col++
	}
}

// lineFeed moves the cursor down a line, scrolling at the bottom.
func (g *textGrid) lineFeed() {
	if g.row < g.rows-1 {
		g.row++
		return
	}
	copy(g.cells, g.cells[g.cols:])
	for i := len(g.cells) - g.cols; i < len(g.cells); i++ {
		g.cells[i] = cell{' ', g.fg, g.bg}
	}
}

// text is the grid as lines of text, trailing blanks trimmed, blank
// lines at the end dropped.
func (g *textGrid) text() string {
	var b strings.Builder
	for r := 0; r < g.rows; r++ {
		var line strings.Builder
		for _, c := range g.cells[r*g.cols : (r+1)*g.cols] {
			line.WriteRune(c.r)
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}
