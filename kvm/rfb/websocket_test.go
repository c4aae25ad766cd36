package rfb

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
	"github.com/coder/websocket"
)

// withPrincipal stands for the HTTP gate: requests run as user, or are
// not authenticated when user is "".
func withPrincipal(e *env, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user := r.URL.Query().Get("as"); user != "" {
			a, _ := e.accounts.ByName(user)
			r = r.WithContext(auth.NewContext(r.Context(), auth.Principal{Account: a}))
		}
		next.ServeHTTP(w, r)
	})
}

func TestWebSocketDoor(t *testing.T) {
	e := newEnv(t, nil)
	src := screen(320, 200, 1)
	e.display.show(src)
	hs := httptest.NewServer(withPrincipal(e, e.srv.WebSocketHandler(WebSocketOptions{})))
	defer hs.Close()
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")

	cases := []struct {
		user       string
		protocols  []string
		minor      int
		wantProto  string
		mayControl bool
	}{
		{adminUser, []string{"binary"}, 8, "binary", true},
		{adminUser, nil, 8, "", true},                                      // noVNC 1.4+ offers none
		{adminUser, []string{"binary", "bmcd.token.x"}, 3, "binary", true}, // the token rides along
		{roUser, []string{"binary"}, 7, "binary", false},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s %v 3.%d", tc.user, tc.protocols, tc.minor), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, ws+"/?as="+tc.user, &websocket.DialOptions{Subprotocols: tc.protocols})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if conn.Subprotocol() != tc.wantProto {
				t.Errorf("subprotocol %q, want %q", conn.Subprotocol(), tc.wantProto)
			}
			nc := websocket.NetConn(ctx, conn, websocket.MessageBinary)
			c, err := rfbtest.Handshake(nc, rfbtest.Config{Minor: tc.minor})
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Offered) != 1 || c.Offered[0] != SecNone {
				t.Errorf("offered %v, want None only", c.Offered)
			}
			c.SetEncodings(EncTight, EncJPEGQuality0+6, EncZRLE)
			c.RequestUpdate(false)
			u := update(t, c)
			if rs := pixelRects(u); len(rs) != 1 || rs[0].Tight != "jpeg" {
				t.Errorf("update %+v", u.Rects)
			}
			if _, mean := diff(c.FB, src); mean > 4 {
				t.Errorf("mean error %.2f", mean)
			}
			c.Key('a', true)
			c.Key('a', false)
			syncClient(t, c)
			keys := e.kb.Take()
			if tc.mayControl != (len(keys) == 2) {
				t.Errorf("keys %v from a client that may control: %v", keys, tc.mayControl)
			}
			nc.Close()
			eventually(t, "the client leaves", func() bool { return len(e.hub.Clients()) == 0 })
		})
	}
}

func TestWebSocketDoorRefusals(t *testing.T) {
	e := newEnv(t, nil)
	hs := httptest.NewServer(withPrincipal(e, e.srv.WebSocketHandler(WebSocketOptions{})))
	defer hs.Close()
	// Without a principal: 401.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unauthenticated: %v %v", err, resp)
	}
	// A page of another origin: 403.
	h := http.Header{"Origin": {"https://evil.example"}}
	_, resp, err = websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/?as=admin", &websocket.DialOptions{HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin: %v %v", err, resp)
	}
}
