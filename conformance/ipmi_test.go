package conformance

// IPMI over LAN conformance: real ipmitool, FreeIPMI and pyghmi against
// bmcd's IPMI servers, with Redfish checking that both protocols act on
// the same machines. Every test is named TestIPMI* (go test -run IPMI).

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	ipmiOperUser     = "oper"
	ipmiOperPassword = "Operator-Pass1"
	ipmiViewUser     = "viewer"
	ipmiViewPassword = "Viewer-Pass1"
)

var ipmiListening = regexp.MustCompile(`msg="ipmi listening" system=(\S+) addr=(\S+)`)

// ipmiBMC is a bmcd from the shared harness serving IPMI on ephemeral
// 127.0.0.1 ports, one per system.
type ipmiBMC struct {
	*bmc
	ports map[string]string // system ID -> port
}

// startIPMIBMC starts bmcd through the harness, then restarts it with an
// ipmi block (listening on 127.0.0.1:0) and an operator and a read-only
// account added to its configuration file.
func startIPMIBMC(t *testing.T, systems int, ipmiYAML string) *ipmiBMC {
	t.Helper()
	b := startBMC(t, bmcOpts{Systems: systems, PlainHTTP: true})
	raw, err := os.ReadFile(b.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw) + "ipmi:\n  addr: \"127.0.0.1:0\"\n" + ipmiYAML +
		fmt.Sprintf("users:\n  - {name: %s, password: %q, role: Operator}\n  - {name: %s, password: %q, role: ReadOnly}\n",
			ipmiOperUser, ipmiOperPassword, ipmiViewUser, ipmiViewPassword)
	if err := os.WriteFile(b.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code := b.Terminate(5 * time.Second); code != 0 {
		t.Fatalf("bmcd exited %d", code)
	}
	b.Start()
	ib := &ipmiBMC{bmc: b, ports: map[string]string{}}
	for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
		host, port, err := net.SplitHostPort(m[2])
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("ipmi listening on %q", m[2])
		}
		ib.ports[m[1]] = port
	}
	if len(ib.ports) != systems {
		t.Fatalf("%d IPMI listeners for %d systems; output:\n%s", len(ib.ports), systems, b.Output())
	}
	return ib
}

func requireIPMIClients(t *testing.T) {
	for _, tool := range []string{"ipmitool", "ipmipower", "ipmi-chassis"} {
		requireClient(t, tool, func() error { _, err := exec.LookPath(tool); return err })
	}
	requireClient(t, "python3-pyghmi", func() error {
		out, err := exec.Command(systemPython, "-c", "import pyghmi.ipmi.command").CombinedOutput()
		if err != nil {
			return &clientError{err, out}
		}
		return nil
	})
}

// ipmitool runs ipmitool -I lanplus against sys as the administrator;
// extra are options placed before the command (-C, -L, -U/-P overrides).
func (ib *ipmiBMC) ipmitool(t testing.TB, sys string, extra []string, args ...string) (string, int) {
	t.Helper()
	full := []string{"-I", "lanplus", "-H", "127.0.0.1", "-p", ib.ports[sys], "-U", adminUser, "-P", adminPassword, "-N", "1", "-R", "3"}
	full = append(append(full, extra...), args...)
	return runClient(t, time.Minute, "ipmitool", full...)
}

// mustIpmitool fails the test unless ipmitool succeeds and prints want.
func (ib *ipmiBMC) mustIpmitool(t testing.TB, sys string, extra []string, want string, args ...string) string {
	t.Helper()
	out, code := ib.ipmitool(t, sys, extra, args...)
	if code != 0 || !strings.Contains(out, want) {
		t.Fatalf("ipmitool %s %s: exit %d, want %q in:\n%s\nbmcd output:\n%s", strings.Join(extra, " "), strings.Join(args, " "), code, want, out, ib.Output())
	}
	return out
}

