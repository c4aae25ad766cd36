// Package input is the console's keyboard and mouse: one Hub per machine
// over its hardware.Keyboard and hardware.Pointer, shared by every client
// that sends input (the WebSocket HID endpoint in this package, the VNC
// server). One client at a time controls; the others watch and their input
// is refused until they take over. Keys and buttons a client holds are
// released when it leaves or loses control, so a vanished browser never
// leaves a key down on the host.
//
// The key maps from the clients' names to HID usages are here too:
// KeyboardEvent.code (KeyForCode), X11 keysyms (KeyForKeysym) and XT scan
// codes (KeyForXT); and the host keyboard layouts that paste is typed
// through (Layout).
package input

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Why input was refused.
var (
	// ErrViewOnly: another client controls the console (see
	// ViewOnlyError); TakeOver first.
	ErrViewOnly = errors.New("view only: another client has control")
	// ErrNotPermitted: the client joined without the right to control
	// (a ReadOnly account).
	ErrNotPermitted = errors.New("not permitted to control the console")
	// ErrClosed: the client has left (Close).
	ErrClosed = errors.New("input client closed")
	// ErrUnknownLayout: Type was given a layout it does not know.
	ErrUnknownLayout = errors.New("unknown keyboard layout")
)

// ViewOnlyError is ErrViewOnly naming the client that has control.
type ViewOnlyError struct {
	// By is the controlling client's name.
	By string
}

func (e *ViewOnlyError) Error() string { return "view only: " + e.By + " has control" }

// Unwrap makes the error match ErrViewOnly.
func (e *ViewOnlyError) Unwrap() error { return ErrViewOnly }

// DefaultTypeDelay is the pause Type makes after each key press and after
// each release: about 25 characters a second, which a host polling a USB
// keyboard every 8-10 ms, a BIOS and a VM's emulated keyboard all keep up
// with.
const DefaultTypeDelay = 20 * time.Millisecond

// Hub is the input side of one machine's console. Its methods are safe for
// concurrent use; input from every client goes to the devices one event at
// a time, in the order it arrives.
type Hub struct {
	kb  hardware.Keyboard
	ptr hardware.Pointer

	mu         sync.Mutex // held across device calls: they are one ordered stream
	clients    []*Client  // in order of joining
	controller *Client
	lastID     int // the last Client.ID given
	typeDelay  time.Duration
	layout     *Layout
	watchers   map[chan struct{}]struct{}
}

// NewHub returns the hub of a machine with keyboard kb and pointer p (the
// machine's Keyboard() and Pointer(); hardware.DisabledKeyboard and
// DisabledPointer when it has none).
func NewHub(kb hardware.Keyboard, p hardware.Pointer) *Hub {
	return &Hub{kb: kb, ptr: p, typeDelay: DefaultTypeDelay, layout: US, watchers: map[chan struct{}]struct{}{}}
}

// SetLayout sets the host's keyboard layout (LayoutByName: "us", "de",
// "fr", "ru"; "" is DefaultLayout): the layout the host reads its
// keyboard with, a setting of the machine. Pasted text (Type with no
// layout named, the browser's paste, VNC ClientCutText) is typed
// through it. ErrUnknownLayout for a name it does not know.
func (h *Hub) SetLayout(name string) error {
	l, err := LayoutByName(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.layout = l
	h.mu.Unlock()
	return nil
}

// Layout is the host's keyboard layout (SetLayout; US unless set).
func (h *Hub) Layout() *Layout {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.layout
}

// SetTypeDelay sets the pause Type makes after each press and release
// (DefaultTypeDelay unless set; 0 types as fast as the device takes it).
func (h *Hub) SetTypeDelay(d time.Duration) {
	h.mu.Lock()
	h.typeDelay = d
	h.mu.Unlock()
}

// LEDs is the keyboard LED state the host last set.
func (h *Hub) LEDs() hardware.KeyboardLEDs { return h.kb.LEDs() }

// WatchLEDs returns a channel that receives after each change of the LEDs
// (capacity 1, coalescing; read LEDs for the state) and stop, called once
// by the watcher (hardware.Keyboard.WatchLEDs).
func (h *Hub) WatchLEDs() (<-chan struct{}, func()) { return h.kb.WatchLEDs() }

// PointerModes says which moves the machine's pointer takes: absolute (a
// tablet), relative (a mouse), or both.
func (h *Hub) PointerModes() (absolute, relative bool) { return h.ptr.PointerModes() }

// ClientInfo describes a client for a viewer list.
type ClientInfo struct {
	// Name is the client's name: "user@address#n" (Client.Name); ID its
	// number n.
	Name string `json:"name"`
	ID   int    `json:"id"`
	// Kind is how it is connected ("websocket", "vnc").
	Kind string `json:"kind"`
	// Controls: it has control now.
	Controls bool `json:"controls"`
	// MayControl: it may take control (its account may configure
	// components).
	MayControl bool `json:"may_control"`
}

// Clients lists the clients in the order they joined.
func (h *Hub) Clients() []ClientInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]ClientInfo, len(h.clients))
	for i, c := range h.clients {
		out[i] = ClientInfo{Name: c.name, ID: c.id, Kind: c.kind, Controls: c == h.controller, MayControl: c.mayControl}
	}
	return out
}

