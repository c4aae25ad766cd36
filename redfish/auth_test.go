package redfish

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

const sessionsURI = "/redfish/v1/SessionService/Sessions"

func TestBasicAuth(t *testing.T) {
	e := newEnv(t)
	for _, u := range [][2]string{{adminUser, adminPass}, {operUser, operPass}, {roUser, roPass}} {
		e.get("/redfish/v1/Systems/0", basic(u[0], u[1])).want(http.StatusOK)
		e.get("/redfish/v1/Systems/0", basic(u[0], u[1]+"x")).wantError(http.StatusUnauthorized, "AccessUnauthorized")
	}
	e.get("/redfish/v1/Systems/0", header("Authorization", "Bearer abc"), anonymous()).want(http.StatusUnauthorized)
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.post(sessionsURI, M{"UserName": operUser, "Password": operPass}, anonymous()).want(http.StatusCreated)
	tok, loc := r.Header.Get("X-Auth-Token"), r.Header.Get("Location")
	if len(tok) < 32 || !strings.HasPrefix(loc, sessionsURI+"/") {
		t.Fatalf("token %q, Location %q", tok, loc)
	}
	body := r.obj()
	if body["@odata.id"] != loc || body["UserName"] != operUser {
		t.Errorf("session body %v", body)
	}
	if _, ok := body["Password"]; ok && body["Password"] != nil {
		t.Error("session body shows the password")
	}
	if strings.Contains(string(r.Body), tok) {
		t.Error("session body shows the token")
	}
	e.get("/redfish/v1/Systems/0", token(tok)).want(http.StatusOK)
	e.get(loc, token(tok)).want(http.StatusOK)
	coll := e.get(sessionsURI, token(tok)).obj()
	if at(coll, "Members@odata.count") != float64(1) || at(coll, "Members", 0, "@odata.id") != loc {
		t.Errorf("sessions: %v", coll)
	}
	// Privileges follow the session's account.
	e.post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", M{"ResetType": "On"}, token(tok)).want(http.StatusNoContent)
	e.post("/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia", M{"Image": "http://127.0.0.1:1/x.iso"}, token(tok)).
		wantError(http.StatusForbidden, "InsufficientPrivilege")

	e.delete(loc, token(tok)).want(http.StatusNoContent)
	e.get("/redfish/v1/Systems/0", token(tok)).wantError(http.StatusUnauthorized, "NoValidSession")
	e.get(loc).want(http.StatusNotFound)
	e.delete(loc).want(http.StatusNotFound)
}

func TestLoginFailures(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
	}{
		{"wrong password", M{"UserName": adminUser, "Password": "nope-nope"}, 401, "AccessUnauthorized"},
		{"unknown user", M{"UserName": "ghost", "Password": adminPass}, 401, "AccessUnauthorized"},
		{"empty password", M{"UserName": adminUser, "Password": ""}, 401, "AccessUnauthorized"},
		{"no password", M{"UserName": adminUser}, 400, "CreateFailedMissingReqProperties"},
		{"no user", M{"Password": adminPass}, 400, "CreateFailedMissingReqProperties"},
		{"empty object", "{}", 400, "EmptyJSON"},
		{"empty body", "", 400, "EmptyJSON"},
		{"malformed", `{"UserName":`, 400, "MalformedJSON"},
		{"array", `[]`, 400, "UnrecognizedRequestBody"},
		{"wrong type", M{"UserName": 7, "Password": adminPass}, 400, "PropertyValueTypeError"},
		{"unknown property", M{"UserName": adminUser, "Password": adminPass, "Token": "x"}, 400, "PropertyUnknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).post(sessionsURI, tc.body, anonymous()).wantError(tc.code, tc.key)
			if r.Header.Get("X-Auth-Token") != "" {
				t.Error("a failed login returned a token")
			}
		})
	}
	if n := len(e.svc.sessions.List()); n != 0 {
		t.Errorf("%d sessions after failed logins", n)
	}
	if got := e.post(sessionsURI, M{"UserName": adminUser}, anonymous()).args(); len(got) != 1 || got[0] != "Password" {
		t.Errorf("CreateFailedMissingReqProperties args %q", got)
	}
	// A disabled account cannot log in.
	e.patch(accountPath(e.ids[operUser]), M{"Enabled": false}).want(http.StatusNoContent)
	e.post(sessionsURI, M{"UserName": operUser, "Password": operPass}, anonymous()).wantError(http.StatusUnauthorized, "AccessUnauthorized")
}

