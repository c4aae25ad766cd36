// Package config reads bmcd's YAML configuration file.
package config

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"
)

// File is the configuration file. Every field is optional; command-line
// flags override what it sets.
type File struct {
	StateDir string `yaml:"state_dir"`
	Redfish  struct {
		Addr string `yaml:"addr"`
		TLS  *bool  `yaml:"tls"`
		// SessionTimeout is the idle timeout of Redfish sessions.
		SessionTimeout Duration `yaml:"session_timeout"`
	} `yaml:"redfish"`
	IPMI struct {
		// Addr is system 0's IPMI address; system i listens on port+i.
		Addr string `yaml:"addr"`
		// EnableIPMI15 allows IPMI v1.5 sessions (MD5 only).
		EnableIPMI15 bool `yaml:"enable_ipmi15"`
		// SessionTimeout is the idle timeout of IPMI sessions (60s).
		SessionTimeout Duration `yaml:"session_timeout"`
		// MaxSessions caps the sessions of each system (64).
		MaxSessions int `yaml:"max_sessions" validate:"omitempty,min=1,max=1024"`
		// CipherSuites are the RMCP+ cipher suites offered ([17, 3]).
		CipherSuites []int `yaml:"cipher_suites" validate:"dive,oneof=2 3 7 8 16 17"`
		// StrictBootPrivilege makes a persistent boot flag (Set System
		// Boot Options) need ADMINISTRATOR, as IPMI 2.0 §28.12 says;
		// by default OPERATOR may set it, as on OpenBMC.
		StrictBootPrivilege bool `yaml:"strict_boot_privilege"`
	} `yaml:"ipmi"`
	Users   []User   `yaml:"users" validate:"dive"`
	Systems []System `yaml:"systems" validate:"unique=ID,dive"`
}

// User is an account created at start-up if it does not exist yet.
type User struct {
	Name     string `yaml:"name" validate:"required,max=16"`
	Password string `yaml:"password" validate:"required,min=8,max=20"`
	Role     string `yaml:"role" validate:"omitempty,oneof=Administrator Operator ReadOnly"`
}

// System is one managed machine and the backend that drives it.
type System struct {
	ID      string `yaml:"id" validate:"required,max=64"`
	Backend string `yaml:"backend" validate:"required,oneof=sim"`
	// IPMIAddr overrides the consecutive-port rule for this system.
	IPMIAddr string    `yaml:"ipmi_addr" validate:"omitempty,hostname_port"`
	Sim      SimParams `yaml:"sim"`
}

// SimParams configures a simulated machine.
type SimParams struct {
	PowerOnDelay  Duration `yaml:"power_on_delay"`
	PowerOffDelay Duration `yaml:"power_off_delay"`
	ShutdownDelay Duration `yaml:"shutdown_delay"`
	PoweredOn     bool     `yaml:"powered_on"`
}

var systemID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Duration is a time.Duration written as "2s" or "500ms".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	if v < 0 {
		return fmt.Errorf("line %d: negative duration %s", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Load reads and validates a configuration file. Unknown keys are errors,
// so a typo never silently falls back to a default.
func Load(path string) (*File, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(raw)
}

// Parse decodes and validates configuration text.
func Parse(raw []byte) (*File, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := validator.New().Struct(&f); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for _, s := range f.Systems {
		if !systemID.MatchString(s.ID) {
			return nil, fmt.Errorf("config: system id %q: use letters, digits, '.', '_' and '-' (it becomes part of URLs)", s.ID)
		}
	}
	return &f, nil
}
