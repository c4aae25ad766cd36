package main

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/store"
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
