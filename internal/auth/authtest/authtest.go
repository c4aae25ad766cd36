// Package authtest sets up the HTTP front door for tests of the packages
// behind it: a state store, accounts of each role and the gate.
package authtest

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/store"
)

// Users are the accounts Open creates, by role; each one's password is
// Password(name).
var Users = map[string]auth.Role{"admin": auth.RoleAdministrator, "op": auth.RoleOperator, "reader": auth.RoleReadOnly}

// Password is the password Open gives user.
func Password(user string) string { return "password-" + user }

// Env is a test's front door.
type Env struct {
	DB       *store.DB
	Accounts *auth.Accounts
	Sessions *auth.Sessions
	// Gate reads Basic credentials and session tokens, browsers' too
	// (auth.BrowserTokens).
	Gate *auth.Gate
}

// Open makes a store in a temporary directory, the Users, a session table
// and the gate; the test's cleanup closes them.
func Open(t testing.TB) *Env {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	accounts, err := auth.Open(db, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range Users {
		if _, err := accounts.Create(name, Password(name), role, true); err != nil {
			t.Fatal(err)
		}
	}
	sessions := auth.NewSessions(accounts, 0)
	t.Cleanup(sessions.Close)
	return &Env{DB: db, Accounts: accounts, Sessions: sessions,
		Gate: &auth.Gate{Accounts: accounts, Sessions: sessions, Tokens: auth.BrowserTokens}}
}
