package rfb

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/draw"
	"time"

	"github.com/bmcd/bmcd/kvm/video"
)

// updater is the writer's state: what the client's framebuffer holds,
// and the encoders with their zlib streams.
type updater struct {
	c  *session
	w  *bufio.Writer
	pf PixelFormat
	e  encodings

	fb        image.Point // the client's framebuffer size
	shown     uint64      // Seq of the frame the client has
	shownAny  bool        // the client has been sent a whole screen
	noSignal  bool        // what the client has is the no-signal screen
	needWhole bool        // the next update repaints everything

	leds         byte
	ledsSent     bool
	qemuKeyAcked bool

	lastSent time.Time // when the last update (or ServerInit) went out

	pic   *picture // the picture of the update being sent
	conv  *converter
	raw   rawEncoder
	zrle  zrleEncoder
	tight tightEncoder
}

// errInterrupted: the wait for a frame was cut short by a change to look
// at.
var errInterrupted = errors.New("interrupted")

// writeLoop answers the client's update requests until the session ends:
// a non-incremental request with the current screen at once, an
// incremental one when a newer frame comes (never an unchanged frame),
// and in between the pseudo-rectangles that carry news (LEDs, a
// resize, answers to SetDesktopSize).
func (c *session) writeLoop() error {
	u := &updater{c: c, w: bufio.NewWriterSize(c.nc, 64<<10), pf: ServerPixelFormat, lastSent: time.Now()}
	u.setPF(ServerPixelFormat)
	c.mu.Lock()
	u.fb = c.fb
	u.setEncodings(c.encs)
	c.mu.Unlock()
	var req *updateRequestMsg
	for {
		c.mu.Lock()
		if c.pending != nil {
			if req == nil {
				req = c.pending
			} else {
				req.incremental = req.incremental && c.pending.incremental
				req.rect = req.rect.Union(c.pending.rect)
			}
			c.pending = nil
		}
		if c.pfChanged {
			u.setPF(c.pf)
			c.pfChanged = false
			u.needWhole = true
		}
		if c.encChanged {
			u.setEncodings(c.encs)
			c.encChanged = false
		}
		var resizes int
		if req != nil { // SetDesktopSize is answered with the next update
			resizes, c.resizes = c.resizes, 0
		}
		gen := c.gen
		c.mu.Unlock()

		if req == nil {
			select {
			case <-c.ctx.Done():
				return c.ctx.Err()
			case <-c.wake:
			}
			continue
		}
		pseudo := u.pseudo(!req.incremental, resizes)
		var f *video.Frame
		switch {
		case !req.incremental || !u.shownAny || u.needWhole:
			f = c.s.o.Pipeline.Latest()
		case len(pseudo) > 0:
			// news first; the frame with the next request
		default:
			var err error
			f, err = c.nextFrame(gen, u.shown, u.e.preferred == EncTight && u.e.quality >= 0,
				time.Until(u.lastSent.Add(c.s.o.ProbeInterval)))
			switch {
			case c.ctx.Err() != nil:
				return c.ctx.Err()
			case errors.Is(err, errIdle):
				// The screen has not changed for ProbeInterval: an
				// empty update, which a live client answers.
				if err := u.empty(); err != nil {
					return err
				}
				req = nil
				continue
			case err != nil:
				continue // interrupted: look again
			}
		}
		sent, err := u.send(req, pseudo, f)
		if err != nil {
			return err
		}
		if sent {
			req = nil
		}
	}
}

// errIdle: no new frame came within the probe interval.
var errIdle = errors.New("no new frame")

// nextFrame waits up to wait for a frame newer than after (errIdle after
// that), unless something changes (signalLocked) after gen.
// With jpeg (the client takes Tight JPEG) it shares the encode another
// viewer started (video.Viewer.NextShared).
func (c *session) nextFrame(gen, after uint64, jpeg bool, wait time.Duration) (*video.Frame, error) {
	if wait <= 0 {
		return nil, errIdle
	}
	ctx, cancel := context.WithCancel(c.ctx)
	defer cancel()
	ctx, stop := context.WithTimeoutCause(ctx, wait, errIdle)
	defer stop()
	c.mu.Lock()
	if c.gen != gen {
		c.mu.Unlock()
		return nil, errInterrupted
	}
	c.waitCancel = cancel
	c.mu.Unlock()
	next := c.viewer.Next
	if jpeg {
		next = c.viewer.NextShared
	}
	f, err := next(ctx, after)
	c.mu.Lock()
	c.waitCancel = nil
	c.mu.Unlock()
	if err != nil && context.Cause(ctx) == errIdle {
		return nil, errIdle
	}
	return f, err
}

// setEncodings takes a client's SetEncodings: the LEDs and the QEMU
// Extended Key Event are announced again, and zlib streams not started
// yet get the compression level (a stream keeps the level it started
// with).
func (u *updater) setEncodings(e encodings) {
	u.e = e
	u.ledsSent, u.qemuKeyAcked = false, false
	u.zrle.z.level = zlibLevel(e.compress)
	for i := range u.tight.streams {
		u.tight.streams[i].level = zlibLevel(e.compress)
	}
}

