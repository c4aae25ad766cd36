// Package rfb is the console's VNC server: RFB 3.8 (RFC 6143, with the
// rfbproto community extensions) over one machine's video pipeline
// (kvm/video) and input hub (kvm/input). One Server serves a machine
// through two doors: TCP (Serve, ServeListener), where clients
// authenticate with VNC Authentication or VeNCrypt X509Plain and bmcd's
// accounts, and a WebSocket carrying raw RFB in binary messages
// (WebSocketHandler) for noVNC, behind the HTTP gate's login.
//
// Updates: Raw, ZRLE and Tight (the pipeline's JPEG of a whole frame as
// one Tight rectangle, encoded once for every viewer; lossless fill,
// palette and full-colour tiles for the small changes in between), only
// the changed rectangles once the client has a frame, never an unchanged
// frame, DesktopSize and ExtendedDesktopSize on a change of resolution.
// Input: KeyEvent (X11 keysyms), the QEMU Extended Key Event (XT scan
// codes), PointerEvent (scaled to the absolute 0..32767 of
// hardware.PointerEvent) and ClientCutText (typed through the host's
// keyboard layout); the host's keyboard LEDs go back with the QEMU LED
// State pseudo-encoding. See docs/console.md, "VNC".
package rfb

import (
	"crypto/tls"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/video"
)

// Defaults of Options.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultPasswordTimeout  = 30 * time.Second
	DefaultWriteTimeout     = 20 * time.Second
	DefaultProbeInterval    = 10 * time.Second
	DefaultReplyTimeout     = 20 * time.Second
	DefaultMaxClients       = 16
	DefaultMaxHandshakes    = 16
)

// Passwords are the VNC Authentication passwords of a Server: whoever
// answers the DES challenge with Control may control the console (as an
// Operator would), with ViewOnly only watch it. Empty: that password is
// off. Only the first 8 bytes of a password count in VNC Authentication
// (RFC 6143 §7.2.2); CheckPassword refuses longer ones.
type Passwords struct {
	Control, ViewOnly string
}

// MaxHandshakesPerHost bounds the handshakes (logins) one client address
// may have in progress on either door, so that one address cannot hold
// every one of the MaxHandshakes slots.
const MaxHandshakesPerHost = 4

// Options configure a Server. Pipeline and Hub are required; the rest
// decide which security types the TCP door offers: VeNCrypt (X509Plain,
// bmcd's accounts) with Accounts and TLS, VNC Authentication with a
// Passwords that returns one. A TCP client is never let in without one of
// them.
type Options struct {
	// Name is the desktop name ServerInit carries ("bmcd 0").
	Name string
	// Pipeline is the machine's video; Hub its input.
	Pipeline *video.Pipeline
	Hub      *input.Hub
	// Accounts check VeNCrypt's user name and password; an account may
	// control the console if its role grants ConfigureComponents,
	// otherwise (ReadOnly) it only watches.
	Accounts *auth.Accounts
	// TLS is the service certificate's configuration, for VeNCrypt
	// X509Plain. Nil: VeNCrypt is not offered.
	TLS *tls.Config
	// Logins counts failed password checks per client address and user
	// name (VNC Authentication's shared password as user ""), shared
	// with the HTTP gate; nil: no limit.
	Logins *auth.Limiter[auth.LoginKey]
	// Passwords returns the VNC Authentication passwords in force, read
	// at each connection; nil, or both empty: VNC Authentication is not
	// offered.
	Passwords func() Passwords
	// HandshakeTimeout bounds each step of the handshake the client's
	// software answers by itself (the version, the security type, TLS,
	// ClientInit); 0: DefaultHandshakeTimeout. A connection that says
	// nothing is closed after it.
	HandshakeTimeout time.Duration
	// PasswordTimeout bounds the wait for the answer to the password
	// question (VNC Authentication's response, VeNCrypt's user name and
	// password), which a person may be typing; 0: DefaultPasswordTimeout.
	PasswordTimeout time.Duration
	// WriteTimeout bounds each update: a client that stops reading for
	// that long is disconnected; 0: DefaultWriteTimeout.
	WriteTimeout time.Duration
	// ProbeInterval: an incremental update request still unanswered
	// after that long (the screen has not changed) is answered with an
	// empty FramebufferUpdate (no rectangles), to which a live client
	// replies with its next request; 0: DefaultProbeInterval.
	ProbeInterval time.Duration
	// ReplyTimeout: a client that sends nothing for that long after a
	// FramebufferUpdate (or ServerInit) went out is taken as frozen or
	// gone and disconnected, its keys released; every RFB viewer asks
	// for the next update as soon as it has one. 0: DefaultReplyTimeout.
	ReplyTimeout time.Duration
	// MaxClients bounds the clients that have logged in, at once; a
	// login beyond it is refused with the reason. Connections still in
	// their handshake do not count: 0: DefaultMaxClients.
	MaxClients int
	// MaxHandshakes bounds the connections in their handshake (not
	// logged in yet), at once, from all addresses (MaxHandshakesPerHost
	// from one); 0: DefaultMaxHandshakes.
	MaxHandshakes int
	// Logger hears of connections, logins and protocol errors; nil:
	// none.
	Logger *slog.Logger
	// OnLogin, when set, hears of each password check: the user name
	// ("" for VNC Authentication), the client's address and whether it
	// succeeded (for the audit log).
	OnLogin func(user, remote string, ok bool)
}

