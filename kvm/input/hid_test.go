package input

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/auth/authtest"
	"github.com/bmcd/bmcd/kvm/internal/kvmtest"
	"github.com/coder/websocket"
)

// hidEnv is the HID endpoint behind the real auth gate, over a hub of
// fakes, with three accounts: admin (Administrator), op (Operator) and
// reader (ReadOnly), each with password "password-<name>".
type hidEnv struct {
	hub      *Hub
	kb       *kvmtest.Keyboard
	ptr      *kvmtest.Pointer
	srv      *httptest.Server
	sessions *auth.Sessions
	accounts *auth.Accounts
}

func newHIDEnv(t *testing.T, opts HIDOptions) *hidEnv {
	t.Helper()
	front := authtest.Open(t)
	accounts, sessions, gate := front.Accounts, front.Sessions, front.Gate
	e := &hidEnv{accounts: accounts, sessions: sessions}
	e.hub, e.kb, e.ptr = newTestHub()
	e.srv = httptest.NewServer(gate.Require(auth.PrivLogin)(HIDHandler(e.hub, opts)))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *hidEnv) url() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/kvm/0/hid" }

// wsClient is a test's end of one connection.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial connects as user with Basic credentials.
func (e *hidEnv) dial(t *testing.T, user string) *wsClient {
	t.Helper()
	h := http.Header{}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, "password-"+user)
	h.Set("Authorization", r.Header.Get("Authorization"))
	return e.dialWith(t, &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{HIDSubprotocol}})
}

func (e *hidEnv) dialWith(t *testing.T, opts *websocket.DialOptions) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, e.url(), opts)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

func (c *wsClient) send(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("send %s: %v", msg, err)
	}
}

type serverMsg struct {
	T          string   `json:"t"`
	You        bool     `json:"you"`
	By         string   `json:"by"`
	TakenBy    string   `json:"taken_by"`
	MayControl bool     `json:"may_control"`
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Chars      any      `json:"chars"`
	CapsLock   bool     `json:"caps_lock"`
	NumLock    bool     `json:"num_lock"`
	Name       string   `json:"name"`
	Layout     string   `json:"layout"`
	Layouts    []string `json:"layouts"`
	Absolute   bool     `json:"absolute"`
}

// expect reads messages until one of type typ, skipping the others.
func (c *wsClient) expect(typ string) serverMsg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", typ, err)
		}
		var m serverMsg
		if err := json.Unmarshal(data, &m); err != nil {
			c.t.Fatalf("server sent %s: %v", data, err)
		}
		if m.T == typ {
			return m
		}
	}
}

