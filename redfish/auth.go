package redfish

import (
	"errors"
	"net/http"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

// newGate is Redfish's front door over the shared accounts, session table
// and failed-login limiter: the X-Auth-Token header or Basic credentials
// (DSP0266 "Authentication"), refusals written as Redfish errors, and
// failed logins logged and audited as Redfish ones.
func (s *Service) newGate(logins *auth.Limiter[auth.LoginKey]) *auth.Gate {
	return &auth.Gate{
		Accounts: s.accounts,
		Sessions: s.sessions,
		Logins:   logins,
		OnRefuse: func(w http.ResponseWriter, _ *http.Request, err error) {
			w.Header().Set("OData-Version", "4.0")
			writeError(w, authError(err))
		},
		OnLoginFailure: func(r *http.Request, user string, err error) {
			if errors.Is(err, auth.ErrTooManyFailures) {
				s.log.Warn("login refused: too many failures", "user", user, "remote", r.RemoteAddr)
				return
			}
			s.log.Info("authentication failed", "user", user, "remote", r.RemoteAddr)
			s.cfg.Audit.Record(audit.InvalidCredentials(clientIP(r), audit.Redfish), audit.Actor{Origin: origin(r)})
		},
	}
}

// authError is the Redfish answer to a refusal of the gate: 403
// InsufficientPrivilege; 401 NoValidSession without credentials or with
// a token of no live session; 401 AccessUnauthorized for wrong
// credentials, a limited client included.
func authError(err error) *apiError {
	switch {
	case errors.Is(err, auth.ErrInsufficientPrivilege):
		return apiErr(http.StatusForbidden, "InsufficientPrivilege")
	case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrNoSession):
		return unauthorized("NoValidSession")
	}
	return unauthorized("AccessUnauthorized")
}

// authenticate accepts an X-Auth-Token session or HTTP Basic credentials.
func (s *Service) authenticate(r *http.Request) (auth.Principal, error) {
	p, err := s.gate.Authenticate(r)
	if err != nil {
		return auth.Principal{}, authError(err)
	}
	return p, nil
}

// principalFrom is who r runs as; false for a public resource's request.
func principalFrom(r *http.Request) (auth.Principal, bool) {
	return auth.FromContext(r.Context())
}

func unauthorized(key string) *apiError {
	e := apiErr(http.StatusUnauthorized, key)
	e.header = http.Header{"Www-Authenticate": {`Basic realm="` + auth.Realm + `"`}}
	return e
}
