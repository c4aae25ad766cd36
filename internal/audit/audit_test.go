package audit

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/store"
)

func openTemp(t *testing.T) (*store.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

func mustOpen(t *testing.T, db *store.DB) *Log {
	t.Helper()
	l, err := Open(db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMessages checks every message bmcd records against its registry: it
// exists, takes as many arguments as given, and renders without a
// placeholder left.
func TestMessages(t *testing.T) {
	for _, m := range []Message{
		SuccessfulLogin("admin", "192.0.2.7", Redfish), InvalidCredentials("192.0.2.7", IPMI),
		AccountCreated("u"), AccountRemoved("u"), AccountEnabled("u"), AccountDisabled("u"), AccountUnlocked("u"),
		PasswordModified("u"), RoleChanged("u", "Operator", "Administrator"), PropertyModified("/SessionTimeout", "600"),
		ManagerReset("0", "GracefulRestart"), LogCleared(Name),
	} {
		rm, ok := lookup(m.ID)
		if !ok {
			t.Errorf("%s is not in the embedded registries", m.ID)
			continue
		}
		if rm.NumberOfArgs != len(m.Args) {
			t.Errorf("%s takes %d arguments, given %d", m.ID, rm.NumberOfArgs, len(m.Args))
		}
		if txt := (Entry{MessageID: m.ID, Args: m.Args}).Message(); strings.Contains(txt, "%") {
			t.Errorf("%s renders %q", m.ID, txt)
		}
	}
	e := Entry{MessageID: SuccessfulLogin("admin", "192.0.2.7", IPMI).ID, Args: []string{"admin", "192.0.2.7", "IPMI"}}
	if e.MessageID != "AccountSecurity.1.0.SuccessfulLogin" || e.Message() != "Successful login of user 'admin' from '192.0.2.7' over 'IPMI'." ||
		e.Severity() != "OK" {
		t.Errorf("%s: %q %s", e.MessageID, e.Message(), e.Severity())
	}
	if s := (Entry{MessageID: InvalidCredentials("a", "b").ID}).Severity(); s != "Critical" {
		t.Errorf("InvalidCredentials severity %s", s)
	}
	// An argument holding a placeholder is not expanded again.
	if got := fill("'%1' and '%2'", []string{"%2", "x"}); got != "'%2' and 'x'" {
		t.Errorf("fill: %q", got)
	}
	if got := (Entry{MessageID: "Nope.1.0.X", Args: []string{"a"}}).Message(); got != "Nope.1.0.X a" {
		t.Errorf("unknown message renders %q", got)
	}
	ids := map[string]bool{}
	for _, r := range Registries() {
		ids[r.ID] = len(r.JSON) > 0
	}
	for _, want := range []string{"AccountSecurity.1.0.1", "ResourceEvent.1.4.3", "ManagerEvent.1.0.0", "LogService.1.1.0"} {
		if !ids[want] {
			t.Errorf("registry %s not embedded", want)
		}
	}
}

// TestLogPersistsAndIsBounded: entries survive a reopen, the log keeps the
// newest MaxEntries (in memory and in the store), and IDs only grow.
func TestLogPersistsAndIsBounded(t *testing.T) {
	db, path := openTemp(t)
	l := mustOpen(t, db)
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return clock }
	const n = MaxEntries + 6
	for i := range n {
		l.Record(AccountCreated("u"+string(rune('a'+i%26))), Actor{User: "admin", Origin: "https://192.0.2.7"})
	}
	got := l.Entries()
	if len(got) != MaxEntries || got[0].ID != 7 || got[len(got)-1].ID != n {
		t.Fatalf("%d entries, IDs %d..%d; want %d, 7..%d", len(got), got[0].ID, got[len(got)-1].ID, MaxEntries, n)
	}
	if e := got[0]; e.User != "admin" || e.Origin != "https://192.0.2.7" || !e.Created.Equal(clock) || e.Message() != "Account 'ug' was created." {
		t.Errorf("entry %+v %q", e, e.Message())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	again := mustOpen(t, db)
	re := again.Entries()
	if len(re) != MaxEntries || re[0].ID != 7 || re[len(re)-1].Message() != got[len(got)-1].Message() {
		t.Fatalf("after reopen: %d entries from %d", len(re), re[0].ID)
	}
	if err := again.Clear(Actor{User: "root"}); err != nil {
		t.Fatal(err)
	}
	c := again.Entries()
	if len(c) != 1 || c[0].MessageID != "LogService.1.1.LogCleared" || c[0].User != "root" || c[0].ID != n+1 ||
		c[0].Message() != "Log 'Audit Log' was cleared." {
		t.Errorf("after Clear: %+v", c)
	}
	if again2 := mustOpen(t, db); len(again2.Entries()) != 1 {
		t.Errorf("Clear not durable: %d entries", len(again2.Entries()))
	}
}

// TestNilLog: a service without a log records nothing and fails nothing.
func TestNilLog(t *testing.T) {
	var l *Log
	l.Record(AccountCreated("u"), Actor{})
	if l.Entries() != nil || l.Clear(Actor{}) != nil {
		t.Error("nil log is not empty")
	}
}

// TestAccountChanges: one message per property that changed, in a fixed
// order, naming the account by its new name; a password is reported when
// set, never compared.
func TestAccountChanges(t *testing.T) {
	op := auth.Account{ID: 3, UserName: "op", Role: auth.RoleOperator, Enabled: true}
	with := func(f func(a *auth.Account)) auth.Account { a := op; f(&a); return a }
	for _, tc := range []struct {
		name          string
		before, after auth.Account
		password      bool
		want          []string
	}{
		{"nothing", op, op, false, nil},
		{"password only", op, op, true, []string{"The password for account 'op' was changed."}},
		{"renamed", op, with(func(a *auth.Account) { a.UserName = "ipmiuser" }), false,
			[]string{"PropertyValueModifiedByClient /UserName=ipmiuser"}},
		{"promoted", op, with(func(a *auth.Account) { a.Role = auth.RoleAdministrator }), false,
			[]string{"Account 'op' has changed from role 'Operator' to 'Administrator'."}},
		{"disabled", op, with(func(a *auth.Account) { a.Enabled = false }), false,
			[]string{"Account 'op' was disabled."}},
		{"enabled", with(func(a *auth.Account) { a.Enabled = false }), op, false,
			[]string{"Account 'op' was enabled."}},
		{"unlocked", with(func(a *auth.Account) { a.Locked = true }), op, false,
			[]string{"Account 'op' was unlocked by an administrator."}},
		{"all at once", op, auth.Account{ID: 3, UserName: "x", Role: auth.RoleReadOnly}, true, []string{
			"PropertyValueModifiedByClient /UserName=x", "The password for account 'x' was changed.",
			"Account 'x' has changed from role 'Operator' to 'ReadOnly'.", "Account 'x' was disabled."}},
	} {
		var got []string
		for _, m := range AccountChanges(tc.before, tc.after, tc.password) {
			if strings.HasSuffix(m.ID, ".PropertyValueModifiedByClient") {
				got = append(got, "PropertyValueModifiedByClient "+strings.Join(m.Args, "="))
				continue
			}
			got = append(got, Entry{MessageID: m.ID, Args: m.Args}.Message())
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
