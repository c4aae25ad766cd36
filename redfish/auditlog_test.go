package redfish

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// auditEntries returns the AuditLog entries as the Manager serves them.
func (e *env) auditEntries(mgr string) []any {
	e.tb.Helper()
	c := e.get(managerPath(mgr) + "/LogServices/AuditLog/Entries").obj()
	members, _ := c["Members"].([]any)
	return members
}

// lastAudit is the newest AuditLog entry's MessageId key, args, Username
// and OriginAddress.
func (e *env) lastAudit() (key string, args []string, user, origin any) {
	e.tb.Helper()
	es := e.auditEntries("0")
	if len(es) == 0 {
		e.tb.Fatal("audit log is empty")
	}
	last := es[len(es)-1]
	id, _ := at(last, "MessageId").(string)
	for _, a := range at(last, "MessageArgs").([]any) {
		args = append(args, a.(string))
	}
	return id[strings.LastIndexByte(id, '.')+1:], args, at(last, "Username"), at(last, "OriginAddress")
}

func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	const mgr = "/redfish/v1/Managers/0"
	if at(e.get(mgr).obj(), "LogServices", "@odata.id") != mgr+"/LogServices" {
		t.Fatal("Manager does not link LogServices")
	}
	svc := e.get(mgr + "/LogServices/AuditLog").obj()
	if svc["LogEntryType"] != "Event" || svc["MaxNumberOfRecords"] != 1024.0 || svc["OverWritePolicy"] != "WrapsWhenFull" ||
		at(svc, "LogPurposes", 0) != "Security" {
		t.Errorf("AuditLog %v", svc)
	}
	acct := accountPath(e.ids[operUser])
	for _, step := range []struct {
		name   string
		do     func()
		key    string
		args   string
		user   any
		origin any
	}{
		{"session login", func() { e.login(operUser, operPass) },
			"SuccessfulLogin", operUser + "|192.0.2.1|Redfish", operUser, "http://192.0.2.1"},
		{"failed Basic login", func() { e.get("/redfish/v1/Systems", basic(operUser, "wrong-pass")).want(http.StatusUnauthorized) },
			"InvalidCredentials", "192.0.2.1|Redfish", nil, "http://192.0.2.1"},
		{"failed session login", func() {
			e.post("/redfish/v1/SessionService/Sessions", M{"UserName": "nobody", "Password": "x"}, anonymous()).want(http.StatusUnauthorized)
		}, "InvalidCredentials", "192.0.2.1|Redfish", nil, "http://192.0.2.1"},
		{"account created", func() {
			e.post(accountsPath, M{"UserName": "newbie", "Password": "newbie-pw1", "RoleId": "ReadOnly"}).want(http.StatusCreated)
		}, "AccountCreated", "newbie", adminUser, "http://192.0.2.1"},
		{"password", func() { e.patch(acct, M{"Password": "another-pw1"}).want(http.StatusNoContent) },
			"PasswordModified", operUser, adminUser, "http://192.0.2.1"},
		{"role", func() { e.patch(acct, M{"RoleId": "ReadOnly"}).want(http.StatusNoContent) },
			"ManagerAccountRoleChanged", operUser + "|Operator|ReadOnly", adminUser, "http://192.0.2.1"},
		{"disabled", func() { e.patch(acct, M{"Enabled": false}).want(http.StatusNoContent) },
			"AccountDisabled", operUser, adminUser, "http://192.0.2.1"},
		{"enabled", func() { e.patch(acct, M{"Enabled": true}).want(http.StatusNoContent) },
			"AccountEnabled", operUser, adminUser, "http://192.0.2.1"},
		{"renamed", func() { e.patch(acct, M{"UserName": "oper2"}).want(http.StatusNoContent) },
			"PropertyValueModifiedByClient", "/UserName|oper2", adminUser, "http://192.0.2.1"},
		{"removed", func() { e.delete(acct).want(http.StatusNoContent) },
			"AccountRemoved", "oper2", adminUser, "http://192.0.2.1"},
		{"session timeout", func() { e.patch("/redfish/v1/SessionService", M{"SessionTimeout": 600}).want(http.StatusNoContent) },
			"PropertyValueModifiedByClient", "/SessionTimeout|600", adminUser, "http://192.0.2.1"},
		{"manager reset", func() {
			e.post(mgr+"/Actions/Manager.Reset", M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
		},
			"ManagerReset", "0|ForceRestart", adminUser, "http://192.0.2.1"},
		{"manager reset without type", func() { e.post("/redfish/v1/Managers/1/Actions/Manager.Reset", "").want(http.StatusNoContent) },
			"ManagerReset", "1|GracefulRestart", adminUser, "http://192.0.2.1"},
	} {
		before := len(e.auditEntries("0"))
		step.do()
		if n := len(e.auditEntries("0")); n != before+1 {
			t.Errorf("%s: %d new entries, want 1", step.name, n-before)
		}
		key, args, user, origin := e.lastAudit()
		if key != step.key || strings.Join(args, "|") != step.args || user != step.user || origin != step.origin {
			t.Errorf("%s: %s %q user %v origin %v; want %s %q user %v origin %v",
				step.name, key, args, user, origin, step.key, step.args, step.user, step.origin)
		}
	}
	// A change to the same value changes nothing and logs nothing; a
	// request that fails logs nothing.
	before := len(e.auditEntries("0"))
	e.patch("/redfish/v1/SessionService", M{"SessionTimeout": 600}).want(http.StatusNoContent)
	e.patch("/redfish/v1/SessionService", M{"SessionTimeout": 5}).want(http.StatusBadRequest)
	e.post(accountsPath, M{"UserName": adminUser, "Password": "whatever1", "RoleId": "ReadOnly"}).want(http.StatusConflict)
	if n := len(e.auditEntries("0")); n != before {
		t.Errorf("%d entries for changes that did not happen", n-before)
	}

	// Every manager shows the one log, at its own URIs.
	m0, m1 := e.auditEntries("0"), e.auditEntries("1")
	if len(m0) != len(m1) || at(m0[0], "Id") != at(m1[0], "Id") ||
		at(m1[0], "@odata.id") != "/redfish/v1/Managers/1/LogServices/AuditLog/Entries/"+at(m1[0], "Id").(string) {
		t.Errorf("manager 1 shows another log: %v / %v", m0[0], m1[0])
	}
	one := e.get(at(m0[0], "@odata.id").(string)).obj()
	if one["EntryType"] != "Event" || one["Severity"] != "OK" || one["Message"] == "" || one["Created"] == nil {
		t.Errorf("entry %v", one)
	}
	e.get(mgr+"/LogServices/AuditLog/Entries/999999").wantError(http.StatusNotFound, "ResourceNotFound")
	e.get(mgr+"/LogServices/AuditLog/Entries/x").wantError(http.StatusNotFound, "ResourceNotFound")

	// ClearLog takes ConfigureManager and leaves who cleared it.
	const clearLog = mgr + "/LogServices/AuditLog/Actions/LogService.ClearLog"
	e.post(clearLog, "{}", asReader()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.post(clearLog, "").want(http.StatusNoContent)
	es := e.auditEntries("1")
	if len(es) != 1 || at(es[0], "MessageId") != "LogService.1.1.LogCleared" || at(es[0], "Username") != adminUser {
		t.Errorf("after ClearLog: %v", es)
	}
}

// TestAuditRegistries: the registries of the audit messages are served
// beside Base, so a client can look a MessageId up.
func TestAuditRegistries(t *testing.T) {
	e := newEnv(t)
	c := e.get("/redfish/v1/Registries").obj()
	if c["Members@odata.count"].(float64) < 5 {
		t.Errorf("registries %v", c["Members"])
	}
	for _, p := range []string{"Base", "AccountSecurity", "ResourceEvent", "ManagerEvent", "LogService"} {
		f := e.get("/redfish/v1/Registries/" + p).obj()
		uri, _ := at(f, "Location", 0, "Uri").(string)
		raw := e.get(uri).want(http.StatusOK).Body
		var reg struct{ Id, RegistryPrefix string }
		if err := json.Unmarshal(raw, &reg); err != nil || reg.RegistryPrefix != p || !strings.HasPrefix(reg.Id, f["Registry"].(string)+".") {
			t.Errorf("%s: Registry %v, file %s %s (%v)", p, f["Registry"], reg.RegistryPrefix, reg.Id, err)
		}
	}
}
