package web

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/bmcd/bmcd/internal/auth"
)

// maxLoginForm bounds the login form's body.
const maxLoginForm = 16 << 10

// page authenticates a request for a page as every console endpoint does
// (auth.Gate: the session cookie, X-Auth-Token, Basic), and sends a
// browser without credentials, or with a session that ended, to the login
// form, which brings it back. A URL with ?token=TOKEN (a live session's
// token, from Redfish for example) sets the session cookie and reloads
// the page without it, so a portal can open the console for its users.
// Wrong Basic credentials are 401.
func (h *Handler) page(serve func(http.ResponseWriter, *http.Request, auth.Principal)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Has(auth.TokenParameter) {
			tok := q.Get(auth.TokenParameter)
			q.Del(auth.TokenParameter)
			u := *r.URL
			u.RawQuery = q.Encode()
			if _, err := h.cfg.Gate.Sessions.Lookup(tok); err != nil {
				http.Redirect(w, r, loginURL(u.RequestURI()), http.StatusSeeOther)
				return
			}
			setSessionCookie(w, r, tok)
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		p, err := h.cfg.Gate.Authenticate(r)
		switch {
		case err == nil:
			serve(w, r.WithContext(auth.NewContext(r.Context(), p)), p)
		case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrNoSession):
			if auth.CookieToken(r) != "" {
				clearSessionCookie(w, r)
			}
			http.Redirect(w, r, loginURL(r.URL.RequestURI()), http.StatusSeeOther)
		default:
			auth.WriteRefusal(w, r, err)
		}
	})
}

// loginURL is the login form that returns to next.
func loginURL(next string) string {
	return Prefix + "login?next=" + url.QueryEscape(next)
}

// safeNext is where a login returns to: a page of the console, never
// another site ("//host", "/\host") or another part of bmcd.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, Prefix+"login") || strings.HasPrefix(next, Prefix+"logout") {
		return Prefix
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return Prefix
	}
	return next
}

type loginData struct {
	Title string
	Next  string
	User  string
	Error string
}

// serveLoginForm shows the login form; a browser with a live session goes
// straight to where it was going.
func (h *Handler) serveLoginForm(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if tok := auth.CookieToken(r); tok != "" {
		if _, err := h.cfg.Gate.Sessions.Lookup(tok); err == nil {
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
	}
	h.render(w, http.StatusOK, "login.html", loginData{Title: "Log in", Next: next})
}

// login checks the form's user and password through the gate (the
// accounts and the failed-login limiter Redfish uses), opens a session in
// the shared table (Redfish's SessionService lists it; its token opens
// Redfish too), sets the session cookie and returns to the form's next
// page (303). A refusal shows the form again, 401, with one message for
// every reason (a wrong name, a wrong password, a locked account, too many
// failures), as Redfish does.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad login form", http.StatusBadRequest)
		return
	}
	user, pass := r.PostForm.Get("user"), r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	a, err := h.cfg.Gate.Login(r, user, pass)
	if err != nil {
		h.render(w, http.StatusUnauthorized, "login.html",
			loginData{Title: "Log in", Next: next, User: user, Error: "Invalid user name or password."})
		return
	}
	ip := clientIP(r)
	ses, tok := h.cfg.Gate.Sessions.Create(a, ip)
	h.log.Info("console login", "user", a.UserName, "remote", ip, "session", ses.ID)
	if h.cfg.OnLogin != nil {
		h.cfg.OnLogin(r, a)
	}
	setSessionCookie(w, r, tok)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the request's session (wherever it was made: a Redfish
// session ends too), clears the cookie and shows the login form.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if p, err := h.cfg.Gate.Authenticate(r); err == nil && p.Session != "" {
		h.cfg.Gate.Sessions.Delete(p.Session)
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// setSessionCookie keeps tok in the browser for every endpoint of bmcd
// (Path /: the pages, /kvm/, /images/): out of scripts' reach (HttpOnly),
// only over TLS when the page came over TLS, and never sent along with
// another site's requests (SameSite=Strict). It lasts as long as the
// browser runs; the session's idle timeout ends it on the server.
func setSessionCookie(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{Name: auth.TokenCookie, Value: tok, Path: "/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: auth.TokenCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// clientIP is the address of r's client, as sessions record it.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
