package config

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f, err := Parse([]byte(`
state_dir: /tmp/x
redfish: {addr: "127.0.0.1:0", tls: false, session_timeout: 10m}
users:
  - {name: ops, password: "0perator!", role: Operator}
systems:
  - id: web-1
    backend: sim
    sim: {power_on_delay: 100ms, powered_on: true}
  - {id: "2", backend: sim}
`))
	if err != nil {
		t.Fatal(err)
	}
	if *f.Redfish.TLS || time.Duration(f.Redfish.SessionTimeout) != 10*time.Minute {
		t.Fatalf("redfish = %+v", f.Redfish)
	}
	if len(f.Systems) != 2 || time.Duration(f.Systems[0].Sim.PowerOnDelay) != 100*time.Millisecond || !f.Systems[0].Sim.PoweredOn {
		t.Fatalf("systems = %+v", f.Systems)
	}
}

func TestParseEmpty(t *testing.T) {
	f, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.IPMI.StrictBootPrivilege {
		t.Error("strict_boot_privilege is on by default")
	}
}

func TestStrictBootPrivilege(t *testing.T) {
	for text, want := range map[string]bool{
		"ipmi: {strict_boot_privilege: true}":  true,
		"ipmi: {strict_boot_privilege: false}": false,
		"ipmi: {addr: \":623\"}":               false,
	} {
		f, err := Parse([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if f.IPMI.StrictBootPrivilege != want {
			t.Errorf("%s: StrictBootPrivilege %v", text, f.IPMI.StrictBootPrivilege)
		}
	}
	if _, err := Parse([]byte("ipmi: {strict_boot_privilege: sometimes}")); err == nil {
		t.Error("a non-boolean strict_boot_privilege was accepted")
	}
}

func TestParseErrors(t *testing.T) {
	for name, text := range map[string]string{
		"unknown key":     "redfsh: {}",
		"bad duration":    "redfish: {session_timeout: soon}",
		"unknown backend": "systems: [{id: a, backend: vmware}]",
		"duplicate id":    "systems: [{id: a, backend: sim}, {id: a, backend: sim}]",
		"slash in id":     "systems: [{id: a/b, backend: sim}]",
		"short password":  "users: [{name: a, password: x}]",
		"bad role":        "users: [{name: a, password: 12345678, role: Root}]",
		"not yaml":        "systems: [",
		"negative":        "systems: [{id: a, backend: sim, sim: {power_on_delay: -1s}}]",
		"missing backend": "systems: [{id: a}]",
	} {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "config:") {
			t.Errorf("%s: error lacks context: %v", name, err)
		}
	}
}
