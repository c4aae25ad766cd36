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
	Console struct {
		// VNCAddr is system 0's VNC (RFB) address; system i listens on
		// port+i, port 0 picks free ports.
		VNCAddr string `yaml:"vnc_addr"`
		// VNCPassword and VNCViewPassword turn on VNC Authentication
		// (6 to 8 printable ASCII characters: the protocol's limit), for
		// clients without VeNCrypt (vncsnapshot); the view-only one
		// watches. Unset: only bmcd's accounts log in, over VeNCrypt.
		VNCPassword     string `yaml:"vnc_password" validate:"omitempty,min=6,max=8,printascii"`
		VNCViewPassword string `yaml:"vnc_view_password" validate:"omitempty,min=6,max=8,printascii"`
		// Layout is the hosts' keyboard layout, through which pasted
		// text is typed: us (default), de, fr or ru.
		Layout string `yaml:"layout" validate:"omitempty,oneof=us de fr ru"`
	} `yaml:"console"`
	Users   []User   `yaml:"users" validate:"dive"`
	Systems []System `yaml:"systems" validate:"unique=ID,dive"`
	// Discover are sources of many systems found at run time (every
	// domain of a libvirt daemon, every VM of a vCenter), served after
	// the systems listed above.
	Discover []Discover `yaml:"discover" validate:"dive"`
}

// Discover is a source of systems, an entry of the discover list:
//
//	backend: libvirt             # a name registered with hardware.RegisterDiscovery
//	libvirt: {uri: "qemu:///system", domains: ["ocp-*"]}
//
// As for a system, the block named after the backend is kept undecoded in
// Params for the discovery to decode; any other key is an error.
type Discover struct {
	Backend string     `yaml:"backend" validate:"required,max=64"`
	Params  *yaml.Node `yaml:"-" validate:"-"`
}

// UnmarshalYAML decodes an entry by hand: backend, and at most the block
// named after it. Errors name the entry's line and the key.
func (d *Discover) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a discover entry is a mapping (backend, ...)", n.Line)
	}
	*d = Discover{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "backend" {
			if err := v.Decode(&d.Backend); err != nil {
				return fmt.Errorf("discover at line %d: backend: %w", n.Line, err)
			}
		}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if seen[key.Value] {
			return fmt.Errorf("discover at line %d: key %q given twice", key.Line, key.Value)
		}
		seen[key.Value] = true
		switch {
		case key.Value == "backend":
		case d.Backend != "" && key.Value == d.Backend:
			d.Params = n.Content[i+1]
		default:
			return fmt.Errorf("discover at line %d: unknown key %q (an entry has backend and the block named after it%s)",
				key.Line, key.Value, blockHint(d.Backend))
		}
	}
	return nil
}

// User is an account created at start-up if it does not exist yet.
type User struct {
	Name     string `yaml:"name" validate:"required,max=16"`
	Password string `yaml:"password" validate:"required,min=8,max=20"`
	Role     string `yaml:"role" validate:"omitempty,oneof=Administrator Operator ReadOnly"`
}

// System is one managed machine and the backend that drives it, an entry
// of the systems list:
//
//	id: rack1
//	backend: sim               # a name registered with hardware.Register
//	ipmi_addr: ":6231"         # optional
//	sim: {power_on_delay: 2s}  # optional: the block named after the backend
//
// The configuration knows no backend: Backend is checked against the
// registered ones at start-up (hardware.NewBackend), and the block named
// after it is kept undecoded in Params for the backend to decode. Any
// other key is an error naming the system and the key.
type System struct {
	ID      string `yaml:"id" validate:"required,max=64"`
	Backend string `yaml:"backend" validate:"required,max=64"`
	// IPMIAddr overrides the consecutive-port rule for this system.
	IPMIAddr string `yaml:"ipmi_addr" validate:"omitempty,hostname_port"`
	// Params is the value of the key named after Backend; nil when the
	// system has none (an empty block).
	Params *yaml.Node `yaml:"-" validate:"-"`
}

// UnmarshalYAML decodes a system by hand: the keys id, backend and
// ipmi_addr, and at most one more, named after the backend, whose value
// is kept undecoded. Errors name the system (its id, else its line) and
// the key.
func (s *System) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a system is a mapping (id, backend, ...)", n.Line)
	}
	type known struct {
		ID       string `yaml:"id"`
		Backend  string `yaml:"backend"`
		IPMIAddr string `yaml:"ipmi_addr"`
	}
	var k known
	var rest []*yaml.Node // key, value pairs other than the known keys
	seen := map[string]bool{}
	fields := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key := n.Content[i]
		if seen[key.Value] {
			return fmt.Errorf("%s: key %q given twice", where(n, key.Line), key.Value)
		}
		seen[key.Value] = true
		switch key.Value {
		case "id", "backend", "ipmi_addr":
			fields.Content = append(fields.Content, key, n.Content[i+1])
		default:
			rest = append(rest, key, n.Content[i+1])
		}
	}
	if err := fields.Decode(&k); err != nil {
		return fmt.Errorf("%s: %w", where(n, n.Line), err)
	}
	*s = System{ID: k.ID, Backend: k.Backend, IPMIAddr: k.IPMIAddr}
	for i := 0; i < len(rest); i += 2 {
		key := rest[i]
		if s.Backend == "" || key.Value != s.Backend {
			return fmt.Errorf("%s: unknown key %q (a system has id, backend, ipmi_addr and the block named after its backend%s)",
				where(n, key.Line), key.Value, blockHint(s.Backend))
		}
		s.Params = rest[i+1]
	}
	return nil
}

// where names system n and a line of it in an error: "system rack1: line
// 7", or "system at line 7" when it has no id.
func where(n *yaml.Node, line int) string {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := n.Content[i], n.Content[i+1]; k.Value == "id" && v.Kind == yaml.ScalarNode && v.Value != "" {
			return fmt.Sprintf("system %s: line %d", v.Value, line)
		}
	}
	return fmt.Sprintf("system at line %d", line)
}

func blockHint(backend string) string {
	if backend == "" {
		return ""
	}
	return fmt.Sprintf(", %q", backend)
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type [^\n]*`)

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
		// yaml.v3 names an unknown key with the Go type it is not in
		// ("field adr not found in type struct { Addr string ... }"):
		// say it in the file's terms.
		msg := unknownField.ReplaceAllString(err.Error(), `unknown key "$1"`)
		return nil, fmt.Errorf("config: %s", msg)
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
