package auth_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/store"
)

var key = bytes.Repeat([]byte{7}, 32)

type env struct {
	t    *testing.T
	path string
	db   *store.DB
	a    *auth.Accounts
}

func newEnv(t *testing.T) *env {
	e := &env{t: t, path: filepath.Join(t.TempDir(), "state.db")}
	e.openDB()
	a, err := auth.Open(e.db, key)
	if err != nil {
		t.Fatal(err)
	}
	e.a = a
	t.Cleanup(func() {
		if e.db != nil {
			e.db.Close()
		}
	})
	return e
}

func (e *env) openDB() {
	db, err := store.Open(e.path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
}

// reopen restarts with key k and returns Open's error.
func (e *env) reopen(k []byte) error {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.openDB()
	a, err := auth.Open(e.db, k)
	e.a = a
	return err
}

func (e *env) create(user, pw string, role auth.Role, enabled bool) auth.Account {
	e.t.Helper()
	acc, err := e.a.Create(user, pw, role, enabled)
	if err != nil {
		e.t.Fatalf("Create %s: %v", user, err)
	}
	return acc
}

func TestCreate(t *testing.T) {
	e := newEnv(t)
	admin := e.create("admin", "password1", auth.RoleAdministrator, true)
	op := e.create("op", "password2", auth.RoleOperator, false)
	if admin != (auth.Account{ID: 2, UserName: "admin", Role: auth.RoleAdministrator, Enabled: true}) {
		t.Errorf("first account %+v: IDs start at 2", admin)
	}
	if op.ID != 3 || op.Enabled || op.Locked || op.Role != auth.RoleOperator {
		t.Errorf("second account %+v", op)
	}
	if got := e.a.List(); len(got) != 2 || got[0] != admin || got[1] != op {
		t.Errorf("List %+v", got)
	}
	if got, ok := e.a.Get(3); !ok || got != op {
		t.Errorf("Get(3) %+v %v", got, ok)
	}
	if got, ok := e.a.ByName("admin"); !ok || got != admin {
		t.Errorf("ByName %+v %v", got, ok)
	}
	for _, id := range []int{0, 1, 4, 17} {
		if _, ok := e.a.Get(id); ok {
			t.Errorf("Get(%d) found an account", id)
		}
	}
	if _, ok := e.a.ByName("Admin"); ok {
		t.Error("user names are case-sensitive")
	}
	if e.a.Count() != 2 {
		t.Errorf("Count %d", e.a.Count())
	}
	if _, err := e.a.Create("admin", "password3", auth.RoleReadOnly, true); !errors.Is(err, auth.ErrExists) {
		t.Errorf("duplicate name: %v", err)
	}
	if e.a.Count() != 2 {
		t.Error("failed Create added an account")
	}
}

func TestLimits(t *testing.T) {
	cases := []struct {
		name, user, pw string
		role           auth.Role
		ok             bool
	}{
		{"shortest name", "a", "12345678", auth.RoleReadOnly, true},
		{"16-byte name", strings.Repeat("n", 16), "12345678", auth.RoleReadOnly, true},
		{"punctuation", "a.b-c_d@e!~", "12345678", auth.RoleReadOnly, true},
		{"empty name", "", "12345678", auth.RoleReadOnly, false},
		{"17-byte name", strings.Repeat("n", 17), "12345678", auth.RoleReadOnly, false},
		{"colon", "a:b", "12345678", auth.RoleReadOnly, false},
		{"space", "a b", "12345678", auth.RoleReadOnly, false},
		{"leading space", " ab", "12345678", auth.RoleReadOnly, false},
		{"tab", "a\tb", "12345678", auth.RoleReadOnly, false},
		{"newline", "ab\n", "12345678", auth.RoleReadOnly, false},
		{"NUL", "a\x00b", "12345678", auth.RoleReadOnly, false},
		{"DEL", "a\x7fb", "12345678", auth.RoleReadOnly, false},
		{"non-ASCII", "josé", "12345678", auth.RoleReadOnly, false},
		{"invalid UTF-8", "a\xffb", "12345678", auth.RoleReadOnly, false},
		{"7-byte password", "u", "1234567", auth.RoleReadOnly, false},
		{"8-byte password", "u", "12345678", auth.RoleReadOnly, true},
		{"20-byte password", "u", strings.Repeat("p", 20), auth.RoleReadOnly, true},
		{"21-byte password", "u", strings.Repeat("p", 21), auth.RoleReadOnly, false},
		{"empty password", "u", "", auth.RoleReadOnly, false},
		{"bytes not runes: 10×é is 20 bytes", "u", strings.Repeat("é", 10), auth.RoleReadOnly, true},
		{"bytes not runes: 11×é is 22 bytes", "u", strings.Repeat("é", 11), auth.RoleReadOnly, false},
		{"bytes not runes: 4×é is 8 bytes", "u", strings.Repeat("é", 4), auth.RoleReadOnly, true},
		{"spaces in passwords are fine", "u", "pass word", auth.RoleReadOnly, true},
		{"unknown role", "u", "12345678", "Root", false},
		{"empty role", "u", "12345678", "", false},
		{"role case matters", "u", "12345678", "administrator", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			acc, err := e.a.Create(c.user, c.pw, c.role, true)
			if c.ok {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				if _, err := e.a.Authenticate(c.user, c.pw); err != nil {
					t.Errorf("cannot log in: %v", err)
				}
				return
			}
			if !errors.Is(err, auth.ErrInvalid) {
				t.Fatalf("Create: %v, want ErrInvalid", err)
			}
			if acc != (auth.Account{}) || e.a.Count() != 0 {
				t.Error("a rejected account was created")
			}
			// Update applies the same rule to the one bad field.
			base := e.create("base", "basepass", auth.RoleReadOnly, true)
			var u auth.Update
			switch {
			case c.user != "u":
				u.UserName = &c.user
			case c.pw != "12345678":
				u.Password = &c.pw
			default:
				u.Role = &c.role
			}
			if _, err := e.a.Update(base.ID, u); !errors.Is(err, auth.ErrInvalid) {
				t.Errorf("Update: %v, want ErrInvalid", err)
			}
			if got, _ := e.a.Get(base.ID); got != base {
				t.Errorf("rejected update changed the account: %+v", got)
			}
			if _, err := e.a.Authenticate("base", "basepass"); err != nil {
				t.Error("rejected update changed the password")
			}
		})
	}
	if auth.CheckUserName("ok") != nil || auth.CheckPassword("12345678") != nil {
		t.Error("Check functions reject good values")
	}
}

