package input

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/websock"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// HIDSubprotocol is the WebSocket subprotocol of the HID endpoint. The
// server selects it when the client offers it; a browser that carries its
// session token in a bmcd.token.* subprotocol must offer it too (a browser
// fails a handshake whose offered subprotocols are all refused).
const HIDSubprotocol = "bmcd.hid"

// HIDOptions configure HIDHandler. The zero value is usable.
type HIDOptions struct {
	// OriginPatterns are the hosts (path.Match patterns) whose pages may
	// open the WebSocket besides the endpoint's own host: a browser sends
	// the session cookie along with cross-site requests, so other
	// origins are refused (websocket.AcceptOptions.OriginPatterns).
	OriginPatterns []string
	// PingInterval is how often the server pings the client; a client
	// that has not answered by the next ping is taken as gone and its
	// keys are released. 0: 15 s.
	PingInterval time.Duration
	// WriteTimeout bounds each message to the client; a client that does
	// not read for that long is disconnected. 0: 10 s.
	WriteTimeout time.Duration
	// MaxReplies bounds the replies (errors, "pasted") waiting to be
	// written to one client; a client that lets more pile up is
	// disconnected with the close reason "too many unread replies"
	// (status 1008) rather than lose one. 0: DefaultMaxReplies.
	MaxReplies int
	// Logger hears of connections and take-overs; nil: none.
	Logger *slog.Logger
}

// DefaultMaxReplies is HIDOptions.MaxReplies' default: far more than a
// client that reads ever has waiting (one reply per message it sends).
const DefaultMaxReplies = 256

// Server → client message types.
type (
	helloMsg struct {
		T          string   `json:"t"` // "hello"
		Name       string   `json:"name"`
		MayControl bool     `json:"may_control"`
		Layout     string   `json:"layout"`
		Layouts    []string `json:"layouts"`
		Absolute   bool     `json:"absolute"`
		Relative   bool     `json:"relative"`
	}
	controlMsg struct {
		T          string `json:"t"` // "control"
		You        bool   `json:"you"`
		By         string `json:"by"`
		TakenBy    string `json:"taken_by,omitempty"`
		MayControl bool   `json:"may_control"`
	}
	ledsMsg struct {
		T string `json:"t"` // "leds"
		hardware.KeyboardLEDs
	}
	errorMsg struct {
		T       string   `json:"t"` // "error"
		Code    string   `json:"code"`
		Message string   `json:"message"`
		Chars   []string `json:"chars,omitempty"`
	}
	pastedMsg struct {
		T     string `json:"t"` // "pasted"
		Chars int    `json:"chars"`
	}
)

// HIDHandler serves the WebSocket HID protocol (docs/console.md,
// "WebSocket HID protocol") over hub: JSON text messages for keys
// (KeyboardEvent.code), pointer moves (absolute 0..32767 or relative),
// buttons, wheel, chords, paste and take-over; the keyboard LEDs, who has
// control, and errors back. The caller authenticates first (auth.Gate):
// the handler reads the principal from auth.FromContext (401 without
// one), names the client "user@address#n" (Hub.Join), and lets it control only if its
// role grants ConfigureComponents (a ReadOnly account watches only). A bad
// message gets an "error" message and the connection stays open; a client
// that stops reading is disconnected after WriteTimeout, and one that
// vanishes after PingInterval, its keys released either way.
func HIDHandler(hub *Hub, opts HIDOptions) http.Handler {
	if opts.PingInterval <= 0 {
		opts.PingInterval = 15 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 10 * time.Second
	}
	if opts.MaxReplies <= 0 {
		opts.MaxReplies = DefaultMaxReplies
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, p, ok := websock.Accept(w, r, HIDSubprotocol, opts.OriginPatterns)
		if !ok {
			return
		}
		defer conn.CloseNow()
		conn.SetReadLimit(maxMessageBytes)
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		s := &hidSession{
			hub:  hub,
			conn: conn,
			opts: &opts,
			name: p.Account.UserName + "@" + host,
			out:  make(chan any, opts.MaxReplies),
		}
		s.run(r.Context(), auth.Authorize(p, auth.PrivConfigureComponents) == nil)
	})
}

// hidSession is one WebSocket HID connection.
type hidSession struct {
	hub     *Hub
	conn    *websocket.Conn
	opts    *HIDOptions
	name    string
	client  *Client
	out     chan any // replies from the reader to the writer (MaxReplies)
	full    sync.Once
	pasting atomic.Bool
	wg      sync.WaitGroup
}

func (s *hidSession) run(parent context.Context, mayControl bool) {
	ctx, cancel := context.WithCancel(parent)
	s.client = s.hub.Join(s.name, "websocket", mayControl)
	s.name = s.client.Name()
	log := s.opts.Logger.With("client", s.name)
	log.Info("console input connected", "may_control", mayControl)
	defer func() {
		cancel()
		s.wg.Wait()
		s.client.Close()
		log.Info("console input disconnected")
	}()
	s.wg.Add(2)
	go func() { defer s.wg.Done(); defer cancel(); s.write(ctx) }()
	go func() { defer s.wg.Done(); defer cancel(); websock.KeepAlive(ctx, s.conn, s.opts.PingInterval) }()
	for {
		typ, data, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			s.reply(errorMsg{T: "error", Code: "bad_message", Message: "messages are JSON text, not binary"})
			continue
		}
		cmd, err := decodeMessage(data)
		if err != nil {
			s.reply(errorMsg{T: "error", Code: "bad_message", Message: err.Error()})
			continue
		}
		if err := s.do(ctx, cmd); err != nil {
			s.replyErr(err)
		}
	}
}

