package conformance

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// logMessages is the system's event log as MessageId [args] lines.
func logMessages(t *testing.T, b *bmc, sys string) []string {
	t.Helper()
	var out []string
	for _, m := range b.Get(t, "/redfish/v1/Systems/"+sys+"/LogServices/EventLog/Entries")["Members"].([]any) {
		e := m.(map[string]any)
		out = append(out, fmt.Sprintf("%v %v", e["MessageId"], e["MessageArgs"]))
	}
	return out
}

// checkPowerPairs fails unless the log's power entries alternate from
// off, ending as the system is.
func checkPowerPairs(t *testing.T, log []string, on bool) {
	t.Helper()
	applied := false
	for _, l := range log {
		switch {
		case strings.HasPrefix(l, "ResourceEvent.1.4.ResourcePoweredOn "):
			if applied {
				t.Errorf("powered on twice:\n%s", strings.Join(log, "\n"))
			}
			applied = true
		case strings.HasPrefix(l, "ResourceEvent.1.4.ResourcePoweredOff "):
			if !applied {
				t.Errorf("powered off without a power-on:\n%s", strings.Join(log, "\n"))
			}
			applied = false
		}
	}
	if applied != on {
		t.Errorf("the log ends powered %v, the system is on: %v:\n%s", applied, on, strings.Join(log, "\n"))
	}
}

// readPorts learns the IPMI ports of the current bmcd process (they are
// ephemeral: a restarted bmcd has new ones).
func (ib *ipmiBMC) readPorts(t *testing.T) {
	t.Helper()
	for _, m := range ipmiListening.FindAllStringSubmatch(ib.Output(), -1) {
		_, port, err := net.SplitHostPort(m[2])
		if err != nil {
			t.Fatalf("ipmi listening on %q", m[2])
		}
		ib.ports[m[1]] = port
	}
}

func reset(t *testing.T, b *bmc, sys, typ string) {
	t.Helper()
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/" + sys + "/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": typ}})
}

// TestPowerAcrossRestart: a restart of bmcd (SIGTERM or SIGKILL) is not a
// power loss of the simulated hosts: a host that was on is on at once
// afterwards, through Redfish and ipmitool power status, without a new
// boot or a power entry, and one that was off stays off. The log pairs
// every power-on with a power-off, even for a host switched off during
// its POST, and records warm resets (Redfish ForceRestart, ipmitool power
// reset and cycle) as Bmcd.HostResetRequested, which the SEL shows as a
// system restart.
func TestPowerAcrossRestart(t *testing.T) {
	t.Parallel()
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 2, "")
	b := ib.bmc

	// System 0: on, then a warm reset over Redfish.
	reset(t, b, "0", "On")
	b.WaitPower(t, "0", "On")
	reset(t, b, "0", "ForceRestart")
	eventually(t, 10*time.Second, func() (bool, string) {
		st, _ := b.Get(t, "/redfish/v1/Systems/0")["Status"].(map[string]any)
		return st["State"] == "Enabled", fmt.Sprintf("Status %v", st)
	})
	// System 1: on and off again before the POST ends.
	reset(t, b, "1", "On")
	reset(t, b, "1", "ForceOff")
	b.WaitPower(t, "1", "Off")

	log0 := logMessages(t, b, "0")
	if !strings.Contains(strings.Join(log0, "\n"), "Bmcd.1.0.HostResetRequested [ForceRestart]") {
		t.Errorf("no host reset entry for ForceRestart:\n%s", strings.Join(log0, "\n"))
	}
	checkPowerPairs(t, log0, true)
	log1 := logMessages(t, b, "1")
	checkPowerPairs(t, log1, false)
	if len(log1) != 2 {
		t.Errorf("On then ForceOff during the POST logged:\n%s", strings.Join(log1, "\n"))
	}

	for i, stop := range []string{"SIGTERM", "SIGKILL"} {
		if stop == "SIGTERM" {
			if _, code := b.Terminate(5 * time.Second); code != 0 {
				t.Fatalf("bmcd exited %d", code)
			}
		} else {
			b.Kill()
		}
		b.Start()
		ib.readPorts(t)
		t.Logf("restart %d after %s", i+1, stop)
		// At once, not after a POST.
		if ps := b.Get(t, "/redfish/v1/Systems/0")["PowerState"]; ps != "On" {
			t.Errorf("after %s system 0 is %v, want On", stop, ps)
		}
		if ps := b.Get(t, "/redfish/v1/Systems/1")["PowerState"]; ps != "Off" {
			t.Errorf("after %s system 1 is %v, want Off", stop, ps)
		}
		ib.mustIpmitool(t, "0", nil, "Chassis Power is on", "power", "status")
		ib.mustIpmitool(t, "1", nil, "Chassis Power is off", "power", "status")
		time.Sleep(2 * simPowerOnDelay) // a boot would be logged by now
		if got := logMessages(t, b, "0"); strings.Join(got, "\n") != strings.Join(log0, "\n") {
			t.Errorf("after %s the log of system 0 went from\n%s\nto\n%s", stop, strings.Join(log0, "\n"), strings.Join(got, "\n"))
		}
		if got := logMessages(t, b, "1"); strings.Join(got, "\n") != strings.Join(log1, "\n") {
			t.Errorf("after %s the log of system 1 is\n%s", stop, strings.Join(got, "\n"))
		}
	}

	// ipmitool power reset and power cycle are host resets too.
	ib.mustIpmitool(t, "0", nil, "Reset", "power", "reset")
	ib.mustIpmitool(t, "0", nil, "Cycle", "power", "cycle")
	b.WaitPower(t, "0", "On")
	log0 = logMessages(t, b, "0")
	joined := strings.Join(log0, "\n")
	for _, want := range []string{"Bmcd.1.0.HostResetRequested [ForceRestart]\nBmcd", "Bmcd.1.0.HostResetRequested [PowerCycle]\nResourceEvent.1.4.ResourcePoweredOff"} {
		if !strings.Contains(joined, want) {
			t.Errorf("log lacks %q:\n%s", want, joined)
		}
	}
	checkPowerPairs(t, log0, true)
	out := ib.mustIpmitool(t, "0", nil, "System Restart", "sel", "elist")
	t.Logf("sel elist:\n%s", out)
	if n := strings.Count(out, "System Restart"); n != 3 {
		t.Errorf("%d System Restart records for three host resets:\n%s", n, out)
	}
}
