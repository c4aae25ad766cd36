package rfb

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

func TestHandshake(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(320, 200, 1))
	cases := []struct {
		name        string
		cfg         rfbtest.Config
		wantOffered []uint8
		refused     string // the reason, "" if it succeeds
		control     bool
	}{
		{"3.8 VNC control", rfbtest.Config{Security: SecVNC, Password: vncControl}, []uint8{SecVeNCrypt, SecVNC}, "", true},
		{"3.8 VNC view only", rfbtest.Config{Security: SecVNC, Password: vncViewOnly}, []uint8{SecVeNCrypt, SecVNC}, "", false},
		{"3.8 VNC wrong", rfbtest.Config{Security: SecVNC, Password: "wrong!!"}, nil, "authentication failed", false},
		{"3.8 VNC password over 8 is cut", rfbtest.Config{Security: SecVNC, Password: vncControl + "xyz"}, nil, "", true},
		{"3.7 VNC control", rfbtest.Config{Minor: 7, Security: SecVNC, Password: vncControl}, []uint8{SecVeNCrypt, SecVNC}, "", true},
		{"3.7 VNC wrong", rfbtest.Config{Minor: 7, Security: SecVNC, Password: "nope"}, nil, "failed", false},
		{"3.3 VNC control", rfbtest.Config{Minor: 3, Password: vncControl}, []uint8{SecVNC}, "", true},
		{"3.3 VNC wrong", rfbtest.Config{Minor: 3, Password: "nope"}, nil, "failed", false},
		{"VeNCrypt admin", rfbtest.Config{Security: SecVeNCrypt, User: adminUser, Pass: adminPass}, nil, "", true},
		{"VeNCrypt read-only", rfbtest.Config{Security: SecVeNCrypt, User: roUser, Pass: roPass}, nil, "", false},
		{"VeNCrypt wrong password", rfbtest.Config{Security: SecVeNCrypt, User: adminUser, Pass: "nope"}, nil, "authentication failed", false},
		{"VeNCrypt unknown user", rfbtest.Config{Security: SecVeNCrypt, User: "nobody", Pass: "nope"}, nil, "authentication failed", false},
		{"3.7 VeNCrypt admin", rfbtest.Config{Minor: 7, Security: SecVeNCrypt, User: adminUser, Pass: adminPass}, nil, "", true},
		{"None is not offered on TCP", rfbtest.Config{Security: SecNone}, nil, "authentication failed", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.TLS == nil {
				c.cfg.TLS = e.tls
			}
			cl, err := rfbtest.Dial(e.addr, c.cfg)
			if c.refused != "" {
				var se *rfbtest.SecurityError
				if !errors.As(err, &se) || !strings.Contains(se.Reason, c.refused) {
					t.Fatalf("err = %v, want a refusal %q", err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			if c.wantOffered != nil && !bytes.Equal(cl.Offered, c.wantOffered) {
				t.Errorf("offered %v, want %v", cl.Offered, c.wantOffered)
			}
			if cl.Name != "bmcd 0" || cl.FB.Rect.Dx() != 320 || cl.FB.Rect.Dy() != 200 || PixelFormat(cl.ServerPF) != ServerPixelFormat {
				t.Errorf("ServerInit: %q %v %v", cl.Name, cl.FB.Rect, cl.ServerPF)
			}
			eventually(t, "the client joins the hub", func() bool { return len(e.hub.Clients()) == 1 })
			info := e.hub.Clients()[0]
			if info.MayControl != c.control || info.Kind != "vnc" {
				t.Errorf("hub client %+v, want may_control %v", info, c.control)
			}
			cl.Close()
			eventually(t, "the client leaves the hub", func() bool { return len(e.hub.Clients()) == 0 })
		})
	}
}

func TestHandshakeWithoutAuthentication(t *testing.T) {
	// Neither accounts with a certificate nor a password: nobody gets in.
	e := newEnv(t, func(o *Options) { o.TLS, o.Passwords = nil, nil })
	for _, minor := range []int{3, 8} {
		_, err := rfbtest.Dial(e.addr, rfbtest.Config{Minor: minor})
		var se *rfbtest.SecurityError
		if !errors.As(err, &se) {
			t.Fatalf("3.%d: err = %v, want a refusal", minor, err)
		}
	}
	// Accounts only: VeNCrypt is offered; a 3.3 client cannot use it.
	e = newEnv(t, func(o *Options) { o.Passwords = nil })
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Minor: 3})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "VeNCrypt") {
		t.Fatalf("3.3 with VeNCrypt only: %v", err)
	}
	c := e.dial(rfbtest.Config{Security: SecVeNCrypt, User: adminUser, Pass: adminPass})
	if !bytes.Equal(c.Offered, []uint8{SecVeNCrypt}) {
		t.Errorf("offered %v", c.Offered)
	}
}

