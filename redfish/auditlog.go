package redfish

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

// The BMC's own log (internal/audit): logins, account and configuration
// changes of the whole bmcd, served as the AuditLog LogService of every
// Manager. Entries are LogEntry resources of EntryType Event whose
// MessageId and MessageArgs come from the DMTF registries served under
// /redfish/v1/Registries.

const auditLogID = "AuditLog"

func (s *Service) auditLogRoutes() {
	s.handle("/redfish/v1/Managers/{sys}/LogServices", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "Manager")
		if err != nil {
			return nil, err
		}
		base := managerPath(m.ID()) + "/LogServices"
		var ids []string
		if s.cfg.Audit != nil {
			ids = append(ids, base+"/"+auditLogID)
		}
		return collection("LogServiceCollection", "Log Service Collection", base, ids), nil
	}})
	s.handle("/redfish/v1/Managers/{sys}/LogServices/AuditLog", &resource{get: func(r *http.Request) (any, error) {
		path, err := s.auditLogPath(r)
		if err != nil {
			return nil, err
		}
		return M{
			"@odata.type":        "#LogService.v1_9_0.LogService",
			"@odata.id":          path,
			"Id":                 auditLogID,
			"Name":               "BMC " + audit.Name,
			"Description":        "Logins, account changes and configuration changes of the BMC",
			"ServiceEnabled":     true,
			"MaxNumberOfRecords": audit.MaxEntries,
			"OverWritePolicy":    "WrapsWhenFull",
			"LogEntryType":       "Event",
			"LogPurposes":        []string{"Security"},
			"Persistency":        true,
			"DateTime":           s.clock().UTC().Format(timeFormat),
			"Status":             enabledStatus(),
			"Entries":            link{path + "/Entries"},
			"Actions": M{
				"#LogService.ClearLog": M{"target": path + "/Actions/LogService.ClearLog"},
			},
		}, nil
	}})
	s.handle("/redfish/v1/Managers/{sys}/LogServices/AuditLog/Entries", &resource{get: func(r *http.Request) (any, error) {
		path, err := s.auditLogPath(r)
		if err != nil {
			return nil, err
		}
		base := path + "/Entries"
		entries := s.cfg.Audit.Entries()
		members := make([]M, len(entries))
		for i, e := range entries {
			members[i] = renderAuditEntry(base, e)
		}
		return M{
			"@odata.type":         "#LogEntryCollection.LogEntryCollection",
			"@odata.id":           base,
			"Name":                "Audit Log Entries",
			"Members":             members,
			"Members@odata.count": len(members),
		}, nil
	}})
	s.handle("/redfish/v1/Managers/{sys}/LogServices/AuditLog/Entries/{entry}", &resource{get: func(r *http.Request) (any, error) {
		path, err := s.auditLogPath(r)
		if err != nil {
			return nil, err
		}
		raw := chi.URLParam(r, "entry")
		if id, err := strconv.ParseUint(raw, 10, 64); err == nil {
			for _, e := range s.cfg.Audit.Entries() {
				if e.ID == id {
					return renderAuditEntry(path+"/Entries", e), nil
				}
			}
		}
		return nil, notFound("LogEntry", raw)
	}})
	s.handle("/redfish/v1/Managers/{sys}/LogServices/AuditLog/Actions/LogService.ClearLog", &resource{
		postPriv: auth.PrivConfigureManager,
		post: func(w http.ResponseWriter, r *http.Request) error {
			if _, err := s.auditLogPath(r); err != nil {
				return err
			}
			if _, err := decodeBody(r, &struct{}{}, bodyKind{action: "LogService.ClearLog"}); err != nil {
				return err
			}
			if err := s.cfg.Audit.Clear(actor(r, "")); err != nil {
				return internalError(err)
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
	})
}

// auditLogPath is the AuditLog of the {sys} Manager, which exists when the
// service has an audit log.
func (s *Service) auditLogPath(r *http.Request) (string, error) {
	m, err := s.machine(r, "Manager")
	if err != nil {
		return "", err
	}
	if s.cfg.Audit == nil {
		return "", notFound("LogService", auditLogID)
	}
	return managerPath(m.ID()) + "/LogServices/" + auditLogID, nil
}

// renderAuditEntry is a LogEntry (v1_21_0): the registry message, and who
// caused it from where (Username, OriginAddress) when a user did.
func renderAuditEntry(base string, e audit.Entry) M {
	id := strconv.FormatUint(e.ID, 10)
	v := M{
		"@odata.type": "#LogEntry.v1_21_0.LogEntry",
		"@odata.id":   base + "/" + id,
		"Id":          id,
		"Name":        "Audit Log Entry " + id,
		"EntryType":   "Event",
		"Severity":    e.Severity(),
		"Created":     e.Created.Format(timeFormat),
		"Message":     e.Message(),
		"MessageId":   e.MessageID,
		"MessageArgs": e.Args,
		"Persistency": true,
	}
	if e.User != "" {
		v["Username"] = e.User
	}
	if e.Origin != "" {
		v["OriginAddress"] = e.Origin
	}
	return v
}

// actor is who made request r: the authenticated account (or user, when r
// is the login that authenticates it) and the client's address with the
// request's scheme.
func actor(r *http.Request, user string) audit.Actor {
	if p, ok := principalFrom(r); ok && user == "" {
		user = p.Account.UserName
	}
	return audit.Actor{User: user, Origin: origin(r)}
}

// origin is "https://192.0.2.7": the client's address with scheme, as
// LogEntry.OriginAddress wants it.
func origin(r *http.Request) string {
	host := clientIP(r)
	if host == "" {
		return ""
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6, as in a URL
	}
	return scheme + "://" + host
}

// clientIP is the address the request came from, without the port.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return ""
	}
	return host
}

// record adds m to the audit log, caused by the client of r.
func (s *Service) record(r *http.Request, m audit.Message) {
	s.cfg.Audit.Record(m, actor(r, ""))
}