func TestSessionIdleTimeout(t *testing.T) {
	e := newEnv(t)
	e.patch("/redfish/v1/SessionService", M{"SessionTimeout": 30}).want(http.StatusNoContent)
	if got := e.get("/redfish/v1/SessionService").obj()["SessionTimeout"]; got != float64(30) {
		t.Fatalf("SessionTimeout = %v", got)
	}
	tok, loc := e.login(roUser, roPass)
	for range 5 { // each use restarts the idle timer
		e.clock.advance(29 * time.Second)
		e.get("/redfish/v1/Systems", token(tok)).want(http.StatusOK)
		e.get("/redfish/v1/Systems", token(tok)).want(http.StatusOK)
	}
	e.clock.advance(31 * time.Second)
	e.get("/redfish/v1/Systems", token(tok)).wantError(http.StatusUnauthorized, "NoValidSession")
	e.get(loc).want(http.StatusNotFound)
	// Expired sessions leave the collection even if nobody uses them.
	e.login(roUser, roPass)
	e.clock.advance(31 * time.Second)
	if n := at(e.get(sessionsURI).obj(), "Members@odata.count"); n != float64(0) {
		t.Errorf("%v sessions listed after expiry", n)
	}
}

func TestSessionTimeoutRange(t *testing.T) {
	e := newEnv(t)
	const ss = "/redfish/v1/SessionService"
	for _, tc := range []struct {
		body any
		code int
		key  string
	}{
		{M{"SessionTimeout": 30}, 204, ""},
		{M{"SessionTimeout": 86400}, 204, ""},
		{M{"SessionTimeout": 600}, 204, ""},
		{M{"SessionTimeout": 29}, 400, "PropertyValueOutOfRange"},
		{M{"SessionTimeout": 86401}, 400, "PropertyValueOutOfRange"},
		{M{"SessionTimeout": 0}, 400, "PropertyValueOutOfRange"},
		{M{"SessionTimeout": -1}, 400, "PropertyValueOutOfRange"},
		{M{"SessionTimeout": 1e300}, 400, "PropertyValueTypeError"},
		{M{"SessionTimeout": 60.5}, 400, "PropertyValueTypeError"},
		{M{"SessionTimeout": "60"}, 400, "PropertyValueTypeError"},
		{M{"ServiceEnabled": false}, 400, "PropertyNotWritable"},
		{M{"Sessions": M{}}, 400, "PropertyNotWritable"},
		{M{"Bogus": 1}, 400, "PropertyUnknown"},
	} {
		r := e.patch(ss, tc.body)
		if tc.key == "" {
			r.want(tc.code)
		} else {
			r.wantError(tc.code, tc.key)
		}
	}
	if got := e.get(ss).obj()["SessionTimeout"]; got != float64(600) {
		t.Errorf("SessionTimeout = %v, want 600 (the last valid PATCH)", got)
	}
	r := e.patch(ss, M{"SessionTimeout": 29}).args()
	if r[0] != "29" || r[1] != "/SessionTimeout" {
		t.Errorf("PropertyValueOutOfRange args %q", r)
	}
	e.patch(ss, M{"SessionTimeout": 60}, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(ss, M{"SessionTimeout": 60}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
}

// TestPrivileges is the privilege table for the predefined roles.
func TestPrivileges(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	const (
		sys    = "/redfish/v1/Systems/0"
		reset  = sys + "/Actions/ComputerSystem.Reset"
		insert = "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia"
		eject  = "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia"
		accts  = "/redfish/v1/AccountService/Accounts"
	)
	newAccount := func(name string) M { return M{"UserName": name, "Password": "password1", "RoleId": "ReadOnly"} }
	for _, tc := range []struct {
		who    string
		opt    reqOpt
		method string
		path   string
		body   any
		code   int
	}{
		{"reader", asReader(), "GET", sys, nil, 200},
		{"reader", asReader(), "GET", "/redfish/v1/Managers/0/VirtualMedia/CD", nil, 200},
		{"reader", asReader(), "PATCH", sys, M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}}, 403},
		{"reader", asReader(), "POST", reset, M{"ResetType": "On"}, 403},
		{"reader", asReader(), "POST", insert, M{"Image": img.URL + "/ok.iso"}, 403},
		{"reader", asReader(), "POST", eject, "{}", 403},
		{"reader", asReader(), "PATCH", sys + "/Bios/Settings", M{"Attributes": M{"ProcTurboMode": "Disabled"}}, 403},
		{"reader", asReader(), "POST", accts, newAccount("r1"), 403},
		{"reader", asReader(), "POST", sys + "/LogServices/EventLog/Actions/LogService.ClearLog", "{}", 403},
		{"reader", asReader(), "POST", "/redfish/v1/Managers/0/Actions/Manager.Reset", "{}", 403},
		{"reader", asReader(), "DELETE", accountPath(e.ids[operUser]), nil, 403},
		{"operator", asOperator(), "PATCH", sys, M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}}, 204},
		{"operator", asOperator(), "POST", reset, M{"ResetType": "On"}, 204},
		{"operator", asOperator(), "PATCH", sys + "/Bios/Settings", M{"Attributes": M{"ProcTurboMode": "Disabled"}}, 204},
		{"operator", asOperator(), "PATCH", sys + "/SecureBoot", M{"SecureBootEnable": true}, 204},
		{"operator", asOperator(), "POST", insert, M{"Image": img.URL + "/ok.iso"}, 403},
		{"operator", asOperator(), "PATCH", "/redfish/v1/Managers/0/VirtualMedia/CD", M{"Image": img.URL + "/ok.iso"}, 403},
		{"operator", asOperator(), "POST", accts, newAccount("o1"), 403},
		{"operator", asOperator(), "POST", "/redfish/v1/Managers/0/Actions/Manager.Reset", "{}", 403},
		{"operator", asOperator(), "PATCH", accountPath(e.ids[roUser]), M{"Enabled": false}, 404},
		{"admin", asAdmin(), "POST", insert, M{"Image": img.URL + "/ok.iso"}, 204},
		{"admin", asAdmin(), "POST", accts, newAccount("a1"), 201},
		{"admin", asAdmin(), "POST", "/redfish/v1/Managers/0/Actions/Manager.Reset", "{}", 204},
	} {
		r := e.do(tc.method, tc.path, tc.body, tc.opt)
		if r.Code != tc.code {
			t.Errorf("%s %s %s: %d, want %d\n%s", tc.who, tc.method, tc.path, r.Code, tc.code, r.Body)
		}
		if tc.code == 403 {
			r.wantError(403, "InsufficientPrivilege")
		}
	}
	if _, ok := e.accounts.ByName("r1"); ok {
		t.Error("ReadOnly created an account")
	}
	if _, ok := e.accounts.ByName("o1"); ok {
		t.Error("Operator created an account")
	}
}

