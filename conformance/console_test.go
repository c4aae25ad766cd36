package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"image/jpeg"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestConsoleEndpoints drives the console of the real binary: the MJPEG
// stream and the snapshot decode as JPEG once the simulated host shows its
// POST screen; every endpoint refuses a request without credentials; a
// ReadOnly account watches but its keys are refused, while an operator's
// reach the host and come back on the serial console.
func TestConsoleEndpoints(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "watcher", "Password": "Watcher-pass1", "RoleId": "ReadOnly"}})
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "oper", "Password": "Oper-pass12", "RoleId": "Operator"}})

	for _, p := range []string{"stream.mjpeg", "snapshot.jpg", "snapshot.png", "state", "hid", "serial"} {
		if r, err := b.Do(request{Method: http.MethodGet, Path: "/kvm/0/" + p, NoAuth: true}); err != nil || r.Status != http.StatusUnauthorized {
			t.Errorf("/kvm/0/%s without credentials: %v %v", p, r, err)
		}
	}

	// The addresses people type lead to the console's pages, not to
	// Redfish's JSON.
	noFollow := *b.client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for path, want := range map[string]string{"/kvm": "/console/", "/kvm/": "/console/", "/kvm/0": "/console/0"} {
		res, err := noFollow.Get(b.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != want {
			t.Errorf("GET %s: %d, Location %q; want 302 to %s", path, res.StatusCode, res.Header.Get("Location"), want)
		}
	}
	if r, err := b.Do(request{Method: http.MethodGet, Path: "/kvm/0/nosuch"}); err != nil || r.Status != http.StatusNotFound ||
		strings.Contains(r.Header.Get("Content-Type"), "json") {
		t.Errorf("an unknown console endpoint: %v %v", r, err)
	}

	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	eventually(t, 15*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: "/kvm/0/snapshot.jpg"})
		if err != nil || r.Status != http.StatusOK {
			return false, "no snapshot yet"
		}
		img, err := jpeg.Decode(strings.NewReader(string(r.Body)))
		if err != nil {
			return false, "snapshot.jpg does not decode: " + err.Error()
		}
		return img.Bounds().Dx() == 1024 && img.Bounds().Dy() == 768, "snapshot size " + img.Bounds().String()
	})

	// The MJPEG stream, as a browser or µStreamer client reads it.
	req, _ := http.NewRequest(http.MethodGet, b.URL+"/kvm/0/stream.mjpeg", nil)
	req.SetBasicAuth("watcher", "Watcher-pass1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := b.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	mt, params, err := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" {
		t.Fatalf("stream Content-Type %q: %v", res.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bufio.NewReader(res.Body), params["boundary"])
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(part); err != nil {
		t.Errorf("the stream's first part: %v", err)
	}
	cancel()

	// Keys over the WebSocket HID endpoint: the operator's reach the host
	// (the simulated shell echoes them on the serial console), the
	// watcher's are refused.
	dial := func(user, pass, path, proto string) *websocket.Conn {
		t.Helper()
		h := http.Header{}
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(user, pass)
		h.Set("Authorization", r.Header.Get("Authorization"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(b.URL, "https")+path,
			&websocket.DialOptions{HTTPClient: b.client, HTTPHeader: h, Subprotocols: []string{proto}})
		if err != nil {
			t.Fatalf("%s %s: %v", user, path, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	b.WaitPower(t, "0", "On")
	serial := dial("watcher", "Watcher-pass1", "/kvm/0/serial", "bmcd.serial")
	watcher := dial("watcher", "Watcher-pass1", "/kvm/0/hid", "bmcd.hid")
	oper := dial("oper", "Oper-pass12", "/kvm/0/hid", "bmcd.hid")
	send := func(c *websocket.Conn, v any) {
		t.Helper()
		raw, _ := json.Marshal(v)
		if err := c.Write(context.Background(), websocket.MessageText, raw); err != nil {
			t.Fatal(err)
		}
	}
	// hello names each client apart ("user@address#n") and tells the
	// host's keyboard layout (console.layout: us by default).
	var helloName string
	if !readJSON(t, watcher, func(m map[string]any) bool {
		helloName, _ = m["name"].(string)
		return m["t"] == "hello" && m["layout"] == "us" && strings.HasPrefix(helloName, "watcher@127.0.0.1#")
	}) {
		t.Errorf("the watcher's hello: name %q, and the host's layout us", helloName)
	}
	send(watcher, map[string]any{"t": "key", "code": "KeyQ", "down": true})
	if !readJSON(t, watcher, func(m map[string]any) bool { return m["t"] == "error" }) {
		t.Error("a ReadOnly account's key was not refused")
	}
	for _, code := range []string{"KeyE", "KeyC", "KeyH", "KeyO", "Enter"} {
		send(oper, map[string]any{"t": "key", "code": code, "down": true})
		send(oper, map[string]any{"t": "key", "code": code, "down": false})
	}
	var out strings.Builder
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	for !strings.Contains(out.String(), "echo") {
		typ, p, err := serial.Read(sctx)
		if err != nil {
			t.Fatalf("the operator's keys never reached the serial console: %v; output %q", err, out.String())
		}
		if typ == websocket.MessageBinary {
			out.Write(p)
		}
	}
}

// readJSON reads messages until match accepts one (true) or 5 s pass.
func readJSON(t *testing.T, c *websocket.Conn, match func(map[string]any) bool) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, p, err := c.Read(ctx)
		if err != nil {
			return false
		}
		var m map[string]any
		if json.Unmarshal(p, &m) == nil && match(m) {
			return true
		}
	}
}
