package redfish

import (
	"fmt"
	"net/http"
	"testing"
)

// TestWriteableProperties checks every @Redfish.WriteableProperties the
// service publishes: the list is exactly what the resource's PATCH takes,
// and a PATCH of each listed property, with a value that fits the state,
// succeeds.
func TestWriteableProperties(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	img := newImageServer(t)
	image := img.URL + "/ok.iso"
	e.post(mgrCD+insertA, M{"Image": image}).want(http.StatusNoContent)
	acct := e.post("/redfish/v1/AccountService/Accounts", M{"UserName": "w1", "Password": "password1", "RoleId": "Operator"}).
		want(http.StatusCreated).Header.Get("Location")
	opt := e.get(sys0 + "/BootOptions/Boot0001").obj()
	path := at(e.get(sys0).obj(), "Boot", "UefiTargetBootSourceOverride@Redfish.AllowableValues", 0)

	for _, tc := range []struct {
		uri    string
		object string // "" for the root
		want   []string
		values M // a PATCHable value for each listed property
	}{
		{sys0, "", identifyWriteable, M{"IndicatorLED": "Blinking", "LocationIndicatorActive": true}},
		{sys0, "Boot", []string{"BootSourceOverrideTarget", "BootSourceOverrideEnabled", "BootSourceOverrideMode",
			"UefiTargetBootSourceOverride", "BootOrder", "BootNext"},
			M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI",
				"UefiTargetBootSourceOverride": path, "BootOrder": []string{"Boot0002", "Boot0001"}, "BootNext": "Boot0003"}},
		{"/redfish/v1/Systems/pkvm", "", identifyWriteable, M{"IndicatorLED": "Lit", "LocationIndicatorActive": true}},
		{sys0 + "/BootOptions/Boot0001", "", []string{"BootOptionEnabled"}, M{"BootOptionEnabled": !opt["BootOptionEnabled"].(bool)}},
		{sys0 + "/SecureBoot", "", []string{"SecureBootEnable"}, M{"SecureBootEnable": true}},
		{sys0 + "/Bios/Settings", "", []string{"Attributes"}, M{"Attributes": M{"ProcTurboMode": "Disabled"}}},
		{"/redfish/v1/Chassis/0", "", identifyWriteable, M{"IndicatorLED": "Lit", "LocationIndicatorActive": true}},
		{mgrCD, "", mediaWriteable, M{"Image": img.URL + "/other.iso", "Inserted": false, "WriteProtected": false,
			"TransferProtocolType": "HTTP", "TransferMethod": "Stream", "VerifyCertificate": true}},
		{sysCD, "", mediaWriteable, M{"Image": image, "Inserted": true, "WriteProtected": true,
			"TransferProtocolType": "HTTP", "TransferMethod": "Stream", "VerifyCertificate": false}},
		{acct, "", []string{"UserName", "Password", "RoleId", "Enabled", "Locked"},
			M{"UserName": "w2", "Password": "password2", "RoleId": "ReadOnly", "Enabled": false, "Locked": false}},
		{"/redfish/v1/SessionService", "", []string{"SessionTimeout"}, M{"SessionTimeout": 600}},
	} {
		t.Run(tc.uri+"/"+tc.object, func(t *testing.T) {
			e := e.with(t)
			v := e.get(tc.uri).obj()
			if tc.object != "" {
				v = v[tc.object].(map[string]any)
			}
			if got, want := fmt.Sprint(v[writeableKey]), fmt.Sprint(tc.want); got != want {
				t.Fatalf("%s: %s %s, want %s", tc.object, writeableKey, got, want)
			}
			// Each property alone, then all of them at once.
			for _, name := range tc.want {
				body := M{name: tc.values[name]}
				if name == "UefiTargetBootSourceOverride" {
					body["BootSourceOverrideTarget"] = "UefiTarget"
				}
				if tc.object != "" {
					body = M{tc.object: body}
				}
				e.patch(tc.uri, body).want(http.StatusNoContent)
			}
			body := tc.values
			if tc.object != "" {
				body = M{tc.object: body}
			}
			e.patch(tc.uri, body).want(http.StatusNoContent)
		})
	}

	// A backend without boot control accepts an override and changes
	// nothing: its Boot lists nothing writable. Resources that take no
	// PATCH say nothing.
	if b := e.get("/redfish/v1/Systems/pkvm").obj()["Boot"].(map[string]any); b[writeableKey] != nil {
		t.Errorf("Boot without boot control: %s %v", writeableKey, b[writeableKey])
	}
	for _, uri := range []string{sys0 + "/Bios", "/redfish/v1/Managers/0", "/redfish/v1/AccountService", "/redfish/v1"} {
		if v := e.get(uri).obj(); v[writeableKey] != nil {
			t.Errorf("%s takes no PATCH but lists %v", uri, v[writeableKey])
		}
	}
}

func TestAddWriteable(t *testing.T) {
	v := M{}
	addWriteable(v)
	if _, ok := v[writeableKey]; ok {
		t.Error("an empty list was added")
	}
	shared := []string{"A"}
	addWriteable(v, shared...)
	addWriteable(v, "B")
	if got := fmt.Sprint(v[writeableKey]); got != "[A B]" || shared[0] != "A" || cap(shared) != 1 {
		t.Errorf("got %s, shared %v", got, shared)
	}
}