func TestConfigureSelf(t *testing.T) {
	e := newEnv(t)
	self := accountPath(e.ids[roUser])
	other := accountPath(e.ids[operUser])
	tok, _ := e.login(roUser, roPass)
	e.patch(self, M{"RoleId": "Administrator"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(self, M{"UserName": "newname"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(self, M{"Enabled": false}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(self, M{"Password": "newpass99", "RoleId": "Administrator"}, asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.patch(other, M{"Password": "newpass99"}, asReader()).wantError(http.StatusNotFound, "ResourceNotFound")
	e.patch(self, M{"Password": "short"}, asReader()).wantError(http.StatusBadRequest, "PasswordIncorrectLength")
	e.get("/redfish/v1/Systems", token(tok)).want(http.StatusOK)

	e.patch(self, M{"Password": "newpass99"}, asReader()).want(http.StatusNoContent)
	e.get(self, asReader()).wantError(http.StatusUnauthorized, "AccessUnauthorized")
	e.get(self, basic(roUser, "newpass99")).want(http.StatusOK)
	e.get("/redfish/v1/Systems", token(tok)).wantError(http.StatusUnauthorized, "NoValidSession") // its sessions ended
	if e.get(self, basic(roUser, "newpass99")).obj()["RoleId"] != "ReadOnly" {
		t.Error("role changed")
	}
	// The Operator may change its own password too, and nothing else.
	e.patch(other, M{"Password": "operpass2"}, asOperator()).want(http.StatusNoContent)
	e.patch(other, M{"Locked": false}, basic(operUser, "operpass2")).want(http.StatusForbidden)
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	opTok, opSes := e.login(operUser, operPass)
	roTok, roSes := e.login(roUser, roPass)
	_, adSes := e.login(adminUser, adminPass)

	// Accounts: one's own only.
	for _, u := range []struct{ name, tok string }{{operUser, opTok}, {roUser, roTok}} {
		c := e.get("/redfish/v1/AccountService/Accounts", token(u.tok)).obj()
		if at(c, "Members@odata.count") != float64(1) || at(c, "Members", 0, "@odata.id") != accountPath(e.ids[u.name]) {
			t.Errorf("%s sees accounts %v", u.name, c["Members"])
		}
		for name, id := range e.ids {
			r := e.get(accountPath(id), token(u.tok))
			if name == u.name {
				r.want(http.StatusOK)
			} else {
				r.wantError(http.StatusNotFound, "ResourceNotFound")
			}
		}
	}
	if n := at(e.get("/redfish/v1/AccountService/Accounts").obj(), "Members@odata.count"); n != float64(3) {
		t.Errorf("admin sees %v accounts", n)
	}
	// Sessions: one's own only.
	c := e.get(sessionsURI, token(roTok)).obj()
	if at(c, "Members@odata.count") != float64(1) || at(c, "Members", 0, "@odata.id") != roSes {
		t.Errorf("reader sees sessions %v", c["Members"])
	}
	e.get(opSes, token(roTok)).wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(adSes, token(roTok)).want(http.StatusNotFound)
	e.delete(opSes, token(roTok)).want(http.StatusNotFound)
	e.get("/redfish/v1/Systems", token(opTok)).want(http.StatusOK) // still alive
	if n := at(e.get(sessionsURI).obj(), "Members@odata.count"); n != float64(3) {
		t.Errorf("admin sees %v sessions", n)
	}
	// An Administrator may end anyone's session.
	e.delete(opSes).want(http.StatusNoContent)
	e.get("/redfish/v1/Systems", token(opTok)).want(http.StatusUnauthorized)
}

func TestLastAdministrator(t *testing.T) {
	e := newEnv(t)
	admin := accountPath(e.ids[adminUser])
	e.delete(admin).wantError(http.StatusConflict, "ResourceCannotBeDeleted")
	r := e.patch(admin, M{"RoleId": "Operator"}).wantError(http.StatusConflict, "PropertyValueResourceConflict")
	if got := strings.Join(r.args(), "|"); got != "RoleId|Operator|/redfish/v1/AccountService/Accounts" {
		t.Errorf("PropertyValueResourceConflict args %q", got)
	}
	r = e.patch(admin, M{"Enabled": false}).wantError(http.StatusConflict, "PropertyValueResourceConflict")
	if got := strings.Join(r.args(), "|"); got != "Enabled|false|/redfish/v1/AccountService/Accounts" {
		t.Errorf("PropertyValueResourceConflict args %q", got)
	}
	if a, _ := e.accounts.ByName(adminUser); a.Role != "Administrator" || !a.Enabled {
		t.Fatalf("last admin changed: %+v", a)
	}
	// With a second Administrator the first may go.
	e.post("/redfish/v1/AccountService/Accounts", M{"UserName": "admin2", "Password": "admin2pass", "RoleId": "Administrator"}).want(http.StatusCreated)
	e.patch(admin, M{"RoleId": "Operator"}).want(http.StatusNoContent)
	a2, _ := e.accounts.ByName("admin2")
	e.delete(accountPath(a2.ID), basic("admin2", "admin2pass")).wantError(http.StatusConflict, "ResourceCannotBeDeleted")
	e.patch(accountPath(a2.ID), M{"Enabled": false}, basic("admin2", "admin2pass")).want(http.StatusConflict)
}

func TestAccountChangesEndSessions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env, path string) *resp
		ends   bool
	}{
		{"password", func(e *env, p string) *resp { return e.patch(p, M{"Password": "changed123"}) }, true},
		{"disable", func(e *env, p string) *resp { return e.patch(p, M{"Enabled": false}) }, true},
		{"delete", func(e *env, p string) *resp { return e.delete(p) }, true},
		{"role", func(e *env, p string) *resp { return e.patch(p, M{"RoleId": "ReadOnly"}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tok, _ := e.login(operUser, operPass)
			other, _ := e.login(roUser, roPass)
			tc.change(e, accountPath(e.ids[operUser])).want(http.StatusNoContent)
			r := e.get("/redfish/v1/Systems", token(tok))
			if tc.ends {
				r.wantError(http.StatusUnauthorized, "NoValidSession")
			} else {
				r.want(http.StatusOK)
			}
			e.get("/redfish/v1/Systems", token(other)).want(http.StatusOK)
		})
	}
	// A demoted account's session loses the privileges at once.
	e := newEnv(t)
	tok, _ := e.login(operUser, operPass)
	e.patch(accountPath(e.ids[operUser]), M{"RoleId": "ReadOnly"}).want(http.StatusNoContent)
	e.post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", M{"ResetType": "On"}, token(tok)).
		wantError(http.StatusForbidden, "InsufficientPrivilege")
}

func TestSessionLimit(t *testing.T) {
	e := newEnv(t)
	first, _ := e.login(roUser, roPass)
	for i := range auth.MaxSessions {
		e.clock.advance(time.Millisecond)
		e.svc.sessions.Create(mustAccount(t, e, adminUser), "192.0.2."+strconv.Itoa(i%250))
	}
	// The idlest session (the first) was evicted; new logins still work.
	e.get("/redfish/v1/Systems", token(first)).want(http.StatusUnauthorized)
	tok, _ := e.login(roUser, roPass)
	e.get("/redfish/v1/Systems", token(tok)).want(http.StatusOK)
	if n := len(e.svc.sessions.List()); n != auth.MaxSessions {
		t.Errorf("%d sessions, want %d", n, auth.MaxSessions)
	}
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	e := newEnv(t)
	for range auth.DefaultFailureBurst {
		e.get(sys0, basic(operUser, "wrong-password")).wantError(http.StatusUnauthorized, "AccessUnauthorized")
	}
	// The right password no longer helps this user from this address...
	e.get(sys0, asOperator()).wantError(http.StatusUnauthorized, "AccessUnauthorized")
	e.post("/redfish/v1/SessionService/Sessions", M{"UserName": operUser, "Password": operPass}, anonymous()).
		wantError(http.StatusUnauthorized, "AccessUnauthorized")
	// ...but other accounts carry on.
	e.get(sys0, asAdmin()).want(http.StatusOK)
}

// TestSessionTokenOpensOtherFrontDoors: with the session table shared
// (Config.Sessions), a token from a Redfish login opens a handler that is
// no part of Redfish (the console), under that handler's own gate, and a
// Redfish logout closes it there too.
func TestSessionTokenOpensOtherFrontDoors(t *testing.T) {
	e := newEnv(t)
	shared := auth.NewSessions(e.accounts, 0)
	t.Cleanup(shared.Close)
	svc := New(Config{Accounts: e.accounts, Sessions: shared, Log: slog.New(slog.DiscardHandler), Audit: e.audit})
	t.Cleanup(svc.Close)
	login := func(user, pass string) (tok, loc string) {
		req := httptest.NewRequest(http.MethodPost, sessionsURI, strings.NewReader(`{"UserName":"`+user+`","Password":"`+pass+`"}`))
		rec := httptest.NewRecorder()
		svc.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Fatalf("login %s: %d %s", user, rec.Code, rec.Body)
		}
		return rec.Header().Get("X-Auth-Token"), rec.Header().Get("Location")
	}
	opTok, opLoc := login(operUser, operPass)
	roTok, _ := login(roUser, roPass)

	console := &auth.Gate{Accounts: e.accounts, Sessions: shared, Tokens: auth.BrowserTokens}
	h := console.Require(auth.PrivConfigureComponents)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		_, _ = w.Write([]byte(p.Account.UserName + " " + sessionPath(p.Session)))
	}))
	open := func(tok string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/console", nil)
		req.AddCookie(&http.Cookie{Name: auth.TokenCookie, Value: tok})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := open(opTok); rec.Code != http.StatusOK || rec.Body.String() != operUser+" "+opLoc {
		t.Errorf("operator's Redfish token at the console: %d %q", rec.Code, rec.Body)
	}
	if rec := open(roTok); rec.Code != http.StatusForbidden {
		t.Errorf("reader's Redfish token at the console, ConfigureComponents: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodDelete, opLoc, nil)
	req.Header.Set("X-Auth-Token", opTok)
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("Redfish logout: %d", rec.Code)
	}
	if rec := open(opTok); rec.Code != http.StatusUnauthorized {
		t.Errorf("the console still takes a token Redfish logged out: %d", rec.Code)
	}
	// The service does not close a table it was given.
	svc.Close()
	e.patch(accountPath(e.ids[roUser]), M{"Enabled": false}).want(http.StatusNoContent)
	if len(shared.List()) != 0 {
		t.Error("a disabled account's session outlived the service's Close")
	}
}

// TestGateRefusesAsRedfish: a handler behind the service's gate
// (gate.Require) is refused exactly as a Redfish resource is.
func TestGateRefusesAsRedfish(t *testing.T) {
	e := newEnv(t)
	h := e.svc.gate.Require(auth.PrivConfigureManager)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("OData-Version", "4.0")
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		name string
		opt  reqOpt
		code int
		key  string
	}{
		{"admin", asAdmin(), 204, ""},
		{"operator", asOperator(), 403, "InsufficientPrivilege"},
		{"wrong password", basic(adminUser, "wrong-pass"), 401, "AccessUnauthorized"},
		{"unknown token", token("0123"), 401, "NoValidSession"},
		{"nothing", anonymous(), 401, "NoValidSession"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := e.with(t).patch("/redfish/v1/SessionService", M{"SessionTimeout": 600}, tc.opt).want(tc.code)
			req := httptest.NewRequest(http.MethodPatch, "/elsewhere", nil)
			tc.opt(req)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := &resp{tb: t, method: "PATCH", path: "/elsewhere", Code: rec.Code, Header: rec.Result().Header, Body: rec.Body.Bytes()}
			got.want(tc.code)
			if tc.key != "" {
				got.wantError(tc.code, tc.key)
				if string(got.Body) != string(want.Body) || got.Header.Get("WWW-Authenticate") != want.Header.Get("WWW-Authenticate") ||
					got.Header.Get("OData-Version") != "4.0" {
					t.Errorf("gate answered %v %s\nresource answered %v %s", got.Header, got.Body, want.Header, want.Body)
				}
			}
		})
	}
}
