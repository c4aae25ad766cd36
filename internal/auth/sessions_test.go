package auth_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// clock is a settable time for the sessions' idle timeout.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newSessions is a table over e's accounts on a clock the test drives.
func newSessions(t *testing.T, e *env, timeout time.Duration) (*auth.Sessions, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	ss := auth.NewSessions(e.a, timeout)
	ss.SetClock(c.now)
	t.Cleanup(ss.Close)
	return ss, c
}

func TestSessionsLifecycle(t *testing.T) {
	e := newEnv(t)
	op := e.create("op", "operpass1", auth.RoleOperator, true)
	ss, c := newSessions(t, e, 0)
	if ss.Timeout() != auth.DefaultSessionTimeout {
		t.Errorf("Timeout %v, want the default", ss.Timeout())
	}
	ses, tok := ss.Create(op, "192.0.2.7")
	if len(ses.ID) != 16 || len(tok) != 32 || strings.Contains(fmt.Sprintf("%+v", ses), tok) {
		t.Fatalf("session %+v, token %q", ses, tok)
	}
	want := auth.Session{ID: ses.ID, AccountID: op.ID, UserName: "op", Created: c.now(), LastUsed: c.now(), ClientIP: "192.0.2.7"}
	if ses != want {
		t.Errorf("Create = %+v, want %+v", ses, want)
	}
	c.advance(time.Minute)
	p, err := ss.Lookup(tok)
	if err != nil || p != (auth.Principal{Account: op, Session: ses.ID}) {
		t.Fatalf("Lookup = %+v, %v", p, err)
	}
	if got, ok := ss.Get(ses.ID); !ok || !got.LastUsed.Equal(c.now()) || !got.Created.Equal(want.Created) {
		t.Errorf("Get after Lookup = %+v %v: Lookup marks the session used", got, ok)
	}
	for _, bad := range []string{"", "nope", ses.ID, strings.ToUpper(tok)} {
		if _, err := ss.Lookup(bad); !errors.Is(err, auth.ErrNoSession) {
			t.Errorf("Lookup(%q) = %v, want ErrNoSession", bad, err)
		}
	}
	if !ss.Delete(ses.ID) || ss.Delete(ses.ID) {
		t.Error("Delete: true once, then false")
	}
	if _, err := ss.Lookup(tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Lookup after Delete = %v", err)
	}
	if _, ok := ss.Get(ses.ID); ok || len(ss.List()) != 0 {
		t.Error("a deleted session is still listed")
	}
}

func TestSessionsIdleTimeout(t *testing.T) {
	e := newEnv(t)
	ro := e.create("ro", "readpass1", auth.RoleReadOnly, true)
	ss, c := newSessions(t, e, time.Minute)
	ses, tok := ss.Create(ro, "")
	for range 5 { // each use restarts the idle timer; Get and List do not
		c.advance(59 * time.Second)
		if _, err := ss.Lookup(tok); err != nil {
			t.Fatalf("Lookup within the timeout: %v", err)
		}
		ss.Get(ses.ID)
		ss.List()
	}
	c.advance(61 * time.Second)
	if _, err := ss.Lookup(tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Lookup after the timeout = %v", err)
	}
	// Expired sessions leave the list even if nobody uses them, and a
	// shorter timeout applies to existing sessions.
	s2, _ := ss.Create(ro, "")
	ss.SetTimeout(30 * time.Second)
	c.advance(31 * time.Second)
	if _, ok := ss.Get(s2.ID); ok || len(ss.List()) != 0 {
		t.Errorf("expired sessions listed: %+v", ss.List())
	}
}

func TestSessionsList(t *testing.T) {
	e := newEnv(t)
	a := e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	ss, c := newSessions(t, e, 0)
	var ids []string
	for range 5 {
		s, _ := ss.Create(a, "")
		ids = append(ids, s.ID)
		c.advance(time.Second)
	}
	var got []string
	for _, s := range ss.List() {
		got = append(got, s.ID)
	}
	if !reflect.DeepEqual(got, ids) {
		t.Errorf("List %v, want oldest first %v", got, ids)
	}
}

