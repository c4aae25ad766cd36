package vnc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
)

// fakeServer is a small RFB 3.8 server over a UNIX socket serving an
// RGBA picture with the pixel format the client asks for (the client
// always asks for the same one), acknowledging QEMU's pseudo-encodings
// when told to, and recording the input it gets.
type fakeServer struct {
	t        *testing.T
	path     string
	l        net.Listener
	version  string // "RFB 003.008\n" unless set
	password string // VNC Authentication when set
	extKey   bool   // acknowledge -258
	ledState bool   // send the LED state (-261)

	mu      sync.Mutex
	fb      *image.RGBA
	leds    byte
	conns   []*fakeConn
	dials   int
	keys    [][]byte // KeyEvent and QEMU key messages, as received
	points  [][]byte
	encs    []int32
	changed chan struct{}
}

type fakeConn struct {
	c       net.Conn
	wmu     sync.Mutex
	want    bool // an incremental request waits
	dirty   image.Rectangle
	leds    bool
	encSeen bool
}

func newFakeServer(t *testing.T, w, h int, opts ...func(*fakeServer)) *fakeServer {
	t.Helper()
	path := filepath.Join(t.TempDir(), "vnc.sock")
	f := &fakeServer{t: t, path: path, fb: image.NewRGBA(image.Rect(0, 0, w, h)), changed: make(chan struct{}, 100)}
	for _, o := range opts {
		o(f)
	}
	f.start()
	return f
}

func (f *fakeServer) start() {
	l, err := net.Listen("unix", f.path)
	if err != nil {
		f.t.Fatal(err)
	}
	f.l = l
	f.t.Cleanup(func() { f.stop() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			fc := &fakeConn{c: c}
			f.mu.Lock()
			f.dials++
			f.conns = append(f.conns, fc)
			f.mu.Unlock()
			go f.serve(fc)
		}
	}()
}

// stop closes the listener and every connection: the VM went away.
func (f *fakeServer) stop() {
	f.l.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.c.Close()
	}
	f.conns = nil
}

func (f *fakeServer) open() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