func TestHIDControlAndTakeOver(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	admin := e.dial(t, "admin")
	hello := admin.expect("hello")
	if hello.Name != "admin@127.0.0.1#1" || !hello.MayControl || !hello.Absolute || hello.Layout != "us" ||
		!slices.Equal(hello.Layouts, []string{"us", "de", "fr", "ru"}) {
		t.Fatalf("hello: %+v", hello)
	}
	if m := admin.expect("control"); !m.You || m.By != "admin@127.0.0.1#1" {
		t.Fatalf("first client: %+v", m)
	}
	op := e.dial(t, "op")
	if m := op.expect("control"); m.You || m.By != "admin@127.0.0.1#1" || !m.MayControl {
		t.Fatalf("second client: %+v", m)
	}
	op.send(`{"t":"key","code":"KeyA","down":true}`)
	if m := op.expect("error"); m.Code != "view_only" || !strings.Contains(m.Message, "admin@127.0.0.1#1") {
		t.Fatalf("view-only key: %+v", m)
	}
	if len(e.kb.Take()) != 0 {
		t.Fatal("a view-only client typed")
	}

	admin.send(`{"t":"key","code":"ShiftLeft","down":true}`)
	waitFor(t, func() bool { return len(e.kb.Held()) == 1 })
	op.send(`{"t":"takeover"}`)
	if m := admin.expect("control"); m.You || m.By != "op@127.0.0.1#2" || m.TakenBy != "op@127.0.0.1#2" {
		t.Fatalf("previous controller hears %+v", m)
	}
	if m := op.expect("control"); !m.You || m.By != "op@127.0.0.1#2" || m.TakenBy != "" {
		t.Fatalf("new controller hears %+v", m)
	}
	if got, want := e.kb.Take(), []kvmtest.KeyCall{kvmtest.Press(0xE1), kvmtest.Release(0xE1)}; !slices.Equal(got, want) {
		t.Fatalf("keyboard saw %v, want %v (the old controller's Shift released)", got, want)
	}
	op.send(`{"t":"key","code":"KeyB","down":true}`)
	op.send(`{"t":"key","code":"KeyB","down":false}`)
	waitFor(t, func() bool { return e.kb.Count() >= 2 })
	if got, want := e.kb.Take(), []kvmtest.KeyCall{kvmtest.Press(0x05), kvmtest.Release(0x05)}; !slices.Equal(got, want) {
		t.Fatalf("new controller typed %v, want %v", got, want)
	}
	admin.send(`{"t":"key","code":"KeyA","down":true}`)
	if m := admin.expect("error"); m.Code != "view_only" {
		t.Fatalf("old controller's key: %+v", m)
	}
	// Giving control up: nobody has it, the next input claims it.
	op.send(`{"t":"release"}`)
	if m := admin.expect("control"); m.You || m.By != "" {
		t.Fatalf("after release: %+v", m)
	}
	admin.send(`{"t":"key","code":"KeyC","down":false}`)
	if m := admin.expect("control"); !m.You {
		t.Fatalf("claim by input: %+v", m)
	}
}

func TestHIDReadOnlyNeverControls(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	reader := e.dial(t, "reader")
	if m := reader.expect("hello"); m.MayControl {
		t.Fatalf("hello: %+v", m)
	}
	if m := reader.expect("control"); m.You || m.By != "" || m.MayControl {
		t.Fatalf("read-only client alone: %+v", m)
	}
	for _, msg := range []string{
		`{"t":"key","code":"KeyA","down":true}`,
		`{"t":"mouse","x":10,"y":10}`,
		`{"t":"chord","codes":["ControlLeft","AltLeft","Delete"]}`,
		`{"t":"paste","text":"rm -rf /\n"}`,
		`{"t":"takeover"}`,
	} {
		reader.send(msg)
		if m := reader.expect("error"); m.Code != "not_permitted" {
			t.Fatalf("%s: %+v", msg, m)
		}
	}
	if got := e.kb.Take(); len(got) != 0 || len(e.ptr.Take()) != 0 || e.hub.Controller() != "" {
		t.Fatalf("read-only input reached the host: %v", got)
	}
	// It watches another client's control like any viewer.
	admin := e.dial(t, "admin")
	admin.expect("control")
	if m := reader.expect("control"); m.You || m.By != "admin@127.0.0.1#2" {
		t.Fatalf("reader sees %+v", m)
	}
}

func TestHIDReleasesKeysOnDisconnect(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	admin := e.dial(t, "admin")
	admin.expect("control")
	for _, m := range []string{
		`{"t":"key","code":"ControlLeft","down":true}`,
		`{"t":"key","code":"KeyC","down":true}`,
		`{"t":"mouse","x":16000,"y":8000}`,
		`{"t":"buttons","mask":1}`,
	} {
		admin.send(m)
	}
	waitFor(t, func() bool { l, _ := e.ptr.Last(); return l.Buttons == hardware.ButtonLeft })
	admin.conn.CloseNow() // no close frame: the browser vanished
	waitFor(t, func() bool { return len(e.kb.Held()) == 0 && len(e.hub.Clients()) == 0 })
	if got, want := e.kb.Take(), []kvmtest.KeyCall{kvmtest.Press(0xE0), kvmtest.Press(0x06), kvmtest.Release(0x06), kvmtest.Release(0xE0)}; !slices.Equal(got, want) {
		t.Fatalf("keyboard saw %v, want %v", got, want)
	}
	if l, _ := e.ptr.Last(); l != (hardware.PointerEvent{Absolute: true, X: 16000, Y: 8000}) {
		t.Fatalf("last pointer report %+v: button not released in place", l)
	}
}

