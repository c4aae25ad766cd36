package conformance

// IPMI over LAN conformance: real ipmitool, FreeIPMI and pyghmi against
// bmcd's IPMI servers, with Redfish checking that both protocols act on
// the same machines. Every test is named TestIPMI* (go test -run IPMI).

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

	// The BMC is one device whichever protocol describes it: IPMI's device
	// GUID is the Redfish Manager's UUID, and the LAN MAC is the MAC of the
	// Manager's EthernetInterface, for every system.
	t.Run("BMCIdentity", func(t *testing.T) {
		for sys := range ib.ports {
			mgr := ib.Get(t, "/redfish/v1/Managers/"+sys)
			uuid, _ := mgr["UUID"].(string)
			mac, _ := ib.Get(t, "/redfish/v1/Managers/"+sys+"/EthernetInterfaces/eth0")["MACAddress"].(string)
			if uuid == "" || mac == "" {
				t.Fatalf("system %s: manager UUID %q, MAC %q", sys, uuid, mac)
			}
			// Get Device GUID (App 08h): Table 20-10 order, node first.
			out, code := ib.ipmitool(t, sys, nil, "raw", "0x06", "0x08")
			raw := strings.Fields(out)
			if code != 0 || len(raw) != 16 {
				t.Fatalf("system %s: Get Device GUID: exit %d\n%s", sys, code, out)
			}
			slices.Reverse(raw)
			got := strings.Join(raw, "")
			if want := strings.ReplaceAll(uuid, "-", ""); got != want {
				t.Errorf("system %s: device GUID %s, Redfish Manager UUID %s", sys, got, uuid)
			}
			if out, code := ib.freeipmi(t, sys, "bmc-info", "--get-device-guid"); code != 0 || strings.TrimSpace(out) != uuid {
				t.Errorf("system %s: bmc-info --get-device-guid: exit %d %q, Redfish Manager UUID %s", sys, code, out, uuid)
			}
			out = ib.mustIpmitool(t, sys, nil, "MAC Address", "lan", "print", "1")
			if !regexp.MustCompile(`MAC Address\s+: ` + regexp.QuoteMeta(mac) + `\n`).MatchString(out) {
				t.Errorf("system %s: lan print does not show the Redfish manager MAC %s:\n%s", sys, mac, out)
			}
		}
	})

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
				// A cycle passes through Off and PoweringOn first; a
				// reset keeps the power on while the host POSTs.
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

	// A persistent IPMI boot device is a Continuous override, as in
	// OpenBMC: the UEFI BootOrder and BootNext stay as they are, and the
	// override is tried before them at every boot. A Redfish UefiBootNext
	// override reads back over IPMI as the class of the BootNext option.
	t.Run("BootdevAndBootOrder", func(t *testing.T) {
		sys := "/redfish/v1/Systems/1"
		order := []string{"Boot0002", "Boot0001"}
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: sys, Body: map[string]any{
			"Boot": map[string]any{"BootOrder": order, "BootNext": "Boot0007"}}})
		ib.mustIpmitool(t, "1", nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe", "options=persistent,efiboot")
		bo := ib.Get(t, sys)["Boot"].(map[string]any)
		if bo["BootSourceOverrideTarget"] != "Pxe" || bo["BootSourceOverrideEnabled"] != "Continuous" ||
			fmt.Sprint(bo["BootOrder"]) != fmt.Sprint(order) || bo["BootNext"] != "Boot0007" {
			t.Errorf("after a persistent bootdev: %v", bo)
		}
		ib.mustIpmitool(t, "1", nil, "Set Boot Device to none", "chassis", "bootdev", "none")
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: sys, Body: map[string]any{
			"Boot": map[string]any{"BootSourceOverrideTarget": "UefiBootNext", "BootSourceOverrideEnabled": "Once"}}})
		out := ib.mustIpmitool(t, "1", nil, "Force PXE", "chassis", "bootparam", "get", "5")
		if !strings.Contains(out, "Options apply to only next boot") {
			t.Errorf("UefiBootNext to a PXE option over IPMI:\n%s", out)
		}
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
		// An operator may make a boot override persistent, as on OpenBMC
		// (ipmi.strict_boot_privilege refuses it: TestIPMIStrictBootPrivilege).
		ib.mustIpmitool(t, "0", oper, "Set Boot Device to pxe", "chassis", "bootdev", "pxe", "options=persistent")
		if _, en, _ := ib.boot(t, "0"); en != "Continuous" {
			t.Errorf("the operator's persistent override did not reach the machine: %s", en)
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

// TestIPMIStorage checks the SDR repository, sensors, SEL, FRU, LAN
// configuration and power restore policy with ipmitool and FreeIPMI.
func TestIPMIStorage(t *testing.T) {
	requireIPMIClients(t)
	for _, tool := range []string{"ipmi-sensors", "ipmi-sel", "ipmi-fru"} {
		requireClient(t, tool, func() error { _, err := exec.LookPath(tool); return err })
	}
	ib := startIPMIBMC(t, 1, "")
	ib.mustIpmitool(t, "0", nil, "Up/On", "power", "on")
	ib.WaitPower(t, "0", "On")
	sensorLine := func(out, name string, want *regexp.Regexp) {
		t.Helper()
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, name) {
				if !want.MatchString(line) {
					t.Errorf("%s: %q does not match %s", name, line, want)
				}
				return
			}
		}
		t.Errorf("no %s in:\n%s", name, out)
	}

	// Sensors, with units, through the SDR repository.
	out := ib.mustIpmitool(t, "0", nil, "Inlet Temp", "sdr", "list")
	sensorLine(out, "Inlet Temp", regexp.MustCompile(`\| \d+ degrees C\s+\| ok`))
	sensorLine(out, "Fan 1", regexp.MustCompile(`\| \d+ RPM\s+\| ok`))
	sensorLine(out, "Total Power", regexp.MustCompile(`\| \d+ Watts\s+\| ok`))
	sensorLine(out, "12V Rail", regexp.MustCompile(`\| 1[12]\.\d+ Volts\s+\| ok`))
	out = ib.mustIpmitool(t, "0", nil, "CPU1 Temp", "sdr", "elist")
	sensorLine(out, "CPU1 Temp", regexp.MustCompile(`\| 02h \| ok  \|  3\.1 \| \d+ degrees C`))
	out = ib.mustIpmitool(t, "0", nil, "CPU2 Temp", "sdr", "type", "Temperature")
	if strings.Contains(out, "RPM") || strings.Contains(out, "Volts") {
		t.Errorf("sdr type Temperature:\n%s", out)
	}
	ib.mustIpmitool(t, "0", nil, "Dynamic MC @ 20h", "sdr", "list", "all")
	out = ib.mustIpmitool(t, "0", nil, "12V Rail", "sensor", "list")
	sensorLine(out, "12V Rail", regexp.MustCompile(`\| Volts\s+\| ok\s+\| na\s+\| 10\.800\s+\| 11\.400\s+\| 12\.600\s+\| 13\.200\s+\| na`))
	sensorLine(out, "Fan 1", regexp.MustCompile(`\| RPM\s+\| ok\s+\| na\s+\| 500\.000\s+\| 1000\.000\s+\| 14000\.000\s+\| 16000\.000`))
	// A 0 °C lower critical limit is a limit (it was once dropped as
	// "absent"); a limit the sensor lacks reads na.
	sensorLine(out, "Inlet Temp", regexp.MustCompile(`\| degrees C\s+\| ok\s+\| na\s+\| 0\.000\s+\| 5\.000\s+\| 40\.000\s+\| 45\.000\s+\| na`))
	sensorLine(out, "Total Power", regexp.MustCompile(`\| Watts\s+\| ok\s+\| na\s+\| na\s+\| na\s+\| 600\.000\s+\| 750\.000\s+\| na`))
	if th := ib.Get(t, "/redfish/v1/Chassis/0/Sensors/InletTemp")["Thresholds"]; fmt.Sprint(th) !=
		"map[LowerCaution:map[Reading:5] LowerCritical:map[Reading:0] UpperCaution:map[Reading:40] UpperCritical:map[Reading:45]]" {
		t.Errorf("Redfish InletTemp Thresholds %v", th)
	}
	cache := []string{"--sdr-cache-directory", t.TempDir()}
	out, code := ib.freeipmi(t, "0", "ipmi-sensors", append(cache, "--output-sensor-thresholds")...)
	if code != 0 {
		t.Fatalf("ipmi-sensors: exit %d\n%s", code, out)
	}
	sensorLine(out, "7  | 12V Rail", regexp.MustCompile(`Voltage\s+\| 1[12]\.\d+\s+\| V\s+\| N/A\s+\| 10\.80\s+\| 11\.40\s+\| 12\.60\s+\| 13\.20\s+\| N/A\s+\| 'OK'`))
	sensorLine(out, "1  | Inlet Temp", regexp.MustCompile(`Temperature\s+\| \d+\.00\s+\| C\s+\| N/A\s+\| 0\.00\s+\| 5\.00\s+\| 40\.00\s+\| 45\.00\s+\| N/A\s+\| 'OK'`))
	sensorLine(out, "4  | Fan 1", regexp.MustCompile(`Fan\s+\| \d+\.00\s+\| RPM\s+\|`))

	// The SEL is the machine's event log.
	ib.mustIpmitool(t, "0", nil, "Diag", "power", "diag")
	out = ib.mustIpmitool(t, "0", nil, "Entries", "sel", "info")
	if !regexp.MustCompile(`Entries\s+: [1-9]`).MatchString(out) {
		t.Errorf("sel info:\n%s", out)
	}
	out = ib.mustIpmitool(t, "0", nil, "Power off/down | Deasserted", "sel", "list")
	if !strings.Contains(out, "boot completed") || !strings.Contains(out, "NMI/Diag Interrupt | Asserted") {
		t.Errorf("sel list:\n%s", out)
	}
	ib.mustIpmitool(t, "0", nil, "Power Unit Host Power | Power off/down | Deasserted", "sel", "elist")
	out, code = ib.freeipmi(t, "0", "ipmi-sel", cache...)
	if code != 0 || !strings.Contains(out, "Front Panel NMI/Diagnostic Interrupt") || !strings.Contains(out, "Host Power") {
		t.Fatalf("ipmi-sel: exit %d\n%s", code, out)
	}
	ib.mustIpmitool(t, "0", nil, "Clearing SEL", "sel", "clear")
	out = ib.mustIpmitool(t, "0", nil, "Log area reset/cleared", "sel", "list")
	if n := len(strings.Split(strings.TrimSpace(out), "\n")); n != 1 {
		t.Errorf("%d entries after clear:\n%s", n, out)
	}
	entries := ib.Get(t, "/redfish/v1/Systems/0/LogServices/EventLog/Entries")
	members, _ := entries["Members"].([]any)
	if len(members) != 1 {
		t.Fatalf("Redfish log after an IPMI clear: %v", entries)
	}
	if e, _ := members[0].(map[string]any); !strings.Contains(fmt.Sprint(e["Message"]), "cleared") || !strings.HasPrefix(strings.TrimSpace(out), fmt.Sprint(e["Id"])+" ") {
		t.Errorf("Redfish entry %v, SEL %q", e, out)
	}
	// Operators may clear; read-only users may not.
	if out, code := ib.ipmitool(t, "0", []string{"-U", ipmiViewUser, "-P", ipmiViewPassword, "-L", "USER"}, "sel", "clear"); code == 0 && !strings.Contains(out, "failed") {
		t.Errorf("read-only sel clear:\n%s", out)
	}

	// FRU inventory from the machine's Info.
	info := ib.Get(t, "/redfish/v1/Systems/0")
	// Plain `fru print` reads FRU 0 because Get Device ID says there is one.
	ib.mustIpmitool(t, "0", nil, "Product Manufacturer", "fru", "print")
	out = ib.mustIpmitool(t, "0", nil, "Product Manufacturer", "fru", "print", "0")
	for _, want := range []string{"Product Manufacturer  : " + fmt.Sprint(info["Manufacturer"]), "Product Name          : " + fmt.Sprint(info["Model"]),
		"Product Serial        : " + fmt.Sprint(info["SerialNumber"]), "Product Part Number   : " + fmt.Sprint(info["PartNumber"]), "Board Mfg             : "} {
		if !strings.Contains(out, want) {
			t.Errorf("fru print: no %q in:\n%s", want, out)
		}
	}
	out, code = ib.freeipmi(t, "0", "ipmi-fru", cache...)
	if code != 0 || !strings.Contains(out, "FRU Product Serial Number: "+fmt.Sprint(info["SerialNumber"])) {
		t.Fatalf("ipmi-fru: exit %d\n%s", code, out)
	}

	// LAN configuration.
	out = ib.mustIpmitool(t, "0", nil, "IP Address              : 127.0.0.1", "lan", "print", "1")
	for _, want := range []string{"IP Address Source       : Static Address", "802.1q VLAN ID          : Disabled", "RMCP+ Cipher Suites     : 17,3", "Cipher Suite Priv Max   : aaXXXXXXXXXXXXX"} {
		if !strings.Contains(out, want) {
			t.Errorf("lan print: no %q in:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`MAC Address\s+: [0-9a-f]{1}[26ae](:[0-9a-f]{2}){5}`).MatchString(out) {
		t.Errorf("lan print MAC:\n%s", out)
	}
	if _, code := ib.ipmitool(t, "0", nil, "lan", "set", "1", "ipaddr", "10.0.0.1"); code == 0 {
		t.Error("lan set ipaddr accepted")
	}

	// With the host off, its sensors have no reading.
	ib.mustIpmitool(t, "0", nil, "Down/Off", "power", "off")
	ib.WaitPower(t, "0", "Off")
	out = ib.mustIpmitool(t, "0", nil, "Inlet Temp", "sdr", "list")
	sensorLine(out, "CPU1 Temp", regexp.MustCompile(`\| no reading\s+\| ns`))
	sensorLine(out, "Inlet Temp", regexp.MustCompile(`\| \d+ degrees C\s+\| ok`))

	// Power restore policy: the sim reports always-off (not powered_on).
	ib.mustIpmitool(t, "0", nil, "Supported chassis power policy:  always-off", "chassis", "policy", "list")
	ib.mustIpmitool(t, "0", nil, "always-off", "chassis", "policy", "always-off")
	if out, code := ib.ipmitool(t, "0", nil, "chassis", "policy", "always-on"); code == 0 {
		t.Errorf("always-on accepted:\n%s", out)
	}
}

// TestIPMISerialOverLAN drives Serial over LAN with ipmitool under a
// pseudo-terminal (sol activate puts its stdin in raw mode): the simulated
// host's boot banner and login prompt arrive, typed commands are echoed
// and answered, ~. ends the session; sol info, a refused second
// activation and sol deactivate from another session.
func TestIPMISerialOverLAN(t *testing.T) {
	requireIPMIClients(t)
	requireClient(t, "python3", func() error { _, err := exec.LookPath(systemPython); return err })
	ib := startIPMIBMC(t, 1, "")
	port := ib.ports["0"]
	base := []string{"ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", port, "-U", adminUser, "-P", adminPassword}
	driver := filepath.Join(t.TempDir(), "soldrive.py")
	if err := os.WriteFile(driver, []byte(solDriverScript), 0o600); err != nil {
		t.Fatal(err)
	}
	sol := func(t *testing.T, steps [][2]any, args ...string) (string, int) {
		t.Helper()
		js, err := json.Marshal(steps)
		if err != nil {
			t.Fatal(err)
		}
		return runClient(t, 90*time.Second, systemPython, append([]string{driver, string(js)}, append(base, args...)...)...)
	}

	t.Run("Info", func(t *testing.T) {
		out := ib.mustIpmitool(t, "0", nil, "Enabled                         : true", "sol", "info", "1")
		for _, want := range []string{"Force Encryption                : false", "Privilege Level                 : USER",
			"Retry Count                     : 7", "Payload Channel                 : 1 (0x01)", "Payload Port                    : " + port} {
			if !strings.Contains(out, want) {
				t.Errorf("sol info lacks %q:\n%s", want, out)
			}
		}
		ib.mustIpmitool(t, "0", nil, "", "sol", "set", "retry-count", "6", "1")
		ib.mustIpmitool(t, "0", nil, "Retry Count                     : 6", "sol", "info", "1")
		ib.mustIpmitool(t, "0", nil, "User 2 on channel 1 is enabled", "sol", "payload", "status", "1", "2")
		// Redfish shows the SOL port in the System's SerialConsole (the
		// Manager's is deprecated and not served).
		sc, _ := ib.Get(t, "/redfish/v1/Systems/0")["SerialConsole"].(map[string]any)
		if ipmi, _ := sc["IPMI"].(map[string]any); ipmi["ServiceEnabled"] != true || fmt.Sprint(ipmi["Port"]) != port ||
			sc["MaxConcurrentSessions"] != float64(1) {
			t.Errorf("Redfish System SerialConsole %v", sc)
		}
		if _, ok := ib.Get(t, "/redfish/v1/Managers/0")["SerialConsole"]; ok {
			t.Error("the Manager serves the deprecated SerialConsole")
		}
	})

	t.Run("Console", func(t *testing.T) {
		ib.mustIpmitool(t, "0", nil, "", "chassis", "power", "off")
		power := append(append([]string(nil), base...), "chassis", "power", "on")
		out, code := sol(t, [][2]any{
			{"expect", "SOL Session operational"},
			{"run", power},
			{"expect", "login: "},
			{"send", "root\r"},
			{"expect", "root@sim-0:~# "},
			{"send", "uname -a\r"},
			{"expect", "GNU/Linux"},
			{"expect", "# "},
			{"send", "echo hello over SOL\r"},
			{"expect", "hello over SOL\r\n"},
			{"send", "\r~."},
		}, "sol", "activate")
		if code != 0 || !strings.Contains(out, "#EXIT 0") {
			t.Fatalf("sol activate: exit %d:\n%s\nbmcd output:\n%s", code, out, ib.Output())
		}
		for _, want := range []string{"Booting from Hdd", "Linux sim-0 6.1.0-bmcd-sim", "[terminated ipmitool]"} {
			if !strings.Contains(out, want) {
				t.Errorf("SOL output lacks %q:\n%s", want, out)
			}
		}
		// ~. deactivated the payload: it can be activated again.
		ib.mustIpmitool(t, "0", nil, " 01 00 00", "raw", "0x06", "0x4a", "0x01")
	})

	t.Run("SecondActivationAndDeactivate", func(t *testing.T) {
		js, _ := json.Marshal([][2]any{{"expect", "SOL Session operational"}, {"sleep", "60"}})
		cmd := exec.Command(systemPython, append([]string{driver, string(js)}, append(base, "sol", "activate")...)...)
		var buf strings.Builder
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, _ := ib.ipmitool(t, "0", nil, "raw", "0x06", "0x4a", "0x01")
			if strings.Contains(out, " 01 01 00") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("SOL never became active: %s", out)
			}
			time.Sleep(100 * time.Millisecond)
		}
		out, code := ib.ipmitool(t, "0", nil, "sol", "activate")
		if code == 0 || !strings.Contains(out, "SOL payload already active on another session") {
			t.Fatalf("second activation: exit %d:\n%s", code, out)
		}
		ib.mustIpmitool(t, "0", nil, "", "sol", "deactivate")
		ib.mustIpmitool(t, "0", nil, " 01 00 00", "raw", "0x06", "0x4a", "0x01")
		out, code = ib.ipmitool(t, "0", nil, "sol", "deactivate")
		if code == 0 || !strings.Contains(out, "already de-activated") {
			t.Fatalf("deactivating an inactive payload: exit %d:\n%s", code, out)
		}
	})
}

