package main

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm"
	"github.com/bmcd/bmcd/kvm/rfb"
)

// vncDoors builds the VNC server (kvm/rfb) of every machine with a screen
// and serves its WebSocket door at /kvm/{SystemId}/vnc, behind the
// console's gate (Login; the account decides control), for noVNC in the
// web console. The servers are returned by system Id, for the TCP door
// (-vnc-addr) to serve too; close them at shutdown.
func vncDoors(console *kvm.Service, accounts *auth.Accounts, logins *auth.Limiter[auth.LoginKey], log *slog.Logger) (map[string]*rfb.Server, error) {
	servers := map[string]*rfb.Server{}
	doors := map[*kvm.System]http.Handler{}
	for _, sys := range console.Systems() {
		if !sys.Machine.Capabilities().Display {
			continue
		}
		id := sys.Machine.ID()
		s, err := rfb.New(rfb.Options{Name: "bmcd " + id, Pipeline: sys.Video, Hub: sys.Input,
			Accounts: accounts, Logins: logins, Logger: log.With("system", id)})
		if err != nil {
			return nil, fmt.Errorf("vnc %s: %w", id, err)
		}
		servers[id] = s
		doors[sys] = s.WebSocketHandler(rfb.WebSocketOptions{})
	}
	console.Handle("vnc", auth.PrivLogin, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		door := doors[kvm.SystemOf(r)]
		if door == nil {
			http.Error(w, "this system has no screen", http.StatusNotFound)
			return
		}
		door.ServeHTTP(w, r)
	}))
	return servers, nil
}
