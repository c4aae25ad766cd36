package redfish

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestRefusedRequestChangesNothing sends every PATCH and POST handler a
// body with one valid and one invalid property (or parameter): each must
// be refused with its Base message and leave everything as it was, since
// the whole body is checked before anything changes.
func TestRefusedRequestChangesNothing(t *testing.T) {
	e := newEnv(t)
	img := newImageServer(t)
	const (
		ch0      = "/redfish/v1/Chassis/0"
		mgr0     = "/redfish/v1/Managers/0"
		usb      = mgr0 + "/VirtualMedia/USB"
		bios     = sys0 + "/Bios"
		secure   = sys0 + "/SecureBoot"
		log      = sys0 + "/LogServices/EventLog"
		sessions = "/redfish/v1/SessionService/Sessions"
	)
	// Something to lose: a medium in the CD slot, a staged BIOS setting,
	// an operator account with a known password.
	e.post(mgrCD+insertA, M{"Image": img.URL + "/ok.iso"}).want(http.StatusNoContent)
	e.patch(bios+"/Settings", M{"Attributes": M{"ProcTurboMode": "Disabled"}}).want(http.StatusNoContent)
	op := accountPath(e.ids[operUser])
	other := img.URL + "/other.iso"

	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		code   int
		key    string
		watch  []string // resources whose representation must not change
	}{
		// The user's report: the LED must not come on.
		{"system LED and unlisted target", "PATCH", sys0, M{"IndicatorLED": "Lit", "Boot": M{"BootSourceOverrideTarget": "SDCard"}}, 400, "PropertyValueNotInList", []string{sys0, ch0}},
		{"system LED and bad mode", "PATCH", sys0, M{"LocationIndicatorActive": true, "Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideMode": "BIOS"}}, 400, "PropertyValueNotInList", []string{sys0, ch0}},
		{"system target and bad enabled", "PATCH", sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Twice"}}, 400, "PropertyValueNotInList", []string{sys0}},
		{"system target and bad LED", "PATCH", sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}, "IndicatorLED": "Dim"}, 400, "PropertyValueNotInList", []string{sys0}},
		{"system LED and read-only", "PATCH", sys0, M{"IndicatorLED": "Lit", "PowerState": "On"}, 400, "PropertyNotWritable", []string{sys0}},
		{"system target and conflict", "PATCH", sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe"}, "IndicatorLED": "Blinking", "LocationIndicatorActive": false}, 400, "PropertyValueConflict", []string{sys0}},
		{"system target and unknown", "PATCH", sys0, M{"Boot": M{"BootSourceOverrideTarget": "Cd"}, "Frobnicate": 1}, 400, "PropertyUnknown", []string{sys0}},
		{"chassis LED and read-only", "PATCH", ch0, M{"IndicatorLED": "Lit", "ChassisType": "Blade"}, 400, "PropertyNotWritable", []string{ch0, sys0}},
		{"chassis LED and wrong type", "PATCH", ch0, M{"IndicatorLED": "Lit", "LocationIndicatorActive": "yes"}, 400, "PropertyValueTypeError", []string{ch0}},
		{"chassis conflict", "PATCH", ch0, M{"IndicatorLED": "Off", "LocationIndicatorActive": true}, 400, "PropertyValueConflict", []string{ch0}},
		{"reset and unknown parameter", "POST", reset0, M{"ResetType": "On", "Force": true}, 400, "ActionParameterUnknown", []string{sys0, log + "/Entries"}},
		{"manager reset and unknown parameter", "POST", mgr0 + "/Actions/Manager.Reset", M{"ResetType": "GracefulRestart", "Bogus": 1}, 400, "ActionParameterUnknown", []string{log + "/Entries"}},
		{"media eject and unsupported method", "PATCH", mgrCD, M{"Inserted": false, "TransferMethod": "Upload"}, 400, "PropertyValueNotInList", []string{mgrCD, sysCD}},
		{"media eject and unknown protocol", "PATCH", sysCD, M{"Image": nil, "TransferProtocolType": "NFS"}, 400, "PropertyValueNotInList", []string{mgrCD}},
		{"media image and unknown protocol", "PATCH", mgrCD, M{"Image": other, "TransferProtocolType": "NFS"}, 400, "PropertyValueNotInList", []string{mgrCD}},
		{"media image and wrong type", "PATCH", mgrCD, M{"Image": other, "WriteProtected": "no"}, 400, "PropertyValueTypeError", []string{mgrCD}},
		{"media image and credentials", "PATCH", mgrCD, M{"Image": other, "UserName": "u", "Password": "p"}, 400, "PropertyNotWritable", []string{mgrCD}},
		{"insert and unsupported method", "POST", usb + insertA, M{"Image": img.URL + "/ok.iso", "TransferMethod": "Upload"}, 400, "ActionParameterValueNotInList", []string{usb}},
		{"eject and unknown parameter", "POST", mgrCD + ejectA, M{"Force": true}, 400, "ActionParameterUnknown", []string{mgrCD}},
		{"account create and locked", "POST", acctsURI, M{"UserName": "x1", "Password": "password1", "RoleId": "Operator", "Locked": true}, 400, "PropertyValueNotInList", []string{acctsURI}},
		{"account create and short password", "POST", acctsURI, M{"UserName": "x1", "Password": "short", "RoleId": "Operator"}, 400, "PasswordIncorrectLength", []string{acctsURI}},
		{"account create and bad Id type", "POST", acctsURI, M{"UserName": "x1", "Password": "password1", "RoleId": "Operator", "Id": 5}, 400, "PropertyValueTypeError", []string{acctsURI}},
		{"account role and short password", "PATCH", op, M{"RoleId": "ReadOnly", "Password": "short"}, 400, "PasswordIncorrectLength", []string{op}},
		{"account disable and lock", "PATCH", op, M{"Enabled": false, "Locked": true}, 400, "PropertyValueNotInList", []string{op}},
		{"account rename and bad role", "PATCH", op, M{"UserName": "renamed", "RoleId": "God"}, 400, "PropertyValueNotInList", []string{op}},
		{"account password and read-only", "PATCH", op, M{"Password": "newpass12", "Id": "7"}, 400, "PropertyNotWritable", []string{op}},
		{"session timeout and read-only", "PATCH", "/redfish/v1/SessionService", M{"SessionTimeout": 60, "ServiceEnabled": false}, 400, "PropertyNotWritable", []string{"/redfish/v1/SessionService"}},
		{"session timeout and unknown", "PATCH", "/redfish/v1/SessionService", M{"SessionTimeout": 60, "Frob": 1}, 400, "PropertyUnknown", []string{"/redfish/v1/SessionService"}},
		{"login and unknown", "POST", sessions, M{"UserName": adminUser, "Password": adminPass, "Bogus": 1}, 400, "PropertyUnknown", []string{sessions}},
		{"secure boot and read-only", "PATCH", secure, M{"SecureBootEnable": true, "SecureBootMode": "SetupMode"}, 400, "PropertyNotWritable", []string{secure}},
		{"bios attribute and unknown attribute", "PATCH", bios + "/Settings", M{"Attributes": M{"PxeNicIndex": 1, "NoSuch": 1}}, 400, "PropertyUnknown", []string{bios + "/Settings", bios}},
		{"bios attribute and wrong type", "PATCH", bios + "/Settings", M{"Attributes": M{"PxeNicIndex": 1, "SerialConsole": 2}}, 400, "PropertyValueTypeError", []string{bios + "/Settings"}},
		{"bios attributes and read-only", "PATCH", bios + "/Settings", M{"Attributes": M{"PxeNicIndex": 1}, "Id": "x"}, 400, "PropertyNotWritable", []string{bios + "/Settings"}},
		{"reset bios and unknown parameter", "POST", bios + "/Actions/Bios.ResetBios", M{"Now": true}, 400, "ActionParameterUnknown", []string{bios + "/Settings"}},
		{"clear log and unknown parameter", "POST", log + "/Actions/LogService.ClearLog", M{"Bogus": 1}, 400, "ActionParameterUnknown", []string{log + "/Entries"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			snap := func() string {
				var b strings.Builder
				for _, p := range tc.watch {
					fmt.Fprintf(&b, "%s\n", e.get(p).Body)
				}
				fmt.Fprintf(&b, "identify %+v override %+v", e.machines["0"].Identify(), e.machines["0"].BootOverride())
				return b.String()
			}
			before := snap()
			e.do(tc.method, tc.path, tc.body).wantError(tc.code, tc.key)
			if after := snap(); after != before {
				t.Errorf("a refused %s %s changed things:\nbefore %s\nafter  %s", tc.method, tc.path, before, after)
			}
		})
	}
	// The operator's password is still the old one.
	e.get(op, basic(operUser, operPass)).want(http.StatusOK)
}
