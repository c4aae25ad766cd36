package hardware

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Fleet is every machine bmcd serves: the configured systems, then those
// its discoveries find (a libvirt daemon's domains, a vCenter's VMs) as
// they come and go. Each member has a slot, the lowest number free when
// it joined, which places it in listings and gives it its ports
// (-ipmi-addr and -vnc-addr port + slot); a slot is freed when its
// machine leaves. Protocols look machines up on each request and Watch
// the fleet to start and stop what they run per machine.
//
// A Fleet is safe for concurrent use.
type Fleet struct {
	// changeMu orders changes and their notices: a watcher sees every
	// change once, in order, after the snapshot Watch gave it.
	changeMu sync.Mutex
	mu       sync.RWMutex
	members  []Member // by slot
	names    map[string]*Member
	watchers map[uint64]func(FleetChange)
	nextW    uint64
	gen      atomic.Uint64
}

// Member is a machine of the fleet.
type Member struct {
	Machine *Machine
	// Slot is its place: listings go by slot, and its ports are the
	// configured base + Slot.
	Slot int
	// Aliases are other names accepted for it (a domain's name).
	Aliases []string
	// Source is the discovery that found it; "" for a configured system.
	Source string
}

// FleetChange is a machine joining (Added) or leaving the fleet.
type FleetChange struct {
	Added  bool
	Member Member
}

// NewFleet returns an empty fleet.
func NewFleet() *Fleet {
	return &Fleet{names: map[string]*Member{}, watchers: map[uint64]func(FleetChange){}}
}

// FleetOf is a fleet of machines in their order, slots 0, 1, ... (tests,
// and services built on a fixed list). It panics on a duplicate Id.
func FleetOf(machines ...*Machine) *Fleet {
	f := NewFleet()
	for _, m := range machines {
		if _, err := f.Add(m, "", nil); err != nil {
			panic(err)
		}
	}
	return f
}

// Add makes m a member under its Id and the aliases not already taken
// (those are dropped and returned in dropped), in the lowest free slot,
// and tells the watchers. Errors: ErrExists when m's Id is another
// member's Id or alias.
func (f *Fleet) Add(m *Machine, source string, aliases []string) (dropped []string, err error) {
	f.changeMu.Lock()
	defer f.changeMu.Unlock()
	f.mu.Lock()
	if _, taken := f.names[m.ID()]; taken {
		f.mu.Unlock()
		return nil, fmt.Errorf("system %s: %w", m.ID(), ErrExists)
	}
	slot := 0
	for i, x := range f.members {
		if x.Slot != i {
			break
		}
		slot = i + 1
	}
	mem := Member{Machine: m, Slot: slot, Source: source}
	for _, a := range aliases {
		if _, taken := f.names[a]; taken || a == m.ID() || a == "" || slices.Contains(mem.Aliases, a) {
			dropped = append(dropped, a)
			continue
		}
		mem.Aliases = append(mem.Aliases, a)
	}
	i, _ := slices.BinarySearchFunc(f.members, slot, func(x Member, s int) int { return x.Slot - s })
	f.members = slices.Insert(f.members, i, mem)
	f.reindexLocked()
	f.gen.Add(1)
	ws := f.watchersLocked()
	f.mu.Unlock()
	for _, w := range ws {
		w(FleetChange{Added: true, Member: mem})
	}
	return dropped, nil
}

// Remove takes the machine with that Id out of the fleet, tells the
// watchers, and returns it (the caller closes it). ok is false when no
// member has that Id.
func (f *Fleet) Remove(id string) (m *Machine, ok bool) {
	f.changeMu.Lock()
	defer f.changeMu.Unlock()
	f.mu.Lock()
	i := slices.IndexFunc(f.members, func(x Member) bool { return x.Machine.ID() == id })
	if i < 0 {
		f.mu.Unlock()
		return nil, false
	}
	mem := f.members[i]
	f.members = slices.Delete(f.members, i, i+1)
	f.reindexLocked()
	f.gen.Add(1)
	ws := f.watchersLocked()
	f.mu.Unlock()
	for _, w := range ws {
		w(FleetChange{Added: false, Member: mem})
	}
	return mem.Machine, true
}

// reindexLocked rebuilds the name index (members may have moved in the
// slice).
func (f *Fleet) reindexLocked() {
	clear(f.names)
	for i := range f.members {
		mem := &f.members[i]
		f.names[mem.Machine.ID()] = mem
		for _, a := range mem.Aliases {
			f.names[a] = mem
		}
	}
}

func (f *Fleet) watchersLocked() []func(FleetChange) {
	ws := make([]func(FleetChange), 0, len(f.watchers))
	for _, k := range slices.Sorted(maps.Keys(f.watchers)) {
		ws = append(ws, f.watchers[k])
	}
	return ws
}

