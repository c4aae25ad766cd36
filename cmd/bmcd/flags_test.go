package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlagsPrecedence(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "bmcd.yaml")
	if err := os.WriteFile(cfg, []byte(`
state_dir: /from/config
redfish: {addr: "127.0.0.1:9000", tls: false, session_timeout: 5m}
systems: [{id: a, backend: sim}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"-config", cfg, "-redfish-addr", "127.0.0.1:0"}, env(map[string]string{
		"BMCD_USER": "root", "BMCD_PASSWORD": "Passw0rd!",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if o.stateDir != "/from/config" || o.redfishAddr != "127.0.0.1:0" || o.tls {
		t.Errorf("config/flag precedence: %+v", o)
	}
	if o.sessionTimeout != 5*time.Minute || o.simSystems != 0 || len(o.file.Systems) != 1 {
		t.Errorf("config values: timeout %v sim %d systems %d", o.sessionTimeout, o.simSystems, len(o.file.Systems))
	}
	if o.user != "root" || o.password != "Passw0rd!" {
		t.Errorf("environment credentials: %q %q", o.user, o.password)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"user without password": {"-user", "x"},
		"stray argument":        {"extra"},
		"bad log level":         {"-log-level", "loud"},
		"negative systems":      {"-sim-systems", "-1"},
		"short session":         {"-session-timeout", "1s"},
		"missing config":        {"-config", "/nonexistent/bmcd.yaml"},
		"unknown flag":          {"-frobnicate"},
	} {
		if _, err := parseFlags(args, env(nil)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
