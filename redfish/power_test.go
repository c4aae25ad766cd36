package redfish

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

// parkedSim is a simulated machine brought to state the real way ("On+POST"
// is On while the firmware POSTs after a warm reset), with every delay so
// long that it stays there for the whole test.
func parkedSim(tb testing.TB, state string) *sim.Machine {
	tb.Helper()
	const forever = time.Hour
	on := state == "On" || state == "On+POST" || state == "PoweringOff"
	b := sim.New(sim.Config{ID: "p", Seed: "redfish-test", PowerOnDelay: forever, PowerOffDelay: forever, ShutdownDelay: forever, PoweredOn: on})
	r := map[string]hardware.ResetType{"PoweringOn": hardware.ResetOn, "On+POST": hardware.ResetForceRestart,
		"PoweringOff": hardware.ResetGracefulShutdown}[state]
	if r != "" {
		if err := b.Reset(context.Background(), r); err != nil {
			tb.Fatal(err)
		}
	}
	return b
}

// systemStatus is the Status.State a system's PowerState (and POST) calls for.
func systemStatus(ps string, post bool) string {
	switch {
	case ps == "On" && post, ps == "PoweringOn":
		return "Starting"
	case ps == "On":
		return "Enabled"
	case ps == "PoweringOff":
		return "Disabled"
	}
	return "StandbyOffline"
}

// TestResetAgreesWithPowerState runs every ResetType from every power state
// over Redfish. The answer follows the PowerState the system reports: only
// an NMI with the power Off is refused (409 ResourceInStandby); a restart
// of a system that is Off powers it on; an NMI or GracefulShutdown while
// the host POSTs after a warm reset (PowerState On) is carried out. After
// each, the system's PowerState, Status and BootProgress agree with each
// other and with the machine.
func TestResetAgreesWithPowerState(t *testing.T) {
	// PowerState right after the reset.
	after := map[string]map[hardware.ResetType]string{
		"Off": {"On": "PoweringOn", "ForceOn": "PoweringOn", "ForceOff": "Off", "GracefulShutdown": "Off",
			"GracefulRestart": "PoweringOn", "ForceRestart": "PoweringOn", "PowerCycle": "PoweringOn", "Nmi": "Off", "PushPowerButton": "PoweringOn"},
		"PoweringOn": {"On": "PoweringOn", "ForceOn": "PoweringOn", "ForceOff": "Off", "GracefulShutdown": "Off",
			"GracefulRestart": "PoweringOn", "ForceRestart": "PoweringOn", "PowerCycle": "Off", "Nmi": "PoweringOn", "PushPowerButton": "Off"},
		"On": {"On": "On", "ForceOn": "On", "ForceOff": "Off", "GracefulShutdown": "PoweringOff",
			"GracefulRestart": "PoweringOff", "ForceRestart": "On", "PowerCycle": "Off", "Nmi": "On", "PushPowerButton": "PoweringOff"},
		"On+POST": {"On": "On", "ForceOn": "On", "ForceOff": "Off", "GracefulShutdown": "Off",
			"GracefulRestart": "On", "ForceRestart": "On", "PowerCycle": "Off", "Nmi": "On", "PushPowerButton": "Off"},
		"PoweringOff": {"On": "PoweringOff", "ForceOn": "PoweringOn", "ForceOff": "Off", "GracefulShutdown": "PoweringOff",
			"GracefulRestart": "PoweringOff", "ForceRestart": "On", "PowerCycle": "Off", "Nmi": "PoweringOff", "PushPowerButton": "PoweringOff"},
	}
	const p = "/redfish/v1/Systems/p"
	for _, state := range []string{"Off", "PoweringOn", "On", "On+POST", "PoweringOff"} {
		for _, rt := range hardware.AllResetTypes {
			t.Run(state+"/"+string(rt), func(t *testing.T) {
				e := newEnv(t, withBackend("p", parkedSim(t, state)))
				before := e.get(p).obj()
				reported, _ := before["PowerState"].(string)
				if want := map[string]string{"On+POST": "On"}[state]; want != "" && reported != want || want == "" && reported != state {
					t.Fatalf("%s reported as %s", state, reported)
				}
				r := e.post(p+"/Actions/ComputerSystem.Reset", M{"ResetType": rt})
				if rt == hardware.ResetNmi && reported == "Off" {
					r.wantError(http.StatusConflict, "ResourceInStandby")
				} else {
					r.want(http.StatusNoContent)
				}
				m := e.machines["p"]
				v := e.get(p).obj()
				ps, _ := m.PowerState(context.Background())
				if v["PowerState"] != string(ps) || v["PowerState"] != after[state][rt] {
					t.Errorf("PowerState %v (machine %s), want %s", v["PowerState"], ps, after[state][rt])
				}
				if got, want := at(v, "Status", "State"), systemStatus(string(ps), m.InPOST()); got != want {
					t.Errorf("Status.State %v with PowerState %s (POST %v), want %s", got, ps, m.InPOST(), want)
				}
				progress := at(v, "BootProgress", "LastState")
				if (progress == "OSRunning") != (ps == hardware.PowerOn && !m.InPOST()) {
					t.Errorf("BootProgress %v with PowerState %s (POST %v)", progress, ps, m.InPOST())
				}
			})
		}
	}
}

// The user's report, over Redfish: right after a ForceRestart the system
// stays On, and Nmi and GracefulShutdown are carried out while it POSTs.
func TestResetWhilePOSTing(t *testing.T) {
	e := newEnv(t)
	e.powerOn("0")
	e.post(reset0, M{"ResetType": "ForceRestart"}).want(http.StatusNoContent)
	v := e.get(sys0).obj()
	if v["PowerState"] != "On" {
		t.Fatalf("PowerState %v right after ForceRestart", v["PowerState"])
	}
	e.post(reset0, M{"ResetType": "Nmi"}).want(http.StatusNoContent)
	e.post(reset0, M{"ResetType": "GracefulShutdown"}).want(http.StatusNoContent)
	e.waitPower("0", hardware.PowerOff)
}