// Controller is the name of the client that has control; "" for none.
func (h *Hub) Controller() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.controller == nil {
		return ""
	}
	return h.controller.name
}

// Watch returns a channel that receives after each change of Clients (a
// client joined or left, control moved; capacity 1, coalescing) and stop,
// called once by the watcher.
func (h *Hub) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	h.mu.Lock()
	h.watchers[ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.watchers, ch)
			h.mu.Unlock()
		})
	}
}

// Control is a client's view of who controls the console.
type Control struct {
	// You: this client has control.
	You bool
	// By is the name of the client that has control; "" for none.
	By string
	// TakenBy names the client that took control from this one since
	// the client last read Events (the latest such, kept even when
	// later changes replace the event); "" for none.
	TakenBy string
}

// Client is one connection that watches the console and may send input.
// Input methods return ErrClosed after Close, ErrNotPermitted for a client
// that may not control, and a *ViewOnlyError while another client has
// control. While nobody has control, the first input from a client that
// may control gives it control.
type Client struct {
	hub        *Hub
	id         int
	name, kind string
	mayControl bool
	events     chan Control
	ctx        context.Context
	cancel     context.CancelFunc

	// Guarded by hub.mu.
	closed  bool
	takenBy string             // who took control from it, not yet in events
	held    []hardware.KeyCode // keys this client pressed, in order
	ptr     hardware.PointerEvent
	ptrSet  bool // ptr has been sent
}

// Join adds a client named name (account and remote address:
// "admin@192.0.2.7"), connected by kind ("websocket", "vnc"). The client
// is told apart from the others of the same name by a number: its Name
// is "admin@192.0.2.7#3", the n-th client to join the hub. mayControl
// says whether it may ever control (the caller decides from its account:
// auth.PrivConfigureComponents); a client that may, joining while nobody
// has control, gets it. The client's Events channel holds its first
// Control already. Call Close when it leaves.
func (h *Hub) Join(name, kind string, mayControl bool) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{hub: h, kind: kind, mayControl: mayControl,
		events: make(chan Control, 1), ctx: ctx, cancel: cancel}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lastID++
	c.id = h.lastID
	c.name = fmt.Sprintf("%s#%d", name, c.id)
	h.clients = append(h.clients, c)
	if mayControl && h.controller == nil {
		h.controller = c
		h.notifyAllLocked()
	} else {
		c.sendLocked()
		h.signalLocked()
	}
	return c
}

// Name is the client's name as the others see it: the name it joined
// with and its number ("admin@192.0.2.7#3").
func (c *Client) Name() string { return c.name }

// ID is the client's number among those that joined the hub (1, 2, ...).
func (c *Client) ID() int { return c.id }

// MayControl reports whether the client may take control.
func (c *Client) MayControl() bool { return c.mayControl }

// Events receives the client's Control after each change of who has
// control, and once at Join. It keeps only the latest state (capacity
// 1): a client that does not read blocks nothing; a take-over is never
// lost (Control.TakenBy). It is closed by Close.
func (c *Client) Events() <-chan Control { return c.events }

// Controls reports whether c has control now.
func (c *Client) Controls() bool {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return c.hub.controller == c
}

// TakeOver gives c control. The previous controller's keys and buttons
// are released and every client hears of the change (Events); the
// previous controller sees Control{You: false, By: c.Name()}. Errors:
// ErrNotPermitted, ErrClosed.
func (c *Client) TakeOver() error {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case c.closed:
		return ErrClosed
	case !c.mayControl:
		return ErrNotPermitted
	case h.controller == c:
		return nil
	}
	if prev := h.controller; prev != nil {
		prev.releaseLocked()
		prev.takenBy = c.name
	}
	h.controller = c
	h.notifyAllLocked()
	return nil
}

