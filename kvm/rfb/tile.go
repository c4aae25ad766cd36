package rfb

import "image"

// maxPalette is the largest palette a tile is analysed for: ZRLE's
// palette RLE takes up to 127 colours (Tight's palette filter 256, of
// which bmcd uses as many).
const maxPalette = 127

// tileStats describe the pixels of one tile, for choosing its encoding.
type tileStats struct {
	// palette holds the tile's colours (0xRRGGBB) in order of first
	// appearance while there are at most maxPalette; n counts them, and
	// is maxPalette+1 once there are more.
	palette [maxPalette]uint32
	n       int
	// runs is the number of runs of one colour (row after row, a run
	// going on from the end of a row to the next); runBytes the bytes
	// their lengths take in ZRLE's RLE.
	runs, runBytes int
	// runs1 counts the runs of a single pixel.
	runs1 int
}

// analyse fills s from the pixels of r in p.
func (s *tileStats) analyse(p *picture, r image.Rectangle) {
	s.n, s.runs, s.runBytes, s.runs1 = 0, 0, 0, 0
	run := 0
	var cur uint32
	last := -1 // palette index of cur
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := p.pix[y*p.stride+4*r.Min.X : y*p.stride+4*r.Max.X]
		for i := 0; i < len(row); i += 4 {
			c := uint32(row[i])<<16 | uint32(row[i+1])<<8 | uint32(row[i+2])
			if run > 0 && c == cur {
				run++
				continue
			}
			if run > 0 {
				s.endRun(run)
			}
			cur, run = c, 1
			if s.n <= maxPalette {
				last = s.index(c, last)
			}
		}
	}
	if run > 0 {
		s.endRun(run)
	}
}

func (s *tileStats) endRun(n int) {
	s.runs++
	s.runBytes += (n-1)/255 + 1
	if n == 1 {
		s.runs1++
	}
}

// index returns the palette index of c, adding it if new (hint: the
// index of the previous colour, tried first); -1 once the palette
// overflows.
func (s *tileStats) index(c uint32, hint int) int {
	if hint >= 0 && hint < s.n && s.palette[hint] == c {
		return hint
	}
	for i := 0; i < s.n; i++ {
		if s.palette[i] == c {
			return i
		}
	}
	if s.n == maxPalette {
		s.n++ // overflow
		return -1
	}
	s.palette[s.n] = c
	s.n++
	return s.n - 1
}

// lookup returns the palette index of c (which is in the palette), hint
// first.
func (s *tileStats) lookup(c uint32, hint int) int {
	if hint >= 0 && s.palette[hint] == c {
		return hint
	}
	for i := 0; i < s.n; i++ {
		if s.palette[i] == c {
			return i
		}
	}
	return 0
}

// tiles splits r into tiles of at most w x h pixels, left to right, top
// to bottom, and calls fn for each until it returns an error.
func tiles(r image.Rectangle, w, h int, fn func(image.Rectangle) error) error {
	for y := r.Min.Y; y < r.Max.Y; y += h {
		for x := r.Min.X; x < r.Max.X; x += w {
			if err := fn(image.Rect(x, y, min(x+w, r.Max.X), min(y+h, r.Max.Y))); err != nil {
				return err
			}
		}
	}
	return nil
}

// tileCount is the number of tiles tiles makes of r.
func tileCount(r image.Rectangle, w, h int) int {
	if r.Empty() {
		return 0
	}
	return ((r.Dx() + w - 1) / w) * ((r.Dy() + h - 1) / h)
}
