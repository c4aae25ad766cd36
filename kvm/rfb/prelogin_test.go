package rfb

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
	"github.com/coder/websocket"
)

// dialFrom opens a TCP connection to addr from the loopback address
// from (any of 127.0.0.0/8), as a client of another host would.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// handshakes is the number of handshakes in progress, in all and from
// host.
func (e *env) handshakes(host string) (all, fromHost int) {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	return e.srv.handshakes, e.srv.handshaking[host]
}

// closedByServer waits up to within for the server to close c (after
// whatever it sent) and reports whether it did.
func closedByServer(c net.Conn, within time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return err == nil || !(errors.As(err, &ne) && ne.Timeout())
}

// TestLoginsInProgressPerHost: connections from one address that never
// log in hold at most MaxHandshakesPerHost handshake places; the next is
// refused with a reason while another address still gets in; once they
// go, a client logs in again.
func TestLoginsInProgressPerHost(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	var idle []net.Conn
	for range MaxHandshakesPerHost {
		idle = append(idle, dialFrom(t, "127.0.0.1", e.addr))
	}
	eventually(t, "the server counts them", func() bool {
		_, n := e.handshakes("127.0.0.1")
		return n == MaxHandshakesPerHost
	})
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "logins in progress from 127.0.0.1") {
		t.Errorf("a login beyond the cap: %v", err)
	}
	other, err := rfbtest.Handshake(dialFrom(t, "127.0.0.2", e.addr), rfbtest.Config{Security: SecVNC, Password: vncControl})
	if err != nil {
		t.Errorf("another address: %v", err)
	} else {
		other.Close()
	}
	for _, c := range idle {
		c.Close()
	}
	eventually(t, "a login after the idle connections went", func() bool {
		c, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// TestIdleConnectionsDoNotTakeClientsPlaces: connections that never log
// in, from many addresses, fill only the handshake places (not the
// places of clients that logged in) and are closed after the handshake
// timeout; logged-in clients are counted apart, and the one beyond
// MaxClients is refused with the reason.
func TestIdleConnectionsDoNotTakeClientsPlaces(t *testing.T) {
	const maxHandshakes = 2 * MaxHandshakesPerHost
	e := newEnv(t, func(o *Options) {
		o.MaxClients, o.MaxHandshakes = 2, maxHandshakes
		o.HandshakeTimeout, o.PasswordTimeout = 300*time.Millisecond, 5*time.Second
	})
	e.display.show(screen(64, 48, 1))
	viewer := e.dial(rfbtest.Config{})

	// Idle connections from two other addresses fill the handshake
	// places: a login is refused meanwhile, the viewer goes on.
	var idle []net.Conn
	for i := range maxHandshakes {
		idle = append(idle, dialFrom(t, []string{"127.0.0.2", "127.0.0.3"}[i%2], e.addr))
	}
	eventually(t, "the server counts them", func() bool { n, _ := e.handshakes(""); return n == maxHandshakes })
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "logins in progress (at most 8)") {
		t.Errorf("a login while the handshake places are full: %v", err)
	}
	viewer.RequestUpdate(false)
	if _, err := viewer.ReadUpdate(); err != nil {
		t.Fatalf("the logged-in viewer: %v", err)
	}
	// Each is closed after the handshake timeout.
	for i, c := range idle {
		if !closedByServer(c, 5*time.Second) {
			t.Fatalf("idle connection %d still open", i)
		}
	}
	eventually(t, "the handshake places are free", func() bool { n, _ := e.handshakes(""); return n == 0 })

	// Logged-in clients: MaxClients of them, the next refused.
	second := e.dial(rfbtest.Config{})
	_, err = rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "too many VNC clients (at most 2)") {
		t.Errorf("a client beyond MaxClients: %v", err)
	}
	// The refused client's place is given back once the server has sent
	// the refusal, which the client may read first.
	eventually(t, "no handshake counted after the refusal", func() bool { n, _ := e.handshakes(""); return n == 0 })
	second.Close()
	eventually(t, "a login once a client left", func() bool {
		c, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// TestPasswordTimeout: the answer to the password question gets
// PasswordTimeout, longer than the handshake's other steps.
func TestPasswordTimeout(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.HandshakeTimeout, o.PasswordTimeout = 200*time.Millisecond, 5*time.Second
	})
	e.display.show(screen(64, 48, 1))
	for _, cfg := range []rfbtest.Config{
		{Security: SecVNC, Password: vncControl, TypingDelay: 600 * time.Millisecond},
		{Security: SecVeNCrypt, User: adminUser, Pass: adminPass, TLS: e.tls, TypingDelay: 600 * time.Millisecond},
	} {
		c, err := rfbtest.Dial(e.addr, cfg)
		if err != nil {
			t.Fatalf("security type %d, the password typed in 600 ms: %v", cfg.Security, err)
		}
		c.Close()
	}
	// A connection that says nothing is closed after HandshakeTimeout.
	quiet := dialFrom(t, "127.0.0.1", e.addr)
	if !closedByServer(quiet, 3*time.Second) {
		t.Error("a connection that says nothing is still open")
	}
}

// TestWebSocketHandshakeLimits: the WebSocket door's connections that
// never finish the RFB handshake are closed after the handshake timeout
// and count among the handshakes, not among the clients.
func TestWebSocketHandshakeLimits(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.MaxClients = 1
		o.HandshakeTimeout = 300 * time.Millisecond
	})
	e.display.show(screen(64, 48, 1))
	hs := httptest.NewServer(withPrincipal(e, e.srv.WebSocketHandler(WebSocketOptions{})))
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/?as=" + adminUser
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var idle []net.Conn
	for range MaxHandshakesPerHost {
		ws, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		idle = append(idle, websocket.NetConn(ctx, ws, websocket.MessageBinary))
	}
	eventually(t, "the server counts them", func() bool { n, _ := e.handshakes(""); return n == MaxHandshakesPerHost })
	for i, c := range idle {
		if !closedByServer(c, 5*time.Second) {
			t.Fatalf("idle WebSocket %d still open", i)
		}
	}
	// The one client's place was never taken.
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c, err := rfbtest.Handshake(websocket.NetConn(ctx, ws, websocket.MessageBinary), rfbtest.Config{})
	if err != nil {
		t.Fatalf("a noVNC-like client after the idle ones: %v", err)
	}
	defer c.Close()
	// The second is refused: 3.8 gives the reason.
	ws2, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.CloseNow()
	_, err = rfbtest.Handshake(websocket.NetConn(ctx, ws2, websocket.MessageBinary), rfbtest.Config{})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "too many VNC clients") {
		t.Errorf("a client beyond MaxClients: %v", err)
	}
}
