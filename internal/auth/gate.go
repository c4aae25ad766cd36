package auth

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Why a request was refused. Gate returns them (wrapped or not) and hands
// them to OnRefuse; each protocol writes them its own way.
var (
	// ErrNoCredentials: the request carries neither a session token nor
	// Basic credentials (Redfish: 401 NoValidSession).
	ErrNoCredentials = errors.New("no credentials")
	// ErrNoSession: the token names no live session (Redfish: 401
	// NoValidSession).
	ErrNoSession = errors.New("no valid session")
	// ErrTooManyFailures: the client and user name have failed too often
	// (Limiter); answered as a wrong password is (Redfish: 401
	// AccessUnauthorized).
	ErrTooManyFailures = errors.New("too many failed logins")
	// ErrInsufficientPrivilege: authenticated, but the role lacks the
	// privilege (Redfish: 403 InsufficientPrivilege).
	ErrInsufficientPrivilege = errors.New("insufficient privilege")
)

// Principal is who a request runs as.
type Principal struct {
	// Account is the account as it was when the request was
	// authenticated.
	Account Account
	// Session is the ID of the session whose token authenticated the
	// request; "" for Basic credentials.
	Session string
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal a Gate put in ctx; false for a request
// that was not authenticated (a public resource).
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Authorize is the privilege check: nil if p's role grants priv (per
// Role.Privileges, the Redfish predefined roles), else
// ErrInsufficientPrivilege. priv "" asks for authentication only.
func Authorize(p Principal, priv Privilege) error {
	if priv != "" && !p.Account.Role.Has(priv) {
		return ErrInsufficientPrivilege
	}
	return nil
}

// Where a session token may travel. A Gate reads the sources in its
// Tokens, in order, and the first that carries a token decides: a request
// with a token is never authenticated by its Basic credentials.
const (
	// TokenHeader is the Redfish session header (DSP0266 "Session-based
	// authentication"), for every client that can set headers.
	TokenHeader = "X-Auth-Token"
	// TokenCookie is the cookie a browser page (the console) keeps the
	// token in. A handler that accepts it for a request with side effects
	// must check the request's Origin itself: browsers send cookies with
	// cross-site requests.
	TokenCookie = "bmcd_session"
	// TokenParameter is the query parameter that carries the token where
	// no header can be set (a browser's WebSocket or noVNC URL). Query
	// strings end up in logs and histories: prefer the cookie or the
	// subprotocol.
	TokenParameter = "token"
	// TokenSubprotocolPrefix starts the WebSocket subprotocol that carries
	// the token (Sec-WebSocket-Protocol: bmcd.token.<token>, next to the
	// subprotocol the client really speaks, which the server selects; the
	// token one must never be echoed).
	TokenSubprotocolPrefix = "bmcd.token."
)

// A TokenSource finds a session token in a request; "" when it carries
// none.
type TokenSource func(r *http.Request) string

// HeaderToken reads the X-Auth-Token header.
func HeaderToken(r *http.Request) string { return r.Header.Get(TokenHeader) }

// CookieToken reads the TokenCookie cookie.
func CookieToken(r *http.Request) string {
	c, err := r.Cookie(TokenCookie)
	if err != nil {
		return ""
	}
	return c.Value
}

// QueryToken reads the TokenParameter query parameter.
func QueryToken(r *http.Request) string { return r.URL.Query().Get(TokenParameter) }

// SubprotocolToken reads a TokenSubprotocolPrefix entry of the
// Sec-WebSocket-Protocol header (RFC 6455 §11.3.4: comma-separated, and
// possibly repeated).
func SubprotocolToken(r *http.Request) string {
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if tok, ok := strings.CutPrefix(strings.TrimSpace(p), TokenSubprotocolPrefix); ok {
				return tok
			}
		}
	}
	return ""
}

// BrowserTokens is every source, for endpoints that browsers reach
// (WebSocket, noVNC): the header first, then the cookie, the query
// parameter and the WebSocket subprotocol.
var BrowserTokens = []TokenSource{HeaderToken, CookieToken, QueryToken, SubprotocolToken}

// LoginKey is what failed logins are counted by: guessing one account's
// password from one address is slowed down, while other accounts, and the
// same account from elsewhere (a provisioning conductor with many nodes),
// carry on.
type LoginKey struct {
	ip   netip.Addr
	user string
}

// LoginKeyOf is the key of a login by user from the client of r.
func LoginKeyOf(r *http.Request, user string) LoginKey {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return LoginKey{ap.Addr().Unmap(), user}
}

