package web

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/auth/authtest"
	"github.com/bmcd/bmcd/kvm"
)

// env serves the pages (and the console under /kvm/) of a simulated
// machine "0" and a power switch without a console ("plug"), with an
// admin, an operator and a read-only account ("password-" + name), in
// front of a fake Redfish that records what reaches it.
type env struct {
	t        *testing.T
	srv      *httptest.Server
	h        *Handler
	sessions *auth.Sessions
	accounts *auth.Accounts
	redfish  chan *http.Request // what the bridge passed on
	logins   []string           // OnLogin's accounts
}

func newEnv(t *testing.T, fsys ...fstest.MapFS) *env {
	t.Helper()
	front := authtest.Open(t)
	db, accounts, sessions, gate := front.DB, front.Accounts, front.Sessions, front.Gate
	m, err := hardware.NewMachine("0", sim.New(sim.Config{ID: "0", Seed: "web", PowerOnDelay: time.Millisecond}), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	plug, err := hardware.NewMachine("plug", &backendtest.Switch{}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); plug.Close() })
	machines := []*hardware.Machine{m, plug}
	console, err := kvm.New(kvm.Config{Machines: machines, Gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(console.Close)
	e := &env{t: t, sessions: sessions, accounts: accounts, redfish: make(chan *http.Request, 8)}
	redfish := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.redfish <- r
		if r.Header.Get(auth.TokenHeader) == "dead" {
			w.Header().Set("WWW-Authenticate", `Basic realm="bmcd"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	cfg := Config{Console: console, Machines: machines, Gate: gate, Redfish: redfish,
		OnLogin: func(_ *http.Request, a auth.Account) { e.logins = append(e.logins, a.UserName) }}
	if len(fsys) > 0 {
		e.h, err = newHandler(cfg, fsys[0])
	} else {
		e.h, err = New(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if console.Owns(r.URL.Path) {
			console.ServeHTTP(w, r)
			return
		}
		e.h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request without following redirects; set adds headers
// ("Authorization" given as "user" is that account's Basic credentials).
func (e *env) do(method, path string, body io.Reader, set map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range set {
		if k == "Authorization" {
			req.SetBasicAuth(v, "password-"+v)
			continue
		}
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { res.Body.Close() })
	return res
}

func (e *env) session(user string) string {
	e.t.Helper()
	a, err := e.accounts.Authenticate(user, "password-"+user)
	if err != nil {
		e.t.Fatal(err)
	}
	_, tok := e.sessions.Create(a, "127.0.0.1")
	return tok
}

func cookie(tok string) map[string]string {
	return map[string]string{"Cookie": auth.TokenCookie + "=" + tok}
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPagesNeedLogin: a page without credentials, or with an ended
// session, sends the browser to the login form, which brings it back;
// Basic credentials, X-Auth-Token and the cookie open it; wrong Basic
// credentials are 401.
func TestPagesNeedLogin(t *testing.T) {
	e := newEnv(t)
	tok := e.session("reader")
	for _, tc := range []struct {
		name, path string
		set        map[string]string
		status     int
		location   string
	}{
		{"no credentials", "/console/0", nil, http.StatusSeeOther, "/console/login?next=%2Fconsole%2F0"},
		{"index without credentials", "/console/", nil, http.StatusSeeOther, "/console/login?next=%2Fconsole%2F"},
		{"ended session", "/console/0?x=1", cookie("dead"), http.StatusSeeOther, "/console/login?next=%2Fconsole%2F0%3Fx%3D1"},
		{"Basic", "/console/0", map[string]string{"Authorization": "reader"}, http.StatusOK, ""},
		{"X-Auth-Token", "/console/0", map[string]string{auth.TokenHeader: tok}, http.StatusOK, ""},
		{"cookie", "/console/", cookie(tok), http.StatusOK, ""},
		{"wrong password", "/console/0", map[string]string{"Authorization": "nobody"}, http.StatusUnauthorized, ""},
		{"unknown system", "/console/nosuch", cookie(tok), http.StatusNotFound, ""},
		{"root", "/console", nil, http.StatusMovedPermanently, "/console/"},
		{"login form", "/console/login", nil, http.StatusOK, ""},
		{"login form with a session", "/console/login?next=/console/0", cookie(tok), http.StatusSeeOther, "/console/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(http.MethodGet, tc.path, nil, tc.set)
			if res.StatusCode != tc.status || res.Header.Get("Location") != tc.location {
				t.Errorf("%d %q, want %d %q", res.StatusCode, res.Header.Get("Location"), tc.status, tc.location)
			}
			if tc.name == "ended session" && !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
				t.Errorf("the dead cookie is not cleared: %q", res.Header.Get("Set-Cookie"))
			}
			if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q", got)
			}
		})
	}
}

// TestTokenHandOff: ?token= with a live session's token (from Redfish)
// sets the cookie and reloads the page without it; a dead one goes to the
// login form.
func TestTokenHandOff(t *testing.T) {
	e := newEnv(t)
	tok := e.session("op")
	res := e.do(http.MethodGet, "/console/0?token="+tok+"&a=b", nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/0?a=b" {
		t.Fatalf("%d %q", res.StatusCode, res.Header.Get("Location"))
	}
	c := res.Cookies()
	if len(c) != 1 || c[0].Value != tok || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || c[0].Path != "/" {
		t.Errorf("cookie %+v", c)
	}
	res = e.do(http.MethodGet, "/console/0?token=dead", nil, nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login?next=%2Fconsole%2F0" {
		t.Errorf("dead token: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
}

func form(v url.Values) (io.Reader, map[string]string) {
	return strings.NewReader(v.Encode()), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
}

// TestLogin: the form opens a session in the shared table with a cookie
// of the right attributes and returns to next (never to another site);
// a refusal shows the form again with one message; another site's form
// is refused; logout ends the session.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	body, h := form(url.Values{"user": {"op"}, "password": {"password-op"}, "next": {"/console/0"}})
	res := e.do(http.MethodPost, "/console/login", body, h)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/0" {
		t.Fatalf("login: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	c := res.Cookies()
	if len(c) != 1 || c[0].Name != auth.TokenCookie || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode ||
		c[0].Path != "/" || c[0].Secure {
		t.Fatalf("cookie %+v (plain HTTP: not Secure)", c)
	}
	p, err := e.sessions.Lookup(c[0].Value)
	if err != nil || p.Account.UserName != "op" || len(e.sessions.List()) != 1 {
		t.Fatalf("the session: %+v %v", p, err)
	}
	if len(e.logins) != 1 || e.logins[0] != "op" {
		t.Errorf("OnLogin heard %v", e.logins)
	}
	if res := e.do(http.MethodGet, "/console/0", nil, cookie(c[0].Value)); res.StatusCode != http.StatusOK {
		t.Errorf("the page with the new cookie: %d", res.StatusCode)
	}

	for _, tc := range []struct{ name, user, pass string }{
		{"wrong password", "op", "nope"},
		{"unknown user", "nobody", "password-nobody"},
	} {
		body, h := form(url.Values{"user": {tc.user}, "password": {tc.pass}, "next": {"/console/0"}})
		res := e.do(http.MethodPost, "/console/login", body, h)
		page := readAll(t, res.Body)
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "Invalid user name or password.") ||
			len(res.Cookies()) != 0 || !strings.Contains(page, `value="/console/0"`) {
			t.Errorf("%s: %d %v", tc.name, res.StatusCode, res.Cookies())
		}
	}

	// Another site's form (login CSRF) is refused.
	body, h = form(url.Values{"user": {"op"}, "password": {"password-op"}})
	h["Sec-Fetch-Site"] = "cross-site"
	if res := e.do(http.MethodPost, "/console/login", body, h); res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site login: %d", res.StatusCode)
	}

	// Logout ends the session wherever it was made.
	res = e.do(http.MethodPost, "/console/logout", nil, cookie(c[0].Value))
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/login" {
		t.Errorf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := e.sessions.Lookup(c[0].Value); err == nil {
		t.Error("the session outlived the logout")
	}
	if cs := res.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("logout cookie %+v", cs)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/0":              "/console/0",
		"/console/0?x=1":          "/console/0?x=1",
		"/console/":               "/console/",
		"":                        "/console/",
		"/redfish/v1":             "/console/",
		"//evil.example/console/": "/console/",
		"https://evil.example/":   "/console/",
		"/console/\\evil":         "/console/",
		"/console/login":          "/console/",
		"/console/logout":         "/console/",
		"/console/0\r\nX: y":      "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBridge: /console/redfish/v1/... reaches Redfish with the cookie's
// token as X-Auth-Token (own credentials win), without the cookie;
// another site's request that changes something is refused; a 401 loses
// its Basic challenge.
func TestBridge(t *testing.T) {
	e := newEnv(t)
	tok := e.session("reader")
	for _, tc := range []struct {
		name, method string
		set          map[string]string
		status       int
		token, basic bool
	}{
		{"cookie", http.MethodGet, cookie(tok), http.StatusOK, true, false},
		{"same-origin PATCH", http.MethodPatch, map[string]string{"Cookie": auth.TokenCookie + "=" + tok, "Sec-Fetch-Site": "same-origin"}, http.StatusOK, true, false},
		{"Basic", http.MethodGet, map[string]string{"Authorization": "reader"}, http.StatusOK, false, true},
		{"cross-site PATCH", http.MethodPatch, map[string]string{"Cookie": auth.TokenCookie + "=" + tok, "Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(tc.method, "/console/redfish/v1/Systems/0?$select=Id", nil, tc.set)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status != http.StatusOK {
				select {
				case r := <-e.redfish:
					t.Errorf("%s reached Redfish", r.Method)
				default:
				}
				return
			}
			r := <-e.redfish
			if r.URL.Path != "/redfish/v1/Systems/0" || r.URL.RawQuery != "$select=Id" || r.Method != tc.method {
				t.Errorf("Redfish got %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
			}
			if got := r.Header.Get(auth.TokenHeader); (got == tok) != tc.token {
				t.Errorf("X-Auth-Token %q", got)
			}
			if _, _, ok := r.BasicAuth(); ok != tc.basic {
				t.Errorf("Basic credentials passed on: %v", ok)
			}
			if r.Header.Get("Cookie") != "" {
				t.Error("the cookie reached Redfish")
			}
		})
	}
	res := e.do(http.MethodGet, "/console/redfish/v1/Systems", nil, cookie("dead"))
	<-e.redfish
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("an ended session: %d, challenge %q", res.StatusCode, res.Header.Get("WWW-Authenticate"))
	}
}

var configRE = regexp.MustCompile(`(?s)<script type="application/json" id="config">(.*?)</script>`)

// pageConfig is the JSON a page hands its script.
func pageConfig(t *testing.T, page string) map[string]any {
	t.Helper()
	m := configRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no config in the page:\n%s", page)
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(m[1]), &cfg); err != nil {
		t.Fatalf("config %q: %v", m[1], err)
	}
	return cfg
}

// TestMachinePage: the page tells its script who the user is and what the
// controls may do (a ReadOnly account: nothing), and what the machine has.
func TestMachinePage(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		user           string
		control, media bool
	}{
		{"admin", true, true},
		{"op", true, false},
		{"reader", false, false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			res := e.do(http.MethodGet, "/console/0", nil, map[string]string{"Authorization": tc.user})
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			cfg := pageConfig(t, readAll(t, res.Body))
			u := cfg["user"].(map[string]any)
			if u["name"] != tc.user || u["control"] != tc.control || u["media"] != tc.media {
				t.Errorf("user %v", u)
			}
			s := cfg["system"].(map[string]any)
			if s["id"] != "0" || s["console"] != true || s["display"] != true || s["keyboard"] != true || s["serial"] != true || s["vnc"] != true {
				t.Errorf("system %v", s)
			}
		})
	}
	res := e.do(http.MethodGet, "/console/plug", nil, map[string]string{"Authorization": "reader"})
	s := pageConfig(t, readAll(t, res.Body))["system"].(map[string]any)
	if s["console"] != false || s["display"] != false {
		t.Errorf("a machine without a console: %v", s)
	}
	res = e.do(http.MethodGet, "/console/", nil, map[string]string{"Authorization": "reader"})
	systems := pageConfig(t, readAll(t, res.Body))["systems"].([]any)
	if len(systems) != 2 || systems[0].(map[string]any)["id"] != "0" || systems[1].(map[string]any)["id"] != "plug" {
		t.Errorf("the index lists %v", systems)
	}
}

// TestVendored: a build without the npm files says what it lacks; one
// with them offers noVNC once the console serves /kvm/{id}/vnc.
func TestVendored(t *testing.T) {
	base := fstest.MapFS{}
	for _, name := range []string{"templates/layout.html", "templates/login.html", "templates/index.html", "templates/machine.html", "static/console.js"} {
		b, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		base[name] = &fstest.MapFile{Data: b}
	}
	page := func(e *env) string {
		res := e.do(http.MethodGet, "/console/0", nil, map[string]string{"Authorization": "reader"})
		return html.UnescapeString(readAll(t, res.Body))
	}
	bare := newEnv(t, base)
	if p := page(bare); !strings.Contains(p, "lacks noVNC (@novnc/novnc) and xterm.js (@xterm/xterm)") ||
		pageConfig(t, p)["xterm"] != false {
		t.Errorf("a build without vendored files: %s", p)
	}
	full := fstest.MapFS{"static/" + noVNCModule: {Data: []byte("x")}, "static/" + xtermModule: {Data: []byte("x")}}
	for k, v := range base {
		full[k] = v
	}
	e := newEnv(t, full)
	p := page(e)
	if strings.Contains(p, "lacks") || pageConfig(t, p)["xterm"] != true {
		t.Errorf("a build with vendored files: %s", p)
	}
	// The console serves /kvm/{id}/vnc for every machine with a screen.
	if pageConfig(t, p)["system"].(map[string]any)["vnc"] != true {
		t.Error("noVNC not offered though /kvm/{id}/vnc is served")
	}
}

// TestStatic: the embedded files are served to anyone (the login form
// needs them) with an ETag that revalidates.
func TestStatic(t *testing.T) {
	e := newEnv(t)
	res := e.do(http.MethodGet, "/console/static/console.js", nil, nil)
	tag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || tag == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("console.js: %d %q %q", res.StatusCode, tag, res.Header.Get("Content-Type"))
	}
	if res := e.do(http.MethodGet, "/console/static/console.js", nil, map[string]string{"If-None-Match": tag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", res.StatusCode)
	}
	for _, p := range []string{"/console/static/nosuch.js", "/console/static/../web.go", "/console/static/vendor/"} {
		if res := e.do(http.MethodGet, p, nil, nil); res.StatusCode == http.StatusOK {
			t.Errorf("%s: %d", p, res.StatusCode)
		}
	}
}

// TestViewers: /kvm/{id}/viewers lists the input hub's clients, for any
// account that may log in.
func TestViewers(t *testing.T) {
	e := newEnv(t)
	if res := e.do(http.MethodGet, "/kvm/0/viewers", nil, nil); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", res.StatusCode)
	}
	c := e.h.cfg.Console.System("0").Input.Join("op@192.0.2.7", "websocket", true)
	defer c.Close()
	res := e.do(http.MethodGet, "/kvm/0/viewers", nil, map[string]string{"Authorization": "reader"})
	var v Viewers
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if len(v.Clients) != 1 || v.Clients[0].Name != "op@192.0.2.7#1" || !v.Clients[0].Controls || v.Controller != "op@192.0.2.7#1" {
		t.Errorf("viewers %+v", v)
	}
}

// TestJavaScript runs the scripts' unit tests (testdata/*_test.mjs) with
// node's test runner, when node is installed.
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the page scripts' unit tests do not run")
	}
	tests, err := filepath.Glob("testdata/*_test.mjs")
	if err != nil || len(tests) == 0 {
		t.Fatalf("no tests: %v", err)
	}
	out, err := exec.Command(node, append([]string{"--test"}, tests...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