func TestHandshakeBadVersionAndTimeout(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.HandshakeTimeout = 200 * time.Millisecond })
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.ReadFull(conn, make([]byte, 12))
	conn.Write([]byte("HTTP/1.1 GET\n"))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("want the server to close, got %v", err)
	}
	// A client that says nothing is dropped after the handshake timeout.
	conn2, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	conn2.SetDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := io.ReadAll(conn2); err != nil {
		t.Fatalf("want the server to close, got %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("closed after %v", d)
	}
}

func TestLoginFailuresAreLimited(t *testing.T) {
	lim := auth.NewLimiter[auth.LoginKey](2, time.Hour)
	var logins []string
	e := newEnv(t, func(o *Options) {
		o.Logins = lim
		o.OnLogin = func(user, remote string, ok bool) {
			if ok {
				logins = append(logins, user+" ok")
			} else {
				logins = append(logins, user+" failed")
			}
		}
	})
	for range 2 {
		if _, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVeNCrypt, TLS: e.tls, User: adminUser, Pass: "bad"}); err == nil {
			t.Fatal("a wrong password was accepted")
		}
	}
	// The right password is refused unchecked now, with the reason.
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVeNCrypt, TLS: e.tls, User: adminUser, Pass: adminPass})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "too many") {
		t.Fatalf("err = %v, want too many attempts", err)
	}
	// Another account from the same address is not affected.
	e.dial(rfbtest.Config{Security: SecVeNCrypt, User: roUser, Pass: roPass})
	want := []string{"admin failed", "admin failed", "admin failed", "watcher ok"}
	if strings.Join(logins, ",") != strings.Join(want, ",") {
		t.Errorf("logins %v, want %v", logins, want)
	}
}

func TestAccountChangeDisconnects(t *testing.T) {
	e := newEnv(t, nil)
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{Security: SecVeNCrypt, User: roUser, Pass: roPass})
	other := e.dial(rfbtest.Config{Security: SecVeNCrypt, User: adminUser, Pass: adminPass})
	eventually(t, "two clients", func() bool { return len(e.hub.Clients()) == 2 })
	a, _ := e.accounts.ByName(roUser)
	f := false
	if _, err := e.accounts.Update(a.ID, auth.Update{Enabled: &f}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadUpdate(); err == nil {
		t.Fatal("the disabled account's client is still connected")
	}
	if len(e.hub.Clients()) != 1 {
		eventually(t, "one client", func() bool { return len(e.hub.Clients()) == 1 })
	}
	other.RequestUpdate(false)
	if _, err := other.ReadUpdate(); err != nil {
		t.Fatalf("the other client was disconnected too: %v", err)
	}
}

func TestMaxClients(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.MaxClients = 1 })
	e.dial(rfbtest.Config{})
	_, err := rfbtest.Dial(e.addr, rfbtest.Config{Security: SecVNC, Password: vncControl})
	var se *rfbtest.SecurityError
	if !errors.As(err, &se) || !strings.Contains(se.Reason, "too many") {
		t.Fatalf("err = %v, want too many clients", err)
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{"secret": true, "12345678": true, "short": false, "toolong!!": false, "tab\there": false, "": false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v", pw, err)
		}
	}
}

func TestVNCResponse(t *testing.T) {
	challenge := []byte{0x2a, 0x9b, 0x51, 0x34, 0x7e, 0x0f, 0x19, 0x60, 0x3d, 0xde, 0x44, 0x10, 0x8a, 0x5c, 0x21, 0xe4}
	got := VNCResponse(challenge, "password")
	if len(got) != 16 || bytes.Equal(got, VNCResponse(challenge, "passwore")) {
		t.Fatalf("response %x", got)
	}
	if !vncAuthMatch(challenge, got, "password") || !vncAuthMatch(challenge, got, "password-longer") ||
		vncAuthMatch(challenge, got, "") || vncAuthMatch(challenge, VNCResponse(challenge, ""), "") {
		t.Error("vncAuthMatch")
	}
	// vncpasswd's file of "password" (a well-known value).
	if got, want := ObfuscatePassword("password"), []byte{0xdb, 0xd8, 0x3c, 0xfd, 0x72, 0x7a, 0x14, 0x58}; !bytes.Equal(got, want) {
		t.Errorf("ObfuscatePassword = %x, want %x", got, want)
	}
}
