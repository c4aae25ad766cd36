package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckConfig: -check-config passes the package's default
// configuration (packaging/deb/bmcd.yaml: a board on PiKVM's pins, no
// device opened) and refuses each bad file with the error bmcd gives at
// start, naming the system and key.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, file, want string // want "": accepted
	}{
		{"shipped", "../../packaging/deb/bmcd.yaml", ""},
		{"sim", write("sim.yaml", "systems: [{id: a, backend: sim}]\n"), ""},
		{"wol alone", write("wol.yaml", "systems: [{id: a, backend: board, board: {wol: {mac: \"aa:bb:cc:dd:ee:ff\", interface: eth0}}}]\n"), ""},
		{"unknown backend", write("xen.yaml", "systems: [{id: a, backend: xen}]\n"), `system a: unknown backend "xen"`},
		{"board key", write("key.yaml", "systems: [{id: a, backend: board, board: {atx: {power_button: {offset: 23}}}}]\n"), "system a: board.atx.power_led: required"},
		{"board empty", write("empty.yaml", "systems: [{id: a, backend: board}]\n"), "system a: board: no part configured"},
		{"wol mac", write("mac.yaml", "systems: [{id: a, backend: board, board: {wol: {mac: nope}}}]\n"), "system a: board.wol.mac: "},
		{"sim value", write("simv.yaml", "systems: [{id: a, backend: sim, sim: {power_on_delay: x}}]\n"), "system a: sim.power_on_delay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseFlags([]string{"-config", tc.file, "-check-config"}, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = checkConfig(o)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("%v, want %q...", err, tc.want)
			}
		})
	}
	if _, err := parseFlags([]string{"-check-config"}, env(nil)); err == nil || !strings.Contains(err.Error(), "-check-config needs -config") {
		t.Errorf("without -config: %v", err)
	}
	o, err := parseFlags([]string{"-config", write("bad.yaml", "nokey: 1\n"), "-check-config"}, env(nil))
	if err == nil || o == nil || !o.checkConfig {
		t.Errorf("a refused file gives the options back for main's exit status 1: %v %v", o, err)
	}
}

// TestCheckConfigExit runs bmcd -check-config: exit status 0 with a
// message on a good file, 1 with the error on stderr on a bad one.
func TestCheckConfigExit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds bmcd")
	}
	bin := filepath.Join(t.TempDir(), "bmcd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-config", "../../packaging/deb/bmcd.yaml", "-check-config").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration OK") {
		t.Errorf("shipped configuration: %v %s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	for _, text := range []string{"systems: [{id: a, backend: board}]\n", "nokey: 1\n"} {
		if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command(bin, "-config", bad, "-check-config").CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.HasPrefix(string(out), "bmcd: ") {
			t.Errorf("%q: %v %s, want exit status 1 and the error", text, err, out)
		}
	}
}
