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
	"github.com/bmcd/bmcd/kvm/websock"
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

// serialIdleRelease is how long a browser keeps the line's one writer seat
// after its last keystroke: then IPMI SOL (or another browser) may take
// it, and the next keystroke here takes it back if free. A variable for
// the tests.
var serialIdleRelease = 30 * time.Second

// serveSerial bridges the host serial line (hardware.Console, the hub IPMI
// SOL uses too) and a WebSocket: binary messages both ways, the recent
// output first. Anyone who may log in watches; an account that may
// ConfigureComponents also types. Typing takes the line's one writer seat
// when it is free, and gives it back after serialIdleRelease without a
// keystroke, so a forgotten browser tab never locks IPMI SOL out; while
// another holds it (IPMI SOL), keystrokes are dropped and the browser is
// told so with a text message.
func (s *Service) serveSerial(sys *System, w http.ResponseWriter, r *http.Request) {
	con := sys.Machine.Console()
	if !con.Available() {
		http.Error(w, "this system has no serial console", http.StatusNotFound)
		return
	}
	conn, p, ok := websock.Accept(w, r, SerialSubprotocol, s.cfg.OriginPatterns)
	if !ok {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(serialReadLimit)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	mayType := auth.Authorize(p, auth.PrivConfigureComponents) == nil
	owner := "web console " + p.Account.UserName + "@" + r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		owner = "web console " + p.Account.UserName + "@" + host
	}
	if !mayType {
		_ = conn.Write(ctx, websocket.MessageText, []byte("view only: this account may not type"))
	}
	var writer *hardware.ConsoleWriter
	release := time.NewTimer(time.Hour)
	release.Stop()
	defer func() {
		release.Stop()
		if writer != nil {
			writer.Close()
		}
	}()
	input := make(chan []byte)
	go func() { // what the browser types
		defer cancel()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) {
					s.log.Debug("serial console closed", "system", sys.Machine.ID(), "err", err)
				}
				return
			}
			select {
			case input <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

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
		select {
		case <-ctx.Done():
			return
		case <-release.C:
			if writer != nil {
				writer.Close()
				writer = nil
			}
		case b := <-input:
			if !mayType {
				continue
			}
			if writer == nil {
				w, err := con.Acquire(owner)
				if err != nil {
					_ = conn.Write(ctx, websocket.MessageText, []byte("view only: "+err.Error()))
					continue
				}
				writer = w
			}
			if _, err := writer.Write(b); err != nil {
				_ = conn.Write(ctx, websocket.MessageText, []byte("view only: "+err.Error()))
				writer.Close()
				writer = nil
				continue
			}
			release.Reset(serialIdleRelease)
		}
	}
}
