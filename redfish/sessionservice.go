package redfish

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

func (s *Service) sessionRoutes() {
	s.handle("/redfish/v1/SessionService", &resource{
		get: func(*http.Request) (any, error) {
			return M{
				"@odata.type":    "#SessionService.v1_2_0.SessionService",
				"@odata.id":      "/redfish/v1/SessionService",
				"Id":             "SessionService",
				"Name":           "Session Service",
				"ServiceEnabled": true,
				"SessionTimeout": int(s.sessions.Timeout() / time.Second),
				"Sessions":       link{"/redfish/v1/SessionService/Sessions"},
				"Status":         enabledStatus(),
				writeableKey:     []string{"SessionTimeout"},
			}, nil
		},
		patchPriv: auth.PrivConfigureManager,
		patch: func(r *http.Request) error {
			var p struct {
				SessionTimeout *int `json:"SessionTimeout" validate:"omitempty,min=30,max=86400"`
			}
			ro := map[string]bool{"Id": true, "Name": true, "ServiceEnabled": true, "Sessions": true, "Status": true}
			if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return ro[n] }}); err != nil {
				return err
			}
			if p.SessionTimeout != nil {
				d := time.Duration(*p.SessionTimeout) * time.Second
				if d != s.sessions.Timeout() {
					s.sessions.SetTimeout(d)
					s.record(r, audit.PropertyModified("/SessionTimeout", strconv.Itoa(*p.SessionTimeout)))
				}
			}
			return nil
		},
	})
	s.handle("/redfish/v1/SessionService/Sessions", &resource{
		get: func(r *http.Request) (any, error) {
			p, _ := principalFrom(r)
			var ids []string
			for _, ses := range s.sessions.List() {
				if p.Account.Role.Has(auth.PrivConfigureManager) || ses.AccountID == p.Account.ID {
					ids = append(ids, sessionPath(ses.ID))
				}
			}
			return collection("SessionCollection", "Session Collection", "/redfish/v1/SessionService/Sessions", ids), nil
		},
		publicPost: true,
		post:       s.login,
	})
	s.handle("/redfish/v1/SessionService/Sessions/{ses}", &resource{
		get: func(r *http.Request) (any, error) {
			ses, err := s.ownSession(r)
			if err != nil {
				return nil, err
			}
			return renderSession(ses), nil
		},
		delete: func(r *http.Request) error {
			ses, err := s.ownSession(r)
			if err != nil {
				return err
			}
			s.sessions.Delete(ses.ID)
			return nil
		},
	})
}

func sessionPath(id string) string { return "/redfish/v1/SessionService/Sessions/" + id }

// ownSession finds the {ses} session if the caller may see it: its own, or
// any with ConfigureManager. Others' sessions are reported as absent.
func (s *Service) ownSession(r *http.Request) (auth.Session, error) {
	id := chi.URLParam(r, "ses")
	ses, ok := s.sessions.Get(id)
	p, _ := principalFrom(r)
	if !ok || (ses.AccountID != p.Account.ID && !p.Account.Role.Has(auth.PrivConfigureManager)) {
		return auth.Session{}, notFound("Session", id)
	}
	return ses, nil
}

func renderSession(ses auth.Session) M {
	return M{
		"@odata.type":           "#Session.v1_8_0.Session",
		"@odata.id":             sessionPath(ses.ID),
		"Id":                    ses.ID,
		"Name":                  "User Session",
		"UserName":              ses.UserName,
		"CreatedTime":           ses.Created.UTC().Format(timeFormat),
		"ClientOriginIPAddress": ses.ClientIP,
		"SessionType":           "Redfish",
	}
}

// login creates a session: 201 with X-Auth-Token and Location.
func (s *Service) login(w http.ResponseWriter, r *http.Request) error {
	var b struct {
		UserName *string `json:"UserName" validate:"required"`
		Password *string `json:"Password" validate:"required"`
	}
	if _, err := decodeBody(r, &b, bodyKind{}); err != nil {
		if e, ok := err.(*apiError); ok && e.msgs[0].MessageID == baseMessagePrefix+"PropertyMissing" {
			// PropertyMissing takes a JSON pointer, this message the
			// property's name.
			return apiErr(http.StatusBadRequest, "CreateFailedMissingReqProperties", strings.TrimPrefix(e.msgs[0].MessageArgs[0], "/"))
		}
		return err
	}
	a, err := s.gate.Login(r, *b.UserName, *b.Password)
	if err != nil {
		return authError(err)
	}
	host := clientIP(r)
	ses, token := s.sessions.Create(a, host)
	s.cfg.Audit.Record(audit.SuccessfulLogin(a.UserName, host, audit.Redfish), actor(r, a.UserName))
	w.Header().Set(auth.TokenHeader, token)
	w.Header().Set("Location", sessionPath(ses.ID))
	writeJSON(w, http.StatusCreated, renderSession(ses))
	return nil
}
