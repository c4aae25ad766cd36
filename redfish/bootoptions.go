package redfish

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// The firmware's UEFI boot options (BootOption v1_0_6), what Boot.BootOrder
// and Boot.BootNext name, and ComputerSystem.SetDefaultBootOrder.
func (s *Service) bootOptionRoutes() {
	s.handle("/redfish/v1/Systems/{sys}/BootOptions", &resource{get: func(r *http.Request) (any, error) {
		m, opts, err := s.bootOptions(r)
		if err != nil {
			return nil, err
		}
		path := systemPath(m.ID()) + "/BootOptions"
		ids := make([]string, len(opts))
		for i, o := range opts {
			ids[i] = path + "/" + o.Reference
		}
		return collection("BootOptionCollection", "Boot Option Collection", path, ids), nil
	}})
	s.handle("/redfish/v1/Systems/{sys}/BootOptions/{opt}", &resource{
		get:       s.getBootOption,
		patch:     s.patchBootOption,
		patchPriv: auth.PrivConfigureComponents,
	})
	s.handle("/redfish/v1/Systems/{sys}/Actions/ComputerSystem.SetDefaultBootOrder", &resource{
		postPriv: auth.PrivConfigureComponents,
		post: func(w http.ResponseWriter, r *http.Request) error {
			m, _, err := s.bootOptions(r)
			if err != nil {
				return err
			}
			if _, err := decodeBody(r, &struct{}{}, bodyKind{action: "ComputerSystem.SetDefaultBootOrder"}); err != nil {
				return err
			}
			if err := m.SetDefaultBootOrder(); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		},
	})
}

// bootOptions resolves {sys} to a machine whose firmware shows its boot
// options; the others have no BootOptions (and no boot order).
func (s *Service) bootOptions(r *http.Request) (*hardware.Machine, []hardware.BootOption, error) {
	m, err := s.machine(r, "ComputerSystem")
	if err != nil {
		return nil, nil, err
	}
	opts := m.BootOptions()
	if len(opts) == 0 {
		return nil, nil, notFound("BootOptionCollection", "BootOptions")
	}
	return m, opts, nil
}

func (s *Service) bootOption(r *http.Request) (*hardware.Machine, hardware.BootOption, error) {
	m, _, err := s.bootOptions(r)
	if err != nil {
		return nil, hardware.BootOption{}, err
	}
	ref := chi.URLParam(r, "opt")
	o, ok := m.BootOption(ref)
	if !ok {
		return nil, o, notFound("BootOption", ref)
	}
	return m, o, nil
}

func (s *Service) getBootOption(r *http.Request) (any, error) {
	m, o, err := s.bootOption(r)
	if err != nil {
		return nil, err
	}
	sys := systemPath(m.ID())
	doc := M{
		"@odata.type":         "#BootOption.v1_0_6.BootOption",
		"@odata.id":           sys + "/BootOptions/" + o.Reference,
		"Id":                  o.Reference,
		"Name":                o.DisplayName,
		"BootOptionReference": o.Reference,
		"DisplayName":         o.DisplayName,
		"BootOptionEnabled":   !o.Disabled,
		"UefiDevicePath":      o.DevicePath,
		"Alias":               o.Alias,
		writeableKey:          []string{"BootOptionEnabled"},
	}
	var related []link
	switch {
	case o.Disk != "":
		related = append(related, link{drivePath(m.ID(), o.Disk)})
	case o.NIC != "":
		related = append(related, link{sys + "/EthernetInterfaces/" + o.NIC})
	case o.Slot != "":
		related = append(related, link{sys + "/VirtualMedia/" + o.Slot})
	}
	if len(related) > 0 {
		doc["RelatedItem"] = related
		doc["RelatedItem@odata.count"] = len(related)
	}
	return doc, nil
}

// bootOptionReadOnly are the BootOption properties clients cannot set.
var bootOptionReadOnly = map[string]bool{
	"Id": true, "Name": true, "BootOptionReference": true, "DisplayName": true,
	"UefiDevicePath": true, "Alias": true, "RelatedItem": true,
}

// patchBootOption sets BootOptionEnabled: a disabled option stays in the
// boot order and is skipped (the UEFI LOAD_OPTION_ACTIVE attribute).
func (s *Service) patchBootOption(r *http.Request) error {
	m, o, err := s.bootOption(r)
	if err != nil {
		return err
	}
	var p struct {
		BootOptionEnabled *bool `json:"BootOptionEnabled"`
	}
	if _, err := decodeBody(r, &p, bodyKind{readOnly: func(n string) bool { return bootOptionReadOnly[n] }}); err != nil {
		return err
	}
	if p.BootOptionEnabled == nil {
		return nil
	}
	return m.SetBootOptionEnabled(o.Reference, *p.BootOptionEnabled)
}

// addBootOrder adds the UEFI boot manager's properties to a system's Boot
// object when its firmware shows its boot options.
func addBootOrder(boot M, m *hardware.Machine, path string) {
	opts := m.BootOptions()
	if len(opts) == 0 {
		return
	}
	refs := make([]string, len(opts))
	paths := make([]string, len(opts))
	for i, o := range opts {
		refs[i], paths[i] = o.Reference, o.DevicePath
	}
	boot["BootOptions"] = link{path + "/BootOptions"}
	boot["BootOrder"] = m.BootOrder()
	boot["BootNext"] = nullable(m.BootNext())
	boot["BootNext@Redfish.AllowableValues"] = refs
	if m.BootAllowable().AllowsTarget(hardware.BootUefiTarget) {
		boot["UefiTargetBootSourceOverride"] = nullable(m.BootOverride().UefiTarget)
		boot["UefiTargetBootSourceOverride@Redfish.AllowableValues"] = paths
	}
}

