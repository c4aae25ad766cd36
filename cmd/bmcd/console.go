package main

import (
	"net"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm"
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

// consolePages are the web console's pages over the console, Redfish
// (redfishSvc, for the pages' scripts) and the shared gate; a login
// through the pages' form goes to the audit log as Redfish's do.
func consolePages(console *kvm.Service, machines []*hardware.Machine, gate *auth.Gate, redfishSvc http.Handler,
	auditLog *audit.Log) (*web.Handler, error) {
	return web.New(web.Config{
		Console: console, Machines: machines, Gate: gate, Redfish: redfishSvc,
		OnLogin: func(r *http.Request, a auth.Account) {
			ip, origin := clientOrigin(r)
			auditLog.Record(audit.SuccessfulLogin(a.UserName, ip, "Web console"), audit.Actor{User: a.UserName, Origin: origin})
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