// solDriverScript runs a command under a pseudo-terminal and follows steps
// (a JSON list of [kind, arg]): expect TEXT, send TEXT (a byte at a time),
// run ARGV, sleep SECONDS. It then waits for the command to exit and
// prints "#EXIT code"; it exits non-zero on a timeout.
const solDriverScript = `
import json, os, pty, select, subprocess, sys, time
steps = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
buf = b""
def read(timeout):
    r, _, _ = select.select([fd], [], [], timeout)
    if not r:
        return None
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""
def expect(pat, timeout=30):
    global buf
    end = time.time() + timeout
    while pat.encode() not in buf:
        d = read(max(0, end - time.time()))
        if not d:
            sys.stdout.write(buf.decode(errors="replace"))
            print("\n#%s waiting for %r" % ("TIMEOUT" if d is None else "EOF", pat))
            sys.exit(3)
        buf += d
    i = buf.index(pat.encode()) + len(pat)
    sys.stdout.write(buf[:i].decode(errors="replace"))
    sys.stdout.flush()
    buf = buf[i:]
for kind, arg in steps:
    if kind == "expect":
        expect(arg)
    elif kind == "send":
        for ch in arg.encode():
            os.write(fd, bytes([ch]))
            time.sleep(0.02)
    elif kind == "run":
        subprocess.run(arg, check=True, stdout=subprocess.DEVNULL)
    elif kind == "sleep":
        time.sleep(float(arg))
end = time.time() + 20
while time.time() < end:
    d = read(0.2)
    if d:
        sys.stdout.write(d.decode(errors="replace"))
    wp, st = os.waitpid(pid, os.WNOHANG)
    if wp:
        print("\n#EXIT %d" % os.waitstatus_to_exitcode(st))
        sys.exit(0)
print("\n#NOEXIT")
os.kill(pid, 9)
sys.exit(5)
`

