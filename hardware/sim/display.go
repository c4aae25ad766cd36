package sim

import (
	"fmt"
	goimage "image" // "image" names a test helper of this package
	"slices"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated host's screen (hardware.Display): a DisplayWidth x
// DisplayHeight text mode of textCols x textRows cells (see font.go).
//
//   - Off: no signal, a Frame without Image.
//   - POST (after a power-on or a warm reset): the firmware's screen, with
//     the server's inventory and the virtual media the BMC presents; when
//     the firmware has chosen, the boot device and image it boots.
//   - Booted: the operating system's text console continues below, showing
//     everything the host writes to its serial line (console redirection),
//     so what is typed there, and through Keyboard, is echoed here too.
//
// The text is kept as a grid of cells (textgrid.go), updated as the host
// writes: that is cheap and needs no watcher. Pixels are drawn only when
// Frame is called and the grid changed since the last Frame: no goroutine
// draws, and nothing is drawn while nobody asks. Each new picture is a new
// image (copy-on-write: the last image is copied, 3 MiB, and only the cells
// that differ are redrawn), so callers may keep a Frame as long as they
// like; Dirty lists the cells that differ from the previous Frame.

// Display geometry, in pixels.
const (
	DisplayWidth  = 1024
	DisplayHeight = 768
	textCols      = DisplayWidth / cellW  // 128
	textRows      = DisplayHeight / cellH // 48
)

// screenPhase is what the screen shows.
type screenPhase uint8

const (
	phaseOff  screenPhase = iota // no signal
	phasePOST                    // the firmware's POST screen
	phaseOS                      // the OS's text console
)

// simDisplay is the screen, keyboard and pointer state; guarded by
// Machine.mu except render, which has its own lock, taken before
// Machine.mu.
type simDisplay struct {
	phase    screenPhase
	text     textGrid
	changes  uint64 // counts changes of what the screen shows
	watchers watchers
	// media: slot ID -> image URL presented to the host, under its own
	// lock, since the Machine ejects with its own lock held, which it
	// also takes in the power callback that runs under Machine.mu.
	mediaMu sync.Mutex
	media   map[string]string
	bios    string        // BIOS version the last boot ran
	kbd     keyboardState // keyboard.go
	ptr     pointerState  // pointer.go
	render  renderer
}

// watchers are channels that receive, without blocking, after each change
// (capacity 1: changes coalesce until the watcher reads).
type watchers map[chan struct{}]struct{}

func (w watchers) notify() {
	for ch := range w {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// watch registers a new watcher in *w; stop (idempotent) removes it.
func (m *Machine) watch(w *watchers) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	if *w == nil {
		*w = watchers{}
	}
	(*w)[ch] = struct{}{}
	m.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			m.mu.Lock()
			delete(*w, ch)
			m.mu.Unlock()
		})
	}
}

// Display returns the machine's screen (see hardware.Display).
func (m *Machine) Display() hardware.Display { return simScreen{m} }

// simScreen is the hardware.Display of a Machine.
type simScreen struct{ m *Machine }

// Watch implements hardware.Display.
func (s simScreen) Watch() (<-chan struct{}, func()) { return s.m.watch(&s.m.disp.watchers) }

// Frame implements hardware.Display: the current picture, drawn now if
// the screen changed since the last call. Seq grows by one with each new
// picture; Image is nil while the host is off.
func (s simScreen) Frame() hardware.Frame {
	m := s.m
	r := &m.disp.render
	r.mu.Lock()
	defer r.mu.Unlock()
	m.mu.Lock()
	m.syncDisplayLocked()
	n := m.disp.changes
	if n == r.drawn {
		m.mu.Unlock()
		return r.frame
	}
	snap := m.disp.snapshotLocked(r.spare)
	m.mu.Unlock()
	r.drawn = n
	r.draw(snap)
	return r.frame
}

// changedLocked records a change of the picture and tells the watchers.
func (m *Machine) changedLocked() {
	m.disp.changes++
	m.disp.watchers.notify()
}

// syncDisplayLocked brings the phase in line with a power state set
// without a hook (a machine created or resumed On shows its OS console).
func (m *Machine) syncDisplayLocked() {
	d := &m.disp
	d.text.size(textCols, textRows)
	switch {
	case m.state == hardware.PowerOff && d.phase != phaseOff:
		m.displayPowerLocked(hardware.PowerOff)
	case m.state != hardware.PowerOff && d.phase == phaseOff:
		d.phase = phaseOS
		d.text.reset()
		m.changedLocked()
	}
}

// displayPowerLocked is the power hook: when the host goes off the screen
// loses its signal, and the keyboard and pointer forget their state.
func (m *Machine) displayPowerLocked(to hardware.PowerState) {
	if to != hardware.PowerOff {
		return
	}
	d := &m.disp
	d.phase = phaseOff
	d.text.size(textCols, textRows)
	d.text.reset()
	m.changedLocked()
	m.keyboardOffLocked()
	d.ptr = pointerState{}
}

