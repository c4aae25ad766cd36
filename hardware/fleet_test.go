package hardware_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/internal/store"
)

func fleetStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fleetMachine(t *testing.T, db *store.DB, id string) *hardware.Machine {
	t.Helper()
	m, err := hardware.NewMachine(id, &backendtest.Switch{}, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func slots(f *hardware.Fleet) map[string]int {
	out := map[string]int{}
	for _, mem := range f.Members() {
		out[mem.Machine.ID()] = mem.Slot
	}
	return out
}

func TestFleetSlotsAndNames(t *testing.T) {
	db := fleetStore(t)
	f := hardware.FleetOf(fleetMachine(t, db, "a"), fleetMachine(t, db, "b"), fleetMachine(t, db, "c"))
	var seen []string
	cancel := f.Watch(func(c hardware.FleetChange) {
		op := "-"
		if c.Added {
			op = "+"
		}
		seen = append(seen, op+c.Member.Machine.ID())
	})
	defer cancel()
	gen := f.Generation()
	if _, ok := f.Remove("b"); !ok {
		t.Fatal("remove b")
	}
	if f.Generation() == gen {
		t.Error("generation unchanged by a removal")
	}
	// The freed slot is taken by the next machine; aliases name it too,
	// and a taken name is dropped.
	dropped, err := f.Add(fleetMachine(t, db, "uuid-1"), "libvirt", []string{"web", "a", "web", "uuid-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dropped, []string{"a", "web", "uuid-1"}) {
		t.Errorf("dropped = %v", dropped)
	}
	if got := slots(f); got["a"] != 0 || got["uuid-1"] != 1 || got["c"] != 2 {
		t.Errorf("slots = %v", got)
	}
	if m, ok := f.Machine("web"); !ok || m.ID() != "uuid-1" {
		t.Errorf("alias web -> %v %v", m, ok)
	}
	if mem, _ := f.Member("web"); mem.Source != "libvirt" {
		t.Errorf("source = %q", mem.Source)
	}
	if _, err := f.Add(fleetMachine(t, db, "web"), "", nil); !errors.Is(err, hardware.ErrExists) {
		t.Errorf("Id equal to an alias: %v", err)
	}
	ids := []string{}
	for _, m := range f.Machines() {
		ids = append(ids, m.ID())
	}
	if !slices.Equal(ids, []string{"a", "uuid-1", "c"}) {
		t.Errorf("order = %v", ids)
	}
	if want := []string{"+a", "+b", "+c", "-b", "+uuid-1"}; !slices.Equal(seen, want) {
		t.Errorf("watcher saw %v, want %v", seen, want)
	}
	f.Remove("uuid-1")
	if _, ok := f.Machine("web"); ok {
		t.Error("alias outlives its machine")
	}
}

// fakeDiscovery finds what it is told to, through its channel.
type fakeDiscovery struct {
	ops chan func(hardware.DiscoveryHost)
}

func (d *fakeDiscovery) Run(ctx context.Context, h hardware.DiscoveryHost) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case op := <-d.ops:
			op(h)
		}
	}
}

func TestFleetDiscover(t *testing.T) {
	db := fleetStore(t)
	f := hardware.FleetOf(fleetMachine(t, db, "configured"))
	d := &fakeDiscovery{ops: make(chan func(hardware.DiscoveryHost))}
	ctx, cancel := context.WithCancel(context.Background())
	listed, done := f.Discover(ctx, "fake", d, db, nil)
	var mu sync.Mutex
	var errs []error
	do := func(op func(h hardware.DiscoveryHost)) { d.ops <- op }
	closedA := &backendtest.Switch{}
	do(func(h hardware.DiscoveryHost) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs,
			h.Found(hardware.Found{ID: "vm-a", Aliases: []string{"alpha"}, Backend: closedA}),
			h.Found(hardware.Found{ID: "configured", Backend: &backendtest.Switch{}}),
			h.Found(hardware.Found{ID: "bad/id", Backend: &backendtest.Switch{}}),
			h.Found(hardware.Found{ID: "vm-b", Backend: &backendtest.Switch{}}))
		h.Listed()
	})
	<-listed
	mu.Lock()
	if errs[0] != nil || !errors.Is(errs[1], hardware.ErrExists) || !errors.Is(errs[2], hardware.ErrInvalid) || errs[3] != nil {
		t.Errorf("Found errors = %v", errs)
	}
	mu.Unlock()
	if got := slots(f); len(got) != 3 || got["vm-a"] != 1 || got["vm-b"] != 2 {
		t.Errorf("slots = %v", got)
	}
	// Lost of a machine it did not find changes nothing.
	do(func(h hardware.DiscoveryHost) { h.Lost("configured"); h.Lost("vm-a") })
	do(func(hardware.DiscoveryHost) {}) // the Lost calls are done
	if _, ok := f.Machine("configured"); !ok {
		t.Error("a discovery removed a configured system")
	}
	if _, ok := f.Machine("alpha"); ok {
		t.Error("vm-a still a member")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Discover did not end with its context")
	}
	if got := slots(f); len(got) != 1 {
		t.Errorf("after the discovery ended: %v", got)
	}
}
