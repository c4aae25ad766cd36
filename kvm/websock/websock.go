// Package websock is what the console's WebSocket doors (keyboard and
// mouse, VNC, the serial console) share: accepting a client the HTTP gate
// authenticated, and noticing one that vanished.
package websock

import (
	"context"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/bmcd/bmcd/internal/auth"
)

// Accept upgrades r to a WebSocket speaking subprotocol, for the principal
// the gate put in r's context. Without one it answers 401; a page of
// another origin than r's host or origins (path.Match patterns) gets 403
// (a browser sends the session cookie with cross-site requests). ok is
// false when the answer was written and there is no connection.
func Accept(w http.ResponseWriter, r *http.Request, subprotocol string, origins []string) (c *websocket.Conn, p auth.Principal, ok bool) {
	p, ok = auth.FromContext(r.Context())
	if !ok {
		auth.WriteRefusal(w, r, auth.ErrNoCredentials)
		return nil, p, false
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{subprotocol},
		OriginPatterns: origins,
	})
	if err != nil {
		return nil, p, false // Accept wrote the refusal
	}
	return c, p, true
}

// KeepAlive pings c every interval until ctx ends; a ping unanswered
// within interval closes c (the client is gone: its keys must be
// released). It returns when ctx ends or c was closed.
func KeepAlive(ctx context.Context, c *websocket.Conn, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := c.Ping(pctx)
		cancel()
		if err != nil {
			c.CloseNow()
			return
		}
	}
}