// Machine is the member named name, by Id or alias.
func (f *Fleet) Machine(name string) (*Machine, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	mem, ok := f.names[name]
	if !ok {
		return nil, false
	}
	return mem.Machine, true
}

// Member is the member named name, by Id or alias.
func (f *Fleet) Member(name string) (Member, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	mem, ok := f.names[name]
	if !ok {
		return Member{}, false
	}
	return *mem, true
}

// Machines are the members' machines, by slot.
func (f *Fleet) Machines() []*Machine {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]*Machine, len(f.members))
	for i, mem := range f.members {
		out[i] = mem.Machine
	}
	return out
}

// Members are the members, by slot.
func (f *Fleet) Members() []Member {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return slices.Clone(f.members)
}

// Len is the number of members.
func (f *Fleet) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.members)
}

// Generation counts the fleet's changes: a listing rendered at one
// generation is stale at another.
func (f *Fleet) Generation() uint64 { return f.gen.Load() }

// Watch calls fn with every member as Added now, then with every later
// change, in order, until cancel. fn runs on the changing goroutine with
// no lock of the fleet's held but its order: it must not call Add or
// Remove, and should return soon (start a listener, not serve it).
func (f *Fleet) Watch(fn func(FleetChange)) (cancel func()) {
	f.changeMu.Lock()
	defer f.changeMu.Unlock()
	for _, mem := range f.Members() {
		fn(FleetChange{Added: true, Member: mem})
	}
	f.mu.Lock()
	k := f.nextW
	f.nextW++
	f.watchers[k] = fn
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		delete(f.watchers, k)
		f.mu.Unlock()
	}
}

// Discover runs d in the background, adding each machine it finds to the
// fleet (its Machine keeps its state in st, as a configured system's
// does) and removing and closing each it loses, until ctx ends; then the
// machines it found leave the fleet and are closed. listed is closed
// once d has listed what is there, or has ended (done then already holds
// Run's error); done receives Run's error, or nil, once everything it
// found is closed.
func (f *Fleet) Discover(ctx context.Context, source string, d Discovery, st Store, log *slog.Logger) (listed <-chan struct{}, done <-chan error) {
	if log == nil {
		log = slog.Default()
	}
	h := &discoveryHost{f: f, source: source, st: st, log: log, listed: make(chan struct{}), found: map[string]bool{}}
	errc := make(chan error, 1)
	go func() {
		err := d.Run(ctx, h)
		h.mu.Lock()
		h.closed = true
		ids := slices.Collect(maps.Keys(h.found))
		h.mu.Unlock()
		for _, id := range ids {
			if m, ok := f.Remove(id); ok {
				_ = m.Close()
			}
		}
		errc <- err
		h.Listed() // after done has Run's error: a Run that ended before listing failed
	}()
	return h.listed, errc
}

// discoveryHost is a Fleet as one discovery sees it.
type discoveryHost struct {
	f      *Fleet
	source string
	st     Store
	log    *slog.Logger

	listedOnce sync.Once
	listed     chan struct{}

	mu     sync.Mutex
	found  map[string]bool
	closed bool
}

func (h *discoveryHost) Found(fd Found) error {
	if fd.Backend == nil {
		return fmt.Errorf("system %s: no backend: %w", fd.ID, ErrInvalid)
	}
	if !validID(fd.ID) {
		_ = fd.Backend.Close()
		return fmt.Errorf("system %q: malformed Id: %w", fd.ID, ErrInvalid)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		_ = fd.Backend.Close()
		return fmt.Errorf("system %s: discovery %s stopped: %w", fd.ID, h.source, ErrState)
	}
	if _, taken := h.f.Member(fd.ID); taken {
		_ = fd.Backend.Close()
		return fmt.Errorf("system %s: %w", fd.ID, ErrExists)
	}
	m, err := NewMachine(fd.ID, fd.Backend, h.st, h.log)
	if err != nil {
		_ = fd.Backend.Close()
		return err
	}
	dropped, err := h.f.Add(m, h.source, fd.Aliases)
	if err != nil {
		_ = m.Close()
		return err
	}
	if len(dropped) > 0 {
		h.log.Warn("names already taken, not accepted for this system", "system", fd.ID, "names", dropped)
	}
	h.found[fd.ID] = true
	h.log.Info("system found", "system", fd.ID, "names", fd.Aliases, "discover", h.source)
	return nil
}

func (h *discoveryHost) Lost(id string) {
	h.mu.Lock()
	mine := h.found[id]
	delete(h.found, id)
	h.mu.Unlock()
	if !mine {
		return
	}
	if m, ok := h.f.Remove(id); ok {
		h.log.Info("system gone", "system", id, "discover", h.source)
		_ = m.Close()
	}
}

func (h *discoveryHost) Listed() { h.listedOnce.Do(func() { close(h.listed) }) }

// validID reports whether id can be a system's Id: letters, digits, '.',
// '_', '-' (a URI segment, a YAML key, a log field), 1 to 64 of them.
func validID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
