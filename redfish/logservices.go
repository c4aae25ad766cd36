package redfish

import (
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// The system's event log: power, boot, media and override events, the
// same entries IPMI serves as the SEL.
func (s *Service) logRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/LogServices", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "ComputerSystem")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/LogServices"
		return collection("LogServiceCollection", "Log Service Collection", base, []string{base + "/EventLog"}), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/LogServices/EventLog", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "LogService")
		if err != nil {
			return nil, err
		}
		path := systemPath(m.ID()) + "/LogServices/EventLog"
		return M{
			"@odata.type":        "#LogService.v1_9_0.LogService",
			"@odata.id":          path,
			"Id":                 "EventLog",
			"Name":               "System Event Log",
			"ServiceEnabled":     true,
			"MaxNumberOfRecords": hardware.MaxEvents,
			"OverWritePolicy":    "WrapsWhenFull",
			"LogEntryType":       "Event",
			"DateTime":           s.clock().UTC().Format(timeFormat),
			"Status":             enabledStatus(),
			"Entries":            link{path + "/Entries"},
			"Actions": M{
				"#LogService.ClearLog": M{"target": path + "/Actions/LogService.ClearLog"},
			},
		}, nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/LogServices/EventLog/Entries", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "LogService")
		if err != nil {
			return nil, err
		}
		base := systemPath(m.ID()) + "/LogServices/EventLog/Entries"
		events := m.Events()
		members := make([]M, len(events))
		for i, e := range events {
			members[i] = renderEntry(m.ID(), e)
		}
		return M{
			"@odata.type":         "#LogEntryCollection.LogEntryCollection",
			"@odata.id":           base,
			"Name":                "Event Log Entries",
			"Members":             members,
			"Members@odata.count": len(members),
		}, nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/LogServices/EventLog/Entries/{entry}", &resource{get: func(r *http.Request) (any, error) {
		m, err := s.machine(r, "LogEntry")
		if err != nil {
			return nil, err
		}
		raw := chi.URLParam(r, "entry")
		id, err := strconv.ParseUint(raw, 10, 64)
		if err == nil {
			for _, e := range m.Events() {
				if e.ID == id {
					return renderEntry(m.ID(), e), nil
				}
			}
		}
		return nil, notFound("LogEntry", raw)
	}})
	s.handle("/redfish/v1/Systems/{sys}/LogServices/EventLog/Actions/LogService.ClearLog", &resource{
		postPriv: auth.PrivConfigureManager,
		post: func(w http.ResponseWriter, r *http.Request) error {
			m, err := s.machine(r, "LogService")
			if err != nil {
				return err
			}
			if _, err := decodeBody(r, &struct{}{}, bodyKind{action: "LogService.ClearLog"}); err != nil {
				return err
			}
			if err := m.ClearEvents(); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
	})
}

// renderEntry renders one event log entry. Entries state their event with a
// registry message (MessageId, MessageArgs, the message text filled in) and
// the resource it is about, as the events sent to subscribers do; an entry
// logged before entries carried those details keeps its plain text.
func renderEntry(sys string, e hardware.Event) M {
	id := strconv.FormatUint(e.ID, 10)
	v := M{
		"@odata.type": "#LogEntry.v1_21_0.LogEntry",
		"@odata.id":   logEntryPath(sys, e.ID),
		"Id":          id,
		"Name":        "Log Entry " + id,
		"EntryType":   "Event",
		"Severity":    e.Severity,
		"Created":     e.Time.Format(timeFormat),
		"Message":     e.Message,
	}
	if msg, ok := machineMessage(sys, e); ok {
		v["Message"], v["MessageId"], v["MessageArgs"] = msg.Message, msg.ID, msg.Args
		v["Links"] = M{"OriginOfCondition": link{msg.Origin}}
	}
	if e.Detail != "" {
		// What the registry message leaves out: for a boot, the option,
		// the rule that chose it and what was skipped.
		v["Oem"] = oem("LogEntry", M{"Detail": e.Detail})
	}
	return v
}

func logEntryPath(sys string, id uint64) string {
	return eventLogPath(sys) + "/Entries/" + strconv.FormatUint(id, 10)
}
