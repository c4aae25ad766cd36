package hardware

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
)

// Discovery finds machines at run time: every domain of a libvirt daemon,
// every VM of a vCenter, or the subset its configuration names. Where a
// configured system is one machine with its own backend, a discovery is a
// source of many, which join the fleet as they are defined and leave it
// as they are removed, without a restart of bmcd (sushy-tools' libvirt
// driver and VirtualBMC together, in one place).
//
// A discovery registers itself by name from its package's setup.go
// (RegisterDiscovery), beside the backend its machines use.
type Discovery interface {
	// Run reports the machines present through h (Found, then Listed once
	// the first listing is complete), then those that appear and
	// disappear, until ctx ends; it returns nil then. Returning before
	// Listed means the source could not be reached at all: bmcd stops at
	// start with that error, naming the discovery. A connection lost
	// afterwards is retried by Run itself, keeping the machines found
	// (their backends answer ErrUnavailable meanwhile).
	Run(ctx context.Context, h DiscoveryHost) error
}

// Found is one machine a discovery found.
type Found struct {
	// ID is the system's Id, stable across restarts of bmcd and of the
	// hypervisor (a libvirt domain's UUID, a vSphere VM's instance UUID),
	// so clients' addresses for it keep working.
	ID string
	// Aliases are other names accepted for it in URIs and shown in logs (a
	// domain's name). An alias that is another machine's Id or alias is
	// dropped, with a warning.
	Aliases []string
	// Backend drives it; the fleet builds its Machine and closes the
	// backend with it.
	Backend Backend
}

// DiscoveryHost is the fleet as a discovery sees it. Its methods are safe
// for concurrent use and may be called with the discovery's locks held.
type DiscoveryHost interface {
	// Found adds a machine. Errors: ErrExists when its ID is taken (by a
	// configured system or an earlier Found), or the Machine's own error;
	// the backend is closed then.
	Found(f Found) error
	// Lost removes the machine of that ID, if the discovery added it,
	// and closes it: its state (overrides, event log) is kept, so a
	// machine found again under the same ID finds it.
	Lost(id string)
	// Listed says the first listing is complete: bmcd waits for it (a
	// bounded time) before it logs its systems and serves them, so their
	// order and ports are stable from one start to the next.
	Listed()
}

// DiscoverySetup is what a discovery needs to start.
type DiscoverySetup struct {
	// Name names this discovery in logs and errors (the backend's name,
	// or the configuration's entry).
	Name string
	// Seed is the installation's seed (Setup.Seed), for identities the
	// machines lack.
	Seed string
	// StateDir is bmcd's state directory (a subdirectory named after the
	// backend for its own files).
	StateDir string
	// Log is bmcd's logger; never nil.
	Log *slog.Logger
	// Config is the discovery's block, undecoded.
	Config BackendConfig
}

// DiscoverySetupFunc builds a discovery from its configuration block.
type DiscoverySetupFunc func(s DiscoverySetup) (Discovery, error)

var (
	discoveryMu sync.RWMutex
	discoveries = map[string]DiscoverySetupFunc{}
)

// RegisterDiscovery makes a discovery available under name, the
// `backend:` value of an entry of the configuration file's `discover:`
// list (by convention the name of the backend its machines use). Called
// from an init function; panics, as a programming error, when name is
// malformed or taken, or setup is nil.
func RegisterDiscovery(name string, setup DiscoverySetupFunc) {
	if !backendName.MatchString(name) {
		panic(fmt.Sprintf("hardware.RegisterDiscovery: malformed name %q", name))
	}
	if setup == nil {
		panic(fmt.Sprintf("hardware.RegisterDiscovery: %q has a nil setup", name))
	}
	discoveryMu.Lock()
	defer discoveryMu.Unlock()
	if _, dup := discoveries[name]; dup {
		panic(fmt.Sprintf("hardware.RegisterDiscovery: %q registered twice", name))
	}
	discoveries[name] = setup
}

// NewDiscovery builds the discovery registered under name. Errors:
// `discover x: unknown discovery (known: libvirt, vsphere)` or
// the setup's own error after "discover <name>: ".
func NewDiscovery(name string, s DiscoverySetup) (Discovery, error) {
	discoveryMu.RLock()
	setup, ok := discoveries[name]
	known := slices.Sorted(maps.Keys(discoveries))
	discoveryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("discover %s: unknown discovery (known: %s)", name, strings.Join(known, ", "))
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Config == nil {
		s.Config = noConfig{}
	}
	if s.Name == "" {
		s.Name = name
	}
	d, err := setup(s)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", name, err)
	}
	return d, nil
}