func (ib *ipmiBMC) freeipmi(t testing.TB, sys, tool string, args ...string) (string, int) {
	t.Helper()
	full := append([]string{"-h", "127.0.0.1:" + ib.ports[sys], "-u", adminUser, "-p", adminPassword, "-D", "LAN_2_0"}, args...)
	return runClient(t, time.Minute, tool, full...)
}

func (ib *ipmiBMC) boot(t testing.TB, sys string) (target, enabled, mode string) {
	t.Helper()
	bo, _ := ib.Get(t, "/redfish/v1/Systems/"+sys)["Boot"].(map[string]any)
	target, _ = bo["BootSourceOverrideTarget"].(string)
	enabled, _ = bo["BootSourceOverrideEnabled"].(string)
	mode, _ = bo["BootSourceOverrideMode"].(string)
	return
}

func TestIPMIConformance(t *testing.T) {
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 2, "")

	t.Run("ManagerNetworkProtocol", func(t *testing.T) {
		for sys, port := range ib.ports {
			p, _ := ib.Get(t, "/redfish/v1/Managers/"+sys+"/NetworkProtocol")["IPMI"].(map[string]any)
			if p["ProtocolEnabled"] != true || fmt.Sprint(p["Port"]) != port {
				t.Errorf("system %s: IPMI %v, want port %s", sys, p, port)
			}
		}
	})

	t.Run("PresencePing", func(t *testing.T) {
		// ASF Presence Ping (DMTF ASF 2.0 §3.2.4.1), as rmcpping sends it;
		// the FreeIPMI pingers cannot reach a port other than 623.
		conn, err := net.Dial("udp", "127.0.0.1:"+ib.ports["0"])
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ping := []byte{0x06, 0x00, 0xFF, 0x06, 0x00, 0x00, 0x11, 0xBE, 0x80, 0x5A, 0x00, 0x00}
		if _, err := conn.Write(ping); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		pong := make([]byte, 64)
		n, err := conn.Read(pong)
		if err != nil || n != 28 || pong[3] != 0x06 || pong[8] != 0x40 || pong[9] != 0x5A || pong[11] != 16 || pong[20]&0x80 == 0 {
			t.Fatalf("pong % x (%v)", pong[:n], err)
		}
	})

	for _, cs := range [][]string{nil, {"-C", "3"}, {"-C", "17"}} {
		t.Run("Inventory"+strings.Join(cs, ""), func(t *testing.T) {
			ib.mustIpmitool(t, "0", cs, "Chassis Power is", "power", "status")
			ib.mustIpmitool(t, "0", cs, "Power Restore Policy : always-off", "chassis", "status")
			ib.mustIpmitool(t, "0", cs, "IPMI Version              : 2.0", "mc", "info")
			uuid, _ := ib.Get(t, "/redfish/v1/Systems/0")["UUID"].(string)
			out := ib.mustIpmitool(t, "0", cs, "System GUID", "mc", "guid")
			if !strings.Contains(strings.ToLower(out), strings.ToLower(uuid)) || strings.Contains(out, "WARNING") {
				t.Errorf("mc guid does not show the Redfish UUID %s:\n%s", uuid, out)
			}
			out = ib.mustIpmitool(t, "0", cs, "ADMINISTRATOR", "user", "list")
			for _, want := range []*regexp.Regexp{
				regexp.MustCompile(`(?m)^2\s+` + adminUser + `\s.*ADMINISTRATOR`),
				regexp.MustCompile(`(?m)^\d+\s+` + ipmiOperUser + `\s.*OPERATOR`),
				regexp.MustCompile(`(?m)^\d+\s+` + ipmiViewUser + `\s.*USER`),
			} {
				if !want.MatchString(out) {
					t.Errorf("user list lacks %s:\n%s", want, out)
				}
			}
		})
	}

	t.Run("Power", func(t *testing.T) {
		ib.mustIpmitool(t, "0", nil, "Down/Off", "power", "off")
		ib.WaitPower(t, "0", "Off")
		ib.mustIpmitool(t, "0", nil, "Chassis Power is off", "power", "status")
		// Power cycle of a machine that is off: D5h, as §28.3 recommends.
		if out, code := ib.ipmitool(t, "0", nil, "power", "cycle"); code == 0 || !strings.Contains(out, "not supported in present state") {
			t.Errorf("power cycle while off: exit %d\n%s", code, out)
		}
		ib.mustIpmitool(t, "0", []string{"-C", "3"}, "Up/On", "power", "on")
		ib.WaitPower(t, "0", "On")
		ib.mustIpmitool(t, "0", nil, "Chassis Power is on", "power", "status")
		for _, tc := range []struct{ cmd, want, state string }{
			{"cycle", "Cycle", "On"},
			{"reset", "Reset", "On"},
			{"diag", "Diag", "On"},
			{"soft", "Soft", "Off"},
		} {
			ib.mustIpmitool(t, "0", []string{"-C", "17"}, tc.want, "power", tc.cmd)
			if tc.state == "On" {
				// A cycle or reset passes through Off/PoweringOn first.
				time.Sleep(2 * simPowerOffDelay)
			}
			ib.WaitPower(t, "0", tc.state)
		}
		if ps, _ := ib.Get(t, "/redfish/v1/Systems/1")["PowerState"].(string); ps != "Off" {
			t.Errorf("system 1 is %s: IPMI on system 0's port reached it", ps)
		}
		ib.mustIpmitool(t, "1", nil, "Up/On", "power", "on")
		ib.WaitPower(t, "1", "On")
		ib.mustIpmitool(t, "1", nil, "Down/Off", "power", "off")
		ib.WaitPower(t, "1", "Off")
	})

	t.Run("Bootdev", func(t *testing.T) {
		for _, dev := range []struct{ name, selector, target string }{
			{"pxe", "Force PXE", "Pxe"},
			{"disk", "Force Boot from default Hard-Drive", "Hdd"},
			{"cdrom", "Force Boot from CD/DVD", "Cd"},
			{"bios", "Force Boot into BIOS Setup", "BiosSetup"},
		} {
			for _, opts := range []string{"", "options=efiboot,persistent"} {
				args := []string{"chassis", "bootdev", dev.name}
				wantEnabled, wantMode := "Once", "Legacy"
				wants := []string{"Boot Flag Valid", "Options apply to only next boot", "BIOS PC Compatible (legacy) boot", dev.selector}
				if opts != "" {
					args = append(args, opts)
					wantEnabled, wantMode = "Continuous", "UEFI"
					wants = []string{"Boot Flag Valid", "Options apply to all future boots", "BIOS EFI boot", dev.selector}
				}
				ib.mustIpmitool(t, "0", nil, "Set Boot Device to "+dev.name, args...)
				out := ib.mustIpmitool(t, "0", nil, "Boot parameter 5", "chassis", "bootparam", "get", "5")
				for _, w := range wants {
					if !strings.Contains(out, w) {
						t.Errorf("bootdev %s %s: bootparam get 5 lacks %q:\n%s", dev.name, opts, w, out)
					}
				}
				if tg, en, mo := ib.boot(t, "0"); tg != dev.target || en != wantEnabled || mo != wantMode {
					t.Errorf("bootdev %s %s: Redfish shows %s/%s/%s", dev.name, opts, tg, en, mo)
				}
			}
		}
	})

	t.Run("IronicRawSequence", func(t *testing.T) {
		ib.mustIpmitool(t, "0", nil, "", "raw", "0x00", "0x08", "0x03", "0x08")
		ib.mustIpmitool(t, "0", nil, "", "raw", "0x00", "0x08", "0x05", "0xe0", "0x04", "0x00", "0x00", "0x00")
		out := ib.mustIpmitool(t, "0", nil, "Boot parameter data: e004000000", "chassis", "bootparam", "get", "5")
		for _, w := range []string{"Boot Flag Valid", "Options apply to all future boots", "BIOS EFI boot", "Force PXE"} {
			if !strings.Contains(out, w) {
				t.Errorf("bootparam get 5 lacks %q:\n%s", w, out)
			}
		}
		ib.mustIpmitool(t, "0", nil, "Boot parameter data: 08", "chassis", "bootparam", "get", "3")
		if tg, en, mo := ib.boot(t, "0"); tg != "Pxe" || en != "Continuous" || mo != "UEFI" {
			t.Errorf("Redfish shows %s/%s/%s", tg, en, mo)
		}
	})

	t.Run("RedfishToIPMI", func(t *testing.T) {
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0", Body: map[string]any{
			"Boot": map[string]any{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once", "BootSourceOverrideMode": "UEFI"},
		}})
		out := ib.mustIpmitool(t, "0", nil, "Force Boot from CD/DVD", "chassis", "bootparam", "get", "5")
		if !strings.Contains(out, "Options apply to only next boot") || !strings.Contains(out, "BIOS EFI boot") {
			t.Errorf("after a Redfish PATCH:\n%s", out)
		}
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
			Body: map[string]any{"ResetType": "On"}})
		ib.WaitPower(t, "0", "On")
		ib.mustIpmitool(t, "0", nil, "Chassis Power is on", "power", "status")
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
			Body: map[string]any{"ResetType": "ForceOff"}})
		ib.mustIpmitool(t, "0", nil, "Chassis Power is off", "power", "status")
		// And identify, set over IPMI, shows in Redfish.
		ib.mustIpmitool(t, "0", nil, "indefinite", "chassis", "identify", "force")
		if on, _ := ib.Get(t, "/redfish/v1/Systems/0")["LocationIndicatorActive"].(bool); !on {
			t.Error("IPMI identify not visible in Redfish")
		}
		ib.mustIpmitool(t, "0", nil, "", "chassis", "identify", "0")
	})

	t.Run("Privileges", func(t *testing.T) {
		out, code := ib.ipmitool(t, "0", []string{"-L", "USER"}, "power", "on")
		if code == 0 || !strings.Contains(out, "Insufficient privilege") {
			t.Errorf("-L USER power on: exit %d\n%s", code, out)
		}
		ib.mustIpmitool(t, "0", []string{"-L", "OPERATOR"}, "Up/On", "power", "on")
		ib.WaitPower(t, "0", "On")
		oper := []string{"-U", ipmiOperUser, "-P", ipmiOperPassword, "-L", "OPERATOR"}
		ib.mustIpmitool(t, "0", oper, "Down/Off", "power", "off")
		// An operator cannot make a boot override persistent (§28.13).
		// (ipmitool exits 0 here whatever the answer: read what it says.)
		if out, _ := ib.ipmitool(t, "0", oper, "chassis", "bootdev", "pxe", "options=persistent"); !strings.Contains(out, "Insufficient privilege") {
			t.Errorf("operator persistent bootdev accepted:\n%s", out)
		}
		if _, en, _ := ib.boot(t, "0"); en == "Continuous" {
			t.Error("the operator's persistent override reached the machine")
		}
		// Without -L ipmitool asks for ADMINISTRATOR, above an operator.
		if out, code := ib.ipmitool(t, "0", oper[:4], "power", "status"); code == 0 {
			t.Errorf("operator at ADMINISTRATOR accepted:\n%s", out)
		}
		view := []string{"-U", ipmiViewUser, "-P", ipmiViewPassword, "-L", "USER"}
		ib.mustIpmitool(t, "0", view, "Chassis Power is", "power", "status")
		if out, code := ib.ipmitool(t, "0", view, "power", "on"); code == 0 || !strings.Contains(out, "Insufficient privilege") {
			t.Errorf("read-only power on: exit %d\n%s", code, out)
		}
	})

	t.Run("FreeIPMI", func(t *testing.T) {
		for _, tc := range []struct {
			args  []string
			want  string
			power string
		}{
			{[]string{"--off"}, "127.0.0.1: ok", "Off"},
			{[]string{"--stat"}, "127.0.0.1: off", ""},
			{[]string{"--on"}, "127.0.0.1: ok", "On"},
			{[]string{"--stat", "-I", "17"}, "127.0.0.1: on", ""},
		} {
			out, code := ib.freeipmi(t, "0", "ipmipower", tc.args...)
			if code != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("ipmipower %v: exit %d\n%s", tc.args, code, out)
			}
			if tc.power != "" {
				ib.WaitPower(t, "0", tc.power)
			}
		}
		ib.mustIpmitool(t, "0", nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe", "options=efiboot")
		out, code := ib.freeipmi(t, "0", "ipmi-chassis", "--get-boot-flags")
		if code != 0 || !strings.Contains(out, "Force PXE") || !strings.Contains(out, "Extensible firmware Interface boot") {
			t.Fatalf("ipmi-chassis --get-boot-flags: exit %d\n%s", code, out)
		}
	})

	t.Run("Pyghmi", func(t *testing.T) {
		out, code := runClient(t, 2*time.Minute, systemPython, "-c", pyghmiScript, ib.ports["1"], adminUser, adminPassword)
		if code != 0 || !strings.Contains(out, "OK: pyghmi") {
			t.Fatalf("pyghmi exit %d:\n%s\nbmcd output:\n%s", code, out, ib.Output())
		}
		if tg, en, mo := ib.boot(t, "1"); tg != "Hdd" || en != "Once" || mo != "Legacy" {
			t.Errorf("after pyghmi, Redfish shows %s/%s/%s", tg, en, mo)
		}
	})

	t.Run("Concurrent200", func(t *testing.T) {
		// 200 ipmitool calls, 20 at a time, must all succeed.
		jobs := make(chan int)
		var mu sync.Mutex
		var failures []string
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				for range jobs {
					out, code := ib.ipmitool(t, "0", []string{"-C", "17"}, "power", "status")
					if code != 0 || !strings.Contains(out, "Chassis Power is") {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("exit %d: %s", code, out))
						mu.Unlock()
					}
				}
			})
		}
		start := time.Now()
		for i := range 200 {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("%d of 200 calls failed; first: %s", len(failures), failures[0])
		}
		t.Logf("200 power status calls, 20 at a time: %s", time.Since(start).Round(time.Millisecond))
	})

	// Last: failed logins drain this source's rate-limit bucket.
	t.Run("Refused", func(t *testing.T) {
		wrong, code1 := ib.ipmitool(t, "0", []string{"-P", "Wrong-Password1"}, "power", "status")
		unknown, code2 := ib.ipmitool(t, "0", []string{"-U", "nosuchuser"}, "power", "status")
		if code1 == 0 || code2 == 0 {
			t.Fatalf("wrong password (exit %d) or unknown user (exit %d) accepted", code1, code2)
		}
		if wrong != unknown {
			t.Errorf("an unknown user is told apart from a wrong password:\n%s\n---\n%s", wrong, unknown)
		}
		if out, code := ib.ipmitool(t, "0", []string{"-C", "0"}, "power", "status"); code == 0 || !strings.Contains(out, "invalid authentication algorithm") {
			t.Errorf("-C 0: exit %d\n%s", code, out)
		}
		if out, code := ib.ipmitool(t, "0", []string{"-C", "1"}, "power", "status"); code == 0 {
			t.Errorf("-C 1 (no integrity) accepted:\n%s", out)
		}
		// IPMI v1.5 is off by default.
		if out, code := runClient(t, time.Minute, "ipmitool", "-I", "lan", "-H", "127.0.0.1", "-p", ib.ports["0"],
			"-U", adminUser, "-P", adminPassword, "-N", "1", "-R", "1", "power", "status"); code == 0 {
			t.Errorf("IPMI v1.5 accepted by default:\n%s", out)
		}
		if out, code := ib.freeipmi(t, "0", "ipmipower", "--stat", "-I", "0"); code == 0 && !strings.Contains(out, "error") {
			t.Errorf("ipmipower -I 0 accepted:\n%s", out)
		}
		// (Not the harness's admin password: it is a substring of the test's
		// temporary directory names.)
		for _, secret := range []string{"Wrong-Password1", ipmiOperPassword, ipmiViewPassword} {
			for _, line := range strings.Split(ib.Output(), "\n") {
				if strings.Contains(line, secret) {
					t.Errorf("a password reached bmcd's log: %s", strings.ReplaceAll(line, secret, "<password>"))
				}
			}
		}
	})
}

