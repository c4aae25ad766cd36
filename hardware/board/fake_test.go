package board

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/board/atx"
	"github.com/bmcd/bmcd/hardware/board/atx/atxsim"
	"github.com/bmcd/bmcd/hardware/board/gadget"
)

// closeLine records that its line was closed.
type closeLine struct {
	atx.Line
	mu     sync.Mutex
	closed bool
}

func (l *closeLine) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return l.Line.Close()
}

func (l *closeLine) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// newATX is the ATX part on the lines of a simulated server
// (hardware/board/atx/atxsim) with millisecond timings, each line
// recording its Close: power button, reset button, power LED.
func newATX(t *testing.T) (*atx.ATX, *atxsim.Server, []*closeLine) {
	t.Helper()
	srv := atxsim.New(atxsim.Timings{MinPress: 5 * time.Millisecond, ForceOffHold: 100 * time.Millisecond,
		OnDelay: 5 * time.Millisecond, ShutdownDelay: 30 * time.Millisecond, HDDActivity: 10 * time.Millisecond}, false, nil)
	t.Cleanup(srv.Close)
	l := srv.Lines()
	pb, rb, led := &closeLine{Line: l.PowerButton}, &closeLine{Line: l.ResetButton}, &closeLine{Line: l.PowerLED}
	tm := atx.Timings{ShortPress: 20 * time.Millisecond, LongPress: 120 * time.Millisecond, ResetPress: 20 * time.Millisecond,
		LEDDebounce: 40 * time.Millisecond, PowerCycleDelay: 100 * time.Millisecond}
	a, err := atx.New(atx.Lines{PowerButton: pb, ResetButton: rb, PowerLED: led}, tm, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, srv, []*closeLine{pb, rb, led}
}

// tempConfigfs is a temporary directory standing in for configfs: rmdir
// drops a group's attributes with it, and forced_eject empties the LUN's
// file, as the kernel does.
type tempConfigfs struct{ gadget.OSFS }

func (tempConfigfs) WriteFile(p string, data []byte) error {
	if filepath.Base(p) == "forced_eject" {
		return os.WriteFile(filepath.Join(filepath.Dir(p), "file"), nil, 0o644)
	}
	return gadget.OSFS{}.WriteFile(p, data)
}

func (tempConfigfs) Remove(p string) error {
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return os.RemoveAll(p)
	}
	return os.Remove(p)
}

// pipeDev is a /dev/hidgN stand-in: the gadget writes to w (the host
// reads it), and reads what the host writes from r.
type pipeDev struct{ r, w *os.File }

func (p pipeDev) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p pipeDev) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p pipeDev) Close() error                { p.w.Close(); return p.r.Close() }

// hostSide is the server's end of a pipeDev.
type hostSide struct{ reports, out *os.File }

func newPipeDev(t *testing.T) (pipeDev, hostSide) {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inR.Close(); outW.Close() })
	return pipeDev{r: outR, w: inW}, hostSide{reports: inR, out: outW}
}

// usbHost is the server's USB side: it reads the keyboard's reports
// (recorded) and toggles Caps Lock's LED as an OS does, answering with
// an output report; the pointer's reports are recorded too.
type usbHost struct {
	mu      sync.Mutex
	keys    [][]byte
	abs     [][]byte
	caps    bool
	capsWas bool
}

func (h *usbHost) keyboard(s hostSide) {
	for {
		r := make([]byte, 8)
		if _, err := io.ReadFull(s.reports, r); err != nil {
			return
		}
		h.mu.Lock()
		h.keys = append(h.keys, r)
		down := false
		for _, k := range r[2:] {
			down = down || k == byte(hardware.KeyCapsLock)
		}
		if down && !h.capsWas {
			h.caps = !h.caps
			led := byte(0)
			if h.caps {
				led = 2
			}
			s.out.Write([]byte{led})
		}
		h.capsWas = down
		h.mu.Unlock()
	}
}

func (h *usbHost) pointer(s hostSide) {
	for {
		r := make([]byte, gadget.AbsoluteReportLength)
		if _, err := io.ReadFull(s.reports, r); err != nil {
			return
		}
		h.mu.Lock()
		h.abs = append(h.abs, r)
		h.mu.Unlock()
	}
}

// newGadget is the gadget part on a temporary configfs (created and
// bound to a fake controller) with its HID nodes on pipes to host.
func newGadget(t *testing.T, host *usbHost) (*Gadget, string) {
	t.Helper()
	dir := t.TempDir()
	root, udc := filepath.Join(dir, "usb_gadget"), filepath.Join(dir, "udc")
	for _, d := range []string{root, filepath.Join(udc, "dummy_udc.0")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	gd, err := gadget.New(gadget.Config{Root: root, UDCClass: udc}, hardware.DeriveIdentity("seed", "node1"), tempConfigfs{})
	if err != nil {
		t.Fatal(err)
	}
	if err := gd.Create(); err != nil {
		t.Fatal(err)
	}
	kd, kh := newPipeDev(t)
	pd, ph := newPipeDev(t)
	go host.keyboard(kh)
	go host.pointer(ph)
	ms, err := gd.MassStorage()
	if err != nil {
		t.Fatal(err)
	}
	return &Gadget{Gadget: gd, Keyboard: gadget.NewKeyboard(kd), Pointer: gadget.NewPointer(pd, nil), MassStorage: ms}, gd.Dir()
}
