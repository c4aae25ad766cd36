package conformance

// Real users' reports, replayed with the clients they used: a refused
// PATCH that changed things, IPMI after a warm reset, a restart of a host
// that is off, Ironic's persistent boot flag at OPERATOR, the identify LED
// reading back, and an account created with an Id.

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSushyBehaviour runs clients/sushy_behaviour.py: IndicatorLED round
// trips and stable ETags, refused PATCHes that change nothing, restarts
// from Off, Nmi and GracefulShutdown right after a ForceRestart.
func TestSushyBehaviour(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_behaviour.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--system", "/redfish/v1/Systems/0")
	if code != 0 || !strings.Contains(out, "OK: sushy behaviour checks passed") {
		t.Fatalf("sushy_behaviour.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	t.Logf("sushy:\n%s", out)
}

// TestCurlAccountID creates accounts with curl, sending Id as some tools
// do to pick the slot: a free slot is honoured, a taken one is 409
// ResourceAlreadyExists, one that is no account ID is ignored.
func TestCurlAccountID(t *testing.T) {
	t.Parallel()
	requireClient(t, "curl", func() error { _, err := exec.LookPath("curl"); return err })
	b := startBMC(t, bmcOpts{Systems: 1})
	post := func(body string) (status, location, out string) {
		t.Helper()
		out, code := runClient(t, time.Minute, "curl", "-sk", "-u", b.User+":"+b.Password,
			"-H", "Content-Type: application/json", "-d", body, "-D", "-",
			"-o", "/dev/stdout", "-w", "\nstatus=%{http_code}\n", b.URL+"/redfish/v1/AccountService/Accounts")
		if code != 0 {
			t.Fatalf("curl exited %d:\n%s", code, out)
		}
		for _, line := range strings.Split(out, "\n") {
			line = strings.TrimSpace(line)
			if v, ok := strings.CutPrefix(strings.ToLower(line), "location:"); ok {
				location = strings.TrimSpace(line[len(line)-len(v):])
			}
			if v, ok := strings.CutPrefix(line, "status="); ok {
				status = v
			}
		}
		return status, location, out
	}
	if st, loc, out := post(`{"Id":"9","UserName":"slot9","Password":"Slot9-pass","RoleId":"Operator"}`); st != "201" || loc != "/redfish/v1/AccountService/Accounts/9" {
		t.Fatalf("Id 9: status %s, Location %q\n%s", st, loc, out)
	}
	if st, _, out := post(`{"Id":"9","UserName":"other9","Password":"Other9-pass","RoleId":"Operator"}`); st != "409" || !strings.Contains(out, "ResourceAlreadyExists") {
		t.Fatalf("taken Id 9: status %s\n%s", st, out)
	}
	if st, loc, out := post(`{"Id":"alice","UserName":"alice","Password":"Alice-pass1","RoleId":"ReadOnly"}`); st != "201" || loc == "" {
		t.Fatalf("Id alice: status %s, Location %q\n%s", st, loc, out)
	}
	// The account works, under its slot, for Redfish.
	if a := b.Get(t, "/redfish/v1/AccountService/Accounts/9"); a["UserName"] != "slot9" {
		t.Errorf("account 9: %v", a)
	}
}

// chassisIdentifyState reads Get Chassis Status byte 3 bits 5:4 with
// ipmitool raw: 0 off, 1 temporary, 2 indefinite.
func chassisIdentifyState(t *testing.T, ib *ipmiBMC) int {
	t.Helper()
	out := ib.mustIpmitool(t, "0", nil, "", "raw", "0x00", "0x01")
	f := strings.Fields(out)
	if len(f) < 3 {
		t.Fatalf("chassis status: %q", out)
	}
	b, err := strconv.ParseUint(f[2], 16, 8)
	if err != nil {
		t.Fatalf("chassis status %q: %v", out, err)
	}
	return int(b >> 4 & 0x03)
}

// TestIPMIBehaviour drives bmcd with ipmitool through the reports: power
// diag and soft right after power reset, reset while off, identify in
// both directions, and Ironic's persistent boot flags at OPERATOR.
func TestIPMIBehaviour(t *testing.T) {
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 1, "")
	oper := []string{"-U", ipmiOperUser, "-P", ipmiOperPassword, "-L", "OPERATOR"}

	t.Run("WarmReset", func(t *testing.T) {
		if out, code := ib.ipmitool(t, "0", oper, "power", "reset"); code == 0 || !strings.Contains(out, "not supported in present state") {
			t.Errorf("power reset while off: exit %d\n%s", code, out)
		}
		ib.mustIpmitool(t, "0", oper, "Up/On", "power", "on")
		ib.WaitPower(t, "0", "On")
		ib.mustIpmitool(t, "0", oper, "Reset", "power", "reset")
		ib.mustIpmitool(t, "0", oper, "Chassis Power is on", "power", "status")
		if ps := ib.Get(t, "/redfish/v1/Systems/0")["PowerState"]; ps != "On" {
			t.Errorf("Redfish PowerState %v right after power reset", ps)
		}
		ib.mustIpmitool(t, "0", oper, "Diag", "power", "diag")
		ib.mustIpmitool(t, "0", oper, "Soft", "power", "soft")
		ib.WaitPower(t, "0", "Off")
		ib.mustIpmitool(t, "0", oper, "Chassis Power is off", "power", "status")
	})

	t.Run("Identify", func(t *testing.T) {
		sys := func() (any, any) {
			v := ib.Get(t, "/redfish/v1/Systems/0")
			return v["IndicatorLED"], v["LocationIndicatorActive"]
		}
		ib.mustIpmitool(t, "0", oper, "Chassis identify interval: 60 seconds", "chassis", "identify", "60")
		if st := chassisIdentifyState(t, ib); st != 1 {
			t.Errorf("identify 60: state %d, want temporary (1)", st)
		}
		if led, on := sys(); led != "Blinking" || on != true {
			t.Errorf("identify 60 shows in Redfish as %v %v", led, on)
		}
		ib.mustIpmitool(t, "0", oper, "indefinite", "chassis", "identify", "force")
		if st := chassisIdentifyState(t, ib); st != 2 {
			t.Errorf("identify force: state %d, want indefinite (2)", st)
		}
		if led, on := sys(); led != "Lit" || on != true {
			t.Errorf("identify force shows in Redfish as %v %v", led, on)
		}
		ib.mustIpmitool(t, "0", oper, "", "chassis", "identify", "0")
		if st := chassisIdentifyState(t, ib); st != 0 {
			t.Errorf("identify 0: state %d", st)
		}
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Chassis/0", Body: map[string]any{"IndicatorLED": "Blinking"}})
		if st := chassisIdentifyState(t, ib); st != 2 {
			t.Errorf("Redfish Blinking: IPMI state %d, want indefinite (2)", st)
		}
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0", Body: map[string]any{"IndicatorLED": "Off"}})
		if st := chassisIdentifyState(t, ib); st != 0 {
			t.Errorf("Redfish Off: IPMI state %d", st)
		}
	})

	t.Run("PersistentBootAtOperator", func(t *testing.T) {
		// Ironic's last step of a deploy: persistent, UEFI, disk.
		ib.mustIpmitool(t, "0", oper, "", "raw", "0x00", "0x08", "0x05", "0xe0", "0x08", "0x00", "0x00", "0x00")
		if tg, en, mo := ib.boot(t, "0"); tg != "Hdd" || en != "Continuous" || mo != "UEFI" {
			t.Errorf("Redfish shows %s/%s/%s, want Hdd/Continuous/UEFI", tg, en, mo)
		}
		ib.mustIpmitool(t, "0", oper, "Set Boot Device to pxe", "chassis", "bootdev", "pxe", "options=persistent")
		if tg, en, _ := ib.boot(t, "0"); tg != "Pxe" || en != "Continuous" {
			t.Errorf("bootdev pxe persistent at OPERATOR: Redfish shows %s/%s", tg, en)
		}
	})
}

// TestIPMIStrictBootPrivilege: with ipmi.strict_boot_privilege the
// persistent boot flag takes ADMINISTRATOR, as IPMI 2.0 §28.12 says.
func TestIPMIStrictBootPrivilege(t *testing.T) {
	requireIPMIClients(t)
	ib := startIPMIBMC(t, 1, "  strict_boot_privilege: true\n")
	oper := []string{"-U", ipmiOperUser, "-P", ipmiOperPassword, "-L", "OPERATOR"}
	raw := []string{"raw", "0x00", "0x08", "0x05", "0xe0", "0x08", "0x00", "0x00", "0x00"}
	if out, code := ib.ipmitool(t, "0", oper, raw...); code == 0 || !strings.Contains(out, "rsp=0xd4") {
		t.Errorf("persistent flags at OPERATOR: exit %d\n%s", code, out)
	}
	if _, en, _ := ib.boot(t, "0"); en != "Disabled" {
		t.Errorf("the refused override reached the machine: %s", en)
	}
	// One-time flags stay open to OPERATOR; ADMINISTRATOR may persist.
	ib.mustIpmitool(t, "0", oper, "", "raw", "0x00", "0x08", "0x05", "0xa0", "0x04", "0x00", "0x00", "0x00")
	if tg, en, _ := ib.boot(t, "0"); tg != "Pxe" || en != "Once" {
		t.Errorf("one-time pxe at OPERATOR: %s/%s", tg, en)
	}
	ib.mustIpmitool(t, "0", []string{"-L", "ADMINISTRATOR"}, "", raw...)
	if tg, en, _ := ib.boot(t, "0"); tg != "Hdd" || en != "Continuous" {
		t.Errorf("persistent at ADMINISTRATOR: %s/%s", tg, en)
	}
}
