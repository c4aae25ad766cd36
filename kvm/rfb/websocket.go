package rfb

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/bmcd/bmcd/kvm/websock"
	"github.com/coder/websocket"
)

// WebSocketSubprotocol is the subprotocol noVNC offers (and websockify
// selects) for raw RFB in binary messages; the server echoes it when
// offered.
const WebSocketSubprotocol = "binary"

// WebSocketOptions configure WebSocketHandler. The zero value is usable.
type WebSocketOptions struct {
	// OriginPatterns are the hosts (path.Match patterns) whose pages may
	// open the WebSocket besides the endpoint's own host: a browser sends
	// the session cookie along with cross-site requests, so other origins
	// are refused (websocket.AcceptOptions.OriginPatterns).
	OriginPatterns []string
	// PingInterval is how often the server pings the client; a client
	// that has not answered by the next ping is taken as gone and its
	// keys are released. 0: 15 s.
	PingInterval time.Duration
}

// WebSocketHandler is the server's second door: RFB over a WebSocket
// (RFC 6455), the RFB byte stream in binary messages in both directions
// (as websockify carries it for noVNC), the subprotocol "binary" selected
// when the client offers it. The caller authenticates the request first
// (auth.Gate with auth.BrowserTokens); the handler refuses one without a
// principal (401). The browser has logged in, so RFB's security offers
// None alone (noVNC asks for no password), and the principal's account
// decides control as VeNCrypt's does: ConfigureComponents controls, a
// ReadOnly account watches.
func (s *Server) WebSocketHandler(o WebSocketOptions) http.Handler {
	if o.PingInterval <= 0 {
		o.PingInterval = 15 * time.Second
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, p, ok := websock.Accept(w, r, WebSocketSubprotocol, o.OriginPatterns)
		if !ok {
			return
		}
		defer ws.CloseNow()
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
		go func() { websock.KeepAlive(ctx, ws, o.PingInterval); cancel() }()
		err := s.ServeAuthenticated(nc, p, r.RemoteAddr)
		if err != nil && !errors.Is(err, ErrServerClosed) {
			s.log.Debug("vnc websocket connection ended", "remote", r.RemoteAddr, "error", err)
		}
	})
}