// A client that stops answering (and reading) is dropped at the next
// ping, and its keys released.
func TestHIDSilentClientIsDropped(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{PingInterval: 50 * time.Millisecond})
	admin := e.dial(t, "admin")
	admin.send(`{"t":"key","code":"AltLeft","down":true}`)
	waitFor(t, func() bool { return len(e.kb.Held()) == 1 })
	// admin never reads again, so it never answers a ping.
	waitFor(t, func() bool { return len(e.kb.Held()) == 0 && len(e.hub.Clients()) == 0 })
}

func TestHIDInput(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	c := e.dial(t, "op")
	c.expect("control")
	for _, m := range []string{
		`{"t":"chord","codes":["ControlLeft","AltLeft","Delete"]}`,
		`{"t":"mouse","x":100,"y":200}`,
		`{"t":"buttons","mask":2}`,
		`{"t":"wheel","dy":3}`,
		`{"t":"buttons","mask":0}`,
		`{"t":"mouse","dx":-200,"dy":5}`,
	} {
		c.send(m)
	}
	want := []hardware.PointerEvent{
		{Absolute: true, X: 100, Y: 200},
		{Absolute: true, X: 100, Y: 200, Buttons: hardware.ButtonRight},
		{Absolute: true, X: 100, Y: 200, Buttons: hardware.ButtonRight, Wheel: -3},
		{Absolute: true, X: 100, Y: 200},
		{DX: -127, DY: 5},
		{DX: -73},
	}
	waitFor(t, func() bool { return e.ptr.Count() == len(want) })
	if got := e.ptr.Take(); !slices.Equal(got, want) {
		t.Fatalf("pointer reports %+v, want %+v", got, want)
	}
	if got, want := e.kb.Take(), []kvmtest.KeyCall{kvmtest.Press(0xE0), kvmtest.Press(0xE2), kvmtest.Press(0x4C), kvmtest.Release(0x4C), kvmtest.Release(0xE2), kvmtest.Release(0xE0)}; !slices.Equal(got, want) {
		t.Fatalf("Ctrl+Alt+Del = %v, want %v", got, want)
	}
}

func TestHIDPaste(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	c := e.dial(t, "admin")
	c.expect("control")
	for _, tc := range []struct {
		msg  string
		want []kvmtest.KeyCall
	}{
		{`{"t":"paste","text":"zy","layout":"de"}`, []kvmtest.KeyCall{kvmtest.Press(0x1C), kvmtest.Release(0x1C), kvmtest.Press(0x1D), kvmtest.Release(0x1D)}},
		{`{"t":"paste","text":"aq","layout":"fr"}`, []kvmtest.KeyCall{kvmtest.Press(0x14), kvmtest.Release(0x14), kvmtest.Press(0x04), kvmtest.Release(0x04)}},
		{`{"t":"paste","text":"я\n","layout":"ru"}`, []kvmtest.KeyCall{kvmtest.Press(0x1D), kvmtest.Release(0x1D), kvmtest.Press(0x28), kvmtest.Release(0x28)}},
		{`{"t":"paste","text":"A"}`, []kvmtest.KeyCall{kvmtest.Press(0xE1), kvmtest.Press(0x04), kvmtest.Release(0x04), kvmtest.Release(0xE1)}},
	} {
		c.send(tc.msg)
		c.expect("pasted")
		if got := e.kb.Take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s typed %v, want %v", tc.msg, got, tc.want)
		}
	}
	c.send(`{"t":"paste","text":"ça va? ☃","layout":"ru"}`)
	m := c.expect("error")
	if m.Code != "untypable" || !strings.Contains(m.Message, `"ru"`) {
		t.Fatalf("untypable paste: %+v", m)
	}
	if got, want := m.Chars, []any{"ç", "a", "v", "☃"}; !slices.Equal(got.([]any), want) {
		t.Fatalf("untypable chars %v, want %v", got, want)
	}
	if len(e.kb.Take()) != 0 {
		t.Fatal("part of an untypable paste was typed")
	}
}

