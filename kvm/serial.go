package kvm

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// SerialSubprotocol is the WebSocket subprotocol of the serial console: a
// browser offers it beside its bmcd.token.* one.
const SerialSubprotocol = "bmcd.serial"

// Serial console limits.
const (
	serialChunk        = 4096
	serialWriteTimeout = 10 * time.Second
	serialReadLimit    = 64 << 10
)

// serveSerial bridges the host serial line (hardware.Console, the hub IPMI
// SOL uses too) and a WebSocket: binary messages both ways, the recent
// output first. Anyone who may log in watches; an account that may
// ConfigureComponents also types, once it holds the line's one writer
// seat (IPMI SOL may hold it: then the session stays view-only and is
// told so with a text message).
func (s *Service) serveSerial(sys *System, w http.ResponseWriter, r *http.Request) {
	con := sys.Machine.Console()
	if !con.Available() {
		http.Error(w, "this system has no serial console", http.StatusNotFound)
		return
	}
	p, ok := auth.FromContext(r.Context())
	if !ok {
		auth.WriteRefusal(w, r, auth.ErrNoCredentials)
		return
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{SerialSubprotocol},
		OriginPatterns: s.cfg.OriginPatterns,
	})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(serialReadLimit)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	var writer *hardware.ConsoleWriter
	if auth.Authorize(p, auth.PrivConfigureComponents) == nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if writer, err = con.Acquire("web console " + p.Account.UserName + "@" + host); err != nil {
			writer = nil
			notice := "view only: " + err.Error()
			_ = conn.Write(ctx, websocket.MessageText, []byte(notice))
		} else {
			defer writer.Close()
		}
	} else {
		_ = conn.Write(ctx, websocket.MessageText, []byte("view only: this account may not type"))
	}

	view := con.Watch(true)
	defer view.Close()
	go func() { // the host's output to the browser
		defer cancel()
		buf := make([]byte, serialChunk)
		for {
			n, err := view.Read(ctx, buf)
			if err != nil {
				return
			}
			wctx, wcancel := context.WithTimeout(ctx, serialWriteTimeout)
			err = conn.Write(wctx, websocket.MessageBinary, buf[:n])
			wcancel()
			if err != nil {
				return
			}
		}
	}()
	for { // what the browser types, to the host
		_, b, err := conn.Read(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.log.Debug("serial console closed", "system", sys.Machine.ID(), "err", err)
			}
			return
		}
		if writer == nil {
			continue
		}
		if _, err := writer.Write(b); err != nil {
			_ = conn.Write(ctx, websocket.MessageText, []byte("view only: "+err.Error()))
			writer = nil
		}
	}
}
