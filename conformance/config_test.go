package conformance

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigBackendErrors: the real binary refuses to start on a system
// whose backend it was not built with, or whose backend block is wrong,
// and says which system and which field: in the error log line (slog
// quotes it), or on stderr as "bmcd: config: ..." (exit 2) for a file
// that does not parse.
func TestConfigBackendErrors(t *testing.T) {
	t.Parallel()
	for config, want := range map[string]string{
		// The list of known backends grows with every backend built in.
		"systems: [{id: rack1, backend: nosuch, nosuch: {image: /x.qcow2}}]": `system rack1: unknown backend \"nosuch\" (known: `,
		"systems: [{id: rack1, backend: sim, sim: {power_on_delay: x}}]":     `system rack1: sim.power_on_delay: time: invalid duration \"x\"`,
		"systems: [{id: rack1, backend: sim, sim: {power_on_delay: -1s}}]":   "system rack1: sim.power_on_delay: -1s is below the minimum 0",
		"systems: [{id: rack1, backend: sim, simm: {}}]":                     `bmcd: config: system rack1: line 1: unknown key "simm"`,
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "bmcd.yaml")
		if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, bmcdPath, "-config", cfg, "-state-dir", filepath.Join(dir, "state"),
			"-redfish-addr", "127.0.0.1:0", "-user", adminUser, "-password", adminPassword)
		cmd.Env = filterEnv(os.Environ(), "BMCD_USER", "BMCD_PASSWORD")
		out, err := cmd.CombinedOutput()
		cancel()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("%s: bmcd did not fail (%v); output:\n%s", config, err, out)
			continue
		}
		if !strings.Contains(string(out), want) {
			t.Errorf("%s: exit %d, output lacks %s:\n%s", config, ee.ExitCode(), want, out)
		}
		if strings.Contains(string(out), "redfish listening") {
			t.Errorf("%s: bmcd listened before refusing", config)
		}
	}
}
