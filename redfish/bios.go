package redfish

import (
	"errors"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

func (s *Service) biosRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/Bios", &resource{get: s.getBios})
	s.handle("/redfish/v1/Systems/{sys}/Bios/Settings", &resource{
		get: s.getBiosSettings, patch: s.patchBiosSettings, patchPriv: auth.PrivConfigureComponents,
	})
	s.handle("/redfish/v1/Systems/{sys}/Bios/Actions/Bios.ResetBios", &resource{
		postPriv: auth.PrivConfigureComponents,
		post: func(w http.ResponseWriter, r *http.Request) error {
			m, err := s.machine(r, "Bios")
			if err != nil {
				return err
			}
			if _, err := decodeBody(r, &struct{}{}, bodyKind{action: "Bios.ResetBios"}); err != nil {
				return err
			}
			if err := m.ResetBios(); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
	})
	s.handle("/redfish/v1/Systems/{sys}/SecureBoot", &resource{
		get: s.getSecureBoot, patch: s.patchSecureBoot, patchPriv: auth.PrivConfigureComponents,
	})
}

func (s *Service) getBios(r *http.Request) (any, error) {
	m, err := s.machine(r, "Bios")
	if err != nil {
		return nil, err
	}
	path := systemPath(m.ID()) + "/Bios"
	cur, _ := m.Bios()
	return M{
		"@odata.type": "#Bios.v1_2_3.Bios",
		"@odata.id":   path,
		"Id":          "Bios",
		"Name":        "BIOS Configuration Current Settings",
		// The registry that describes every attribute and its rules.
		"AttributeRegistry": m.BiosRegistry().ID(),
		"Attributes":        cur,
		"@Redfish.Settings": biosSettingsAnnotation(m, path),
		"Actions": M{
			"#Bios.ResetBios": M{"target": path + "/Actions/Bios.ResetBios"},
		},
	}, nil
}

// getBiosSettings shows the attributes staged for the next boot.
func (s *Service) getBiosSettings(r *http.Request) (any, error) {
	m, err := s.machine(r, "Bios")
	if err != nil {
		return nil, err
	}
	_, pending := m.Bios()
	if pending == nil {
		pending = map[string]any{}
	}
	return M{
		"@odata.type": "#Bios.v1_2_3.Bios",
		"@odata.id":   systemPath(m.ID()) + "/Bios/Settings",
		"Id":          "Settings",
		"Name":        "BIOS Configuration Pending Settings",
		"Attributes":  pending,
		// Which attributes take values is the attribute registry's to say
		// (ReadOnly), not an annotation among the attributes.
		writeableKey: []string{"Attributes"},
	}, nil
}

func (s *Service) patchBiosSettings(r *http.Request) error {
	m, err := s.machine(r, "Bios")
	if err != nil {
		return err
	}
	var p struct {
		Attributes map[string]any `json:"Attributes" validate:"required"`
	}
	if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return n == "Id" || n == "Name" }}); err != nil {
		return err
	}
	var errs hardware.AttributeErrors
	if err := m.SetBiosPending(p.Attributes); errors.As(err, &errs) {
		return attributeErrors(errs)
	} else if err != nil {
		return err
	}
	return nil
}

// attributeErrors renders every rejected attribute as the Base message
// that names it, as the JSON pointer /Attributes/<name>: unknown →
// PropertyUnknown, read-only → PropertyNotWritable, wrong JSON type →
// PropertyValueTypeError, not an allowed value → PropertyValueNotInList,
// outside its bounds, step or length → PropertyValueOutOfRange (the
// Resolution says the bounds from the attribute registry).
func attributeErrors(errs hardware.AttributeErrors) *apiError {
	out := &apiError{status: http.StatusBadRequest}
	for _, e := range errs {
		ptr := "/Attributes/" + pointerToken(e.Name)
		val := messageValue(e.Value)
		var msg message
		switch e.Problem {
		case hardware.AttrUnknown:
			msg = newMessage("PropertyUnknown", ptr)
		case hardware.AttrReadOnly:
			msg = newMessage("PropertyNotWritable", ptr)
		case hardware.AttrWrongType:
			msg = newMessage("PropertyValueTypeError", val, ptr)
		case hardware.AttrNotInList:
			msg = newMessage("PropertyValueNotInList", val, ptr)
		default:
			msg = newMessage("PropertyValueOutOfRange", val, ptr)
		}
		out.msgs = append(out.msgs, msg)
	}
	return out
}

// pointerToken escapes a property name for a JSON pointer (RFC 6901 §3).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func (s *Service) getSecureBoot(r *http.Request) (any, error) {
	m, err := s.machine(r, "SecureBoot")
	if err != nil {
		return nil, err
	}
	if !m.Capabilities().SecureBoot {
		return nil, notFound("SecureBoot", "SecureBoot")
	}
	on, cur := m.SecureBoot()
	curS := "Disabled"
	if cur {
		curS = "Enabled"
	}
	return M{
		"@odata.type":           "#SecureBoot.v1_1_2.SecureBoot",
		"@odata.id":             systemPath(m.ID()) + "/SecureBoot",
		"Id":                    "SecureBoot",
		"Name":                  "UEFI Secure Boot",
		"SecureBootEnable":      on,
		"SecureBootCurrentBoot": curS,
		"SecureBootMode":        "DeployedMode",
		writeableKey:            []string{"SecureBootEnable"},
	}, nil
}

func (s *Service) patchSecureBoot(r *http.Request) error {
	m, err := s.machine(r, "SecureBoot")
	if err != nil {
		return err
	}
	if !m.Capabilities().SecureBoot { // absent, as GET says
		return notFound("SecureBoot", "SecureBoot")
	}
	var p struct {
		SecureBootEnable *bool `json:"SecureBootEnable"`
	}
	ro := map[string]bool{"Id": true, "Name": true, "SecureBootCurrentBoot": true, "SecureBootMode": true}
	if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return ro[n] }}); err != nil {
		return err
	}
	if p.SecureBootEnable == nil {
		return nil
	}
	err = m.SetSecureBoot(*p.SecureBootEnable)
	if errors.Is(err, hardware.ErrSecureBootLegacy) {
		// Secure Boot is UEFI's: firmware offers it only with BIOS
		// BootMode UEFI (the value the next POST reads).
		return withCause(apiErr(http.StatusBadRequest, "PropertyValueConflict",
			"SecureBootEnable", systemPath(m.ID())+"/Bios#/Attributes/BootMode"), err)
	}
	return err
}

// biosSettingsAnnotation is the Bios's @Redfish.Settings (Settings v1_4_0):
// where to PATCH, when settings apply, and, once staged settings have
// taken effect at a boot, when (Time) and how (Messages: Base Success,
// naming the attributes set), which sushy's Bios.update_status and
// Ironic's BIOS interface read.
func biosSettingsAnnotation(m *hardware.Machine, path string) M {
	v := M{
		"@odata.type":         "#Settings.v1_4_0.Settings",
		"SettingsObject":      link{path + "/Settings"},
		"SupportedApplyTimes": []string{"OnReset"},
	}
	if a, ok := m.LastBiosApply(); ok {
		v["Time"] = a.Time.Format(timeFormat)
		related := make([]string, len(a.Attributes))
		for i, n := range a.Attributes {
			related[i] = "/Attributes/" + pointerToken(n)
		}
		msg := newMessage("Success")
		v["Messages"] = []any{settingsMessage{message: msg, RelatedProperties: related}}
	}
	return v
}

// settingsMessage is a registry message with the properties it is about.
type settingsMessage struct {
	message
	RelatedProperties []string `json:"RelatedProperties"`
}