// displayPOSTLocked is the POST hook: the firmware's screen.
func (m *Machine) displayPOSTLocked() {
	d := &m.disp
	in := m.info
	bios := in.BiosVersion
	if d.bios != "" {
		bios = d.bios
	}
	t := &d.text
	t.size(textCols, textRows)
	t.reset()
	d.phase = phasePOST

	t.colors(colWhite, colBlue)
	title := fmt.Sprintf(" %s %s", in.Manufacturer, in.Model)
	right := "BIOS " + bios + " "
	t.writeString(fmt.Sprintf("%-*s%s", textCols-len(right), title, right))
	t.colors(colLightGray, colBlack)
	t.writeString("\r\n\r\n")
	label := func(l, format string, args ...any) {
		t.colors(colWhite, colBlack)
		t.writeString(fmt.Sprintf(" %-14s", l))
		t.colors(colLightGray, colBlack)
		t.writeString(fmt.Sprintf(format, args...) + "\r\n")
	}
	label("System", "%s %s, serial %s", in.Manufacturer, in.Model, in.SerialNumber)
	label("BIOS", "%s", bios)
	label("Processors", "%d x %s, %d cores, %d threads each", in.ProcessorCount, in.ProcessorModel, in.CoresPerProcessor, in.ThreadsPerCore)
	label("Memory", "%g GiB OK", in.MemoryGiB)
	for i, dk := range in.Disks {
		label(heading(i, "Storage"), "%s: %s (%s)", dk.ID, dk.Model, dk.Protocol)
	}
	for i, n := range in.NICs {
		label(heading(i, "Network"), "%s: MAC %s, %d Mb/s", n.ID, n.MAC, n.SpeedMbps)
	}
	for i, s := range mediaSlots {
		what := "no medium"
		d.mediaMu.Lock()
		u := d.media[s.ID]
		d.mediaMu.Unlock()
		if u != "" {
			what = hardware.RedactURL(u)
		}
		label(heading(i, "Virtual media"), "%s: %s", s.Name, what)
	}
	t.writeString("\r\n")
	m.changedLocked()
}

// heading labels the first of a list's lines.
func heading(i int, label string) string {
	if i == 0 {
		return label
	}
	return ""
}

// displayBootLocked is the boot hook: the firmware shows what it chose
// (res, from the Machine's Firmware), and the OS console follows.
func (m *Machine) displayBootLocked(res hardware.BootResult) {
	d := &m.disp
	m.syncDisplayLocked()
	src, mode := res.Source, res.Mode
	if src == "" {
		src = hardware.BootHdd
	}
	if mode == "" {
		mode = hardware.BootModeUEFI
	}
	t := &d.text
	if res.BiosVersion != "" && d.bios != res.BiosVersion && d.phase == phasePOST {
		shown := d.bios
		if shown == "" {
			shown = m.info.BiosVersion
		}
		if shown != res.BiosVersion {
			t.writeString(" BIOS " + res.BiosVersion + " activated\r\n")
		}
	}
	if res.BiosVersion != "" {
		d.bios = res.BiosVersion
	}
	t.colors(colYellow, colBlack)
	line := fmt.Sprintf(" Booting from %s", src)
	if o := res.Option; o.Reference != "" {
		line += fmt.Sprintf(" (%s: %s)", o.Reference, o.DisplayName)
	}
	t.writeString(line + ", " + string(mode) + " mode\r\n")
	if res.Image != "" {
		t.writeString("   Image: " + hardware.RedactURL(res.Image) + "\r\n")
	}
	t.colors(colLightGray, colBlack)
	d.phase = phaseOS
	m.changedLocked()
}

// outLocked is the host's serial output: to the console attached, if
// any, and to the screen once the OS runs (the firmware redirects its
// console and the kernel prints on both).
func (m *Machine) outLocked(p []byte) {
	m.syncDisplayLocked()
	if m.disp.phase == phaseOS {
		m.disp.text.write(p)
		m.changedLocked()
	}
	if m.con.out != nil {
		m.con.out(p)
	}
}

// presentMedia records the image the BMC presents in slot ("" for none),
// for the POST screen.
func (m *Machine) presentMedia(slot, url string) {
	m.disp.mediaMu.Lock()
	defer m.disp.mediaMu.Unlock()
	if m.disp.media == nil {
		m.disp.media = map[string]string{}
	}
	if url == "" {
		delete(m.disp.media, slot)
		return
	}
	m.disp.media[slot] = url
}

// screenText is the screen's text, one line per row (trailing blanks and
// blank rows at the end trimmed); "" while off.
func (m *Machine) screenText() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncDisplayLocked()
	if m.disp.phase == phaseOff {
		return ""
	}
	return m.disp.text.text()
}

// snapshot is what a picture shows.
type snapshot struct {
	on       bool
	cells    []cell
	cursor   int // index of the cell with the text cursor; -1 for none
	ptr      goimage.Point
	ptrShown bool
}

