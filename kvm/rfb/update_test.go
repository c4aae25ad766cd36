package rfb

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"net"
	"os"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// Pixel formats clients ask for.
var testFormats = map[string]rfbtest.PixelFormat{
	"32 server":         rfbtest.PixelFormat(ServerPixelFormat),
	"32 big-endian":     {BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8, BlueShift: 0},
	"32 noVNC":          {BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16},
	"32 high bytes":     {BitsPerPixel: 32, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 24, GreenShift: 16, BlueShift: 8},
	"32 high bytes BE":  {BitsPerPixel: 32, Depth: 24, BigEndian: true, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 24, GreenShift: 16, BlueShift: 8},
	"32 depth 32":       {BitsPerPixel: 32, Depth: 32, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8, BlueShift: 0},
	"16 565 LE":         {BitsPerPixel: 16, Depth: 16, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5, BlueShift: 0},
	"16 555 BE":         {BitsPerPixel: 16, Depth: 15, BigEndian: true, TrueColour: true, RedMax: 31, GreenMax: 31, BlueMax: 31, RedShift: 10, GreenShift: 5, BlueShift: 0},
	"8 BGR233 TigerVNC": {BitsPerPixel: 8, Depth: 8, TrueColour: true, RedMax: 7, GreenMax: 7, BlueMax: 3, RedShift: 0, GreenShift: 3, BlueShift: 6},
}

// tolerance is the largest error per channel a format's quantisation
// makes.
func tolerance(pf rfbtest.PixelFormat) int {
	m := min(pf.RedMax, pf.GreenMax, pf.BlueMax)
	return 255/int(m)/2 + 1
}

// diff compares the framebuffer with want over want's bounds (a
// sub-image compares part of the screen): the largest error of a channel
// and the mean error.
func diff(fb *image.RGBA, want image.Image) (maxErr int, mean float64) {
	b := want.Bounds()
	var sum, n int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := want.At(x, y).RGBA()
			got := fb.RGBAAt(x, y)
			for _, d := range []int{int(r>>8) - int(got.R), int(g>>8) - int(got.G), int(bl>>8) - int(got.B)} {
				d = max(d, -d)
				maxErr = max(maxErr, d)
				sum += d
				n++
			}
		}
	}
	return maxErr, float64(sum) / float64(n)
}

func update(t *testing.T, c *rfbtest.Client) *rfbtest.Update {
	t.Helper()
	u, err := c.ReadUpdate()
	if err != nil {
		t.Fatalf("ReadUpdate: %v", err)
	}
	return u
}

// pixelRects is the update's rectangles of pixels (not pseudo ones).
func pixelRects(u *rfbtest.Update) []rfbtest.Rect {
	var rs []rfbtest.Rect
	for _, r := range u.Rects {
		if r.Encoding >= 0 {
			rs = append(rs, r)
		}
	}
	return rs
}