// bootWriteable are the Boot properties a PATCH of the system changes on
// m: the override's when the backend has boot control (Mode only with boot
// modes to choose from, UefiTargetBootSourceOverride only with UefiTarget
// among the targets and boot options to aim at), BootOrder and BootNext
// when the firmware shows its boot options. A backend without boot control
// accepts an override and changes nothing, so none is listed.
func bootWriteable(m *hardware.Machine) []string {
	var w []string
	allow, opts := m.BootAllowable(), len(m.BootOptions()) > 0
	if allow.Supported() {
		w = append(w, "BootSourceOverrideTarget", "BootSourceOverrideEnabled")
		if len(allow.Modes) > 0 {
			w = append(w, "BootSourceOverrideMode")
		}
		if opts && allow.AllowsTarget(hardware.BootUefiTarget) {
			w = append(w, "UefiTargetBootSourceOverride")
		}
	}
	if opts {
		w = append(w, "BootOrder", "BootNext")
	}
	return w
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// bootPatch is the Boot object of a ComputerSystem PATCH.
type bootPatch struct {
	BootSourceOverrideTarget     *string   `json:"BootSourceOverrideTarget" validate:"omitempty,oneof=None Pxe Floppy Cd Usb Hdd BiosSetup Utilities Diags UefiShell UefiTarget SDCard UefiHttp RemoteDrive UefiBootNext Recovery"`
	BootSourceOverrideEnabled    *string   `json:"BootSourceOverrideEnabled" validate:"omitempty,oneof=Disabled Once Continuous"`
	BootSourceOverrideMode       *string   `json:"BootSourceOverrideMode" validate:"omitempty,oneof=UEFI Legacy"`
	UefiTargetBootSourceOverride *string   `json:"UefiTargetBootSourceOverride" nullable:"true"` // null clears it
	BootOrder                    *[]string `json:"BootOrder"`
	BootNext                     *string   `json:"BootNext" nullable:"true"` // null clears it
}

// change turns the PATCH into a machine BootChange. raw is the Boot
// object as sent, where a null BootNext or UefiTargetBootSourceOverride
// (which clears it) differs from an absent one; decodeBody has refused
// every other null.
func (b *bootPatch) change(raw json.RawMessage) (hardware.BootChange, error) {
	var c hardware.BootChange
	if b.BootSourceOverrideTarget != nil {
		c.Target = hardware.BootSource(*b.BootSourceOverrideTarget)
	}
	if b.BootSourceOverrideEnabled != nil {
		c.Enabled = hardware.BootEnabled(*b.BootSourceOverrideEnabled)
	}
	if b.BootSourceOverrideMode != nil {
		c.Mode = hardware.BootMode(*b.BootSourceOverrideMode)
	}
	var members map[string]json.RawMessage
	_ = json.Unmarshal(raw, &members)
	empty := ""
	c.UefiTarget, c.Next = b.UefiTargetBootSourceOverride, b.BootNext
	if string(members["UefiTargetBootSourceOverride"]) == "null" {
		c.UefiTarget = &empty
	}
	if string(members["BootNext"]) == "null" {
		c.Next = &empty
	}
	c.Order = b.BootOrder
	return c, nil
}

// bootFieldPointer is where a machine boot field is in the Redfish Boot
// object, as a JSON pointer.
func bootFieldPointer(f hardware.BootField, index int) string {
	p := map[hardware.BootField]string{
		hardware.FieldTarget:     "/Boot/BootSourceOverrideTarget",
		hardware.FieldEnabled:    "/Boot/BootSourceOverrideEnabled",
		hardware.FieldMode:       "/Boot/BootSourceOverrideMode",
		hardware.FieldUefiTarget: "/Boot/UefiTargetBootSourceOverride",
		hardware.FieldOrder:      "/Boot/BootOrder",
		hardware.FieldNext:       "/Boot/BootNext",
	}[f]
	if index >= 0 {
		p += "/" + strconv.Itoa(index)
	}
	return p
}

// bootErrors renders a refused boot change: a value the machine does not
// have → PropertyValueNotInList; the same option twice in BootOrder →
// PropertyValueConflict naming both positions; UefiBootNext without
// BootNext, or UefiTarget without a device path → PropertyMissing;
// UefiBootNext with Continuous (UEFI's BootNext is one-time) →
// PropertyValueConflict. Other errors pass through.
func bootErrors(err error) error {
	var errs hardware.BootErrors
	if !errors.As(err, &errs) {
		return err
	}
	out := &apiError{status: http.StatusBadRequest}
	for _, e := range errs {
		ptr := bootFieldPointer(e.Field, e.Index)
		var msg message
		switch e.Problem {
		case hardware.BootDuplicate:
			msg = newMessage("PropertyValueConflict", ptr, bootFieldPointer(e.Field, e.Other))
		case hardware.BootConflict:
			msg = newMessage("PropertyValueConflict", ptr, bootFieldPointer(e.With, -1))
		case hardware.BootMissing:
			msg = newMessage("PropertyMissing", ptr)
		default:
			msg = newMessage("PropertyValueNotInList", e.Value, ptr)
		}
		out.msgs = append(out.msgs, msg)
	}
	return out
}