// Server is the VNC server of one machine. Its methods are safe for
// concurrent use.
type Server struct {
	o   Options
	log *slog.Logger

	mu        sync.Mutex
	sessions  map[*session]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	lastSize  image.Point // the last picture's size, for a screen without one
	// handshaking counts the handshakes in progress by client address
	// (see MaxHandshakesPerHost), handshakes all of them; admitted the
	// clients that logged in (MaxClients).
	handshaking map[string]int
	handshakes  int
	admitted    int
	wg          sync.WaitGroup

	stopAccounts func()

	picMu    sync.Mutex
	picFrame *video.Frame // the frame picOf converted last
	picView  *picture
}

// ErrServerClosed is returned by ServeListener and Serve after Close.
var ErrServerClosed = errors.New("rfb: server closed")

// New returns the server of one machine. It fails without a Pipeline or
// a Hub.
func New(o Options) (*Server, error) {
	if o.Pipeline == nil || o.Hub == nil {
		return nil, errors.New("rfb: a Pipeline and a Hub are required")
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.ReplyTimeout <= 0 {
		o.ReplyTimeout = DefaultReplyTimeout
	}
	if o.PasswordTimeout <= 0 {
		o.PasswordTimeout = DefaultPasswordTimeout
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxHandshakes <= 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
	s := &Server{o: o, log: o.Logger, sessions: map[*session]struct{}{}, listeners: map[net.Listener]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if o.Accounts != nil {
		s.stopAccounts = o.Accounts.OnChange(s.accountChanged)
	}
	return s, nil
}

// CheckPassword reports whether pw may be a VNC Authentication password:
// 6 to 8 bytes (VNC Authentication uses 8 at most, and TigerVNC's
// vncpasswd asks for 6 at least), printable ASCII.
func CheckPassword(pw string) error {
	if len(pw) < 6 || len(pw) > 8 {
		return fmt.Errorf("rfb: a VNC password has 6 to 8 characters: %w", auth.ErrInvalid)
	}
	for _, c := range []byte(pw) {
		if c < 0x20 || c > 0x7E {
			return fmt.Errorf("rfb: a VNC password is printable ASCII: %w", auth.ErrInvalid)
		}
	}
	return nil
}

// Serve handles one client over conn (TCP, or anything else carrying the
// byte stream) until it leaves, then closes conn. The client
// authenticates with the security types Options allow (never None). It
// returns nil when the client leaves, the reason of a failed handshake
// or protocol error otherwise, and ErrServerClosed after Close.
func (s *Server) Serve(conn net.Conn) error {
	return s.serve(conn, conn.RemoteAddr().String(), nil)
}

// ServeAuthenticated handles one client over conn as Serve does, for a
// door that authenticated it already (the WebSocket behind the HTTP
// gate): security type None only, the principal's account deciding
// whether it may control. remote is the client's address for its name
// and the logs.
func (s *Server) ServeAuthenticated(conn net.Conn, p auth.Principal, remote string) error {
	return s.serve(conn, remote, &p)
}

// ServeListener accepts clients on l and serves each in its own
// goroutine until l fails or Close; it returns ErrServerClosed after
// Close. TCP connections get keep-alives that notice a vanished client
// in about half a minute, so its keys are released.
func (s *Server) ServeListener(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 15 * time.Second, Interval: 5 * time.Second, Count: 3})
		}
		go func() {
			if err := s.Serve(c); err != nil && !errors.Is(err, ErrServerClosed) {
				s.log.Debug("vnc connection ended", "remote", c.RemoteAddr().String(), "error", err)
			}
		}()
	}
}