func TestSessionsLimit(t *testing.T) {
	e := newEnv(t)
	a := e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	ss, c := newSessions(t, e, 0)
	_, first := ss.Create(a, "")
	c.advance(time.Millisecond)
	_, second := ss.Create(a, "")
	c.advance(time.Millisecond)
	if _, err := ss.Lookup(first); err != nil { // first is now used after second
		t.Fatal(err)
	}
	for range auth.MaxSessions - 1 {
		c.advance(time.Millisecond)
		ss.Create(a, "")
	}
	if n := len(ss.List()); n != auth.MaxSessions {
		t.Errorf("%d sessions, want %d", n, auth.MaxSessions)
	}
	if _, err := ss.Lookup(second); !errors.Is(err, auth.ErrNoSession) {
		t.Error("the idlest session was not the one evicted")
	}
	if _, err := ss.Lookup(first); err != nil {
		t.Errorf("a recently used session was evicted: %v", err)
	}
}

// TestSessionsFollowAccounts: a session ends with its credentials
// (password, disable, lock, delete), whichever protocol changed them; a
// role change applies to the session at once.
func TestSessionsFollowAccounts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *env, id int) error
		ends   bool
	}{
		{"password", func(e *env, id int) error {
			_, err := e.a.Update(id, auth.Update{Password: ptr("changed123")})
			return err
		}, true},
		{"same password set again", func(e *env, id int) error {
			_, err := e.a.Update(id, auth.Update{Password: ptr("operpass1")})
			return err
		}, true},
		{"disable", func(e *env, id int) error { _, err := e.a.Update(id, auth.Update{Enabled: ptr(false)}); return err }, true},
		{"lock", func(e *env, id int) error { _, err := e.a.Update(id, auth.Update{Locked: ptr(true)}); return err }, true},
		{"delete", func(e *env, id int) error { return e.a.Delete(id) }, true},
		{"rename", func(e *env, id int) error { _, err := e.a.Update(id, auth.Update{UserName: ptr("op2")}); return err }, false},
		{"role", func(e *env, id int) error {
			_, err := e.a.Update(id, auth.Update{Role: ptr(auth.RoleReadOnly)})
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.create("admin", "adminpass1", auth.RoleAdministrator, true)
			op := e.create("op", "operpass1", auth.RoleOperator, true)
			ro := e.create("ro", "readpass1", auth.RoleReadOnly, true)
			ss, _ := newSessions(t, e, 0)
			_, tok := ss.Create(op, "")
			_, other := ss.Create(ro, "")
			if err := tc.change(e, op.ID); err != nil {
				t.Fatal(err)
			}
			p, err := ss.Lookup(tok)
			if tc.ends {
				if !errors.Is(err, auth.ErrNoSession) || len(ss.List()) != 1 {
					t.Errorf("Lookup = %v, %d sessions: the session should have ended", err, len(ss.List()))
				}
			} else {
				now, _ := e.a.Get(op.ID)
				if err != nil || p.Account != now {
					t.Errorf("Lookup = %+v, %v: want the account as it is now, %+v", p, err, now)
				}
			}
			if _, err := ss.Lookup(other); err != nil {
				t.Errorf("another account's session ended: %v", err)
			}
		})
	}
}

// TestSessionsClose: after Close the table no longer hears of account
// changes, but Lookup still refuses an account that cannot log in.
func TestSessionsClose(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	op := e.create("op", "operpass1", auth.RoleOperator, true)
	ss := auth.NewSessions(e.a, 0)
	ses, tok := ss.Create(op, "")
	ss.Close()
	if _, err := e.a.Update(op.ID, auth.Update{Enabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, ok := ss.Get(ses.ID); !ok {
		t.Fatal("a closed table still follows the accounts")
	}
	if _, err := ss.Lookup(tok); !errors.Is(err, auth.ErrNoSession) {
		t.Errorf("Lookup of a disabled account's session = %v", err)
	}
	if _, ok := ss.Get(ses.ID); ok {
		t.Error("the refused session was not ended")
	}
}

func TestSessionsConcurrent(t *testing.T) {
	e := newEnv(t)
	e.create("admin", "adminpass1", auth.RoleAdministrator, true)
	op := e.create("op", "operpass1", auth.RoleOperator, true)
	ss := auth.NewSessions(e.a, 0)
	t.Cleanup(ss.Close)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				_, tok := ss.Create(op, "")
				_, _ = ss.Lookup(tok)
				ss.List()
				if i == 0 && j%10 == 0 { // account changes lock accounts, then the table
					_, _ = e.a.Update(op.ID, auth.Update{Password: ptr(fmt.Sprintf("operpass%d", j))})
				}
			}
		})
	}
	wg.Wait()
}
