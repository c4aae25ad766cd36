package redfish

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// TestFleetChanges: a system that joins the fleet while the service runs
// is served (by Id and alias) and announced as ResourceCreated; one that
// leaves is gone (404) and announced as ResourceRemoved.
func TestFleetChanges(t *testing.T) {
	e := newEnv(t)
	m, err := hardware.NewMachine("vm-9", &backendtest.Switch{Inventory: hardware.Info{Name: "web9", Manufacturer: "QEMU", Model: "Standard PC"}}, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := e.svc.fleet.Add(m, "test", []string{"web9", "lab 9 ü&#%?/x"}); err != nil {
		t.Fatal(err)
	}
	if r := e.get("/redfish/v1/Systems/web9"); r.Code != http.StatusOK || r.obj()["Id"] != "vm-9" || r.obj()["Name"] != "web9" {
		t.Errorf("by alias: %d %v %v", r.Code, r.obj()["Id"], r.obj()["Name"])
	}
	// A domain's name may be anything: escaped in the URI, it is found.
	if r := e.get("/redfish/v1/Systems/" + url.PathEscape("lab 9 ü&#%?/x")); r.Code != http.StatusOK || r.obj()["Id"] != "vm-9" {
		t.Errorf("by an escaped alias: %d %v", r.Code, r.obj()["Id"])
	}
	if r := e.get("/redfish/v1/Systems"); r.obj()["Members@odata.count"] != float64(3) {
		t.Errorf("members: %v", r.obj()["Members@odata.count"])
	}
	e.svc.fleet.Remove("vm-9")
	if r := e.get("/redfish/v1/Systems/vm-9"); r.Code != http.StatusNotFound {
		t.Errorf("after removal: %d", r.Code)
	}
	e.svc.events.mu.Lock()
	var got []string
	for _, r := range e.svc.events.recent {
		got = append(got, r.MessageID+" "+r.Origin)
	}
	e.svc.events.mu.Unlock()
	want := []string{"ResourceEvent.1.4.ResourceCreated /redfish/v1/Systems/vm-9", "ResourceEvent.1.4.ResourceRemoved /redfish/v1/Systems/vm-9"}
	if len(got) < 2 || got[len(got)-2] != want[0] || got[len(got)-1] != want[1] {
		t.Errorf("events = %v, want to end with %v", got, want)
	}
}

// TestUpdateTargetsNone: with no machine whose firmware can be updated
// (a bmcd in front of VMs only), SimpleUpdate's Targets allow nothing:
// an empty array, never null, which the schema refuses.
func TestUpdateTargetsNone(t *testing.T) {
	e := newEnv(t)
	for _, m := range e.svc.fleet.Machines() {
		e.svc.fleet.Remove(m.ID())
	}
	m, err := hardware.NewMachine("vm-1", &backendtest.Switch{}, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := e.svc.fleet.Add(m, "", nil); err != nil {
		t.Fatal(err)
	}
	r := e.get("/redfish/v1/UpdateService/SimpleUpdateActionInfo").want(http.StatusOK)
	for _, p := range r.obj()["Parameters"].([]any) {
		p := p.(map[string]any)
		if p["Name"] == "Targets" {
			if v, ok := p["AllowableValues"].([]any); !ok || len(v) != 0 {
				t.Errorf("Targets AllowableValues = %#v, want []", p["AllowableValues"])
			}
		}
	}
}

// noPower is a machine without power control (a board with only its USB
// gadget): its parts are all disabled.
type noPower struct{}

func (noPower) Info() hardware.Info                 { return hardware.Info{Manufacturer: "test", Model: "gadget only"} }
func (noPower) Attach(hardware.Host) hardware.Parts { return hardware.Parts{} }
func (noPower) Close() error                        { return nil }

// TestPowerStateUnknown: a machine whose power state cannot be known is
// served with PowerState null (the schema allows it), not an error, and
// offers no reset.
func TestPowerStateUnknown(t *testing.T) {
	e := newEnv(t)
	m, err := hardware.NewMachine("g", noPower{}, e.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := e.svc.fleet.Add(m, "test", nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/redfish/v1/Systems/g", "/redfish/v1/Chassis/g"} {
		r := e.get(p)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, r.Code, r.Body)
		}
		if v, ok := r.obj()["PowerState"]; !ok || v != nil {
			t.Errorf("GET %s: PowerState %v (present %v), want null", p, v, ok)
		}
	}
	r := e.post("/redfish/v1/Systems/g/Actions/ComputerSystem.Reset", `{"ResetType":"On"}`)
	if r.Code != http.StatusBadRequest {
		t.Errorf("Reset On: %d %s", r.Code, r.Body)
	}
}
