package rfb

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
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/video"
)

// session is one client's connection. After the handshake a reader (the
// serving goroutine) parses the client's messages and a writer sends the
// updates; they share the client's settings and pending request under mu.
type session struct {
	// handshaking: counted among the handshakes in progress
	// (Server.handshaking), until the handshake ends; admitted: holds one
	// of the places of the clients that logged in. Both under s.mu.
	handshaking bool
	admitted    bool
	s           *Server
	raw         net.Conn // as accepted; closing it ends everything at once
	nc          net.Conn // raw, or TLS over it after VeNCrypt
	br          *bufio.Reader
	remote      string
	log         *slog.Logger

	// Set by the handshake.
	minor      int             // protocol version 3.minor: 3, 7 or 8
	principal  *auth.Principal // the door's, for security type None
	account    *auth.Account   // who logged in, nil for VNC Authentication; under s.mu
	name       string          // user name, "vnc" for VNC Authentication
	mayControl bool
	shared     bool
	// takeOnInput: the client asked for exclusive access; its first
	// input takes control (see serve).
	takeOnInput bool

	ctx    context.Context
	cancel context.CancelFunc
	client *input.Client
	viewer *video.Viewer

	mu         sync.Mutex
	pf         PixelFormat
	pfChanged  bool
	encs       encodings
	encChanged bool
	pending    *updateRequestMsg
	resizes    int // SetDesktopSize messages to answer
	fb         image.Point
	gen        uint64             // bumped by every change the writer must see
	waitCancel context.CancelFunc // interrupts the writer's wait for a frame
	wake       chan struct{}

	// liveness: awaiting is when the oldest message the client has not
	// answered went out (zero: none); alive checks it when ReplyTimeout
	// has passed.
	liveMu   sync.Mutex
	awaiting time.Time
	alive    *time.Timer

	// The reader's input state.
	buttons uint8
	lastX   int
	lastY   int
	pointed bool
	typing  atomic.Bool
	typed   sync.WaitGroup // the cut text being typed
}

// serve runs one connection: handshake, then the session until either
// side ends it.
func (s *Server) serve(conn net.Conn, remote string, p *auth.Principal) error {
	c := &session{s: s, raw: conn, nc: conn, br: bufio.NewReaderSize(conn, 16<<10), remote: remote,
		principal: p, wake: make(chan struct{}, 1)}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	defer c.cancel()
	defer conn.Close()
	c.log = s.log.With("remote", remote)
	busy := s.add(c)
	if busy == nil {
		defer s.remove(c)
	} else if errors.Is(busy, ErrServerClosed) {
		return busy
	}
	c.deadline(s.o.HandshakeTimeout)
	size := s.sizeWithout()
	if f := s.o.Pipeline.Latest(); f.Size().X > 0 {
		size = f.Size()
	}
	err := c.handshake(size, busy)
	s.handshakeDone(c)
	if err != nil {
		if busy == nil {
			c.log.Info("vnc handshake failed", "error", err)
		}
		return err
	}
	conn.SetDeadline(time.Time{})
	c.nc.SetDeadline(time.Time{})
	if c.ctx.Err() != nil { // killed during the handshake
		return ErrServerClosed
	}
	c.fb = size
	c.pf = ServerPixelFormat
	c.encs = encodings{preferred: EncRaw, quality: -1, compress: -1}

	who := c.name + "@" + hostOf(remote)
	c.log = c.log.With("client", who)
	c.client = s.o.Hub.Join(who, "vnc", c.mayControl)
	defer c.client.Close()
	// A client asking for exclusive access takes control with its first
	// key or pointer report, not at connect: TigerVNC asks for it by
	// default, and a viewer that only looks must not take the keyboard
	// from the person typing.
	c.takeOnInput = !c.shared && c.mayControl
	c.viewer = s.o.Pipeline.Watch()
	defer c.viewer.Close()
	c.alive = time.AfterFunc(s.o.ReplyTimeout, c.checkAlive)
	defer c.alive.Stop()
	c.awaitReply() // ServerInit went out
	c.log.Info("vnc client connected", "may_control", c.mayControl, "protocol", fmt.Sprintf("3.%d", c.minor))

	var wg sync.WaitGroup
	var werr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer c.kill()
		werr = c.writeLoop()
	}()
	go func() {
		defer wg.Done()
		c.watchLEDs()
	}()
	rerr := c.readLoop()
	c.kill()
	wg.Wait()
	c.typed.Wait()
	c.log.Info("vnc client disconnected")
	switch {
	case rerr != nil && !errors.Is(rerr, net.ErrClosed):
		return rerr
	case werr != nil && !errors.Is(werr, context.Canceled) && !errors.Is(werr, net.ErrClosed):
		return werr
	}
	return nil
}