// ListenAndServe listens on the TCP address addr and serves clients
// (ServeListener).
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.ServeListener(l)
}

// Close stops the listeners, disconnects every client (releasing their
// keys) and waits for their connections to end. Calling it again does
// nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.sessions {
		c.kill()
	}
	s.mu.Unlock()
	if s.stopAccounts != nil {
		s.stopAccounts()
	}
	s.wg.Wait()
	return nil
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// add registers a connection in its handshake; an error when the server
// is closed or has too many handshakes in progress, in all or from the
// client's address (the error says which). A connection still in its
// handshake never takes the place of a client that logged in: those are
// counted apart (admit).
func (s *Server) add(c *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	host := hostOf(c.remote)
	switch {
	case s.closed:
		return ErrServerClosed
	case s.handshakes >= s.o.MaxHandshakes:
		return fmt.Errorf("too many VNC logins in progress (at most %d)", s.o.MaxHandshakes)
	case s.handshaking[host] >= MaxHandshakesPerHost:
		return fmt.Errorf("too many VNC logins in progress from %s (at most %d)", host, MaxHandshakesPerHost)
	}
	s.sessions[c] = struct{}{}
	if s.handshaking == nil {
		s.handshaking = map[string]int{}
	}
	s.handshaking[host]++
	s.handshakes++
	c.handshaking = true
	s.wg.Add(1)
	return nil
}

// admit gives c, which has just logged in, one of the MaxClients places;
// errFull when none is free.
func (s *Server) admit(c *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.admitted {
		return nil
	}
	if s.admitted >= s.o.MaxClients {
		return fmt.Errorf("%w (at most %d)", errFull, s.o.MaxClients)
	}
	s.admitted++
	c.admitted = true
	return nil
}

// errFull: every place for a client that logged in is taken.
var errFull = errors.New("too many VNC clients")

// handshakeDone ends c's count among the handshakes in progress.
func (s *Server) handshakeDone(c *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.handshaking {
		return
	}
	c.handshaking = false
	s.handshakes--
	host := hostOf(c.remote)
	if s.handshaking[host]--; s.handshaking[host] <= 0 {
		delete(s.handshaking, host)
	}
}

func (s *Server) remove(c *session) {
	s.handshakeDone(c)
	s.mu.Lock()
	delete(s.sessions, c)
	if c.admitted {
		c.admitted = false
		s.admitted--
	}
	s.mu.Unlock()
	s.wg.Done()
}

// accountChanged disconnects the clients of an account that was
// removed, disabled, locked, given another role or a new password: what
// let them in no longer holds. It runs with the accounts locked, so it
// only starts the disconnections.
func (s *Server) accountChanged(ch auth.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.sessions {
		a := c.account
		if a == nil || a.ID != ch.Account.ID {
			continue
		}
		if ch.Kind == auth.Removed || !ch.Account.Enabled || ch.Account.Locked ||
			ch.PasswordChanged || ch.Account.Role != a.Role {
			go c.kill()
		}
	}
}

// sizeWithout is the screen size to show while the source has no
// picture: the last picture's, else noSignalSize.
func (s *Server) sizeWithout() image.Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastSize.X > 0 {
		return s.lastSize
	}
	return noSignalSize
}

func (s *Server) sawSize(p image.Point) {
	s.mu.Lock()
	s.lastSize = p
	s.mu.Unlock()
}

// picOf is f's picture as the encoders read it, converted once per
// frame for every client (a JPEG-only source's decoded picture is not an
// *image.RGBA); nil without a picture.
func (s *Server) picOf(f *video.Frame) (*picture, error) {
	s.picMu.Lock()
	defer s.picMu.Unlock()
	if s.picFrame == f {
		return s.picView, nil
	}
	img, err := f.Picture()
	if err != nil || img == nil {
		return nil, err
	}
	p := pictureOf(img)
	s.picFrame, s.picView = f, p
	return p, nil
}

// loginKey is the Limiter key of a login by user from remote.
func loginKey(remote, user string) auth.LoginKey {
	return auth.LoginKeyOf(&http.Request{RemoteAddr: remote}, user)
}