// Release gives up control, releasing c's keys and buttons; nobody has
// control after it. A client without control has nothing to give up.
func (c *Client) Release() {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.controller != c {
		return
	}
	c.releaseLocked()
	h.controller = nil
	h.notifyAllLocked()
}

// Close removes the client: every key and button it holds is released,
// control (if it had it) goes to nobody, a Type in progress stops, and
// Events is closed. Closing twice does nothing.
func (c *Client) Close() {
	c.cancel()
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.closed {
		return
	}
	c.releaseLocked()
	c.closed = true
	for i, x := range h.clients {
		if x == c {
			h.clients = append(h.clients[:i], h.clients[i+1:]...)
			break
		}
	}
	close(c.events)
	if h.controller == c {
		h.controller = nil
		h.notifyAllLocked()
	} else {
		h.signalLocked()
	}
}

// mayInputLocked checks that c may send input now, taking control if
// nobody has it.
func (c *Client) mayInputLocked() error {
	h := c.hub
	switch {
	case c.closed:
		return ErrClosed
	case !c.mayControl:
		return ErrNotPermitted
	case h.controller == c:
		return nil
	case h.controller == nil:
		h.controller = c
		h.notifyAllLocked()
		return nil
	}
	return &ViewOnlyError{By: h.controller.name}
}

