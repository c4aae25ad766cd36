package main

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/web"
)

// withConsole serves the console (kvm: /kvm/{SystemId}/...) and its web
// pages (kvm/web: /console/...) in front of next, on the same listener as
// Redfish and behind the same front door.
func withConsole(next http.Handler, console *kvm.Service, pages *web.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case console.Owns(r.URL.Path):
			console.ServeHTTP(w, r)
		case pages.Owns(r.URL.Path):
			pages.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// consoleConfig is the console's configuration: the front door shared
// with Redfish, the VNC listeners (-vnc-addr) with VeNCrypt over the
// service certificate and bmcd's accounts, VNC Authentication when the
// configuration file sets a VNC password, and VNC logins in the audit log.
func consoleConfig(o *options, fleet *hardware.Fleet, gate *auth.Gate, cert *tls.Config, auditLog *audit.Log, log *slog.Logger) kvm.Config {
	c := o.file.Console
	cfg := kvm.Config{
		Fleet: fleet, Gate: gate, Log: log,
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

// consolePages are the web console's pages over the console, Redfish
// (redfishSvc, for the pages' scripts) and the shared gate; a login
// through the pages' form goes to the audit log as Redfish's do.
func consolePages(console *kvm.Service, fleet *hardware.Fleet, gate *auth.Gate, redfishSvc http.Handler,
	auditLog *audit.Log) (*web.Handler, error) {
	return web.New(web.Config{
		Console: console, Fleet: fleet, Gate: gate, Redfish: redfishSvc,
		OnLogin: func(r *http.Request, a auth.Account) {
			ip, origin := clientOrigin(r)
			auditLog.Record(audit.SuccessfulLogin(a.UserName, ip, audit.WebConsole), audit.Actor{User: a.UserName, Origin: origin})
		},
	})
}

// clientOrigin is the client's address ("192.0.2.7") and the origin the
// audit log records ("https://192.0.2.7"), as Redfish records its logins.
func clientOrigin(r *http.Request) (ip, origin string) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := ip
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6, as in a URL
	}
	return ip, scheme + "://" + host
}
