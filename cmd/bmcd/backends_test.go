package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/internal/store"
)

// The "testonly" backend exists only in this test binary: it shows a
// backend is added by registering it, with nothing in cmd/,
// internal/config, redfish/ or ipmi/ knowing it. It is a power switch
// (backendtest.Switch) and nothing else, with the model its block names.
func init() {
	hardware.Register("testonly", func(s hardware.Setup) (hardware.Backend, error) {
		var p struct {
			Model string `yaml:"model" validate:"required"`
		}
		if err := s.Config.Decode(&p); err != nil {
			return nil, err
		}
		return &backendtest.Switch{Inventory: hardware.Info{Manufacturer: "test", Model: p.Model}}, nil
	})
}

// configure writes text as a configuration file and parses the flags as
// bmcd's command line would, with a fresh state directory.
func configure(t *testing.T, text string, args ...string) *options {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bmcd.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags(append([]string{"-config", cfg, "-state-dir", filepath.Join(dir, "state"), "-redfish-addr", "127.0.0.1:0"}, args...), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestTestOnlyBackend: a system whose backend is registered from a test
// file is built from the configuration file by buildMachines, as run does.
func TestTestOnlyBackend(t *testing.T) {
	o := configure(t, `
systems:
  - {id: tiny, backend: testonly, testonly: {model: Tiny T1}}
  - {id: big, backend: sim, sim: {power_on_delay: 10ms}}
`, "-sim-systems", "1")
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := buildMachines(o, "seed", db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, m := range ms {
			m.Close()
		}
	}()
	if len(ms) != 3 || ms[0].ID() != "tiny" || ms[1].ID() != "big" || ms[2].ID() != "0" {
		t.Fatalf("machines %v", ms)
	}
	m := ms[0]
	if in := m.Info(); in.Model != "Tiny T1" || in.Manufacturer != "test" {
		t.Errorf("info %+v", in)
	}
	ctx := context.Background()
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if s, err := m.PowerState(ctx); err != nil || s != hardware.PowerOn {
		t.Errorf("power after On: %v %v", s, err)
	}
	if err := m.Reset(ctx, hardware.ResetGracefulShutdown); err == nil {
		t.Error("a reset the backend does not declare was carried out")
	}
	if got := ms[1].Info().Model; got != "Simulated Server S1" {
		t.Errorf("sim system: model %q", got)
	}
}

// TestStartupBackendErrors: run refuses to start when a system names an
// unknown backend or its block is wrong, and says which system and field.
func TestStartupBackendErrors(t *testing.T) {
	for text, want := range map[string]string{
		"systems: [{id: rack1, backend: nosuch, nosuch: {image: /x}}]":     `system rack1: unknown backend "nosuch" (known: ` + strings.Join(hardware.Backends(), ", ") + ")",
		"systems: [{id: rack1, backend: sim, sim: {power_on_delay: x}}]":   `system rack1: sim.power_on_delay: time: invalid duration "x"`,
		"systems: [{id: rack1, backend: sim, sim: {powered: true}}]":       "system rack1: sim.powered: unknown parameter (known: power_on_delay, power_off_delay, shutdown_delay, powered_on)",
		"systems: [{id: rack1, backend: testonly}]":                        "system rack1: testonly.model: required",
		"systems: [{id: a, backend: sim}, {id: rack1, backend: testonly}]": "system rack1: testonly.model: required",
	} {
		o := configure(t, text, "-user", "admin", "-password", "Passw0rd!")
		err := run(context.Background(), o, slog.New(slog.DiscardHandler))
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got  %v\n want %s", text, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "listen") {
			t.Errorf("%s: got as far as listening", text)
		}
	}
}
