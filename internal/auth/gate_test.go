package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// whoami is a plain handler that is no part of Redfish: it answers with
// the principal the gate put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", http.StatusInternalServerError)
		return
	}
	_, _ = w.Write([]byte(p.Account.UserName + "|" + string(p.Account.Role) + "|" + p.Session))
})

type gateEnv struct {
	*env
	sessions *auth.Sessions
	admin    auth.Account
	reader   auth.Account
}

func newGateEnv(t *testing.T) *gateEnv {
	e := newEnv(t)
	g := &gateEnv{env: e, sessions: auth.NewSessions(e.a, 0)}
	t.Cleanup(g.sessions.Close)
	g.admin = e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	g.reader = e.create("reader", "readpass1", auth.RoleReadOnly, true)
	return g
}

func serve(h http.Handler, opts ...func(*http.Request)) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/console", nil)
	for _, o := range opts {
		o(r)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func withHeader(k, v string) func(*http.Request) { return func(r *http.Request) { r.Header.Add(k, v) } }

func withBasic(user, pass string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(user, pass) }
}

// TestSessionTokenOpensAPlainHandler: a token the session table made (as
// Redfish's POST to Sessions does) authenticates a handler that is no part
// of Redfish, and a ReadOnly principal is refused ConfigureComponents.
func TestSessionTokenOpensAPlainHandler(t *testing.T) {
	g := newGateEnv(t)
	gate := &auth.Gate{Accounts: g.a, Sessions: g.sessions}
	adminSes, adminTok := g.sessions.Create(g.admin, "192.0.2.1")
	_, readerTok := g.sessions.Create(g.reader, "192.0.2.1")

	view := gate.Require(auth.PrivLogin)(whoami)
	w := serve(view, withHeader("X-Auth-Token", adminTok))
	if w.Code != http.StatusOK || w.Body.String() != "admin|Administrator|"+adminSes.ID {
		t.Errorf("admin's token: %d %q", w.Code, w.Body)
	}
	if w := serve(view, withHeader("X-Auth-Token", readerTok)); w.Code != http.StatusOK {
		t.Errorf("reader's token, Login: %d", w.Code)
	}

	control := gate.Require(auth.PrivConfigureComponents)(whoami)
	if w := serve(control, withHeader("X-Auth-Token", adminTok)); w.Code != http.StatusOK {
		t.Errorf("admin's token, ConfigureComponents: %d", w.Code)
	}
	w = serve(control, withHeader("X-Auth-Token", readerTok))
	if w.Code != http.StatusForbidden || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("reader's token, ConfigureComponents: %d %v", w.Code, w.Header())
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-Auth-Token", readerTok)
	if _, err := gate.Check(r, auth.PrivConfigureComponents); !errors.Is(err, auth.ErrInsufficientPrivilege) {
		t.Errorf("Check(reader, ConfigureComponents) = %v", err)
	}

	// Logging out ends the token for every handler.
	g.sessions.Delete(adminSes.ID)
	w = serve(view, withHeader("X-Auth-Token", adminTok))
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != `Basic realm="bmcd"` {
		t.Errorf("ended session: %d %v", w.Code, w.Header())
	}
}

// TestGateAuthenticate is every way a request authenticates or is
// refused, with each token source.
func TestGateAuthenticate(t *testing.T) {
	g := newGateEnv(t)
	ses, tok := g.sessions.Create(g.reader, "")
	cookie := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: auth.TokenCookie, Value: v}) }
	}
	query := func(v string) func(*http.Request) {
		return func(r *http.Request) { r.URL.RawQuery = auth.TokenParameter + "=" + v }
	}
	redfishOnly := &auth.Gate{Accounts: g.a, Sessions: g.sessions}
	browser := &auth.Gate{Accounts: g.a, Sessions: g.sessions, Tokens: auth.BrowserTokens}
	basicOnly := &auth.Gate{Accounts: g.a}
	bySession := auth.Principal{Account: g.reader, Session: ses.ID}
	for _, tc := range []struct {
		name string
		gate *auth.Gate
		opts []func(*http.Request)
		want auth.Principal
		err  error
	}{
		{"header", redfishOnly, []func(*http.Request){withHeader("X-Auth-Token", tok)}, bySession, nil},
		{"basic", redfishOnly, []func(*http.Request){withBasic("admin", "adminpass1")}, auth.Principal{Account: g.admin}, nil},
		{"nothing", redfishOnly, nil, auth.Principal{}, auth.ErrNoCredentials},
		{"wrong password", redfishOnly, []func(*http.Request){withBasic("admin", "adminpass2")}, auth.Principal{}, auth.ErrBadCredentials},
		{"unknown user", redfishOnly, []func(*http.Request){withBasic("ghost", "adminpass1")}, auth.Principal{}, auth.ErrBadCredentials},
		{"bearer", redfishOnly, []func(*http.Request){withHeader("Authorization", "Bearer "+tok)}, auth.Principal{}, auth.ErrNoCredentials},
		{"unknown token", redfishOnly, []func(*http.Request){withHeader("X-Auth-Token", "0123")}, auth.Principal{}, auth.ErrNoSession},
		// A request with a token is judged by its token alone.
		{"unknown token and basic", redfishOnly, []func(*http.Request){withHeader("X-Auth-Token", "0123"), withBasic("admin", "adminpass1")},
			auth.Principal{}, auth.ErrNoSession},
		{"token and basic", redfishOnly, []func(*http.Request){withHeader("X-Auth-Token", tok), withBasic("admin", "adminpass1")}, bySession, nil},
		{"empty header", redfishOnly, []func(*http.Request){withHeader("X-Auth-Token", ""), withBasic("admin", "adminpass1")},
			auth.Principal{Account: g.admin}, nil},
		// Redfish reads the header only.
		{"cookie, header only", redfishOnly, []func(*http.Request){cookie(tok)}, auth.Principal{}, auth.ErrNoCredentials},
		{"query, header only", redfishOnly, []func(*http.Request){query(tok)}, auth.Principal{}, auth.ErrNoCredentials},
		{"cookie", browser, []func(*http.Request){cookie(tok)}, bySession, nil},
		{"query", browser, []func(*http.Request){query(tok)}, bySession, nil},
		{"subprotocol", browser, []func(*http.Request){withHeader("Sec-WebSocket-Protocol", "rfb, bmcd.token."+tok)}, bySession, nil},
		{"subprotocol repeated header", browser, []func(*http.Request){withHeader("Sec-WebSocket-Protocol", "rfb"),
			withHeader("Sec-WebSocket-Protocol", " bmcd.token."+tok+" ")}, bySession, nil},
		{"subprotocol without token", browser, []func(*http.Request){withHeader("Sec-WebSocket-Protocol", "rfb, binary")},
			auth.Principal{}, auth.ErrNoCredentials},
		{"header before cookie", browser, []func(*http.Request){withHeader("X-Auth-Token", "0123"), cookie(tok)}, auth.Principal{}, auth.ErrNoSession},
		{"browser basic", browser, []func(*http.Request){withBasic("admin", "adminpass1")}, auth.Principal{Account: g.admin}, nil},
		{"no session table", basicOnly, []func(*http.Request){withHeader("X-Auth-Token", tok)}, auth.Principal{}, auth.ErrNoSession},
		{"no session table, basic", basicOnly, []func(*http.Request){withBasic("reader", "readpass1")}, auth.Principal{Account: g.reader}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, o := range tc.opts {
				o(r)
			}
			p, err := tc.gate.Authenticate(r)
			if p != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("Authenticate = %+v, %v; want %+v, %v", p, err, tc.want, tc.err)
			}
		})
	}
}

