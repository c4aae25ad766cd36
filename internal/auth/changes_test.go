package auth_test

import (
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
)

func TestOnChange(t *testing.T) {
	e := newEnv(t)
	var got []auth.Change
	cancel := e.a.OnChange(func(c auth.Change) { got = append(got, c) })

	admin := e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	u := e.create("user1", "userpass1", auth.RoleReadOnly, true)
	pw, role := "newpass12", auth.RoleOperator
	if _, err := e.a.Update(u.ID, auth.Update{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Update(u.ID, auth.Update{Role: &role}); err != nil {
		t.Fatal(err)
	}
	// Refused changes are not reported.
	if _, err := e.a.Create("user1", "userpass1", auth.RoleReadOnly, true); err == nil {
		t.Fatal("duplicate created")
	}
	if err := e.a.Delete(admin.ID); err == nil {
		t.Fatal("last admin deleted")
	}
	if err := e.a.Delete(u.ID); err != nil {
		t.Fatal(err)
	}
	want := []auth.Change{
		{Kind: auth.Created, Account: admin},
		{Kind: auth.Created, Account: u},
		{Kind: auth.Changed, Account: u, PasswordChanged: true},
		{Kind: auth.Changed, Account: auth.Account{ID: u.ID, UserName: "user1", Role: auth.RoleOperator, Enabled: true}},
		{Kind: auth.Removed, Account: auth.Account{ID: u.ID, UserName: "user1", Role: auth.RoleOperator, Enabled: true}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes reported, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change #%d: %+v, want %+v", i, got[i], want[i])
		}
	}
	cancel()
	cancel()
	e.create("user2", "userpass2", auth.RoleReadOnly, true)
	if len(got) != len(want) {
		t.Errorf("reported after cancel: %+v", got[len(want):])
	}
}