func (u *updater) setPF(pf PixelFormat) {
	u.pf = pf
	u.conv = newConverter(pf)
	u.raw.conv, u.zrle.conv, u.tight.conv = u.conv, u.conv, u.conv
}

// pseudoRect is a pseudo-rectangle: its header's fields and its data.
type pseudoRect struct {
	x, y, w, h int
	enc        int32
	data       []byte
}

// pseudo lists the pseudo-rectangles due: the QEMU Extended Key Event
// acknowledgement, the LED state when it changed, and ExtendedDesktopSize
// for a non-incremental request and for each SetDesktopSize (refused:
// the host sets its resolution).
func (u *updater) pseudo(whole bool, resizes int) []pseudoRect {
	var ps []pseudoRect
	if u.e.qemuKey && !u.qemuKeyAcked {
		ps = append(ps, pseudoRect{enc: EncQEMUExtendedKey})
		u.qemuKeyAcked = true
	}
	if u.e.leds {
		l := u.c.s.o.Hub.LEDs()
		var b byte
		if l.ScrollLock {
			b |= 1
		}
		if l.NumLock {
			b |= 2
		}
		if l.CapsLock {
			b |= 4
		}
		if !u.ledsSent || b != u.leds {
			ps = append(ps, pseudoRect{enc: EncQEMULEDState, data: []byte{b}})
			u.leds, u.ledsSent = b, true
		}
	}
	if u.e.extDesktopSize {
		if whole {
			ps = append(ps, u.desktopSize(0, 0))
		}
		for range resizes {
			ps = append(ps, u.desktopSize(1, 1)) // client's request, administratively prohibited
		}
	}
	return ps
}

// desktopSize is an ExtendedDesktopSize rectangle (rfbproto) of the
// current size, one screen, with reason and status.
func (u *updater) desktopSize(reason, status int) pseudoRect {
	d := []byte{1, 0, 0, 0}
	d = binary.BigEndian.AppendUint32(d, 0) // screen id
	d = binary.BigEndian.AppendUint16(d, 0)
	d = binary.BigEndian.AppendUint16(d, 0)
	d = binary.BigEndian.AppendUint16(d, uint16(u.fb.X))
	d = binary.BigEndian.AppendUint16(d, uint16(u.fb.Y))
	d = binary.BigEndian.AppendUint32(d, 0) // flags
	return pseudoRect{x: reason, y: status, w: u.fb.X, h: u.fb.Y, enc: EncExtendedDesktopSize, data: d}
}

// resize is the pseudo-rectangle announcing the framebuffer's new size:
// ExtendedDesktopSize if the client takes it, else DesktopSize.
func (u *updater) resize() pseudoRect {
	if u.e.extDesktopSize {
		return u.desktopSize(0, 0)
	}
	return pseudoRect{w: u.fb.X, h: u.fb.Y, enc: EncDesktopSize}
}

// dataRect is a rectangle of pixels to send.
type dataRect struct {
	r    image.Rectangle
	enc  encoder // nil: the frame's JPEG as one Tight rectangle
	jpeg []byte
}

// send writes the update for req: the pseudo-rectangles in an update of
// their own (ExtendedDesktopSize's rule: no pixels beside it), then f's
// pixels, if f is not nil, in another. A change of size is announced
// alone and its pixels follow with the next request. sent is false when
// there was nothing to send (the request stays pending).
func (u *updater) send(req *updateRequestMsg, pseudo []pseudoRect, f *video.Frame) (sent bool, err error) {
	var rects []dataRect
	n := 0
	if f != nil {
		var resized bool
		rects, resized = u.frameRects(req, f)
		if resized {
			pseudo = append(pseudo, u.resize())
		}
		for _, r := range rects {
			if r.enc == nil {
				n++
			} else {
				n += r.enc.count(r.r)
			}
		}
	}
	if len(pseudo) == 0 && n == 0 {
		return false, nil
	}
	u.c.nc.SetWriteDeadline(time.Now().Add(u.c.s.o.WriteTimeout))
	if len(pseudo) > 0 {
		u.header(len(pseudo))
		for _, p := range pseudo {
			var h [12]byte
			binary.BigEndian.PutUint16(h[0:], uint16(p.x))
			binary.BigEndian.PutUint16(h[2:], uint16(p.y))
			binary.BigEndian.PutUint16(h[4:], uint16(p.w))
			binary.BigEndian.PutUint16(h[6:], uint16(p.h))
			binary.BigEndian.PutUint32(h[8:], uint32(p.enc))
			u.w.Write(h[:])
			u.w.Write(p.data)
		}
	}
	if n > 0 {
		u.header(n)
		pic := u.pic
		for _, r := range rects {
			if r.enc == nil {
				writeTightJPEG(u.w, r.r, r.jpeg)
			} else {
				r.enc.encode(u.w, pic, r.r)
			}
		}
	}
	u.pic = nil
	if err := u.w.Flush(); err != nil {
		return true, err
	}
	u.sent()
	return true, nil
}