func TestUpdatesInEveryEncodingAndFormat(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxClients = 100 })
	src := screen(320, 200, 3)
	e.display.show(src)
	encodings := []struct {
		name  string
		encs  []int32
		lossy bool
		tight string // every rectangle's Tight subencoding, if one
	}{
		{"Raw", []int32{EncRaw}, false, ""},
		{"ZRLE", []int32{EncZRLE, EncRaw}, false, ""},
		{"Tight lossless", []int32{EncTight, EncZRLE}, false, ""},
		{"Tight JPEG", []int32{EncTight, EncJPEGQuality0 + 8, EncRaw}, true, "jpeg"},
		{"no known encoding", []int32{EncHextile, 99}, false, ""},
	}
	for _, enc := range encodings {
		for name, pf := range testFormats {
			t.Run(enc.name+"/"+name, func(t *testing.T) {
				c := e.dial(rfbtest.Config{})
				defer c.Close()
				if err := c.SetPixelFormat(pf); err != nil {
					t.Fatal(err)
				}
				c.SetEncodings(enc.encs...)
				c.RequestUpdate(false)
				u := update(t, c)
				rects := pixelRects(u)
				if len(rects) == 0 {
					t.Fatal("no pixels")
				}
				lossy := enc.lossy && pf.BitsPerPixel >= 16
				for _, r := range rects {
					want := enc.encs[0]
					if want != EncTight && want != EncZRLE {
						want = EncRaw
					}
					if r.Encoding != want {
						t.Fatalf("rectangle %v in encoding %d, want %d", r.Rectangle, r.Encoding, want)
					}
					if lossy && r.Tight != "jpeg" || !lossy && r.Tight == "jpeg" {
						t.Fatalf("rectangle %v Tight %q", r.Rectangle, r.Tight)
					}
				}
				maxErr, mean := diff(c.FB, src)
				switch {
				case lossy:
					if mean > 4 {
						t.Errorf("JPEG: mean error %.2f", mean)
					}
					if len(rects) != 1 || rects[0].Rectangle != src.Bounds() {
						t.Errorf("JPEG in %d rectangles, want the whole screen in one", len(rects))
					}
				case maxErr > tolerance(pf):
					t.Errorf("error %d over %d (mean %.2f)", maxErr, tolerance(pf), mean)
				}
			})
		}
	}
}

func TestTightSubencodings(t *testing.T) {
	e := newEnv(t, nil)
	src := image.NewRGBA(image.Rect(0, 0, 192, 64))
	for y := range 64 {
		for x := range 192 {
			var c color.RGBA
			switch {
			case x < 64: // one colour: fill
				c = color.RGBA{10, 20, 30, 255}
			case x < 128: // two: the mono palette
				c = color.RGBA{200, 200, 200, 255}
				if (x+y)%3 == 0 {
					c = color.RGBA{0, 0, 90, 255}
				}
			default: // many: full colour
				c = color.RGBA{uint8(x * 3), uint8(y * 4), uint8(x + y), 255}
			}
			src.SetRGBA(x, y, c)
		}
	}
	e.display.show(src)
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncTight)
	c.RequestUpdate(false)
	u := update(t, c)
	var got []string
	for _, r := range pixelRects(u) {
		got = append(got, r.Tight)
	}
	if fmt.Sprint(got) != "[fill palette copy]" {
		t.Errorf("subencodings %v", got)
	}
	if m, _ := diff(c.FB, src); m != 0 {
		t.Errorf("error %d", m)
	}
}

func TestIncrementalUpdates(t *testing.T) {
	for _, enc := range []int32{EncRaw, EncZRLE, EncTight} {
		t.Run(fmt.Sprint(enc), func(t *testing.T) {
			e := newEnv(t, nil)
			a := screen(320, 200, 1)
			e.display.show(a)
			c := e.dial(rfbtest.Config{})
			c.SetEncodings(enc, EncJPEGQuality0+5)
			c.RequestUpdate(false)
			update(t, c)

			// Only the dirty rectangles go.
			b := screen(320, 200, 1)
			r1, r2 := image.Rect(8, 16, 40, 32), image.Rect(100, 150, 260, 166)
			for _, r := range []image.Rectangle{r1, r2} {
				for y := r.Min.Y; y < r.Max.Y; y++ {
					for x := r.Min.X; x < r.Max.X; x++ {
						b.SetRGBA(x, y, color.RGBA{255, 255, 0, 255})
					}
				}
			}
			c.RequestUpdate(true)
			e.display.showDirty(b, r1, r2)
			u := update(t, c)
			var covered image.Rectangle
			for _, r := range pixelRects(u) {
				if r.Tight == "jpeg" {
					t.Fatal("a small change was sent as the whole frame's JPEG")
				}
				if !r.In(r1) && !r.In(r2) {
					t.Fatalf("rectangle %v outside the dirty ones", r.Rectangle)
				}
				covered = covered.Union(r.Rectangle)
			}
			if covered != r1.Union(r2) {
				t.Errorf("covered %v", covered)
			}
			for _, r := range []image.Rectangle{r1, r2} {
				if m, _ := diff(c.FB, b.SubImage(r)); m != 0 {
					t.Errorf("error %d in %v after the incremental update", m, r)
				}
			}

			// Nothing changed: nothing is sent.
			c.RequestUpdate(true)
			c.Conn().SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := c.ReadUpdate(); !isTimeout(err) {
				t.Fatalf("an update without a change: %v", err)
			}
			c.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))

			// Frames the client missed: the whole screen again.
			e.display.showDirty(screen(320, 200, 2), r1) // answers the pending request
			update(t, c)
			e.display.showDirty(screen(320, 200, 3), r1)
			cc := screen(320, 200, 4)
			e.display.showDirty(cc, r2)
			e.pipeline.Latest() // the pipeline has the last frame before the request
			c.RequestUpdate(true)
			u = update(t, c)
			if rs := pixelRects(u); len(rs) == 0 || (enc != EncTight && rs[0].Rectangle != cc.Bounds()) {
				t.Fatalf("after missed frames: %+v", rs)
			}
			if m, mean := diff(c.FB, cc); enc != EncTight && m != 0 || mean > 4 {
				t.Errorf("error %d mean %.2f after a whole screen", m, mean)
			}
			c.RequestUpdate(true)

			// A large change of a JPEG client: the frame's JPEG.
			if enc == EncTight {
				e.display.showDirty(screen(320, 200, 5), image.Rect(0, 0, 320, 150))
				if rs := pixelRects(update(t, c)); len(rs) != 1 || rs[0].Tight != "jpeg" {
					t.Errorf("large change sent as %+v", rs)
				}
			}
		})
	}
}

