package redfish

import (
	"errors"
	"net/http"

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
		"Attributes":  cur,
		"@Redfish.Settings": M{
			"@odata.type":         "#Settings.v1_4_0.Settings",
			"SettingsObject":      link{path + "/Settings"},
			"SupportedApplyTimes": []string{"OnReset"},
		},
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
	if err := m.SetBiosPending(p.Attributes); err != nil {
		if errors.Is(err, hardware.ErrNotFound) {
			return withResolution(apiErr(http.StatusBadRequest, "PropertyUnknown", "/Attributes"), err)
		}
		if errors.Is(err, hardware.ErrInvalid) {
			return withResolution(apiErr(http.StatusBadRequest, "PropertyValueError", "/Attributes"), err)
		}
		return err
	}
	return nil
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
	return m.SetSecureBoot(*p.SecureBootEnable)
}
