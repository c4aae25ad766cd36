package redfish

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
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

type session struct {
	ID        string
	token     string
	AccountID int
	UserName  string
	Created   time.Time
	ClientIP  string
	lastUsed  time.Time
}

// sessions is the SessionService's table of login sessions.
type sessions struct {
	mu      sync.Mutex
	timeout time.Duration
	byToken map[string]*session
	byID    map[string]*session
	now     func() time.Time
}

func newSessions(timeout time.Duration) *sessions {
	if timeout == 0 {
		timeout = DefaultSessionTimeout
	}
	return &sessions{timeout: timeout, byToken: map[string]*session{}, byID: map[string]*session{}, now: time.Now}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b)
}

func (ss *sessions) create(a auth.Account, clientIP string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	if len(ss.byID) >= MaxSessions {
		var idlest *session
		for _, s := range ss.byID {
			if idlest == nil || s.lastUsed.Before(idlest.lastUsed) {
				idlest = s
			}
		}
		ss.removeLocked(idlest)
	}
	now := ss.now()
	s := &session{ID: randomHex(8), token: randomHex(16), AccountID: a.ID, UserName: a.UserName,
		Created: now, lastUsed: now, ClientIP: clientIP}
	ss.byToken[s.token], ss.byID[s.ID] = s, s
	return s
}

// lookup returns the live session for token and marks it used.
func (ss *sessions) lookup(token string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byToken[token]
	if !ok {
		return session{}, false
	}
	now := ss.now()
	if now.Sub(s.lastUsed) > ss.timeout {
		ss.removeLocked(s)
		return session{}, false
	}
	s.lastUsed = now
	return *s, true
}

func (ss *sessions) get(id string) (session, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	s, ok := ss.byID[id]
	if !ok {
		return session{}, false
	}
	return *s, true
}

func (ss *sessions) list() []session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.expireLocked()
	out := make([]session, 0, len(ss.byID))
	for _, s := range ss.byID {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

func (ss *sessions) delete(id string) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.byID[id]
	if ok {
		ss.removeLocked(s)
	}
	return ok
}

// dropAccount ends every session of an account (deleted, disabled or
// given a new password).
func (ss *sessions) dropAccount(id int) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for _, s := range ss.byID {
		if s.AccountID == id {
			ss.removeLocked(s)
		}
	}
}

// accountChanged ends the sessions of an account that was removed or
// disabled or given a new password, by any protocol. It runs with the
// account database locked (auth.Accounts.OnChange) and touches only the
// session table.
func (ss *sessions) accountChanged(c auth.Change) {
	if c.Kind == auth.Removed || c.PasswordChanged || !c.Account.Enabled || c.Account.Locked {
		ss.dropAccount(c.Account.ID)
	}
}

func (ss *sessions) setTimeout(d time.Duration) {
	ss.mu.Lock()
	ss.timeout = d
	ss.mu.Unlock()
}

func (ss *sessions) getTimeout() time.Duration {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.timeout
}

func (ss *sessions) expireLocked() {
	now := ss.now()
	for _, s := range ss.byID {
		if now.Sub(s.lastUsed) > ss.timeout {
			ss.removeLocked(s)
		}
	}
}

func (ss *sessions) removeLocked(s *session) {
	delete(ss.byID, s.ID)
	delete(ss.byToken, s.token)
}

// principal is who a request runs as.
type principal struct {
	Account auth.Account
	Session string // session ID, "" for Basic authentication
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// originOf is who sends r, as the machine records what it changes.
func originOf(r *http.Request) hardware.Origin {
	o := hardware.Origin{Protocol: hardware.ProtocolRedfish}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		o.Address = host
	}
	if p, ok := principalFrom(r); ok {
		o.User = p.Account.UserName
	}
	return o
}

func principalFrom(r *http.Request) (principal, bool) {
	p, ok := r.Context().Value(principalKey{}).(principal)
	return p, ok
}

// authenticate accepts an X-Auth-Token session or HTTP Basic credentials.
func (s *Service) authenticate(w http.ResponseWriter, r *http.Request) (principal, error) {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		if ses, ok := s.sessions.lookup(tok); ok {
			if a, ok := s.accounts.Get(ses.AccountID); ok && a.Enabled && !a.Locked {
				return principal{Account: a, Session: ses.ID}, nil
			}
			s.sessions.delete(ses.ID)
		}
		return principal{}, unauthorized("NoValidSession")
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return principal{}, unauthorized("NoValidSession")
	}
	a, err := s.checkPassword(r, user, pass)
	if err != nil {
		return principal{}, err
	}
	return principal{Account: a}, nil
}

// loginKey is what failed logins are counted by: guessing one account's
// password from one address is slowed down, while other accounts, and the
// same account from elsewhere (a provisioning conductor with many nodes),
// carry on.
type loginKey struct {
	ip   netip.Addr
	user string
}

// checkPassword authenticates user, rate-limiting failures per source and
// user; a limited source gets the same answer as a wrong password.
func (s *Service) checkPassword(r *http.Request, user, pass string) (auth.Account, error) {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	key := loginKey{ap.Addr().Unmap(), user}
	if !s.logins.Allow(key) {
		s.log.Warn("login refused: too many failures", "user", user, "remote", r.RemoteAddr)
		return auth.Account{}, unauthorized("AccessUnauthorized")
	}
	a, err := s.accounts.Authenticate(user, pass)
	if err != nil {
		s.logins.Fail(key)
		s.log.Info("authentication failed", "user", user, "remote", r.RemoteAddr)
		s.cfg.Audit.Record(audit.InvalidCredentials(clientIP(r), audit.Redfish), audit.Actor{Origin: origin(r)})
		return auth.Account{}, unauthorized("AccessUnauthorized")
	}
	return a, nil
}

func unauthorized(key string) *apiError {
	e := apiErr(http.StatusUnauthorized, key)
	e.header = http.Header{"Www-Authenticate": {`Basic realm="bmcd"`}}
	return e
}
