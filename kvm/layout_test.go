package kvm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// printable is every printable ASCII character.
func printable() string {
	var b strings.Builder
	for c := byte(0x20); c < 0x7F; c++ {
		b.WriteByte(c)
	}
	return b.String()
}

// dialWS opens the console's WebSocket at path as user.
func (e *env) dialWS(user, path string, protocols ...string) *websocket.Conn {
	e.t.Helper()
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, "password-"+user)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": r.Header["Authorization"]}, Subprotocols: protocols})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// waitConsole waits until the host's serial output holds want.
func (e *env) waitConsole(what, want string) {
	e.t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !strings.Contains(string(e.m.Console().Scrollback()), want) {
		if time.Now().After(end) {
			e.t.Fatalf("%s: %q never appeared; the console shows %q", what, want, e.m.Console().Scrollback())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPasteArrivesUnchanged: in the default setup (the host's layout
// us, the simulated host's keyboard US), every printable ASCII character
// pasted in the browser (WebSocket HID, no layout named) or sent as VNC
// cut text reaches the host as written: the simulated host echoes it.
func TestPasteArrivesUnchanged(t *testing.T) {
	e := newEnv(t)
	e.svc.System("0").Input.SetTypeDelay(0)
	e.on()
	e.waitConsole("the login prompt", "login: ")
	text := printable()

	hid := e.dialWS("admin", "/kvm/0/hid", input.HIDSubprotocol)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var hello struct{ T, Layout string }
	if _, b, err := hid.Read(ctx); err != nil || json.Unmarshal(b, &hello) != nil || hello.T != "hello" || hello.Layout != "us" {
		t.Fatalf("hello %s: %+v %v", b, hello, err)
	}
	msg, _ := json.Marshal(map[string]string{"t": "paste", "text": "1" + text})
	if err := hid.Write(ctx, websocket.MessageText, msg); err != nil {
		t.Fatal(err)
	}
	e.waitConsole("the browser's paste", "1"+text)
	hid.Close(websocket.StatusNormalClosure, "")

	ws := e.dialWS("admin", "/kvm/0/vnc", "binary")
	c, err := rfbtest.Handshake(websocket.NetConn(ctx, ws, websocket.MessageBinary), rfbtest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.CutText([]byte("2" + text)); err != nil {
		t.Fatal(err)
	}
	e.waitConsole("VNC cut text", "2"+text)
}

// TestHostLayoutSetting: Config.Layout is every machine's host layout,
// which the browser is told; an unknown one fails New.
func TestHostLayoutSetting(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Layout = func() string { return "fr" } })
	if l := e.svc.System("0").Input.Layout().Name; l != "fr" {
		t.Errorf("the hub's layout %q, want fr", l)
	}
	hid := e.dialWS("reader", "/kvm/0/hid", input.HIDSubprotocol)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var hello struct{ Layout string }
	if _, b, err := hid.Read(ctx); err != nil || json.Unmarshal(b, &hello) != nil || hello.Layout != "fr" {
		t.Errorf("hello %s: %v", b, err)
	}
	_, err := New(Config{Machines: []*hardware.Machine{e.m}, Gate: e.front.Gate, Layout: func() string { return "dvorak" }})
	if !errors.Is(err, input.ErrUnknownLayout) {
		t.Errorf("an unknown layout: %v", err)
	}
}
