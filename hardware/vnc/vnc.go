// Package vnc is an RFB 3.8 client (RFC 6143) that turns a virtual
// machine's VNC server into the machine's screen, keyboard and pointer:
// it implements hardware.Display, hardware.Keyboard and hardware.Pointer
// for a backend to return among its parts. QEMU's VNC server
// (`-vnc unix:PATH` or a TCP address) is the one it is written for; any
// RFB server that takes the Raw encoding works.
//
// A Client connects only while it is needed: while someone watches the
// display (Watch) or the keyboard LEDs (WatchLEDs), and for InputIdle
// after the last key or pointer event. It asks for framebuffer updates
// only while the display is watched, at most MaxFPS a second, so a
// machine no one looks at costs nothing. Each update becomes a new
// hardware.Frame whose Dirty rectangles are the ones the server sent.
//
// Keys go as QEMU extended key events (pseudo-encoding -258: XT scancodes,
// so the guest's keyboard layout applies, as on a real keyboard) when the
// server acknowledges them, as keysyms of a US keyboard otherwise; the LED
// state pseudo-encoding (-261) brings the guest's Caps, Num and Scroll
// Lock LEDs. The pointer is absolute: positions 0..hardware.PointerMax are
// scaled to the framebuffer (a QEMU guest needs a USB or virtio tablet
// for absolute positions to reach it as such).
package vnc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// DialFunc opens a connection to the VNC server (Unix, TCP).
type DialFunc func(ctx context.Context) (net.Conn, error)

// Config sets up a Client.
type Config struct {
	// Dial reaches the server; required.
	Dial DialFunc
	// Password for VNC Authentication, if the server asks for it (only
	// its first 8 bytes count).
	Password string
	// MaxFPS bounds the framebuffer updates asked for each second while
	// the display is watched (30 if zero).
	MaxFPS int
	// InputIdle is how long a connection opened to send input stays open
	// after the last event when nothing is watched (10 s if zero).
	InputIdle time.Duration
	// Log receives connection problems; nil discards them.
	Log *slog.Logger
}

// Defaults.
const (
	DefaultMaxFPS    = 30
	DefaultInputIdle = 10 * time.Second
	// inputWait bounds how long a key or pointer event waits for a
	// connection.
	inputWait = 5 * time.Second
	// writeTimeout bounds one message written to the server.
	writeTimeout = 5 * time.Second
	// maxBackoff is the longest wait between attempts to reach a server
	// while the client is needed (a VM that is off).
	maxBackoff = time.Second
)

// Client is one VNC server seen as a screen, a keyboard and a pointer.
// It implements hardware.Display, hardware.Keyboard and hardware.Pointer;
// its methods are safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	mu         sync.Mutex
	watchers   map[*watcher]struct{} // display
	ledWatch   map[*watcher]struct{}
	inputUntil time.Time
	frame      hardware.Frame
	leds       hardware.KeyboardLEDs
	sess       *session // the connected session, nil if none
	attempts   uint64   // connection attempts that failed
	lastErr    error
	changed    chan struct{} // closed and replaced when sess or attempts change
	signal     chan struct{} // wakes the manager: needs changed, or Kick
	running    bool          // the manager goroutine runs
	closed     bool
}

type watcher struct{ ch chan struct{} }

// New returns a client of the server cfg.Dial reaches. It connects only
// when needed (see the package documentation).
func New(cfg Config) *Client {
	if cfg.MaxFPS <= 0 {
		cfg.MaxFPS = DefaultMaxFPS
	}
	if cfg.InputIdle <= 0 {
		cfg.InputIdle = DefaultInputIdle
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, log: log,
		watchers: map[*watcher]struct{}{}, ledWatch: map[*watcher]struct{}{},
		changed: make(chan struct{}), signal: make(chan struct{}, 1)}
}

// Kick tells the client that the server may have come up (the VM was
// started): if it is needed and not connected, it tries again at once.
func (c *Client) Kick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.wakeLocked()
}

// Close disconnects and stops the client for good.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	s := c.sess
	c.wakeLocked()
	c.mu.Unlock()
	if s != nil {
		s.close()
	}
	return nil
}

// Connected reports whether a connection is up now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil
}

func (c *Client) wakeLocked() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// ensureLocked starts the manager if the client is needed, and wakes it.
func (c *Client) ensureLocked() {
	c.wakeLocked()
	if !c.running && !c.closed && c.neededLocked() {
		c.running = true
		go c.run()
	}
}

func (c *Client) neededLocked() bool {
	return !c.closed && (len(c.watchers) > 0 || len(c.ledWatch) > 0 || time.Now().Before(c.inputUntil))
}