var (
	ledsNum        = hardware.KeyboardLEDs{NumLock: true}
	ledsCapsScroll = hardware.KeyboardLEDs{CapsLock: true, ScrollLock: true}
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded)
}

func TestDesktopSize(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(320, 200, 1))
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncZRLE, EncDesktopSize)
	c.RequestUpdate(false)
	update(t, c)
	c.RequestUpdate(true)
	big := screen(400, 300, 2)
	e.display.show(big)
	u := update(t, c)
	if len(u.Rects) != 1 || u.Rects[0].Encoding != EncDesktopSize || u.Rects[0].Size() != image.Pt(400, 300) {
		t.Fatalf("resize update %+v", u.Rects)
	}
	c.RequestUpdate(true)
	u = update(t, c)
	if rs := pixelRects(u); len(rs) != 1 || rs[0].Rectangle != big.Bounds() {
		t.Fatalf("after the resize: %+v", u.Rects)
	}
	if m, _ := diff(c.FB, big); m != 0 {
		t.Errorf("error %d", m)
	}

	// No signal: the same size, "No signal" on black; nothing more while
	// it lasts.
	c.RequestUpdate(true)
	e.display.noSignal()
	update(t, c)
	if c.FB.Rect.Size() != image.Pt(400, 300) || c.FB.RGBAAt(0, 0) != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("no signal: %v %v", c.FB.Rect, c.FB.RGBAAt(0, 0))
	}
	grey := 0
	for _, p := range c.FB.Pix {
		if p == 0xA0 {
			grey++
		}
	}
	if grey == 0 {
		t.Error("no text on the no-signal screen")
	}
	c.RequestUpdate(true)
	e.display.noSignal()
	c.Conn().SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.ReadUpdate(); !isTimeout(err) {
		t.Fatalf("an update while there is still no signal: %v", err)
	}
	c.Conn().SetReadDeadline(time.Now().Add(10 * time.Second))
	// Back online at another size.
	e.display.show(screen(320, 200, 5))
	u = update(t, c)
	if len(u.Rects) != 1 || u.Rects[0].Encoding != EncDesktopSize || u.Rects[0].Size() != image.Pt(320, 200) {
		t.Fatalf("online again: %+v", u.Rects)
	}
}