// TestGateRefusals: the protocol writes refusals (OnRefuse) and hears of
// failed logins (OnLoginFailure); the limiter answers a limited client
// as a wrong password, whatever the password.
func TestGateRefusals(t *testing.T) {
	g := newGateEnv(t)
	var refused []error
	var failed []string
	lim := auth.NewLimiter[auth.LoginKey](2, time.Hour)
	gate := &auth.Gate{Accounts: g.a, Sessions: g.sessions, Logins: lim,
		OnRefuse: func(w http.ResponseWriter, _ *http.Request, err error) {
			refused = append(refused, err)
			w.WriteHeader(http.StatusTeapot)
		},
		OnLoginFailure: func(_ *http.Request, user string, err error) { failed = append(failed, user+": "+err.Error()) },
	}
	h := gate.Require("")(whoami)
	for range 2 {
		if w := serve(h, withBasic("reader", "wrong-pass")); w.Code != http.StatusTeapot {
			t.Errorf("wrong password: %d", w.Code)
		}
	}
	if w := serve(h, withBasic("reader", "readpass1")); w.Code != http.StatusTeapot {
		t.Errorf("limited client with the right password: %d", w.Code)
	}
	if w := serve(h, withBasic("admin", "adminpass1")); w.Code != http.StatusOK {
		t.Errorf("another account from the same client: %d", w.Code)
	}
	if w := serve(h); w.Code != http.StatusTeapot {
		t.Errorf("no credentials: %d", w.Code)
	}
	want := []error{auth.ErrBadCredentials, auth.ErrBadCredentials, auth.ErrTooManyFailures, auth.ErrNoCredentials}
	if len(refused) != len(want) {
		t.Fatalf("refusals %v, want %v", refused, want)
	}
	for i := range want {
		if !errors.Is(refused[i], want[i]) {
			t.Errorf("refusal %d: %v, want %v", i, refused[i], want[i])
		}
	}
	if len(failed) != 3 || failed[2] != "reader: "+auth.ErrTooManyFailures.Error() {
		t.Errorf("login failures heard: %q", failed)
	}
	// A login request (not Basic) is counted the same way.
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	if _, err := gate.Login(r, "reader", "readpass1"); !errors.Is(err, auth.ErrTooManyFailures) {
		t.Errorf("Login of a limited client = %v", err)
	}
	r.RemoteAddr = "198.51.100.9:4000"
	if a, err := gate.Login(r, "reader", "readpass1"); err != nil || a != g.reader {
		t.Errorf("Login from another address = %+v, %v", a, err)
	}
}

// TestWriteRefusal is the plain answer of a gate without OnRefuse.
func TestWriteRefusal(t *testing.T) {
	for _, tc := range []struct {
		err       error
		code      int
		challenge string
	}{
		{auth.ErrNoCredentials, 401, `Basic realm="bmcd"`},
		{auth.ErrNoSession, 401, `Basic realm="bmcd"`},
		{auth.ErrBadCredentials, 401, `Basic realm="bmcd"`},
		{auth.ErrTooManyFailures, 401, `Basic realm="bmcd"`},
		{auth.ErrInsufficientPrivilege, 403, ""},
	} {
		w := httptest.NewRecorder()
		auth.WriteRefusal(w, httptest.NewRequest(http.MethodGet, "/", nil), tc.err)
		if w.Code != tc.code || w.Header().Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("%v: %d %q", tc.err, w.Code, w.Header().Get("WWW-Authenticate"))
		}
	}
}
