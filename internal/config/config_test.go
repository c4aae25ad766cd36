package config

import (
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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
	if len(f.Systems) != 2 || f.Systems[0].ID != "web-1" || f.Systems[0].Backend != "sim" || f.Systems[1].Params != nil {
		t.Fatalf("systems = %+v", f.Systems)
	}
	// The backend's block is kept for the backend to decode.
	var sim struct {
		PowerOnDelay string `yaml:"power_on_delay"`
		PoweredOn    bool   `yaml:"powered_on"`
	}
	if err := f.Systems[0].Params.Decode(&sim); err != nil || sim.PowerOnDelay != "100ms" || !sim.PoweredOn {
		t.Fatalf("sim block = %+v, %v", sim, err)
	}
}

// The configuration knows no backend names: any name is kept with its
// block, and checked against the registered backends at start-up.
func TestParseAnyBackend(t *testing.T) {
	f, err := Parse([]byte(`
systems:
  - {id: vm1, backend: qemu, ipmi_addr: "127.0.0.1:6300", qemu: {image: /var/lib/vm1.qcow2}}
  - {id: vm2, qemu: ~, backend: qemu}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Systems[0]
	if s.Backend != "qemu" || s.IPMIAddr != "127.0.0.1:6300" || s.Params == nil || s.Params.Kind != yaml.MappingNode {
		t.Fatalf("system = %+v", s)
	}
	if s := f.Systems[1]; s.ID != "vm2" || s.Params == nil || s.Params.ShortTag() != "!!null" {
		t.Fatalf("system = %+v", s)
	}
}

func TestParseSystemErrors(t *testing.T) {
	for text, want := range map[string]string{
		"systems: [{id: rack1, backend: sim, simm: {}}]":         `config: system rack1: line 1: unknown key "simm" (a system has id, backend, ipmi_addr and the block named after its backend, "sim")`,
		"systems: [{id: rack1, backend: sim, qemu: {}}]":         `config: system rack1: line 1: unknown key "qemu" (a system has id, backend, ipmi_addr and the block named after its backend, "sim")`,
		"systems: [{id: rack1, sim: {}}]":                        `config: system rack1: line 1: unknown key "sim" (a system has id, backend, ipmi_addr and the block named after its backend)`,
		"systems: [{backend: sim, power_on_delay: 1s}]":          `config: system at line 1: unknown key "power_on_delay" (a system has id, backend, ipmi_addr and the block named after its backend, "sim")`,
		"systems: [{id: rack1, backend: sim, sim: {}, sim: {}}]": `config: system rack1: line 1: key "sim" given twice`,
		"systems: [{id: rack1, id: rack2, backend: sim}]":        `config: system rack1: line 1: key "id" given twice`,
		"systems:\n  - rack1":                                    `config: line 2: a system is a mapping (id, backend, ...)`,
		"systems: [{id: [a], backend: sim}]":                     "config: system at line 1: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into string",
	} {
		if _, err := Parse([]byte(text)); err == nil || err.Error() != want {
			t.Errorf("%s:\n got  %v\n want %s", text, err, want)
		}
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
		"system key":      "systems: [{id: a, backend: sim, power_on_delay: 1s}]",
		"duplicate id":    "systems: [{id: a, backend: sim}, {id: a, backend: sim}]",
		"slash in id":     "systems: [{id: a/b, backend: sim}]",
		"short password":  "users: [{name: a, password: x}]",
		"bad role":        "users: [{name: a, password: 12345678, role: Root}]",
		"not yaml":        "systems: [",
		"empty backend":   "systems: [{id: a, backend: \"\"}]",
		"missing backend": "systems: [{id: a}]",
	} {
		if _, err := Parse([]byte(text)); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.HasPrefix(err.Error(), "config:") {
			t.Errorf("%s: error lacks context: %v", name, err)
		}
	}
}

func TestParseDiscover(t *testing.T) {
	f, err := Parse([]byte(`
discover:
  - backend: libvirt
    libvirt: {uri: "qemu:///system", domains: ["ocp-*"]}
  - backend: vsphere
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Discover) != 2 || f.Discover[0].Backend != "libvirt" || f.Discover[0].Params == nil || f.Discover[1].Params != nil {
		t.Fatalf("discover = %+v", f.Discover)
	}
	var p struct {
		URI     string   `yaml:"uri"`
		Domains []string `yaml:"domains"`
	}
	if err := f.Discover[0].Params.Decode(&p); err != nil || p.URI != "qemu:///system" || p.Domains[0] != "ocp-*" {
		t.Fatalf("params = %+v, %v", p, err)
	}
	for _, bad := range []string{
		"discover:\n  - backend: libvirt\n    vsphere: {}\n",
		"discover:\n  - libvirt: {}\n",
		"discover:\n  - backend: libvirt\n    backend: libvirt\n",
		"discover: [x]\n",
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestUnknownKeyMessage: an unknown key is named in the file's terms, not
// with the Go type it is missing from.
func TestUnknownKeyMessage(t *testing.T) {
	_, err := Parse([]byte("redfish: {adr: x}\n"))
	if err == nil || !strings.Contains(err.Error(), `line 1: unknown key "adr"`) || strings.Contains(err.Error(), "struct") {
		t.Errorf("err = %v", err)
	}
}