func (f *fakeServer) serve(fc *fakeConn) {
	defer func() {
		fc.c.Close()
		f.mu.Lock()
		for i, c := range f.conns {
			if c == fc {
				f.conns = append(f.conns[:i], f.conns[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
		f.changed <- struct{}{}
	}()
	c := fc.c
	r := bufio.NewReader(c)
	ver := f.version
	if ver == "" {
		ver = "RFB 003.008\n"
	}
	c.Write([]byte(ver))
	var cv [12]byte
	if _, err := io.ReadFull(r, cv[:]); err != nil {
		return
	}
	minor := 8
	if ver == "RFB 003.003\n" {
		minor = 3
	}
	sec := byte(secNone)
	if f.password != "" {
		sec = secVNCAuth
	}
	if minor == 3 {
		binary.Write(c, binary.BigEndian, uint32(sec))
	} else {
		c.Write([]byte{1, sec})
		if _, err := r.ReadByte(); err != nil {
			return
		}
	}
	if sec == secVNCAuth {
		challenge := []byte("0123456789abcdef")
		c.Write(challenge)
		resp := make([]byte, 16)
		if _, err := io.ReadFull(r, resp); err != nil {
			return
		}
		if !bytes.Equal(resp, vncAuthResponse(challenge, f.password)) {
			binary.Write(c, binary.BigEndian, uint32(1))
			binary.Write(c, binary.BigEndian, uint32(len("bad password")))
			c.Write([]byte("bad password"))
			return
		}
	}
	if sec == secVNCAuth || minor == 8 {
		binary.Write(c, binary.BigEndian, uint32(0))
	}
	if _, err := r.ReadByte(); err != nil { // ClientInit
		return
	}
	f.mu.Lock()
	size := f.fb.Rect.Size()
	f.mu.Unlock()
	binary.Write(c, binary.BigEndian, []uint16{uint16(size.X), uint16(size.Y)})
	c.Write(pixelFormat)
	binary.Write(c, binary.BigEndian, uint32(4))
	c.Write([]byte("fake"))
	for {
		t, err := r.ReadByte()
		if err != nil {
			return
		}
		switch t {
		case msgSetPixelFormat:
			io.ReadFull(r, make([]byte, 19))
		case msgSetEncodings:
			var h struct {
				Pad uint8
				N   uint16
			}
			binary.Read(r, binary.BigEndian, &h)
			encs := make([]int32, h.N)
			binary.Read(r, binary.BigEndian, encs)
			f.mu.Lock()
			f.encs = encs
			f.mu.Unlock()
			for _, e := range encs {
				switch {
				case e == encQEMUExtendedKeyEvent && f.extKey:
					f.send(fc, rectHeader(0, 0, size.X, size.Y, encQEMUExtendedKeyEvent))
				case e == encLEDState && f.ledState:
					fc.leds = true
					f.mu.Lock()
					l := f.leds
					f.mu.Unlock()
					f.send(fc, append(rectHeader(0, 0, 1, 1, encLEDState), l))
				}
			}
		case msgFramebufferUpdateRequest:
			var q struct {
				Inc        uint8
				X, Y, W, H uint16
			}
			binary.Read(r, binary.BigEndian, &q)
			rc := image.Rect(int(q.X), int(q.Y), int(q.X+q.W), int(q.Y+q.H))
			f.mu.Lock()
			if q.Inc == 0 {
				fc.dirty = fc.dirty.Union(rc)
			}
			fc.want = true
			f.flushLocked(fc)
			f.mu.Unlock()
		case msgKeyEvent:
			b := make([]byte, 7)
			io.ReadFull(r, b)
			f.mu.Lock()
			f.keys = append(f.keys, append([]byte{t}, b...))
			f.mu.Unlock()
			f.changed <- struct{}{}
		case msgPointerEvent:
			b := make([]byte, 5)
			io.ReadFull(r, b)
			f.mu.Lock()
			f.points = append(f.points, append([]byte{t}, b...))
			f.mu.Unlock()
			f.changed <- struct{}{}
		case msgQEMU:
			b := make([]byte, 11)
			io.ReadFull(r, b)
			f.mu.Lock()
			f.keys = append(f.keys, append([]byte{t}, b...))
			f.mu.Unlock()
			f.changed <- struct{}{}
		default:
			f.t.Errorf("fake server: unknown client message %d", t)
			return
		}
	}
}

func rectHeader(x, y, w, h int, enc int32) []byte {
	b := []byte{msgFramebufferUpdate, 0, 0, 1}
	for _, v := range []int{x, y, w, h} {
		b = binary.BigEndian.AppendUint16(b, uint16(v))
	}
	return binary.BigEndian.AppendUint32(b, uint32(enc))
}

func (f *fakeServer) send(fc *fakeConn, b []byte) {
	fc.wmu.Lock()
	defer fc.wmu.Unlock()
	fc.c.Write(b)
}

// flushLocked sends the dirty area if an update is wanted.
func (f *fakeServer) flushLocked(fc *fakeConn) {
	if !fc.want || fc.dirty.Empty() {
		return
	}
	rc := fc.dirty.Intersect(f.fb.Rect)
	fc.want, fc.dirty = false, image.Rectangle{}
	b := rectHeader(rc.Min.X, rc.Min.Y, rc.Dx(), rc.Dy(), encRaw)
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		for x := rc.Min.X; x < rc.Max.X; x++ {
			c := f.fb.RGBAAt(x, y)
			b = append(b, c.R, c.G, c.B, 0)
		}
	}
	go f.send(fc, b)
}

// draw fills rc with col and sends it to clients waiting for an update.
func (f *fakeServer) draw(rc image.Rectangle, col color.RGBA) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for y := rc.Min.Y; y < rc.Max.Y; y++ {
		for x := rc.Min.X; x < rc.Max.X; x++ {
			f.fb.SetRGBA(x, y, col)
		}
	}
	for _, fc := range f.conns {
		fc.dirty = fc.dirty.Union(rc)
		f.flushLocked(fc)
	}
}

// setLEDs changes the LED state and tells the clients that asked for it.
func (f *fakeServer) setLEDs(l byte) {
	f.mu.Lock()
	f.leds = l
	conns := append([]*fakeConn(nil), f.conns...)
	f.mu.Unlock()
	for _, fc := range conns {
		if fc.leds {
			f.send(fc, append(rectHeader(0, 0, 1, 1, encLEDState), l))
		}
	}
}

// resize changes the framebuffer size and announces it.
func (f *fakeServer) resize(w, h int) {
	f.mu.Lock()
	f.fb = image.NewRGBA(image.Rect(0, 0, w, h))
	conns := append([]*fakeConn(nil), f.conns...)
	f.mu.Unlock()
	for _, fc := range conns {
		f.send(fc, rectHeader(0, 0, w, h, encDesktopSize))
		f.mu.Lock()
		fc.dirty = f.fb.Rect
		f.flushLocked(fc)
		f.mu.Unlock()
	}
}
