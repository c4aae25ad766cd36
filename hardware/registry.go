package hardware

import (
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// SetupFunc builds the backend of one machine. Each backend package
// registers one from an init function in its setup.go (CoreDNS's
// plugin.Register is the model):
//
//	func init() { hardware.Register("sim", setup) }
//
// It decodes its own configuration block with s.Config.Decode and returns
// that error as is (it already names the parameter); NewBackend adds the
// system.
type SetupFunc func(s Setup) (Backend, error)

// Setup is what a backend needs to build one machine.
type Setup struct {
	// ID is the system's Id (letters, digits, '.', '_', '-').
	ID string
	// Seed is unique to this installation and stable across restarts
	// (bmcd's service UUID): with ID it derives identities (UUID, serial
	// numbers, MAC addresses) that stay the same from one start to the next.
	Seed string
	// StateDir is bmcd's state directory. A backend that keeps files of
	// its own puts them in a subdirectory named after itself.
	StateDir string
	// Log is bmcd's logger, already carrying system=<ID>; never nil.
	Log *slog.Logger
	// Config is the system's block named after the backend, undecoded
	// (empty when the configuration file has none).
	Config BackendConfig
}

// Identity is the system's identity derived from Seed and ID: a backend
// that invents its host's UUID, serial numbers or MAC addresses derives
// them from it (Identity.Sum, NameUUID), as the simulation does, so they
// stay stable across restarts.
func (s Setup) Identity() Identity { return DeriveIdentity(s.Seed, s.ID) }

// BackendConfig is a backend's own block of the configuration file
// (`sim:` for the sim backend), kept undecoded by the configuration
// loader. hardware/backendconfig implements it for YAML.
type BackendConfig interface {
	// Decode decodes the block into v, a pointer to a struct whose fields
	// carry `yaml` names and go-playground `validate` rules. An unknown
	// key, a value of the wrong type or a broken rule is an error of the
	// form "<backend>.<field>: <what is wrong>".
	Decode(v any) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]SetupFunc{}
	checks     = map[string]CheckFunc{}
	// backendName is what a backend may be called: it is a key of the
	// configuration file.
	backendName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Register makes a backend available under name (lower-case letters,
// digits and '_', starting with a letter), the `backend:` value and block
// key of a system in the configuration file. It is meant to be called
// from an init function and panics, as a programming error, when name is
// malformed or already registered, or setup is nil.
func Register(name string, setup SetupFunc) {
	if !backendName.MatchString(name) {
		panic(fmt.Sprintf("hardware.Register: malformed backend name %q", name))
	}
	if setup == nil {
		panic(fmt.Sprintf("hardware.Register: backend %q has a nil SetupFunc", name))
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("hardware.Register: backend %q registered twice", name))
	}
	registry[name] = setup
}

// Backends lists the registered backend names, sorted.
func Backends() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewBackend builds system s.ID's backend with the SetupFunc registered
// under name. Errors name the system: `system rack1: unknown backend
// "qemu" (known: sim)`, or the SetupFunc's error after "system rack1: "
// (e.g. `system rack1: sim.power_on_delay: time: invalid duration "x"`).
// A nil s.Log is replaced by slog.Default(), a nil s.Config by an empty
// block whose Decode leaves v as it is.
func NewBackend(name string, s Setup) (Backend, error) {
	registryMu.RLock()
	setup, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("system %s: unknown backend %q (known: %s)", s.ID, name, strings.Join(Backends(), ", "))
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Config == nil {
		s.Config = noConfig{}
	}
	b, err := setup(s)
	if err != nil {
		return nil, fmt.Errorf("system %s: %w", s.ID, err)
	}
	if b == nil {
		return nil, fmt.Errorf("system %s: backend %q built nothing", s.ID, name)
	}
	return b, nil
}

// CheckFunc checks a backend's block without building anything (no
// device, file or connection is opened): the errors its SetupFunc gives
// for the block itself, of the same form. For `bmcd -check-config`.
type CheckFunc func(c BackendConfig) error

// RegisterCheck adds the block check of backend name, from the same init
// function as Register (optional: without one only the backend's name is
// checked). It panics, as a programming error, when check is nil or name
// has one already.
func RegisterCheck(name string, check CheckFunc) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if check == nil || checks[name] != nil {
		panic(fmt.Sprintf("hardware.RegisterCheck: nil or second check for backend %q", name))
	}
	checks[name] = check
}

// CheckBackend checks system id's backend name and block (c, nil: none)
// as NewBackend would refuse them, without building the backend. Errors
// are NewBackend's: `system rack1: unknown backend "xen" (known: ...)`,
// or the backend's CheckFunc's after "system rack1: ".
func CheckBackend(name, id string, c BackendConfig) error {
	registryMu.RLock()
	_, ok := registry[name]
	check := checks[name]
	registryMu.RUnlock()
	if !ok {
		return fmt.Errorf("system %s: unknown backend %q (known: %s)", id, name, strings.Join(Backends(), ", "))
	}
	if check == nil {
		return nil
	}
	if c == nil {
		c = noConfig{}
	}
	if err := check(c); err != nil {
		return fmt.Errorf("system %s: %w", id, err)
	}
	return nil
}

// noConfig is an absent block: it decodes into nothing, leaving v as it is.
type noConfig struct{}

func (noConfig) Decode(any) error { return nil }
