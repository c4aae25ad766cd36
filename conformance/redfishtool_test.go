package conformance

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// redfishtool is DMTF's command-line client (Debian package redfishtool).
// It never verifies certificates, so it talks HTTPS to bmcd's self-signed
// certificate as it is.
type redfishtool struct {
	t *testing.T
	b *bmc
}

// run runs redfishtool with the given options and subcommand, with
// -S Always (HTTPS; -S Never against -tls=false), -n (no proxies) and,
// unless opts has -t or -u, the administrator's credentials.
func (r redfishtool) run(args ...string) (string, int) {
	r.t.Helper()
	secure := "Always"
	if r.b.opts.PlainHTTP {
		secure = "Never"
	}
	full := []string{"-r", r.b.Addr, "-S", secure, "-n", "-T", "30"}
	if !slices.Contains(args, "-t") && !slices.Contains(args, "-u") {
		full = append(full, "-u", r.b.User, "-p", r.b.Password)
	}
	full = append(full, args...)
	return runClient(r.t, time.Minute, "redfishtool", full...)
}

// ok runs redfishtool, requires exit code 0 and returns its output.
func (r redfishtool) ok(args ...string) string {
	r.t.Helper()
	out, code := r.run(args...)
	if code != 0 {
		r.t.Fatalf("redfishtool %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// json runs redfishtool and decodes its JSON output.
func (r redfishtool) json(args ...string) map[string]any {
	r.t.Helper()
	out := r.ok(args...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		r.t.Fatalf("redfishtool %s: output is not JSON (%v):\n%s", strings.Join(args, " "), err, out)
	}
	return m
}

func memberIDs(m map[string]any) []string {
	var ids []string
	ms, _ := m["Members"].([]any)
	for _, x := range ms {
		if o, ok := x.(map[string]any); ok {
			ids = append(ids, fmt.Sprint(o["Id"]))
		}
	}
	return ids
}

func requireRedfishtool(t *testing.T) {
	requireClient(t, "redfishtool", func() error {
		_, err := exec.LookPath("redfishtool")
		return err
	})
}

// TestRedfishtool drives bmcd with DMTF's redfishtool and checks exit
// codes and key output.
func TestRedfishtool(t *testing.T) {
	t.Parallel()
	requireRedfishtool(t)
	b := startBMC(t, bmcOpts{Systems: 2})
	rt := redfishtool{t, b}

	if v := rt.json("versions"); v["v1"] != "/redfish/v1/" {
		t.Errorf("versions: %v", v)
	}
	root := rt.json("root")
	if root["RedfishVersion"] == nil || root["UUID"] == nil {
		t.Errorf("root: no RedfishVersion/UUID: %v", root)
	}
	if ids := memberIDs(rt.json("Systems", "list")); strings.Join(ids, ",") != "0,1" {
		t.Errorf("Systems list: Ids %v, want 0,1", ids)
	}
	sys := rt.json("Systems", "-I", "0", "get")
	if sys["Id"] != "0" || sys["PowerState"] != "Off" {
		t.Errorf("Systems -I 0 get: Id %v, PowerState %v", sys["Id"], sys["PowerState"])
	}
	if ps := rt.json("Systems", "-I", "1", "get", "-P", "PowerState"); ps["PowerState"] != "Off" {
		t.Errorf("-P PowerState: %v", ps)
	}

	// Boot override, then power on and poll.
	boot := rt.json("Systems", "-I", "0", "setBootOverride", "Once", "Pxe")
	bo, _ := boot["Boot"].(map[string]any)
	if bo["BootSourceOverrideEnabled"] != "Once" || bo["BootSourceOverrideTarget"] != "Pxe" {
		t.Errorf("setBootOverride Once Pxe: %v", boot)
	}
	got := b.Get(t, "/redfish/v1/Systems/0")["Boot"].(map[string]any)
	if got["BootSourceOverrideTarget"] != "Pxe" || got["BootSourceOverrideEnabled"] != "Once" {
		t.Errorf("after setBootOverride the system says %v", got)
	}
	rt.ok("Systems", "-I", "0", "reset", "On")
	eventually(t, 20*time.Second, func() (bool, string) {
		ps := rt.json("Systems", "-I", "0", "get", "-P", "PowerState")["PowerState"]
		return ps == "On", fmt.Sprintf("PowerState %v", ps)
	})
	if e := rt.json("Systems", "-I", "0", "get")["Boot"].(map[string]any)["BootSourceOverrideEnabled"]; e != "Disabled" {
		t.Errorf("the one-time override was not consumed: %v", e)
	}
	if ids := memberIDs(rt.json("Systems", "-I", "0", "EthernetInterfaces", "list")); len(ids) == 0 {
		t.Error("EthernetInterfaces list: no members")
	}
	if ids := memberIDs(rt.json("Systems", "-I", "0", "Processors", "list")); len(ids) == 0 {
		t.Error("Processors list: no members")
	}
	logs := rt.json("Systems", "-I", "0", "Logs", "-i", "EventLog", "-E")
	if !strings.Contains(fmt.Sprint(logs["Members"]), "booting from Pxe") {
		t.Errorf("the event log does not show the Pxe boot: %v", logs["Members"])
	}

	// Chassis.
	if ids := memberIDs(rt.json("Chassis", "list")); len(ids) != 2 {
		t.Errorf("Chassis list: %v", ids)
	}
	if th := rt.json("Chassis", "-I", "0", "Thermal"); len(th["Temperatures"].([]any)) == 0 {
		t.Errorf("Chassis Thermal: no Temperatures: %v", th)
	}
	if pw := rt.json("Chassis", "-I", "0", "getPowerReading", "consumed"); pw["PowerConsumedWatts"] == nil {
		t.Errorf("getPowerReading consumed: %v", pw)
	}
	if out := rt.ok("Chassis", "-I", "0", "Sensors"); !strings.Contains(out, "InletTemp") {
		t.Errorf("Chassis Sensors: no InletTemp:\n%s", out)
	}

	// Managers.
	if ids := memberIDs(rt.json("Managers", "list")); strings.Join(ids, ",") != "0,1" {
		t.Errorf("Managers list: %v", ids)
	}
	if m := rt.json("Managers", "-I", "0", "get"); m["ManagerType"] != "BMC" {
		t.Errorf("Managers -I 0 get: ManagerType %v", m["ManagerType"])
	}
	np := rt.json("Managers", "-I", "0", "NetworkProtocol")
	if https, _ := np["HTTPS"].(map[string]any); https["ProtocolEnabled"] != true {
		t.Errorf("NetworkProtocol: HTTPS %v", np["HTTPS"])
	}
	rt.ok("Managers", "-I", "0", "reset", "GracefulRestart")

	// Accounts.
	added := rt.json("AccountService", "adduser", "rtuser", "Rt-password1", "Operator")
	if added["UserName"] != "rtuser" || added["RoleId"] != "Operator" {
		t.Errorf("adduser: %v", added)
	}
	rt.ok("AccountService", "setpassword", "rtuser", "Rt-password2")
	if out, code := rt.run("-u", "rtuser", "-p", "Rt-password2", "Systems", "list"); code != 0 {
		t.Errorf("the new account cannot log in with its new password: exit %d\n%s", code, out)
	}
	if out, code := rt.run("-u", "rtuser", "-p", "Rt-password1", "Systems", "list"); code == 0 {
		t.Errorf("the old password still works:\n%s", out)
	}
	rt.ok("AccountService", "useradmin", "rtuser", "disable")
	if out, code := rt.run("-u", "rtuser", "-p", "Rt-password2", "Systems", "list"); code == 0 {
		t.Errorf("a disabled account can still log in:\n%s", out)
	}
	rt.ok("AccountService", "useradmin", "rtuser", "enable")
	rt.ok("AccountService", "useradmin", "rtuser", "setRoleId", "ReadOnly")
	if out, code := rt.run("-u", "rtuser", "-p", "Rt-password2", "Systems", "-I", "0", "reset", "ForceOff"); code == 0 {
		t.Errorf("a ReadOnly account could reset a system:\n%s", out)
	}
	if ids := memberIDs(rt.json("AccountService", "Roles", "list")); len(ids) < 3 {
		t.Errorf("Roles list: %v", ids)
	}
	rt.ok("AccountService", "deleteuser", "rtuser")
	if out := rt.ok("AccountService", "Accounts", "list"); strings.Contains(out, "rtuser") {
		t.Errorf("deleteuser: rtuser still listed:\n%s", out)
	}

	// -A Session: redfishtool logs in, runs the command, and deletes its
	// session again.
	before := len(b.Get(t, "/redfish/v1/SessionService/Sessions")["Members"].([]any))
	if ids := memberIDs(rt.json("-A", "Session", "Systems", "list")); len(ids) != 2 {
		t.Errorf("-A Session Systems list: %v", ids)
	}
	if after := len(b.Get(t, "/redfish/v1/SessionService/Sessions")["Members"].([]any)); after != before {
		t.Errorf("-A Session left its session behind: %d sessions before, %d after", before, after)
	}

	// Sessions: login, use the token, logout, the token is dead.
	login := rt.json("SessionService", "login")
	token, _ := login["X-Auth-Token"].(string)
	id, _ := login["SessionId"].(string)
	if token == "" || id == "" {
		t.Fatalf("login: %v", login)
	}
	if ps := rt.json("-A", "Session", "-t", token, "Systems", "-I", "1", "get", "-P", "PowerState"); ps["PowerState"] != "Off" {
		t.Errorf("with the session token: %v", ps)
	}
	if out := rt.ok("SessionService", "Sessions", "list"); !strings.Contains(out, id) {
		t.Errorf("Sessions list does not show session %s:\n%s", id, out)
	}
	rt.ok("SessionService", "setSessionTimeout", "600")
	rt.ok("-A", "Session", "-t", token, "SessionService", "logout", "-i", id)
	if out, code := rt.run("-A", "Session", "-t", token, "Systems", "list"); code == 0 || !strings.Contains(out, "401") {
		t.Errorf("the logged-out token still works (exit %d):\n%s", code, out)
	}

	// Wrong credentials fail.
	if out, code := rt.run("-u", b.User, "-p", "wrong-password", "Systems", "list"); code == 0 || !strings.Contains(out, "401") {
		t.Errorf("a wrong password: exit %d:\n%s", code, out)
	}
}

// TestRedfishtoolPlainHTTP runs bmcd with -tls=false and redfishtool with
// -S Never: plain HTTP end to end.
func TestRedfishtoolPlainHTTP(t *testing.T) {
	t.Parallel()
	requireRedfishtool(t)
	b := startBMC(t, bmcOpts{Systems: 1, PlainHTTP: true})
	if !strings.HasPrefix(b.URL, "http://") {
		t.Fatalf("-tls=false serves %s", b.URL)
	}
	if root := rt(t, b).json("root"); root["RedfishVersion"] == nil {
		t.Errorf("root: %v", root)
	}
	if ids := memberIDs(rt(t, b).json("Systems", "list")); strings.Join(ids, ",") != "0" {
		t.Errorf("Systems list: %v", ids)
	}
	np := rt(t, b).json("Managers", "-I", "0", "NetworkProtocol")
	h, _ := np["HTTP"].(map[string]any)
	port := b.Addr[strings.LastIndexByte(b.Addr, ':')+1:]
	if h["ProtocolEnabled"] != true || fmt.Sprint(h["Port"]) != port {
		t.Errorf("NetworkProtocol HTTP %v, want enabled on port %s", h, port)
	}
	if s, _ := np["HTTPS"].(map[string]any); s["ProtocolEnabled"] != false {
		t.Errorf("NetworkProtocol HTTPS %v, want disabled", s)
	}
}

func rt(t *testing.T, b *bmc) redfishtool { return redfishtool{t, b} }