// TestIPMIBootModeAfterOneTimeLegacy: "ipmitool chassis bootdev pxe" (no
// efiboot) boots Pxe in Legacy once; then both the boot flags and Redfish's
// BootSourceOverrideMode say the BIOS's UEFI again, and the next boot is
// UEFI.
func TestIPMIBootModeAfterOneTimeLegacy(t *testing.T) {
	t.Parallel()
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 1, "")
	bootEvents := func() []string {
		var out []string
		ms, _ := ib.Get(t, "/redfish/v1/Systems/0/LogServices/EventLog/Entries")["Members"].([]any)
		for _, m := range ms {
			if s, _ := m.(map[string]any)["Message"].(string); strings.Contains(s, "booting from") {
				out = append(out, s)
			}
		}
		return out
	}
	bootedWith := func(n int, want string) {
		t.Helper()
		eventually(t, 15*time.Second, func() (bool, string) {
			evs := bootEvents()
			return len(evs) > n, fmt.Sprintf("boot events %q", evs)
		})
		if last := bootEvents()[n]; !strings.Contains(last, want) {
			t.Errorf("boot %d: %q, want %q", n, last, want)
		}
	}
	ib.mustIpmitool(t, "0", nil, "Up/On", "power", "on")
	bootedWith(0, "in UEFI mode")
	ib.mustIpmitool(t, "0", nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe")
	ib.mustIpmitool(t, "0", nil, "BIOS PC Compatible (legacy) boot", "chassis", "bootparam", "get", "5")
	if tg, en, mo := ib.boot(t, "0"); tg != "Pxe" || en != "Once" || mo != "Legacy" {
		t.Errorf("armed: Redfish shows %s/%s/%s", tg, en, mo)
	}
	ib.mustIpmitool(t, "0", nil, "Reset", "power", "reset")
	bootedWith(1, "from Pxe in Legacy mode")
	out := ib.mustIpmitool(t, "0", nil, "BIOS EFI boot", "chassis", "bootparam", "get", "5")
	if strings.Contains(out, "Boot Flag Valid") && !strings.Contains(out, "Boot Flag Invalid") {
		t.Errorf("consumed flags still valid:\n%s", out)
	}
	if tg, en, mo := ib.boot(t, "0"); tg != "None" || en != "Disabled" || mo != "UEFI" {
		t.Errorf("consumed: Redfish shows %s/%s/%s", tg, en, mo)
	}
	ib.mustIpmitool(t, "0", nil, "Reset", "power", "reset")
	bootedWith(2, "from Hdd in UEFI mode")
	if _, _, mo := ib.boot(t, "0"); mo != "UEFI" {
		t.Errorf("after the UEFI boot: mode %s", mo)
	}
}
