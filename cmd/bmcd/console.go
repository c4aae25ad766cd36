package main

import (
	"crypto/tls"
	"log/slog"
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm"
	"github.com/bmcd/bmcd/kvm/rfb"
)

// withConsole serves the console (kvm: /kvm/{SystemId}/...) in front of
// next, on the same listener as Redfish and behind the same front door.
func withConsole(next http.Handler, console *kvm.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Owns(r.URL.Path) {
			console.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// consoleConfig is the console's configuration: the front door shared
// with Redfish, the VNC listeners (-vnc-addr) with VeNCrypt over the
// service certificate and bmcd's accounts, VNC Authentication when the
// configuration file sets a VNC password, and VNC logins in the audit log.
func consoleConfig(o *options, machines []*hardware.Machine, gate *auth.Gate, cert *tls.Config, auditLog *audit.Log, log *slog.Logger) kvm.Config {
	c := o.file.Console
	cfg := kvm.Config{
		Machines: machines, Gate: gate, Log: log,
		Accounts: gate.Accounts, TLS: cert, Logins: gate.Logins, VNCAddr: o.vncAddr,
		OnLogin: func(user, remote string, ok bool) {
			a := audit.Actor{Origin: remote}
			if !ok {
				auditLog.Record(audit.InvalidCredentials(remote, audit.VNC), a)
				return
			}
			a.User = user
			auditLog.Record(audit.SuccessfulLogin(user, remote, audit.VNC), a)
		},
	}
	if c.VNCPassword != "" || c.VNCViewPassword != "" {
		pw := rfb.Passwords{Control: c.VNCPassword, ViewOnly: c.VNCViewPassword}
		cfg.Passwords = func() rfb.Passwords { return pw }
	}
	if c.Layout != "" {
		layout := c.Layout
		cfg.Layout = func() string { return layout }
	}
	return cfg
}
