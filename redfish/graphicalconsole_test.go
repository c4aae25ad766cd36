package redfish

import (
	"encoding/json"
	"testing"
)

// TestGraphicalConsole: the KVM-IP service is shown where it listens and
// only for a machine with a screen: Manager.GraphicalConsole,
// ManagerNetworkProtocol.KVMIP (the system's VNC port) and
// ComputerSystem.GraphicalConsole.
func TestGraphicalConsole(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}))
	type console struct {
		ServiceEnabled        bool
		MaxConcurrentSessions int
		ConnectTypesSupported []string
		Port                  *int
	}
	var mgr struct {
		GraphicalConsole console
		SerialConsole    *console // deprecated in Manager: ComputerSystem has it
	}
	var proto struct {
		KVMIP struct {
			ProtocolEnabled bool
			Port            int
		}
	}
	var sys struct{ GraphicalConsole *console }
	get := func(path string, v any) {
		t.Helper()
		if err := json.Unmarshal(e.get(path).want(200).Body, v); err != nil {
			t.Fatal(err)
		}
	}
	get("/redfish/v1/Managers/0", &mgr)
	if g := mgr.GraphicalConsole; !g.ServiceEnabled || g.MaxConcurrentSessions != 4 || len(g.ConnectTypesSupported) != 1 || g.ConnectTypesSupported[0] != "KVMIP" {
		t.Errorf("Manager 0 GraphicalConsole %+v", g)
	}
	if mgr.SerialConsole != nil {
		t.Errorf("Manager 0 serves the deprecated SerialConsole: %+v", mgr.SerialConsole)
	}
	get("/redfish/v1/Managers/0/NetworkProtocol", &proto)
	if !proto.KVMIP.ProtocolEnabled || proto.KVMIP.Port != 5900 {
		t.Errorf("NetworkProtocol KVMIP %+v", proto.KVMIP)
	}
	get("/redfish/v1/Systems/0", &sys)
	if g := sys.GraphicalConsole; g == nil || !g.ServiceEnabled || g.Port == nil || *g.Port != 5900 {
		t.Errorf("System 0 GraphicalConsole %+v", g)
	}
	// No VNC listener (system 1), or no screen (a power switch): no
	// graphical console.
	for _, id := range []string{"1", "pkvm"} {
		mgr.GraphicalConsole, proto.KVMIP.ProtocolEnabled, sys.GraphicalConsole = console{ServiceEnabled: true}, true, nil
		get("/redfish/v1/Managers/"+id, &mgr)
		get("/redfish/v1/Managers/"+id+"/NetworkProtocol", &proto)
		get("/redfish/v1/Systems/"+id, &sys)
		if mgr.GraphicalConsole.ServiceEnabled || proto.KVMIP.ProtocolEnabled || sys.GraphicalConsole != nil {
			t.Errorf("system %s: a graphical console where none listens: %+v %+v %+v", id, mgr.GraphicalConsole, proto.KVMIP, sys.GraphicalConsole)
		}
	}
}