func TestExtendedDesktopSize(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(320, 200, 1))
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncTight, EncDesktopSize, EncExtendedDesktopSize)
	c.RequestUpdate(false)
	// The layout first, in an update of its own, then the pixels.
	u := update(t, c)
	if len(u.Rects) != 1 || u.Rects[0].Encoding != EncExtendedDesktopSize || u.Rects[0].Min.X != 0 {
		t.Fatalf("first update %+v", u.Rects)
	}
	if s := c.Sizes[0]; s.Size != image.Pt(320, 200) || s.Screens != 1 || s.Status != 0 {
		t.Errorf("size %+v", s)
	}
	if u = update(t, c); len(pixelRects(u)) == 0 {
		t.Fatal("no pixels")
	}
	// SetDesktopSize is refused: resolution is the host's.
	c.SetDesktopSize(800, 600)
	c.RequestUpdate(true)
	u = update(t, c)
	if len(u.Rects) != 1 || u.Rects[0].Encoding != EncExtendedDesktopSize {
		t.Fatalf("answer %+v", u.Rects)
	}
	if s := c.Sizes[len(c.Sizes)-1]; s.Reason != 1 || s.Status != 1 || s.Size != image.Pt(320, 200) {
		t.Errorf("answer %+v, want reason 1 status 1 (prohibited)", s)
	}
	// A resize is announced as ExtendedDesktopSize only.
	c.RequestUpdate(true)
	e.display.show(screen(640, 480, 2))
	u = update(t, c)
	if len(u.Rects) != 1 || u.Rects[0].Encoding != EncExtendedDesktopSize || c.FB.Rect.Size() != image.Pt(640, 480) {
		t.Fatalf("resize %+v", u.Rects)
	}
}

func TestNoResizeWithoutDesktopSize(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(320, 200, 1))
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncRaw)
	c.RequestUpdate(false)
	update(t, c)
	c.RequestUpdate(true)
	small := screen(200, 100, 2)
	e.display.show(small)
	u := update(t, c)
	if rs := pixelRects(u); len(rs) != 1 || rs[0].Rectangle != image.Rect(0, 0, 320, 200) {
		t.Fatalf("update %+v", u.Rects)
	}
	if m, _ := diff(c.FB, small); m != 0 {
		t.Errorf("error %d in the picture", m)
	}
	if c.FB.RGBAAt(300, 150) != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("padding %v", c.FB.RGBAAt(300, 150))
	}
}

func TestFirstClientOfADisplayWithoutPicture(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial(rfbtest.Config{})
	if c.FB.Rect.Size() != noSignalSize {
		t.Fatalf("size %v", c.FB.Rect)
	}
	c.SetEncodings(EncZRLE, EncDesktopSize)
	c.RequestUpdate(false)
	update(t, c)
	c.RequestUpdate(true)
	pic := screen(320, 200, 1)
	e.display.show(pic)
	update(t, c) // the resize
	c.RequestUpdate(true)
	update(t, c)
	if m, _ := diff(c.FB, pic); m != 0 {
		t.Errorf("error %d", m)
	}
}

func TestSetPixelFormatRefusesColourMaps(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{})
	pf := testFormats["8 BGR233 TigerVNC"]
	pf.TrueColour = false
	c.SetPixelFormat(pf)
	c.RequestUpdate(false)
	if _, err := c.ReadUpdate(); err == nil {
		t.Fatal("a colour-map client was served")
	}
}

func TestLEDState(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	e.kb.SetLEDs(ledsNum)
	c := e.dial(rfbtest.Config{})
	c.SetEncodings(EncRaw, EncQEMULEDState, EncQEMUExtendedKey)
	c.RequestUpdate(false)
	update(t, c) // the pseudo-rectangles
	if c.LEDs != 2 || !c.QEMUKeys {
		t.Fatalf("LEDs %d, QEMU keys %v", c.LEDs, c.QEMUKeys)
	}
	update(t, c) // the pixels
	c.RequestUpdate(true)
	e.kb.SetLEDs(ledsCapsScroll)
	u := update(t, c)
	if len(u.Rects) != 1 || c.LEDs != 5 {
		t.Fatalf("LED update %+v, LEDs %d", u.Rects, c.LEDs)
	}
}
