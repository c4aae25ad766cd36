package kvm

import (
	"bytes"
	"context"
	"encoding/json"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/auth/authtest"
)

const simDelay = 20 * time.Millisecond

type env struct {
	t     *testing.T
	srv   *httptest.Server
	m     *hardware.Machine
	front *authtest.Env
	svc   *Service
}

// newEnv serves the console of a simulated machine ("0") and a power
// switch without a screen ("plug"), with an admin, an operator and a
// read-only account ("password-" + name); opts adjust the Config.
func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	front := authtest.Open(t)
	db, gate := front.DB, front.Gate
	m, err := hardware.NewMachine("0", sim.New(sim.Config{ID: "0", Seed: "kvm", PowerOnDelay: simDelay, PowerOffDelay: simDelay, ShutdownDelay: simDelay}), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	plug, err := hardware.NewMachine("plug", &backendtest.Switch{}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); plug.Close() })
	cfg := Config{Machines: []*hardware.Machine{m, plug}, Gate: gate}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	e := &env{t: t, srv: httptest.NewServer(svc), m: m, front: front, svc: svc}
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) get(user, path string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if user != "" {
		req.SetBasicAuth(user, "password-"+user)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (e *env) on() {
	e.t.Helper()
	if err := e.m.Reset(context.Background(), hardware.ResetOn); err != nil {
		e.t.Fatal(err)
	}
	end := time.Now().Add(5 * time.Second)
	for e.m.InPOST() || e.m.Display().Frame().Image == nil {
		if time.Now().After(end) {
			e.t.Fatal("the machine never showed a picture")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEndpointsNeedLogin: every endpoint refuses a request without
// credentials, and a system without a console is 404.
func TestEndpointsNeedLogin(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"stream.mjpeg", "snapshot.jpg", "snapshot.png", "state", "hid", "serial"} {
		if res := e.get("", "/kvm/0/"+p); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d", p, res.StatusCode)
		}
	}
	if res := e.get("reader", "/kvm/plug/state"); res.StatusCode != http.StatusNotFound {
		t.Errorf("a system without a screen: %d", res.StatusCode)
	}
	if res := e.get("reader", "/kvm/nosuch/state"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown system: %d", res.StatusCode)
	}
}

// TestSnapshotsAndState: with the host on, the snapshots decode and the
// state says the source is online at its resolution.
func TestSnapshotsAndState(t *testing.T) {
	e := newEnv(t)
	if res := e.get("reader", "/kvm/0/snapshot.jpg"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("snapshot of a machine that is off: %d, want 503", res.StatusCode)
	}
	e.on()
	res := e.get("reader", "/kvm/0/snapshot.jpg")
	if img, err := jpeg.Decode(res.Body); err != nil || img.Bounds().Dx() != 1024 {
		t.Errorf("snapshot.jpg: %v (%v)", err, res.Header.Get("Content-Type"))
	}
	res = e.get("reader", "/kvm/0/snapshot.png")
	if _, err := png.Decode(res.Body); err != nil {
		t.Errorf("snapshot.png: %v", err)
	}
	var st struct {
		Source struct {
			Online     bool
			Resolution struct{ Width, Height int }
		}
	}
	if err := json.NewDecoder(e.get("reader", "/kvm/0/state").Body).Decode(&st); err != nil || !st.Source.Online || st.Source.Resolution.Width != 1024 {
		t.Errorf("state %+v: %v", st, err)
	}
}

// dialSerial opens the serial console as user.
func (e *env) dialSerial(user string) *websocket.Conn {
	e.t.Helper()
	h := http.Header{}
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, "password-"+user)
	h.Set("Authorization", r.Header.Get("Authorization"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/kvm/0/serial",
		&websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{SerialSubprotocol}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// readUntil reads the serial console until its output holds want; the
// text messages (notices) it got meanwhile are returned.
func readUntil(t *testing.T, c *websocket.Conn, want string) (notices []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out bytes.Buffer
	for !strings.Contains(out.String(), want) {
		typ, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %q: %v; output %q", want, err, out.String())
		}
		if typ == websocket.MessageText {
			notices = append(notices, string(b))
			continue
		}
		out.Write(b)
	}
	return notices
}

// TestSerialConsole: the host's serial line in a WebSocket, output and
// input; a read-only account watches and cannot type; the one writer's
// seat is shared with IPMI SOL.
func TestSerialConsole(t *testing.T) {
	e := newEnv(t)
	e.on()
	reader := e.dialSerial("reader")
	op := e.dialSerial("op")
	ctx := context.Background()
	if err := op.Write(ctx, websocket.MessageBinary, []byte("hello-from-op\r")); err != nil {
		t.Fatal(err)
	}
	readUntil(t, op, "hello-from-op")
	if n := readUntil(t, reader, "hello-from-op"); len(n) == 0 || !strings.Contains(n[0], "view only") {
		t.Errorf("a read-only account was not told it views only: %q", n)
	}
	if err := reader.Write(ctx, websocket.MessageBinary, []byte("sneaky\r")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if strings.Contains(string(e.m.Console().Scrollback()), "sneaky") {
		t.Error("a read-only account typed on the serial line")
	}
	// The seat is taken: a second operator's keys are dropped, and it is
	// told so.
	admin := e.dialSerial("admin")
	if err := admin.Write(ctx, websocket.MessageBinary, []byte("x")); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	for {
		typ, b, err := admin.Read(rctx)
		if err != nil {
			t.Fatalf("a second writer was not told its keys were dropped: %v", err)
		}
		if typ == websocket.MessageText {
			if !strings.Contains(string(b), "view only") {
				t.Errorf("a second writer: %q", b)
			}
			break
		}
	}
	op.Close(websocket.StatusNormalClosure, "")
	end := time.Now().Add(5 * time.Second)
	for e.m.Console().Owner() != "" && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
	}
	if o := e.m.Console().Owner(); o != "" {
		t.Errorf("the seat is still held by %q after the writer left", o)
	}
}

// TestRevokedAccessEndsConnections: a console connection ends as soon as
// the access that opened it is withdrawn: the account given another role,
// disabled or removed, or the session logged out.
func TestRevokedAccessEndsConnections(t *testing.T) {
	e := newEnv(t)
	e.on()
	closed := func(c *websocket.Conn) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for {
			if _, _, err := c.Read(ctx); err != nil {
				return ctx.Err() == nil // closed by the server, not by the wait
			}
		}
	}
	op, _ := e.front.Accounts.ByName("op")
	c := e.dialSerial("op")
	role := auth.RoleReadOnly
	if _, err := e.front.Accounts.Update(op.ID, auth.Update{Role: &role}); err != nil {
		t.Fatal(err)
	}
	if !closed(c) {
		t.Error("an operator's serial console stayed open after the account became ReadOnly")
	}

	// A session's connection ends with the session.
	admin, _ := e.front.Accounts.ByName("admin")
	sess, token := e.front.Sessions.Create(admin, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/kvm/0/serial",
		&websocket.DialOptions{Subprotocols: []string{SerialSubprotocol, "bmcd.token." + token}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	e.front.Sessions.Delete(sess.ID)
	if !closed(ws) {
		t.Error("a serial console stayed open after its session was logged out")
	}
}

// TestSerialSeatReleasedWhenIdle: a browser that stopped typing gives the
// serial line's writer seat back, so IPMI SOL is never locked out by a
// forgotten tab; its next keystroke takes the seat again.
func TestSerialSeatReleasedWhenIdle(t *testing.T) {
	old := serialIdleRelease
	serialIdleRelease = 100 * time.Millisecond
	defer func() { serialIdleRelease = old }()
	e := newEnv(t)
	e.on()
	op := e.dialSerial("op")
	if err := op.Write(context.Background(), websocket.MessageBinary, []byte("a")); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(5 * time.Second)
	for !strings.HasPrefix(e.m.Console().Owner(), "web console op@") && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
	}
	for e.m.Console().Owner() != "" && time.Now().Before(end) {
		time.Sleep(5 * time.Millisecond)
	}
	if o := e.m.Console().Owner(); o != "" {
		t.Fatalf("the seat is still held by %q after the browser stopped typing", o)
	}
	sol, err := e.m.Console().Acquire("IPMI SOL session 1")
	if err != nil {
		t.Fatalf("IPMI SOL could not take the line: %v", err)
	}
	sol.Close()
}

// TestConsoleAddresses: /kvm, /kvm/ and /kvm/{SystemId} lead to the web
// console's pages (not Redfish's JSON 404); an unknown endpoint is the
// console's 404.
func TestConsoleAddresses(t *testing.T) {
	e := newEnv(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for path, want := range map[string]string{
		"/kvm": "/console/", "/kvm/": "/console/", "/kvm/0": "/console/0", "/kvm/0/": "/console/0",
	} {
		if !e.svc.Owns(path) {
			t.Errorf("%s is not the console's", path)
		}
		res, err := noRedirect.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 302 to %s", path, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	res := e.get("reader", "/kvm/0/nosuch")
	if b := new(bytes.Buffer); res.StatusCode != http.StatusNotFound || func() bool { b.ReadFrom(res.Body); return !strings.Contains(b.String(), "no such console endpoint") }() {
		t.Errorf("an unknown endpoint: %d", res.StatusCode)
	}
	for _, p := range []string{"/kvmx", "/redfish/v1"} {
		if e.svc.Owns(p) {
			t.Errorf("the console claims %s", p)
		}
	}
}
