package main

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/store"
	"github.com/bmcd/bmcd/ipmi"
)

// TestIPMILoginAudit: IPMI logins land in the audit log as Redfish's do,
// with the source as an ipmi:// origin (bracketed for IPv6).
func TestIPMILoginAudit(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := audit.Open(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hook := ipmiLoginAudit(l)
	hook("admin", netip.MustParseAddr("192.0.2.7"), true)
	hook("admin", netip.MustParseAddr("2001:db8::7"), false)
	es := l.Entries()
	if len(es) != 2 {
		t.Fatalf("%d entries", len(es))
	}
	if e := es[0]; e.Message() != "Successful login of user 'admin' from '192.0.2.7' over 'IPMI'." || e.User != "admin" || e.Origin != "ipmi://192.0.2.7" {
		t.Errorf("success: %+v %q", e, e.Message())
	}
	if e := es[1]; e.Message() != "'2001:db8::7' provided invalid credentials over 'IPMI'." || e.User != "" || e.Origin != "ipmi://[2001:db8::7]" {
		t.Errorf("failure: %+v %q", e, e.Message())
	}
}

// TestIPMIAccountAudit: account changes over IPMI land in the audit log
// with Redfish's messages, the session's user and its source.
func TestIPMIAccountAudit(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := audit.Open(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hook := ipmiAccountAudit(l)
	src := netip.MustParseAddr("192.0.2.7")
	op := auth.Account{ID: 3, UserName: "oper", Role: auth.RoleOperator, Enabled: true}
	admin := op
	admin.Role = auth.RoleAdministrator
	hook(ipmi.AccountChange{User: "admin", Src: src, After: auth.Account{ID: 5, UserName: "carol", Role: auth.RoleReadOnly}, Created: true})
	hook(ipmi.AccountChange{User: "admin", Src: src, Before: op, After: admin})
	hook(ipmi.AccountChange{User: "admin", Src: netip.MustParseAddr("2001:db8::7"), Before: op, After: op, PasswordChanged: true})
	want := []struct{ id, msg, origin string }{
		{"AccountSecurity.1.0.AccountCreated", "Account 'carol' was created.", "ipmi://192.0.2.7"},
		{"AccountSecurity.1.0.ManagerAccountRoleChanged", "Account 'oper' has changed from role 'Operator' to 'Administrator'.", "ipmi://192.0.2.7"},
		{"AccountSecurity.1.0.PasswordModified", "The password for account 'oper' was changed.", "ipmi://[2001:db8::7]"},
	}
	es := l.Entries()
	if len(es) != len(want) {
		t.Fatalf("%d entries: %+v", len(es), es)
	}
	for i, w := range want {
		if e := es[i]; e.MessageID != w.id || e.Message() != w.msg || e.User != "admin" || e.Origin != w.origin {
			t.Errorf("entry %d: %+v %q, want %+v", i, e, e.Message(), w)
		}
	}
}