// awaitReply notes that a message the client answers went out (a
// FramebufferUpdate: the client asks for the next one; ServerInit).
func (c *session) awaitReply() {
	c.liveMu.Lock()
	defer c.liveMu.Unlock()
	if c.awaiting.IsZero() {
		c.awaiting = time.Now()
		c.alive.Reset(c.s.o.ReplyTimeout)
	}
}

// heard notes a message from the client: it is alive.
func (c *session) heard() {
	c.liveMu.Lock()
	c.awaiting = time.Time{}
	c.liveMu.Unlock()
}

// checkAlive disconnects a client that has not answered for
// ReplyTimeout: a frozen (stopped) or vanished viewer, whose TCP
// connection the kernel may keep alive for minutes, must not keep
// control and its keys held.
func (c *session) checkAlive() {
	c.liveMu.Lock()
	if c.awaiting.IsZero() {
		c.liveMu.Unlock()
		return
	}
	if left := c.s.o.ReplyTimeout - time.Since(c.awaiting); left > 0 {
		c.alive.Reset(left)
		c.liveMu.Unlock()
		return
	}
	c.liveMu.Unlock()
	c.log.Info("vnc client does not answer; disconnecting it", "timeout", c.s.o.ReplyTimeout)
	c.kill()
}

// kill ends the session from anywhere: the goroutines stop and the
// connection closes.
func (c *session) kill() {
	c.cancel()
	c.raw.Close()
}

// deadline bounds the handshake's next step to d from now.
func (c *session) deadline(d time.Duration) {
	c.raw.SetDeadline(time.Now().Add(d))
}

// write sends b during the handshake.
func (c *session) write(b []byte) error {
	_, err := c.nc.Write(b)
	return err
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// signalLocked tells the writer that something changed: it stops
// waiting for a frame and looks again.
func (c *session) signalLocked() {
	c.gen++
	if c.waitCancel != nil {
		c.waitCancel()
		c.waitCancel = nil
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// watchLEDs wakes the writer after each change of the host's keyboard
// LEDs, which it sends with the next update.
func (c *session) watchLEDs() {
	ch, stop := c.s.o.Hub.WatchLEDs()
	defer stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-ch:
			c.mu.Lock()
			c.signalLocked()
			c.mu.Unlock()
		}
	}
}

// readLoop handles the client's messages until it leaves (nil) or sends
// one the server cannot parse or accept.
func (c *session) readLoop() error {
	for {
		m, err := readClientMessage(c.br)
		if err != nil {
			if err == io.EOF || c.ctx.Err() != nil {
				return nil
			}
			return err
		}
		c.heard()
		switch m := m.(type) {
		case setPixelFormatMsg:
			if err := m.pf.Check(); err != nil {
				return err
			}
			c.mu.Lock()
			c.pf, c.pfChanged = m.pf, true
			c.signalLocked()
			c.mu.Unlock()
		case setEncodingsMsg:
			e := parseEncodings(m.encodings)
			c.mu.Lock()
			c.encs, c.encChanged = e, true
			c.signalLocked()
			c.mu.Unlock()
		case updateRequestMsg:
			c.mu.Lock()
			if c.pending == nil {
				r := m
				c.pending = &r
			} else {
				c.pending.incremental = c.pending.incremental && m.incremental
				c.pending.rect = c.pending.rect.Union(m.rect)
			}
			c.signalLocked()
			c.mu.Unlock()
		case setDesktopSizeMsg:
			c.mu.Lock()
			if c.resizes < 16 {
				c.resizes++
			}
			c.signalLocked()
			c.mu.Unlock()
		case keyEventMsg:
			c.key(m)
		case pointerEventMsg:
			c.pointer(m)
		case cutTextMsg:
			c.cutText(m)
		}
	}
}

// encodings are what a client's SetEncodings says it takes.
type encodings struct {
	// preferred is the first of Tight, ZRLE and Raw in the client's list
	// (Raw when it lists neither).
	preferred int32
	// quality is the JPEG quality level (0..9), compress the
	// compression level (0..9); -1 when not given.
	quality, compress                          int
	desktopSize, extDesktopSize, qemuKey, leds bool
}

func parseEncodings(list []int32) encodings {
	e := encodings{preferred: EncRaw, quality: -1, compress: -1}
	found := false
	for _, enc := range list {
		switch {
		case !found && (enc == EncTight || enc == EncZRLE || enc == EncRaw):
			e.preferred, found = enc, true
		case enc >= EncJPEGQuality0 && enc <= EncJPEGQuality9 && e.quality < 0:
			e.quality = int(enc - EncJPEGQuality0)
		case enc >= EncCompressLevel0 && enc <= EncCompressLevel9 && e.compress < 0:
			e.compress = int(enc - EncCompressLevel0)
		case enc == EncDesktopSize:
			e.desktopSize = true
		case enc == EncExtendedDesktopSize:
			e.extDesktopSize = true
		case enc == EncQEMUExtendedKey:
			e.qemuKey = true
		case enc == EncQEMULEDState:
			e.leds = true
		}
	}
	return e
}