func TestHIDPasteBusy(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	e.hub.SetTypeDelay(time.Hour)
	c := e.dial(t, "admin")
	c.expect("control")
	c.send(`{"t":"paste","text":"abc"}`)
	waitFor(t, func() bool { return len(e.kb.Held()) == 1 })
	c.send(`{"t":"paste","text":"def"}`)
	if m := c.expect("error"); m.Code != "busy" {
		t.Fatalf("second paste: %+v", m)
	}
	c.conn.CloseNow()
	waitFor(t, func() bool { return len(e.kb.Held()) == 0 && len(e.hub.Clients()) == 0 })
}

func TestHIDBadMessages(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	c := e.dial(t, "admin")
	c.expect("control")
	for _, msg := range []string{`not json`, `{"t":"key"}`, `{"t":"mouse","x":99999,"y":0}`, `{"t":"nope"}`, `{}`, `[]`} {
		c.send(msg)
		if m := c.expect("error"); m.Code != "bad_message" || m.Message == "" {
			t.Fatalf("%s: %+v", msg, m)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if m := c.expect("error"); m.Code != "bad_message" {
		t.Fatalf("binary message: %+v", m)
	}
	e.kb.SetErr(hardware.ErrPoweredOff, 0)
	c.send(`{"t":"key","code":"KeyA","down":true}`)
	if m := c.expect("error"); m.Code != "powered_off" {
		t.Fatalf("host off: %+v", m)
	}
	e.kb.SetErr(nil, 0)
	// The connection still works.
	c.send(`{"t":"key","code":"KeyA","down":true}`)
	waitFor(t, func() bool { return len(e.kb.Held()) == 1 })
}

func TestHIDLEDs(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	e.kb.SetLEDs(hardware.KeyboardLEDs{NumLock: true})
	c := e.dial(t, "reader")
	if m := c.expect("leds"); !m.NumLock || m.CapsLock {
		t.Fatalf("first leds: %+v", m)
	}
	e.kb.SetLEDs(hardware.KeyboardLEDs{NumLock: true, CapsLock: true})
	if m := c.expect("leds"); !m.NumLock || !m.CapsLock {
		t.Fatalf("after a change: %+v", m)
	}
}

func TestHIDAuthentication(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, e.url(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %v %v", err, resp)
	}
	// Without the gate there is no principal: refused too.
	bare := httptest.NewServer(HIDHandler(e.hub, HIDOptions{}))
	defer bare.Close()
	_, resp, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(bare.URL, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no principal: %v %v", err, resp)
	}
	// A page of another origin is refused (the cookie would go along).
	h := http.Header{"Origin": {"https://evil.example"}}
	acct, _ := e.accounts.ByName("admin")
	_, tok := e.sessions.Create(acct, "127.0.0.1")
	h.Set(auth.TokenHeader, tok)
	_, resp, err = websocket.Dial(ctx, e.url(), &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin: %v %v", err, resp)
	}
	// A browser's token in the subprotocol: bmcd.hid is selected, the
	// token is not echoed.
	c := e.dialWith(t, &websocket.DialOptions{Subprotocols: []string{HIDSubprotocol, auth.TokenSubprotocolPrefix + tok}})
	if got := c.conn.Subprotocol(); got != HIDSubprotocol {
		t.Fatalf("subprotocol %q", got)
	}
	if m := c.expect("control"); !m.You {
		t.Fatalf("token client: %+v", m)
	}
}

// A client that does not read blocks neither the hub nor other clients.
func TestHIDStalledReaderBlocksNobody(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{WriteTimeout: 200 * time.Millisecond})
	e.dial(t, "reader") // never reads
	admin := e.dial(t, "admin")
	admin.expect("control")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 5000 {
			e.kb.SetLEDs(hardware.KeyboardLEDs{CapsLock: i%2 == 0})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("LED changes blocked")
	}
	admin.send(`{"t":"key","code":"KeyA","down":true}`)
	waitFor(t, func() bool { return len(e.kb.Held()) == 1 })
}

// TestHIDPasteUsesHostLayout: a paste that names no layout is typed
// through the host's (Hub.SetLayout), which hello tells the client; one
// that names a layout uses it.
func TestHIDPasteUsesHostLayout(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	if err := e.hub.SetLayout("DE"); err != nil {
		t.Fatal(err)
	}
	if err := e.hub.SetLayout("xx"); !errors.Is(err, ErrUnknownLayout) {
		t.Fatalf("an unknown layout: %v", err)
	}
	c := e.dial(t, "admin")
	if m := c.expect("hello"); m.Layout != "de" {
		t.Fatalf("hello's layout %q, want de", m.Layout)
	}
	c.expect("control")
	for _, tc := range []struct {
		msg  string
		want []kvmtest.KeyCall
	}{
		{`{"t":"paste","text":"zy"}`, []kvmtest.KeyCall{kvmtest.Press(0x1C), kvmtest.Release(0x1C), kvmtest.Press(0x1D), kvmtest.Release(0x1D)}},
		{`{"t":"paste","text":"zy","layout":""}`, []kvmtest.KeyCall{kvmtest.Press(0x1C), kvmtest.Release(0x1C), kvmtest.Press(0x1D), kvmtest.Release(0x1D)}},
		{`{"t":"paste","text":"zy","layout":"us"}`, []kvmtest.KeyCall{kvmtest.Press(0x1D), kvmtest.Release(0x1D), kvmtest.Press(0x1C), kvmtest.Release(0x1C)}},
	} {
		c.send(tc.msg)
		c.expect("pasted")
		if got := e.kb.Take(); !slices.Equal(got, tc.want) {
			t.Errorf("%s typed %v, want %v", tc.msg, got, tc.want)
		}
	}
}

// TestHIDRepliesAreNotDropped: a burst of messages gets every reply; a
// client that lets more than MaxReplies pile up unread is disconnected
// with a close reason rather than lose one.
func TestHIDRepliesAreNotDropped(t *testing.T) {
	e := newHIDEnv(t, HIDOptions{})
	c := e.dial(t, "reader")
	c.expect("control")
	const burst = 200
	for range burst {
		c.send(`{"t":"key","code":"KeyA","down":true}`)
	}
	for i := range burst {
		if m := c.expect("error"); m.Code != "not_permitted" {
			t.Fatalf("reply %d: %+v", i, m)
		}
	}

	e = newHIDEnv(t, HIDOptions{MaxReplies: 4})
	c = e.dial(t, "reader")
	c.conn.SetReadLimit(1 << 20)
	// Replies of 64 KiB each, unread, fill the connection's buffers;
	// the writer stalls and the queue overflows.
	big := `{"t":"key","code":"` + strings.Repeat("x", 64<<10) + `","down":true}`
	for range 400 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.conn.Write(ctx, websocket.MessageText, []byte(big))
		cancel()
		if err != nil {
			break // the server closed it already
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.conn.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			// The server closed with 1008, but its close frame sat behind
			// megabytes of unread replies and its write gave up first (a
			// loaded machine): the connection still ended, which is what
			// matters; the reason is checked whenever the frame arrives.
			t.Logf("the connection ended without its close frame: %v", err)
			break
		}
		if ce.Code != websocket.StatusPolicyViolation || ce.Reason != "too many unread replies" {
			t.Fatalf("the connection ended with %v, want status 1008 and the reason", err)
		}
		break
	}
	waitFor(t, func() bool { return len(e.hub.Clients()) == 0 })
}