// Gate is the HTTP front door: it authenticates a request by a session
// token (from Tokens) or by HTTP Basic credentials (RFC 7617), checks the
// privilege an operation needs, and puts the Principal in the request's
// context. Each protocol has its own Gate, for its own way of writing a
// refusal, over the shared Accounts, Sessions and Logins. The fields are
// set before first use and not changed after.
type Gate struct {
	Accounts *Accounts
	// Sessions authenticates tokens; nil: Basic credentials only.
	Sessions *Sessions
	// Logins limits failed password checks per client address and user
	// name; nil: no limit.
	Logins *Limiter[LoginKey]
	// Tokens are where a session token is looked for; nil: the
	// X-Auth-Token header only (Redfish). BrowserTokens adds the cookie,
	// the query parameter and the WebSocket subprotocol.
	Tokens []TokenSource
	// OnRefuse writes Require's refusals; nil: WriteRefusal.
	OnRefuse func(w http.ResponseWriter, r *http.Request, err error)
	// OnLoginFailure, if set, hears of each refused password check
	// (ErrBadCredentials, or ErrTooManyFailures when the limit refused it
	// unchecked), for logs and the audit log.
	OnLoginFailure func(r *http.Request, user string, err error)
}

// Require returns middleware that lets a request through to next only if
// it authenticates and its principal has priv ("" for any authenticated
// principal); next finds the principal with FromContext. Refusals are
// written by OnRefuse.
func (g *Gate) Require(priv Privilege) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r2, err := g.Check(r, priv)
			if err != nil {
				refuse := g.OnRefuse
				if refuse == nil {
					refuse = WriteRefusal
				}
				refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r2)
		})
	}
}

// Check authenticates r and checks priv ("" for authentication only). It
// returns r with its principal in the context, or the refusal (the errors
// above, or ErrBadCredentials), for protocols whose privilege depends on
// more than the route (Redfish: the method and the resource).
func (g *Gate) Check(r *http.Request, priv Privilege) (*http.Request, error) {
	p, err := g.Authenticate(r)
	if err != nil {
		return nil, err
	}
	if err := Authorize(p, priv); err != nil {
		return nil, err
	}
	return r.WithContext(NewContext(r.Context(), p)), nil
}

// Authenticate finds who r runs as: the session of its token if it carries
// one (ErrNoSession if that is not a live session), else its Basic
// credentials, checked by Login; ErrNoCredentials with neither.
func (g *Gate) Authenticate(r *http.Request) (Principal, error) {
	if tok := g.token(r); tok != "" {
		if g.Sessions == nil {
			return Principal{}, ErrNoSession
		}
		return g.Sessions.Lookup(tok)
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	a, err := g.Login(r, user, pass)
	if err != nil {
		return Principal{}, err
	}
	return Principal{Account: a}, nil
}

func (g *Gate) token(r *http.Request) string {
	if g.Tokens == nil {
		return HeaderToken(r)
	}
	for _, src := range g.Tokens {
		if tok := src(r); tok != "" {
			return tok
		}
	}
	return ""
}

// Login checks user's password for the client of r (Basic credentials,
// or a protocol's login request such as Redfish's POST to Sessions),
// counting failures per client address and user name: a client over the
// limit gets ErrTooManyFailures whatever the password, a wrong password,
// an unknown, disabled or locked account ErrBadCredentials.
func (g *Gate) Login(r *http.Request, user, pass string) (Account, error) {
	key := LoginKeyOf(r, user)
	if g.Logins != nil && !g.Logins.Allow(key) {
		g.loginFailed(r, user, ErrTooManyFailures)
		return Account{}, ErrTooManyFailures
	}
	a, err := g.Accounts.Authenticate(user, pass)
	if err != nil {
		if g.Logins != nil {
			g.Logins.Fail(key)
		}
		g.loginFailed(r, user, err)
		return Account{}, err
	}
	return a, nil
}

func (g *Gate) loginFailed(r *http.Request, user string, err error) {
	if g.OnLoginFailure != nil {
		g.OnLoginFailure(r, user, err)
	}
}

// Realm is the realm of the WWW-Authenticate challenge.
const Realm = "bmcd"

// WriteRefusal is the plain refusal: 403 for ErrInsufficientPrivilege,
// otherwise 401 with a Basic challenge (RFC 9110 §11.6.1), and a text/plain
// body naming no more than the status.
func WriteRefusal(w http.ResponseWriter, _ *http.Request, err error) {
	if errors.Is(err, ErrInsufficientPrivilege) {
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}
