package web

import (
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/internal/auth"
)

// bridge serves Redfish (/redfish/v1/...) under /console/redfish/v1/ for
// the pages' scripts, which cannot read their HttpOnly session cookie to
// send it as X-Auth-Token: the cookie's token becomes the request's
// X-Auth-Token (unless it carries credentials of its own), and Redfish
// does the rest as for any client: authentication, privileges, errors,
// the audit log. Requests that change something are refused when a
// browser sends them from another origin (http.CrossOriginProtection, in
// routes), since the cookie would go along. A 401 loses its Basic
// challenge, which would make the browser ask for a password over the
// page instead of the page sending the user to the login form.
func (h *Handler) bridge(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = strings.TrimPrefix(r.URL.Path, strings.TrimSuffix(Prefix, "/"))
	r2.URL.RawPath = ""
	r2.RequestURI = r2.URL.RequestURI()
	if r.Header.Get(auth.TokenHeader) == "" && r.Header.Get("Authorization") == "" {
		if tok := auth.CookieToken(r); tok != "" {
			r2.Header.Set(auth.TokenHeader, tok)
		}
	}
	r2.Header.Del("Cookie")
	h.cfg.Redfish.ServeHTTP(noChallenge{w}, r2)
}

// noChallenge drops the WWW-Authenticate header of a 401.
type noChallenge struct{ http.ResponseWriter }

func (n noChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		n.Header().Del("WWW-Authenticate")
	}
	n.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flushes of
// the event stream).
func (n noChallenge) Unwrap() http.ResponseWriter { return n.ResponseWriter }