// do carries out one command.
func (s *hidSession) do(ctx context.Context, cmd command) error {
	c := s.client
	switch cmd := cmd.(type) {
	case keyCmd:
		return c.Key(cmd.key, cmd.down)
	case moveCmd:
		last := c.Pointer()
		if cmd.abs {
			return c.Point(hardware.PointerEvent{Absolute: true, X: cmd.x, Y: cmd.y, Buttons: last.Buttons})
		}
		return c.Point(hardware.PointerEvent{DX: cmd.x, DY: cmd.y, Buttons: last.Buttons})
	case buttonsCmd:
		e := s.inPlace()
		e.Buttons = cmd.mask
		return c.Point(e)
	case wheelCmd:
		e := s.inPlace()
		e.Wheel, e.HWheel = -cmd.dy, cmd.dx
		return c.Point(e)
	case chordCmd:
		return c.Chord(cmd.keys...)
	case pasteCmd:
		if !s.pasting.CompareAndSwap(false, true) {
			return errPasteBusy
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.pasting.Store(false)
			if err := c.Type(ctx, cmd.text, cmd.layout); err != nil {
				if ctx.Err() == nil {
					s.replyErr(err)
				}
				return
			}
			s.reply(pastedMsg{T: "pasted", Chars: len([]rune(cmd.text))})
		}()
		return nil
	case takeoverCmd:
		prev := s.hub.Controller()
		if err := c.TakeOver(); err != nil {
			return err
		}
		if prev != "" && prev != s.name {
			s.opts.Logger.Info("console input taken over", "client", s.name, "from", prev)
		}
		return nil
	case releaseCmd:
		c.Release()
		return nil
	}
	return nil
}

var errPasteBusy = errors.New("a paste is still being typed")

// inPlace is a pointer report that does not move: at the last absolute
// position, or a relative one of 0 on a device that takes relative moves
// and was never given a position.
func (s *hidSession) inPlace() hardware.PointerEvent {
	last := s.client.Pointer()
	_, rel := s.hub.PointerModes()
	if last.Absolute || !rel {
		return hardware.PointerEvent{Absolute: true, X: last.X, Y: last.Y, Buttons: last.Buttons}
	}
	return hardware.PointerEvent{Buttons: last.Buttons}
}

// reply queues a message for the client. A client that has MaxReplies
// unread is disconnected, with a close reason, rather than lose one.
func (s *hidSession) reply(m any) {
	select {
	case s.out <- m:
	default:
		s.full.Do(func() {
			s.opts.Logger.Warn("console input client does not read its replies; disconnecting it", "client", s.name)
			// Close sends the reason, after the message being written,
			// and ends the connection (in 5 s at most).
			go s.conn.Close(websocket.StatusPolicyViolation, "too many unread replies")
		})
	}
}

// replyErr reports err to the client with a code a page can act on.
func (s *hidSession) replyErr(err error) {
	m := errorMsg{T: "error", Code: errorCode(err), Message: err.Error()}
	var ue *UntypableError
	if errors.As(err, &ue) {
		for _, r := range ue.Chars {
			m.Chars = append(m.Chars, string(r))
		}
	}
	s.reply(m)
}

// errorCode is the "code" of an error message.
func errorCode(err error) string {
	var ue *UntypableError
	switch {
	case errors.As(err, &ue):
		return "untypable"
	case errors.Is(err, ErrViewOnly):
		return "view_only"
	case errors.Is(err, ErrNotPermitted):
		return "not_permitted"
	case errors.Is(err, ErrUnknownLayout):
		return "unknown_layout"
	case errors.Is(err, errPasteBusy):
		return "busy"
	case errors.Is(err, hardware.ErrPoweredOff):
		return "powered_off"
	case errors.Is(err, hardware.ErrNotSupported):
		return "not_supported"
	case errors.Is(err, hardware.ErrInvalid):
		return "invalid"
	}
	return "failed"
}

// write sends the client everything it is told: hello, then who has
// control and the LEDs on every change, and the replies. It returns when
// ctx ends or a write fails (the client stopped reading).
func (s *hidSession) write(ctx context.Context) {
	leds, stop := s.hub.WatchLEDs()
	defer stop()
	absolute, relative := s.hub.PointerModes()
	names := make([]string, 0, len(layouts))
	for _, l := range layouts {
		names = append(names, l.Name)
	}
	if !s.send(ctx, helloMsg{T: "hello", Name: s.client.Name(), MayControl: s.client.MayControl(),
		Layout: s.hub.Layout().Name, Layouts: names, Absolute: absolute, Relative: relative}) ||
		!s.send(ctx, ledsMsg{T: "leds", KeyboardLEDs: s.hub.LEDs()}) {
		return
	}
	for {
		var m any
		select {
		case <-ctx.Done():
			return
		case ctl, ok := <-s.client.Events():
			if !ok {
				return
			}
			m = controlMsg{T: "control", You: ctl.You, By: ctl.By, TakenBy: ctl.TakenBy, MayControl: s.client.MayControl()}
		case <-leds:
			m = ledsMsg{T: "leds", KeyboardLEDs: s.hub.LEDs()}
		case m = <-s.out:
		}
		if !s.send(ctx, m) {
			return
		}
	}
}

func (s *hidSession) send(ctx context.Context, m any) bool {
	wctx, cancel := context.WithTimeout(ctx, s.opts.WriteTimeout)
	defer cancel()
	return wsjson.Write(wctx, s.conn, m) == nil
}
