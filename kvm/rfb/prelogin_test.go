package rfb

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// TestLoginsInProgressPerHost: connections from one address that never
// log in hold at most MaxHandshakesPerHost slots; the next is refused
// with a reason; once they go, a client logs in again.
func TestLoginsInProgressPerHost(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	var idle []net.Conn
	for range MaxHandshakesPerHost {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	// The server counts them once it has accepted them.
	end := time.Now().Add(5 * time.Second)
	for {
		e.srv.mu.Lock()
		n := e.srv.handshaking["127.0.0.1"]
		e.srv.mu.Unlock()
		if n == MaxHandshakesPerHost || time.Now().After(end) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "logins in progress") {
		t.Errorf("a login beyond the cap: %v", err)
	}
	for _, c := range idle {
		c.Close()
	}
	end = time.Now().Add(5 * time.Second)
	for {
		c, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no login after the idle connections went: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