// Key presses (down) or releases a key on the host's keyboard (a HID
// usage, hardware.KeyCode). Errors: the input errors (see Client),
// hardware.ErrInvalid for a code that is not Valid, and the keyboard's
// (hardware.ErrPoweredOff, ErrNotSupported).
func (c *Client) Key(code hardware.KeyCode, down bool) error {
	if !code.Valid() {
		return fmt.Errorf("key 0x%02X: %w", uint16(code), hardware.ErrInvalid)
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := c.mayInputLocked(); err != nil {
		return err
	}
	return c.keyLocked(code, down)
}

func (c *Client) keyLocked(code hardware.KeyCode, down bool) error {
	err := c.hub.kb.Key(code, down)
	i := indexOf(c.held, code)
	switch {
	case down && err == nil && i < 0:
		c.held = append(c.held, code)
	case !down && i >= 0:
		// Forgotten even when the release failed: a host that cannot take
		// it (powered off) holds no key either.
		c.held = append(c.held[:i], c.held[i+1:]...)
	}
	return err
}

func indexOf(ks []hardware.KeyCode, k hardware.KeyCode) int {
	for i, x := range ks {
		if x == k {
			return i
		}
	}
	return -1
}

// Held lists the keys c holds down, in the order pressed.
func (c *Client) Held() []hardware.KeyCode {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return append([]hardware.KeyCode(nil), c.held...)
}

// maxRel is the largest relative move or wheel count of one report.
const maxRel = 127

// maxMove bounds a relative move or scroll: larger ones are clamped.
const maxMove = hardware.PointerMax

// Point sends a pointer report: e as given, except that a relative move
// or wheel beyond one report's -127..127 counts is sent as several
// reports (at most PointerMax counts in all, larger ones clamped; an
// absolute report's wheel is clamped to one report's). The
// buttons in e are the ones held afterwards. Errors: the input errors, and
// the pointer's (hardware.ErrInvalid for a position out of range or a mode
// the device lacks, ErrPoweredOff, ErrNotSupported).
func (c *Client) Point(e hardware.PointerEvent) error {
	if err := e.Check(); err != nil {
		return err
	}
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := c.mayInputLocked(); err != nil {
		return err
	}
	if e.Absolute {
		e.Wheel, e.HWheel = clamp(e.Wheel, maxRel), clamp(e.HWheel, maxRel)
		return c.pointLocked(e)
	}
	dx, dy := clamp(e.DX, maxMove), clamp(e.DY, maxMove)
	wy, wx := clamp(e.Wheel, maxMove), clamp(e.HWheel, maxMove)
	for first := true; first || dx != 0 || dy != 0 || wy != 0 || wx != 0; first = false {
		r := hardware.PointerEvent{Buttons: e.Buttons,
			DX: clamp(dx, maxRel), DY: clamp(dy, maxRel), Wheel: clamp(wy, maxRel), HWheel: clamp(wx, maxRel)}
		dx, dy, wy, wx = dx-r.DX, dy-r.DY, wy-r.Wheel, wx-r.HWheel
		if err := c.pointLocked(r); err != nil {
			return err
		}
	}
	return nil
}

func clamp(v, limit int) int { return max(-limit, min(limit, v)) }

func (c *Client) pointLocked(e hardware.PointerEvent) error {
	if err := c.hub.ptr.Point(e); err != nil {
		return err
	}
	if e.Absolute {
		c.ptr.Absolute, c.ptr.X, c.ptr.Y = true, e.X, e.Y
	}
	c.ptr.Buttons = e.Buttons
	c.ptrSet = true
	return nil
}

// Pointer is the last pointer state c sent: the absolute position (if it
// ever sent one: Absolute) and the buttons held. A protocol that sends
// moves and buttons apart (the WebSocket HID protocol) builds the next
// PointerEvent from it.
func (c *Client) Pointer() hardware.PointerEvent {
	c.hub.mu.Lock()
	defer c.hub.mu.Unlock()
	return hardware.PointerEvent{Absolute: c.ptr.Absolute, X: c.ptr.X, Y: c.ptr.Y, Buttons: c.ptr.Buttons}
}

// releaseLocked lets go of every key (modifiers last, in the reverse of
// the order pressed) and button c holds. Device errors are ignored: a host
// that cannot take the release (off) holds nothing.
func (c *Client) releaseLocked() {
	for _, mods := range []bool{false, true} {
		for i := len(c.held) - 1; i >= 0; i-- {
			if k := c.held[i]; k.Modifier() == mods {
				_ = c.hub.kb.Key(k, false)
			}
		}
	}
	c.held = nil
	if c.ptrSet && c.ptr.Buttons != 0 {
		e := hardware.PointerEvent{Absolute: c.ptr.Absolute, X: c.ptr.X, Y: c.ptr.Y}
		_ = c.hub.ptr.Point(e)
		c.ptr.Buttons = 0
	}
}

// Chord presses the keys in order and releases them in reverse, holding
// them all for a moment: Ctrl+Alt+Del is Chord(hardware.KeyLeftCtrl,
// hardware.KeyLeftAlt, hardware.KeyDelete). If a press fails, the keys
// already pressed are released and the error returned. Errors: as Key;
// hardware.ErrInvalid for no codes or an invalid one (nothing is pressed).
func (c *Client) Chord(codes ...hardware.KeyCode) error {
	if len(codes) == 0 {
		return fmt.Errorf("empty chord: %w", hardware.ErrInvalid)
	}
	for _, k := range codes {
		if !k.Valid() {
			return fmt.Errorf("key 0x%02X: %w", uint16(k), hardware.ErrInvalid)
		}
	}
	var err error
	pressed := 0
	for _, k := range codes {
		if err = c.Key(k, true); err != nil {
			break
		}
		pressed++
	}
	if err == nil {
		c.pause(context.Background())
	}
	for i := pressed - 1; i >= 0; i-- {
		if e := c.Key(codes[i], false); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// pause waits the hub's type delay, or until ctx or the client ends;
// false if it was cut short.
func (c *Client) pause(ctx context.Context) bool {
	c.hub.mu.Lock()
	d := c.hub.typeDelay
	c.hub.mu.Unlock()
	if d <= 0 {
		return ctx.Err() == nil && c.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-c.ctx.Done():
	}
	return false
}

// notifyAllLocked tells every client who has control now, and the
// watchers that something changed.
func (h *Hub) notifyAllLocked() {
	for _, c := range h.clients {
		c.sendLocked()
	}
	h.signalLocked()
}

// sendLocked puts c's current Control in its channel, replacing one not
// yet read but keeping its TakenBy.
func (c *Client) sendLocked() {
	if c.closed {
		return
	}
	ctl := Control{You: c.hub.controller == c, TakenBy: c.takenBy}
	c.takenBy = ""
	if c.hub.controller != nil {
		ctl.By = c.hub.controller.name
	}
	select {
	case old := <-c.events:
		if ctl.TakenBy == "" {
			ctl.TakenBy = old.TakenBy
		}
	default:
	}
	c.events <- ctl
}

func (h *Hub) signalLocked() {
	for ch := range h.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