// snapshotLocked copies the screen's state, into buf's storage.
func (d *simDisplay) snapshotLocked(buf []cell) snapshot {
	s := snapshot{on: d.phase != phaseOff, cells: append(buf[:0], d.text.cells...), cursor: -1,
		ptr: d.ptr.pos, ptrShown: d.ptr.shown}
	if d.phase == phaseOS {
		s.cursor = d.text.row*d.text.cols + d.text.col
	}
	return s
}

// renderer turns snapshots into Frames.
type renderer struct {
	mu    sync.Mutex
	drawn uint64 // simDisplay.changes when frame was drawn
	frame hardware.Frame
	snap  snapshot // what frame shows
	spare []cell   // storage for the next snapshot
}

// draw makes r.frame show s: a new Frame if the picture differs.
func (r *renderer) draw(s snapshot) {
	prev := r.frame
	old := r.snap
	r.snap, r.spare = s, old.cells
	next := hardware.Frame{Seq: prev.Seq + 1, DirtySince: prev.Seq, Time: time.Now()}
	switch {
	case !s.on:
		if prev.Image == nil {
			return // still no signal
		}
	case prev.Image == nil:
		img := goimage.NewRGBA(goimage.Rect(0, 0, DisplayWidth, DisplayHeight))
		all := make([]bool, len(s.cells))
		for i := range all {
			all[i] = true
		}
		paint(img, s, all)
		next.Image, next.Dirty = img, []goimage.Rectangle{img.Rect}
	default:
		dirty, any := dirtyCells(old, s)
		if !any {
			return // the same picture
		}
		p := prev.Image.(*goimage.RGBA)
		img := &goimage.RGBA{Pix: slices.Clone(p.Pix), Stride: p.Stride, Rect: p.Rect}
		paint(img, s, dirty)
		next.Image, next.Dirty = img, dirtyRects(dirty)
	}
	r.frame = next
}

// cellsUnder marks the cells under the pixel rectangle q in mark; it
// reports whether any of them was marked already.
func cellsUnder(q goimage.Rectangle, mark []bool, set bool) (was bool) {
	q = q.Intersect(goimage.Rect(0, 0, DisplayWidth, DisplayHeight))
	for row := q.Min.Y / cellH; row <= (q.Max.Y-1)/cellH && !q.Empty(); row++ {
		for col := q.Min.X / cellW; col <= (q.Max.X-1)/cellW; col++ {
			i := row*textCols + col
			was = was || mark[i]
			if set {
				mark[i] = true
			}
		}
	}
	return was
}

// dirtyCells marks the cells whose pixels differ between a and b: text,
// colours, the text cursor, and the cells under the pointer where it was
// and where it is.
func dirtyCells(a, b snapshot) ([]bool, bool) {
	d := make([]bool, len(b.cells))
	for i := range b.cells {
		d[i] = i >= len(a.cells) || a.cells[i] != b.cells[i]
	}
	if a.cursor != b.cursor {
		for _, c := range []int{a.cursor, b.cursor} {
			if c >= 0 && c < len(d) {
				d[c] = true
			}
		}
	}
	if a.ptr != b.ptr || a.ptrShown != b.ptrShown {
		if a.ptrShown {
			cellsUnder(pointerRect(a.ptr), d, true)
		}
		if b.ptrShown {
			cellsUnder(pointerRect(b.ptr), d, true)
		}
	}
	if b.ptrShown && cellsUnder(pointerRect(b.ptr), d, false) {
		cellsUnder(pointerRect(b.ptr), d, true) // the pointer is drawn whole
	}
	return d, slices.Contains(d, true)
}

// paint redraws the marked cells of s into img, then the pointer.
func paint(img *goimage.RGBA, s snapshot, mark []bool) {
	for i, c := range s.cells {
		if mark[i] {
			drawCell(img, i%textCols, i/textCols, c, i == s.cursor)
		}
	}
	if s.ptrShown {
		drawPointer(img, s.ptr)
	}
}

// dirtyRects covers the marked cells with rectangles: per row the span
// from the first to the last marked cell, rows with the same span merged.
func dirtyRects(mark []bool) []goimage.Rectangle {
	var out []goimage.Rectangle
	for row := 0; row < textRows; row++ {
		first, last := -1, -1
		for col := 0; col < textCols; col++ {
			if mark[row*textCols+col] {
				if first < 0 {
					first = col
				}
				last = col
			}
		}
		if first < 0 {
			continue
		}
		r := goimage.Rect(first*cellW, row*cellH, (last+1)*cellW, (row+1)*cellH)
		if n := len(out); n > 0 && out[n-1].Max.Y == r.Min.Y && out[n-1].Min.X == r.Min.X && out[n-1].Max.X == r.Max.X {
			out[n-1].Max.Y = r.Max.Y
			continue
		}
		out = append(out, r)
	}
	return out
}