// empty answers the pending request with a FramebufferUpdate of no
// rectangles (RFC 6143 §7.6.1 allows any number): the screen has not
// changed, and the client's next request proves it alive.
func (u *updater) empty() error {
	u.c.nc.SetWriteDeadline(time.Now().Add(u.c.s.o.WriteTimeout))
	u.header(0)
	if err := u.w.Flush(); err != nil {
		return err
	}
	u.sent()
	return nil
}

// sent notes that an update went out: the client answers it with its
// next request.
func (u *updater) sent() {
	u.lastSent = time.Now()
	u.c.awaitReply()
}

func (u *updater) header(n int) {
	u.w.Write([]byte{MsgFramebufferUpdate, 0, byte(n >> 8), byte(n)})
}

// frameRects decides how frame f goes to the client and returns its
// rectangles (u.pic holds the picture they are cut from), or resized
// when the size changed and the client takes a new one: then only the
// announcement goes now. The whole screen is sent for a non-incremental
// request, a first update, after a change of pixel format or size,
// between a picture and no signal, and when f's dirty rectangles are not
// relative to the frame the client has; otherwise only those rectangles.
// Whole screens and large changes of a Tight client that gave a JPEG
// quality are the frame's JPEG, shared by every viewer. A client that
// cannot be resized sees the picture cut or padded to its size.
func (u *updater) frameRects(req *updateRequestMsg, f *video.Frame) (rects []dataRect, resized bool) {
	size := f.Size()
	online := size.X > 0 && size.Y > 0 && size.X <= 0xFFFF && size.Y <= 0xFFFF
	if online {
		u.c.s.sawSize(size)
		if size != u.fb && (u.e.desktopSize || u.e.extDesktopSize) {
			u.fb = size
			u.c.mu.Lock()
			u.c.fb = size
			u.c.mu.Unlock()
			u.needWhole = true
			return nil, true
		}
	}
	fbRect := image.Rectangle{Max: u.fb}
	whole := !req.incremental || !u.shownAny || u.needWhole
	if !online && !whole && u.noSignal {
		u.shown = f.Seq
		return nil, false // no signal still
	}
	if !online || u.noSignal || f.Dirty == nil || f.DirtySince != u.shown {
		whole = true
	}
	shownNoSignal := !online
	defer func() {
		if len(rects) > 0 {
			u.shown, u.shownAny, u.needWhole, u.noSignal = f.Seq, true, false, shownNoSignal
		}
	}()
	var regions []image.Rectangle
	area := 0
	if whole {
		regions = []image.Rectangle{fbRect}
		area = u.fb.X * u.fb.Y
	} else {
		for _, d := range f.Dirty {
			if f.Image != nil {
				d = d.Sub(f.Image.Bounds().Min)
			}
			if d = d.Intersect(fbRect); !d.Empty() {
				regions = append(regions, d)
				area += d.Dx() * d.Dy()
			}
		}
		if len(regions) == 0 {
			u.shown = f.Seq
			return nil, false
		}
	}
	jpegOK := online && u.e.preferred == EncTight && u.e.quality >= 0 && u.pf.BitsPerPixel >= 16 &&
		size == u.fb && u.fb.X <= tightMaxWidth
	if jpegOK && 3*area > u.fb.X*u.fb.Y {
		if j, err := f.JPEG(); err == nil && len(j) > 0 && len(j) <= tightMaxLen {
			return []dataRect{{r: fbRect, jpeg: j}}, false
		} else if err != nil {
			u.c.log.Warn("vnc: no JPEG of the frame; sending it lossless", "error", err)
		}
	}
	var pic *picture
	if online {
		var err error
		if pic, err = u.c.s.picOf(f); err != nil {
			u.c.log.Warn("vnc: the frame has no usable picture", "error", err)
		}
	}
	switch {
	case pic == nil:
		pic, shownNoSignal = noSignal(u.fb), true
		regions = []image.Rectangle{fbRect}
	case size != u.fb:
		pic = padded(pic, u.fb)
		regions = []image.Rectangle{fbRect}
	}
	u.pic = pic
	enc := u.encoder()
	for _, r := range regions {
		rects = append(rects, dataRect{r: r, enc: enc})
	}
	return rects, false
}

// encoder is the encoder of the client's preferred encoding.
func (u *updater) encoder() encoder {
	switch u.e.preferred {
	case EncTight:
		return &u.tight
	case EncZRLE:
		return &u.zrle
	}
	return &u.raw
}

// padded is p cut or padded with black to size.
func padded(p *picture, size image.Point) *picture {
	m := image.NewRGBA(image.Rectangle{Max: size})
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 0xFF
	}
	src := &image.RGBA{Pix: p.pix, Stride: p.stride, Rect: image.Rect(0, 0, p.w, p.h)}
	draw.Draw(m, m.Bounds(), src, image.Point{}, draw.Src)
	return pictureOf(m)
}