// TestIPMIv15 enables IPMI v1.5 and checks MD5 sessions work while none
// and straight-password authentication stay refused.
func TestIPMIv15(t *testing.T) {
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 1, "  enable_ipmi15: true\n  session_timeout: 30s\n  max_sessions: 16\n")
	lan := func(auth string, args ...string) (string, int) {
		full := []string{"-I", "lan", "-A", auth, "-H", "127.0.0.1", "-p", ib.ports["0"], "-U", adminUser, "-P", adminPassword, "-N", "1", "-R", "1"}
		return runClient(t, time.Minute, "ipmitool", append(full, args...)...)
	}
	if out, code := lan("MD5", "power", "on"); code != 0 || !strings.Contains(out, "Up/On") {
		t.Fatalf("MD5 power on: exit %d\n%s", code, out)
	}
	ib.WaitPower(t, "0", "On")
	if out, code := lan("MD5", "chassis", "bootdev", "disk"); code != 0 {
		t.Fatalf("MD5 bootdev: exit %d\n%s", code, out)
	}
	for _, auth := range []string{"NONE", "PASSWORD"} {
		if out, code := lan(auth, "power", "status"); code == 0 {
			t.Errorf("-A %s accepted:\n%s", auth, out)
		}
	}
	out, code := runClient(t, time.Minute, "ipmipower", "-h", "127.0.0.1:"+ib.ports["0"], "-u", adminUser, "-p", adminPassword, "-D", "LAN", "--stat")
	if code != 0 || !strings.Contains(out, "127.0.0.1: on") {
		t.Fatalf("ipmipower -D LAN: exit %d\n%s", code, out)
	}
	// RMCP+ still works beside it.
	ib.mustIpmitool(t, "0", nil, "Chassis Power is on", "power", "status")
}

// pyghmiScript drives one system with pyghmi, the IPMI library of
// OpenStack's Ironic and xCAT/Confluent: power, boot device with
// persistence and UEFI, and a refused wrong password.
const pyghmiScript = `
import sys
from pyghmi.ipmi import command
port, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3]
c = command.Command(bmc='127.0.0.1', userid=user, password=password, port=port)
c.set_power('on', wait=30)
assert c.get_power()['powerstate'] == 'on', c.get_power()
c.set_power('off', wait=30)
assert c.get_power()['powerstate'] == 'off', c.get_power()
c.set_bootdev('network', persist=True, uefiboot=True)
b = c.get_bootdev()
assert b['bootdev'] == 'network' and b.get('persistent') and b.get('uefimode'), b
c.set_bootdev('hd')
b = c.get_bootdev()
assert b['bootdev'] == 'hd' and not b.get('persistent') and not b.get('uefimode'), b
c.ipmi_session.logout()
try:
    command.Command(bmc='127.0.0.1', userid=user, password='Wrong-Password2', port=port)
except Exception as e:
    print('wrong password refused:', e)
else:
    print('FAIL: wrong password accepted')
    sys.exit(1)
print('OK: pyghmi')
`