func (c *Client) broadcastLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// run connects while the client is needed, and again after the server
// went away, waiting longer between failed attempts.
func (c *Client) run() {
	backoff := 50 * time.Millisecond
	for {
		c.mu.Lock()
		if !c.neededLocked() {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		s, err := c.connect()
		if err != nil {
			c.mu.Lock()
			c.attempts++
			if !errors.Is(err, c.lastErr) {
				c.log.Debug("vnc: cannot connect", "err", err)
			}
			c.lastErr = err
			c.noPictureLocked()
			c.broadcastLocked()
			c.mu.Unlock()
			select {
			case <-c.signal:
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = 50 * time.Millisecond
		c.serve(s)
	}
}

// serve keeps s until it ends or the client is no longer needed.
func (c *Client) serve(s *session) {
	c.mu.Lock()
	c.sess = s
	c.lastErr = nil
	c.broadcastLocked()
	c.mu.Unlock()
	s.want()
	for {
		c.mu.Lock()
		need := c.neededLocked()
		idle := len(c.watchers) == 0 && len(c.ledWatch) == 0
		until := c.inputUntil
		c.mu.Unlock()
		if !need {
			s.close()
			break
		}
		var timer <-chan time.Time
		if idle {
			timer = time.After(time.Until(until))
		}
		select {
		case <-s.done:
		case <-c.signal:
			s.want()
		case <-timer:
		}
		if s.ended() {
			break
		}
	}
	<-s.done
	c.mu.Lock()
	c.sess = nil
	if !s.closedByUs() {
		c.log.Debug("vnc: connection ended", "err", s.err)
		c.noPictureLocked() // the server went away: the VM is off
	}
	c.broadcastLocked()
	c.mu.Unlock()
}

// noPictureLocked publishes "no signal" if the last frame had a picture.
func (c *Client) noPictureLocked() {
	if c.frame.Image == nil {
		return
	}
	c.frame = hardware.Frame{Seq: c.frame.Seq + 1, Time: time.Now()}
	c.notifyLocked(c.watchers)
}

func (c *Client) notifyLocked(ws map[*watcher]struct{}) {
	for w := range ws {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// connect dials, runs the handshake, asks for the pixel format and the
// encodings, and waits until the server answered them (so that its
// acknowledgement of extended key events is known before the first key).
func (c *Client) connect() (*session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
	defer cancel()
	conn, err := c.cfg.Dial(ctx)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	r := bufio.NewReaderSize(conn, 256<<10)
	si, err := handshake(r, conn, c.cfg.Password)
	if err != nil {
		conn.Close()
		return nil, err
	}
	s := &session{c: c, conn: conn, r: r, fb: newFB(si.Size), name: si.Name, done: make(chan struct{})}
	c.mu.Lock()
	watched := len(c.watchers) > 0
	c.mu.Unlock()
	probe := image.Rect(0, 0, min(1, si.Size.X), min(1, si.Size.Y))
	if watched {
		probe = image.Rectangle{Max: si.Size}
		s.fullPending, s.outstanding, s.lastReq = true, true, time.Now()
	}
	msgs := [][]byte{setPixelFormat(),
		setEncodings(encRaw, encCopyRect, encDesktopSize, encExtendedDesktopSize, encQEMUExtendedKeyEvent, encLEDState),
		updateRequest(false, probe)}
	for _, m := range msgs {
		if _, err := conn.Write(m); err != nil {
			conn.Close()
			return nil, err
		}
	}
	// The server answers in order: the acknowledgements, then the update
	// asked for.
	for {
		t, err := s.fb.readMessage(r)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("vnc: first update: %w", err)
		}
		if t != msgFramebufferUpdate {
			continue
		}
		s.absorb()
		if s.fb.pixels && !s.fb.resized {
			break
		}
	}
	_ = conn.SetDeadline(time.Time{})
	go s.read()
	return s, nil
}

// session is one connection to the server.
type session struct {
	c    *Client
	conn net.Conn
	r    *bufio.Reader
	name string

	wmu sync.Mutex // writes

	// Read by the reader goroutine only, but for size (under c.mu).
	fb *fbState

	// Under c.mu:
	extKey      bool
	size        image.Point
	fullPending bool      // a full update was asked for and not received
	outstanding bool      // an update request waits for its answer
	lastReq     time.Time // when the last update request went
	published   uint64    // the Seq of the frame this session last published, 0 if the next is not a continuation
	timer       *time.Timer

	done     chan struct{}
	err      error
	closeMu  sync.Mutex
	byUs     bool
	finished bool
}

// read reads server messages until the connection ends.
func (s *session) read() {
	var err error
	for {
		var t byte
		t, err = s.fb.readMessage(s.r)
		if err != nil {
			break
		}
		if t == msgFramebufferUpdate {
			s.absorb()
		}
	}
	s.closeMu.Lock()
	s.err, s.finished = err, true
	s.closeMu.Unlock()
	s.conn.Close()
	s.c.mu.Lock()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.c.mu.Unlock()
	close(s.done)
}

// absorb takes in the FramebufferUpdate just read: LEDs, the extended
// key acknowledgement, a new size, and pixels, published as a frame
// while the display is watched.
func (s *session) absorb() {
	c, fb := s.c, s.fb
	c.mu.Lock()
	defer c.mu.Unlock()
	s.size = fb.size
	if fb.extKey {
		s.extKey = true
	}
	if fb.leds >= 0 {
		l := hardware.KeyboardLEDs{ScrollLock: fb.leds&1 != 0, NumLock: fb.leds&2 != 0, CapsLock: fb.leds&4 != 0}
		if l != c.leds {
			c.leds = l
			c.notifyLocked(c.ledWatch)
		}
	}
	if !fb.pixels {
		return
	}
	watched := len(c.watchers) > 0
	if fb.resized {
		// A new size: the picture comes whole with the next update.
		s.published = 0
		if watched {
			s.requestLocked(false)
		}
		return
	}
	s.outstanding = false
	if s.fullPending {
		s.fullPending, fb.valid = false, true
	}
	if !watched || !fb.valid {
		s.published = 0
		return
	}
	img := &image.RGBA{Pix: append([]byte(nil), fb.pix...), Stride: fb.size.X * 4, Rect: image.Rectangle{Max: fb.size}}
	f := hardware.Frame{Seq: c.frame.Seq + 1, Image: img, Time: time.Now()}
	if prev := c.frame; s.published != 0 && s.published == prev.Seq {
		f.Dirty, f.DirtySince = append([]image.Rectangle(nil), fb.dirty...), prev.Seq
	}
	c.frame, s.published = f, f.Seq
	c.notifyLocked(c.watchers)
	s.scheduleLocked()
}

// want asks for updates if the display is watched and none is asked for.
func (s *session) want() {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.watchers) > 0 && !s.outstanding && s.timer == nil {
		// The server keeps what changed since its last update to this
		// client, so an incremental request catches up; a picture never
		// received whole is asked for whole (requestLocked).
		s.requestLocked(true)
	}
}

// scheduleLocked asks for the next incremental update, no sooner than
// 1/MaxFPS after the last request.
func (s *session) scheduleLocked() {
	if s.timer != nil || s.outstanding {
		return
	}
	wait := time.Until(s.lastReq.Add(time.Second / time.Duration(s.c.cfg.MaxFPS)))
	if wait <= 0 {
		s.requestLocked(true)
		return
	}
	s.timer = time.AfterFunc(wait, func() {
		s.c.mu.Lock()
		defer s.c.mu.Unlock()
		s.timer = nil
		if len(s.c.watchers) > 0 && !s.outstanding {
			s.requestLocked(true)
		}
	})
}

// requestLocked sends an update request for the whole framebuffer; a
// non-incremental one makes the server send all of it.
func (s *session) requestLocked(incremental bool) {
	if s.ended() {
		return
	}
	if !incremental || !s.fb.valid {
		incremental = false
		s.fullPending = true
	}
	s.outstanding, s.lastReq = true, time.Now()
	msg := updateRequest(incremental, image.Rectangle{Max: s.size})
	go func() { _ = s.write(msg) }()
}

// write sends one message.
func (s *session) write(msgs ...[]byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	for _, m := range msgs {
		if _, err := s.conn.Write(m); err != nil {
			s.conn.Close()
			return err
		}
	}
	return nil
}

func (s *session) close() {
	s.closeMu.Lock()
	if !s.finished {
		s.byUs = true
	}
	s.closeMu.Unlock()
	s.conn.Close()
}

func (s *session) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *session) closedByUs() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	return s.byUs
}

// forInput returns the session, connecting if needed, for a key or
// pointer event. Errors: hardware.ErrUnavailable when the server cannot
// be reached.
func (c *Client) forInput() (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: %w", hardware.ErrUnavailable, errClosed)
	}
	c.inputUntil = time.Now().Add(c.cfg.InputIdle)
	c.ensureLocked()
	start := c.attempts
	deadline := time.After(inputWait)
	for c.sess == nil {
		if c.closed {
			return nil, fmt.Errorf("%w: %w", hardware.ErrUnavailable, errClosed)
		}
		if c.attempts > start {
			return nil, fmt.Errorf("vnc: %w: %w", hardware.ErrUnavailable, c.lastErr)
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			c.mu.Lock()
			return nil, fmt.Errorf("vnc: no connection within %s: %w", inputWait, hardware.ErrUnavailable)
		}
		c.mu.Lock()
	}
	return c.sess, nil
}

var errClosed = errors.New("vnc: client closed")

var _ io.Closer = (*Client)(nil)