func TestMaxAccounts(t *testing.T) {
	e := newEnv(t)
	for i := 0; i < auth.MaxAccounts; i++ {
		acc := e.create(fmt.Sprintf("user%d", i), "password", auth.RoleAdministrator, true)
		if acc.ID != i+2 {
			t.Fatalf("account %d got ID %d", i, acc.ID)
		}
	}
	if _, err := e.a.Create("onemore", "password", auth.RoleReadOnly, true); !errors.Is(err, auth.ErrFull) {
		t.Fatalf("account %d: %v, want ErrFull", auth.MaxAccounts+1, err)
	}
	if e.a.Count() != auth.MaxAccounts {
		t.Errorf("Count %d", e.a.Count())
	}
	// A freed ID is reused, lowest first.
	for _, id := range []int{9, 4} {
		if err := e.a.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	if acc := e.create("reuse", "password", auth.RoleReadOnly, true); acc.ID != 4 {
		t.Errorf("reused ID %d, want 4", acc.ID)
	}
	if acc := e.create("reuse2", "password", auth.RoleReadOnly, true); acc.ID != 9 {
		t.Errorf("reused ID %d, want 9", acc.ID)
	}
	if ids := e.a.List(); ids[0].ID != 2 || ids[len(ids)-1].ID != auth.MaxAccounts+1 {
		t.Errorf("IDs %d..%d", ids[0].ID, ids[len(ids)-1].ID)
	}
}

func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass", auth.RoleAdministrator, true)
	e.create("alice", "alicepass", auth.RoleOperator, true)
	e.create("off", "offpass1", auth.RoleOperator, false)
	locked := e.create("locked", "lockpass", auth.RoleReadOnly, true)
	if _, err := e.a.Update(locked.ID, auth.Update{Locked: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, user, pw string
		ok             bool
	}{
		{"good", "alice", "alicepass", true},
		{"admin", "admin", "adminpass", true},
		{"wrong password", "alice", "alicepass2", false},
		{"prefix of the password", "alice", "alicepas", false},
		{"password case", "alice", "ALICEPASS", false},
		{"empty password", "alice", "", false},
		{"another user's password", "alice", "adminpass", false},
		{"unknown user", "bob", "alicepass", false},
		{"user name case", "Alice", "alicepass", false},
		{"empty user", "", "", false},
		{"unknown user, dummy password", "nobody", string(make([]byte, auth.MaxPasswordLength)), false},
		{"disabled", "off", "offpass1", false},
		{"locked", "locked", "lockpass", false},
	}
	for _, c := range cases {
		acc, err := e.a.Authenticate(c.user, c.pw)
		if c.ok {
			if err != nil || acc.UserName != c.user {
				t.Errorf("%s: %+v %v", c.name, acc, err)
			}
			continue
		}
		if !errors.Is(err, auth.ErrBadCredentials) || acc != (auth.Account{}) {
			t.Errorf("%s: %+v %v, want ErrBadCredentials", c.name, acc, err)
		}
	}

	// Secret: the clear password, for enabled accounts only.
	acc, pw, ok := e.a.Secret("alice")
	if !ok || string(pw) != "alicepass" || acc.UserName != "alice" || acc.Role != auth.RoleOperator {
		t.Errorf("Secret(alice) = %+v %q %v", acc, pw, ok)
	}
	pw[0] = 'X' // a copy
	if _, err := e.a.Authenticate("alice", "alicepass"); err != nil {
		t.Error("changing Secret's result changed the password")
	}
	for _, u := range []string{"off", "locked", "bob", ""} {
		if acc, pw, ok := e.a.Secret(u); ok || pw != nil || acc != (auth.Account{}) {
			t.Errorf("Secret(%q) = %+v %q %v", u, acc, pw, ok)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpdateDelete(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass", auth.RoleAdministrator, true)
	alice := e.create("alice", "alicepass", auth.RoleReadOnly, true)
	e.create("bob", "bobpass1", auth.RoleReadOnly, true)

	// Password.
	if _, err := e.a.Update(alice.ID, auth.Update{Password: ptr("newpass1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Authenticate("alice", "alicepass"); err == nil {
		t.Error("old password still works")
	}
	if _, err := e.a.Authenticate("alice", "newpass1"); err != nil {
		t.Error("new password refused")
	}
	// Rename: the old name is gone, the password follows.
	acc, err := e.a.Update(alice.ID, auth.Update{UserName: ptr("alicia")})
	if err != nil || acc.UserName != "alicia" || acc.ID != alice.ID {
		t.Fatalf("rename: %+v %v", acc, err)
	}
	if _, ok := e.a.ByName("alice"); ok {
		t.Error("old name still resolves")
	}
	if _, err := e.a.Authenticate("alicia", "newpass1"); err != nil {
		t.Error("renamed account cannot log in")
	}
	if _, err := e.a.Update(alice.ID, auth.Update{UserName: ptr("bob")}); !errors.Is(err, auth.ErrExists) {
		t.Errorf("rename onto bob: %v", err)
	}
	if _, err := e.a.Update(alice.ID, auth.Update{UserName: ptr("alicia")}); err != nil {
		t.Errorf("rename to its own name: %v", err)
	}
	if _, err := e.a.Create("alice", "password", auth.RoleReadOnly, true); err != nil {
		t.Errorf("a freed name cannot be reused: %v", err)
	}
	// Role, Enabled, Locked; nil fields are kept.
	acc, err = e.a.Update(alice.ID, auth.Update{Role: ptr(auth.RoleOperator), Enabled: ptr(false), Locked: ptr(true)})
	if err != nil || acc != (auth.Account{ID: alice.ID, UserName: "alicia", Role: auth.RoleOperator, Enabled: false, Locked: true}) {
		t.Errorf("update: %+v %v", acc, err)
	}
	if acc, err = e.a.Update(alice.ID, auth.Update{}); err != nil || acc.Role != auth.RoleOperator || !acc.Locked {
		t.Errorf("empty update: %+v %v", acc, err)
	}
	if _, err := e.a.Update(99, auth.Update{Enabled: ptr(true)}); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}

	if err := e.a.Delete(alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.a.Get(alice.ID); ok {
		t.Error("deleted account still there")
	}
	if _, err := e.a.Authenticate("alicia", "newpass1"); err == nil {
		t.Error("deleted account can log in")
	}
	if err := e.a.Delete(alice.ID); !errors.Is(err, auth.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}
}

// TestLastAdmin: whatever would leave no enabled, unlocked Administrator
// is refused.
func TestLastAdmin(t *testing.T) {
	type op struct {
		name string
		do   func(a *auth.Accounts, id int) error
	}
	upd := func(u auth.Update) func(a *auth.Accounts, id int) error {
		return func(a *auth.Accounts, id int) error { _, err := a.Update(id, u); return err }
	}
	ops := []op{
		{"delete", func(a *auth.Accounts, id int) error { return a.Delete(id) }},
		{"disable", upd(auth.Update{Enabled: ptr(false)})},
		{"demote to Operator", upd(auth.Update{Role: ptr(auth.RoleOperator)})},
		{"demote to ReadOnly", upd(auth.Update{Role: ptr(auth.RoleReadOnly)})},
		{"lock", upd(auth.Update{Locked: ptr(true)})},
	}
	others := []struct {
		name       string
		role       auth.Role
		enabled    bool
		locked     bool
		protecting bool // this other account is a second usable admin
	}{
		{"alone", "", false, false, false},
		{"with an operator", auth.RoleOperator, true, false, false},
		{"with a disabled admin", auth.RoleAdministrator, false, false, false},
		{"with a locked admin", auth.RoleAdministrator, true, true, false},
		{"with a second admin", auth.RoleAdministrator, true, false, true},
	}
	for _, o := range others {
		for _, p := range ops {
			t.Run(o.name+"/"+p.name, func(t *testing.T) {
				e := newEnv(t)
				admin := e.create("admin", "adminpass", auth.RoleAdministrator, true)
				if o.role != "" {
					other := e.create("other", "otherpass", o.role, o.enabled)
					if o.locked {
						if _, err := e.a.Update(other.ID, auth.Update{Locked: ptr(true)}); err != nil {
							t.Fatal(err)
						}
					}
				}
				err := p.do(e.a, admin.ID)
				if o.protecting {
					if err != nil {
						t.Fatalf("with another admin: %v", err)
					}
					return
				}
				if !errors.Is(err, auth.ErrLastAdmin) {
					t.Fatalf("%v, want ErrLastAdmin", err)
				}
				if got, ok := e.a.Get(admin.ID); !ok || got != admin {
					t.Errorf("refused change applied: %+v %v", got, ok)
				}
				if err := e.reopen(key); err != nil {
					t.Fatal(err)
				}
				if got, ok := e.a.Get(admin.ID); !ok || got != admin {
					t.Errorf("refused change persisted: %+v %v", got, ok)
				}
			})
		}
	}

	// The last admin may still change its password and name, and stay
	// what it is.
	e := newEnv(t)
	admin := e.create("admin", "adminpass", auth.RoleAdministrator, true)
	if _, err := e.a.Update(admin.ID, auth.Update{Password: ptr("newadmin"), UserName: ptr("root"),
		Role: ptr(auth.RoleAdministrator), Enabled: ptr(true), Locked: ptr(false)}); err != nil {
		t.Errorf("harmless update of the last admin: %v", err)
	}
	// Promoting someone frees the first admin.
	promoted := e.create("op", "operator", auth.RoleOperator, true)
	if _, err := e.a.Update(promoted.ID, auth.Update{Role: ptr(auth.RoleAdministrator)}); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Delete(admin.ID); err != nil {
		t.Errorf("delete with a promoted admin: %v", err)
	}
	if err := e.a.Delete(promoted.ID); !errors.Is(err, auth.ErrLastAdmin) {
		t.Errorf("the promoted admin is now the last: %v", err)
	}
}

func TestReopen(t *testing.T) {
	e := newEnv(t)
	admin := e.create("admin", "adminpass", auth.RoleAdministrator, true)
	op := e.create("op", "operpass", auth.RoleOperator, false)
	ro := e.create("ro", "readonly", auth.RoleReadOnly, true)
	gone := e.create("gone", "gonepass", auth.RoleReadOnly, true)
	if err := e.a.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	if ro, _ = e.a.Update(ro.ID, auth.Update{Locked: ptr(true), Password: ptr("readonly2")}); !ro.Locked {
		t.Fatal("lock")
	}
	before := e.a.List()

	if err := e.reopen(key); err != nil {
		t.Fatal(err)
	}
	after := e.a.List()
	if len(after) != 3 || after[0] != admin || after[1] != op || after[2] != ro {
		t.Errorf("after reopen %+v, want %+v", after, before)
	}
	if _, err := e.a.Authenticate("admin", "adminpass"); err != nil {
		t.Errorf("admin password lost: %v", err)
	}
	if _, pw, _ := e.a.Secret("admin"); string(pw) != "adminpass" {
		t.Errorf("Secret after reopen %q", pw)
	}
	if _, err := e.a.Update(op.ID, auth.Update{Enabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Authenticate("op", "operpass"); err != nil {
		t.Errorf("op password lost: %v", err)
	}
	if _, err := e.a.Update(ro.ID, auth.Update{Locked: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Authenticate("ro", "readonly2"); err != nil {
		t.Errorf("changed password lost: %v", err)
	}
	if acc := e.create("new", "newpass1", auth.RoleReadOnly, true); acc.ID != gone.ID {
		t.Errorf("new account after reopen got ID %d, want the free %d", acc.ID, gone.ID)
	}
	if _, err := e.a.Create("admin", "password", auth.RoleReadOnly, true); !errors.Is(err, auth.ErrExists) {
		t.Errorf("duplicate after reopen: %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass", auth.RoleAdministrator, true)
	other := bytes.Repeat([]byte{8}, 32)
	err := e.reopen(other)
	if err == nil {
		t.Fatal("accounts opened with another key")
	}
	if !errors.Is(err, auth.ErrWrongKey) || !strings.Contains(err.Error(), "key") || !strings.Contains(err.Error(), "admin") {
		t.Errorf("unclear error: %v", err)
	}
	if e.a != nil {
		t.Error("Open returned accounts with its error")
	}
	// The right key still works: nothing was damaged.
	if err := e.reopen(key); err != nil {
		t.Fatal(err)
	}
	if _, err := e.a.Authenticate("admin", "adminpass"); err != nil {
		t.Error(err)
	}

	for _, n := range []int{0, 31, 33} {
		if _, err := auth.Open(e.db, make([]byte, n)); err == nil {
			t.Errorf("a %d-byte key was accepted", n)
		}
	}
}

// TestSealed inspects what reaches the disk.
func TestSealed(t *testing.T) {
	e := newEnv(t)
	const pw = "Sup3rSecretPw!"
	e.create("admin", pw, auth.RoleAdministrator, true)
	e.create("twin", pw, auth.RoleOperator, true)
	type record struct {
		ID     int    `json:"id"`
		User   string `json:"user"`
		Sealed []byte `json:"sealed"`
	}
	var recs []record
	err := e.db.List("accounts", func(k string, raw []byte) error {
		for _, leak := range []string{pw, base64.StdEncoding.EncodeToString([]byte(pw)), fmt.Sprintf("%x", pw)} {
			if bytes.Contains(raw, []byte(leak)) {
				t.Errorf("record %s holds the password as %q: %s", k, leak, raw)
			}
		}
		if bytes.Contains(bytes.ToLower(raw), []byte("password")) {
			t.Errorf("record %s has a password field: %s", k, raw)
		}
		var r record
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if k != fmt.Sprint(r.ID) {
			t.Errorf("record key %s for ID %d", k, r.ID)
		}
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].User != "admin" {
		t.Fatalf("records %+v", recs)
	}
	for _, r := range recs {
		// 12-byte nonce, ciphertext as long as the password, 16-byte tag.
		if len(r.Sealed) != 12+len(pw)+16 {
			t.Errorf("%s: sealed form is %d bytes", r.User, len(r.Sealed))
		}
		if bytes.Contains(r.Sealed, []byte(pw)) {
			t.Errorf("%s: sealed form holds the password", r.User)
		}
	}
	if bytes.Equal(recs[0].Sealed, recs[1].Sealed) || bytes.Equal(recs[0].Sealed[:12], recs[1].Sealed[:12]) {
		t.Error("the same password sealed twice gives the same bytes: nonces repeat")
	}
}

// failing is a store whose writes fail on demand.
type failing struct {
	auth.Store
	fail bool
}

func (f *failing) Put(b, k string, v any) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.Store.Put(b, k, v)
}

func (f *failing) Delete(b, k string) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.Store.Delete(b, k)
}

// A write that does not reach the store changes nothing in memory.
func TestStoreFailure(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := &failing{Store: db}
	a, err := auth.Open(st, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create("admin", "adminpass", auth.RoleAdministrator, true); err != nil {
		t.Fatal(err)
	}
	u, err := a.Create("user", "userpass", auth.RoleReadOnly, true)
	if err != nil {
		t.Fatal(err)
	}
	st.fail = true
	if _, err := a.Create("x", "password", auth.RoleReadOnly, true); err == nil {
		t.Error("Create succeeded without the store")
	}
	if _, ok := a.ByName("x"); ok || a.Count() != 2 {
		t.Error("failed Create left an account")
	}
	if _, err := a.Update(u.ID, auth.Update{UserName: ptr("renamed"), Password: ptr("newpass1")}); err == nil {
		t.Error("Update succeeded without the store")
	}
	if got, _ := a.Get(u.ID); got != u {
		t.Errorf("failed Update applied: %+v", got)
	}
	if _, err := a.Authenticate("user", "userpass"); err != nil {
		t.Error("failed Update changed the password")
	}
	if err := a.Delete(u.ID); err == nil {
		t.Error("Delete succeeded without the store")
	}
	if _, ok := a.Get(u.ID); !ok {
		t.Error("failed Delete removed the account")
	}
}

// TestConcurrent runs logins beside account changes for the race detector.
func TestConcurrent(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass", auth.RoleAdministrator, true)
	u := e.create("user", "userpass", auth.RoleOperator, true)
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				_, _ = e.a.Authenticate("user", "userpass")
				_, _, _ = e.a.Secret("user")
				_ = e.a.List()
			}
		}()
	}
	for i := 0; i < 20; i++ {
		if _, err := e.a.Update(u.ID, auth.Update{Enabled: ptr(i%2 == 0), Role: ptr(auth.Roles[i%3])}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

func TestRoles(t *testing.T) {
	all := []auth.Privilege{auth.PrivLogin, auth.PrivConfigureManager, auth.PrivConfigureUsers, auth.PrivConfigureSelf, auth.PrivConfigureComponents}
	want := map[auth.Role][]auth.Privilege{
		auth.RoleAdministrator: all,
		auth.RoleOperator:      {auth.PrivLogin, auth.PrivConfigureSelf, auth.PrivConfigureComponents},
		auth.RoleReadOnly:      {auth.PrivLogin, auth.PrivConfigureSelf},
		"Root":                 nil,
	}
	for r, privs := range want {
		has := map[auth.Privilege]bool{}
		for _, p := range privs {
			has[p] = true
		}
		for _, p := range all {
			if r.Has(p) != has[p] {
				t.Errorf("%s.Has(%s) = %v", r, p, r.Has(p))
			}
		}
		if r.Valid() != (privs != nil) {
			t.Errorf("%s.Valid() = %v", r, r.Valid())
		}
	}
	if len(auth.Roles) != 3 || auth.Roles[0] != auth.RoleAdministrator {
		t.Errorf("Roles %v", auth.Roles)
	}
}

func TestCreateWithID(t *testing.T) {
	e := newEnv(t)
	a := e.a
	acc, err := a.CreateWithID(7, "seven", "password-7", auth.RoleOperator, true)
	if err != nil || acc.ID != 7 {
		t.Fatalf("create: %+v %v", acc, err)
	}
	if got, ok := a.Get(7); !ok || got.UserName != "seven" || got.Role != auth.RoleOperator {
		t.Fatalf("get: %+v", got)
	}
	if _, err := a.CreateWithID(7, "other", "password-7", auth.RoleOperator, true); !errors.Is(err, auth.ErrExists) {
		t.Fatalf("slot taken: %v", err)
	}
	if _, err := a.CreateWithID(8, "seven", "password-7", auth.RoleOperator, true); !errors.Is(err, auth.ErrExists) {
		t.Fatalf("name taken: %v", err)
	}
	for _, id := range []int{0, 1, auth.MaxAccounts + 2, -1} {
		if _, err := a.CreateWithID(id, fmt.Sprintf("x%d", id+10), "password-7", auth.RoleOperator, true); !errors.Is(err, auth.ErrInvalid) {
			t.Fatalf("id %d: %v", id, err)
		}
	}
	// Create still fills the lowest free slot.
	if acc, err := a.Create("low", "password-7", auth.RoleReadOnly, true); err != nil || acc.ID != 2 {
		t.Fatalf("create: %+v %v", acc, err)
	}
}
