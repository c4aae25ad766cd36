package auth

import (
	"crypto/rand"
	"encoding/hex"
	"sort"
	"sync"
	"time"
)

// Session limits.
const (
	DefaultSessionTimeout = 30 * time.Minute
	MinSessionTimeout     = 30 * time.Second
	MaxSessionTimeout     = 24 * time.Hour
	// MaxSessions bounds memory; beyond it the idlest session is evicted, so
	// a lab with hundreds of provisioning clients never gets locked out.
	MaxSessions = 1024
)

// Session is one login session as callers see it (never with its token).
type Session struct {
	// ID names the session in URIs (Redfish Session Id): 16 hex digits.
	ID        string
	AccountID int
	// UserName is the account's name at login.
	UserName string
	Created  time.Time
	// LastUsed is the last authentication by the session's token; the
	// session ends once it is older than the idle timeout.
	LastUsed time.Time
	// ClientIP is the address the session was created from.
	ClientIP string
}

type sessionEntry struct {
	Session
	token string
}

// Sessions is the table of login sessions, shared by every HTTP front
// door (Redfish, the console): a token made by one authenticates the
// others. Sessions live in memory and end after an idle timeout, on
// Delete, or when their account is removed, disabled, locked or given a
// new password, through whichever protocol (see NewSessions). Safe for
// concurrent use.
type Sessions struct {
	accounts *Accounts
	cancel   func()

	mu      sync.Mutex
	timeout time.Duration
	byToken map[string]*sessionEntry
	byID    map[string]*sessionEntry
	now     func() time.Time
}

// NewSessions returns an empty table whose sessions idle out after
// timeout (DefaultSessionTimeout if 0) and authenticate as the accounts
// of accounts. It watches accounts (Accounts.OnChange) until Close, so a
// session lives no longer than its credentials. accounts may be nil only
// in tests that never authenticate a token.
func NewSessions(accounts *Accounts, timeout time.Duration) *Sessions {
	if timeout == 0 {
		timeout = DefaultSessionTimeout
	}
	ss := &Sessions{accounts: accounts, timeout: timeout, byToken: map[string]*sessionEntry{},
		byID: map[string]*sessionEntry{}, now: time.Now}
	if accounts != nil {
		ss.cancel = accounts.OnChange(ss.accountChanged)
	}
	return ss
}

// Close stops watching the accounts. The sessions stay as they are.
func (ss *Sessions) Close() {
	if ss.cancel != nil {
		ss.cancel()
	}
}

// SetClock replaces the table's clock (for tests).
func (ss *Sessions) SetClock(now func() time.Time) {
	ss.mu.Lock()
	ss.now = now
	ss.mu.Unlock()
}

// RandomHex returns n random bytes in hexadecimal (2n digits), from
// crypto/rand.
func RandomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Create opens a session for account a, made from clientIP, and returns it
// with its token (32 hex digits), which the client presents to
// authenticate (see Gate). Beyond MaxSessions the idlest session is ended.
func (ss *Sessions) Create(a Account, clientIP string) (Session, string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	if len(ss.byID) >= MaxSessions {
		var idlest *sessionEntry
		for _, s := range ss.byID {
			if idlest == nil || s.LastUsed.Before(idlest.LastUsed) {
				idlest = s
			}
		}
		ss.removeLocked(idlest)
	}
	now := ss.now()
	s := &sessionEntry{Session: Session{ID: RandomHex(8), AccountID: a.ID, UserName: a.UserName,
		Created: now, LastUsed: now, ClientIP: clientIP}, token: RandomHex(16)}
	ss.byToken[s.token], ss.byID[s.ID] = s, s
	return s.Session, s.token
}

// Lookup authenticates token: the principal of its live session, with
// the account as it is now (a role change applies at once), and the
// session marked used. ErrNoSession when the token names no live session
// or its account is gone, disabled or locked (that session is ended).
func (ss *Sessions) Lookup(token string) (Principal, error) {
	ss.mu.Lock()
	now := ss.now()
	s, ok := ss.byToken[token]
	if ok && now.Sub(s.LastUsed) > ss.timeout {
		ss.removeLocked(s)
		ok = false
	}
	var ses Session
	if ok {
		s.LastUsed = now
		ses = s.Session
	}
	ss.mu.Unlock()
	if !ok || ss.accounts == nil {
		return Principal{}, ErrNoSession
	}
	// Accounts are read without the table locked: account watchers run
	// with the accounts locked and then lock the table.
	if a, ok := ss.accounts.Get(ses.AccountID); ok && a.Enabled && !a.Locked {
		return Principal{Account: a, Session: ses.ID}, nil
	}
	ss.Delete(ses.ID)
	return Principal{}, ErrNoSession
}

// Get returns the live session id, without marking it used.
func (ss *Sessions) Get(id string) (Session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	s, ok := ss.byID[id]
	if !ok {
		return Session{}, false
	}
	return s.Session, true
}

// List returns the live sessions, oldest first.
func (ss *Sessions) List() []Session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	out := make([]Session, 0, len(ss.byID))
	for _, s := range ss.byID {
		out = append(out, s.Session)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

// Delete ends session id; false if there was none.
func (ss *Sessions) Delete(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if ok {
		ss.removeLocked(s)
	}
	return ok
}

// EndAccount ends every session of account id.
func (ss *Sessions) EndAccount(id int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.byID {
		if s.AccountID == id {
			ss.removeLocked(s)
		}
	}
}

// accountChanged ends the sessions of an account that was removed or
// disabled or locked or given a new password, by any protocol. It runs
// with the account database locked (Accounts.OnChange) and touches only
// the session table.
func (ss *Sessions) accountChanged(c Change) {
	if c.Kind == Removed || c.PasswordChanged || !c.Account.Enabled || c.Account.Locked {
		ss.EndAccount(c.Account.ID)
	}
}

// SetTimeout sets the idle timeout; it applies to existing sessions too.
// Callers bound it (Redfish: MinSessionTimeout..MaxSessionTimeout).
func (ss *Sessions) SetTimeout(d time.Duration) {
	ss.mu.Lock()
	ss.timeout = d
	ss.mu.Unlock()
}

// Timeout is the idle timeout.
func (ss *Sessions) Timeout() time.Duration {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.timeout
}

func (ss *Sessions) expireLocked() {
	now := ss.now()
	for _, s := range ss.byID {
		if now.Sub(s.LastUsed) > ss.timeout {
			ss.removeLocked(s)
		}
	}
}

func (ss *Sessions) removeLocked(s *sessionEntry) {
	delete(ss.byID, s.ID)
	delete(ss.byToken, s.token)
}
