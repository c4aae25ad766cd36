package vsphere

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// fleet is a DiscoveryHost that keeps what it is given, as bmcd's fleet
// does: each machine's backend attached (to a fakeHost), closed when
// lost.
type fleet struct {
	mu       sync.Mutex
	machines map[string]hardware.Found // by ID
	hosts    map[string]*fakeHost
	names    []string // in the order found
	lost     []string // names, in the order lost
	listed   chan struct{}
	refuse   string // an ID Found refuses (ErrExists)
}

func newFleet() *fleet {
	return &fleet{machines: map[string]hardware.Found{}, hosts: map[string]*fakeHost{}, listed: make(chan struct{})}
}

func (f *fleet) Found(m hardware.Found) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.machines[m.ID]; dup || m.ID == f.refuse {
		_ = m.Backend.Close()
		return fmt.Errorf("system %s: %w", m.ID, hardware.ErrExists)
	}
	h := &fakeHost{}
	m.Backend.Info()
	m.Backend.Attach(h)
	f.machines[m.ID], f.hosts[m.ID] = m, h
	f.names = append(f.names, m.Aliases[0])
	return nil
}

func (f *fleet) Lost(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.machines[id]
	if !ok {
		return
	}
	delete(f.machines, id)
	f.lost = append(f.lost, m.Aliases[0])
	_ = m.Backend.Close()
}

func (f *fleet) Listed() { close(f.listed) }

// count is how many machines the fleet has, and how many it lost.
func (f *fleet) count() (int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.machines), len(f.lost)
}

// byName is the machine whose alias is name.
func (f *fleet) byName(name string) (hardware.Found, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.machines {
		if m.Aliases[0] == name {
			return m, true
		}
	}
	return hardware.Found{}, false
}

// closeAll closes every machine's backend, as the fleet does at exit.
func (f *fleet) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, m := range f.machines {
		_ = m.Backend.Close()
	}
}

// runDiscovery runs a discovery of params over v until the test ends.
func runDiscovery(t *testing.T, v *vcenter, block string, setup ...func(*fleet)) (*fleet, <-chan error) {
	t.Helper()
	text := fmt.Sprintf("{url: %q, username: user, password: pass, insecure: true%s}", v.URL, block)
	d, err := hardware.NewDiscovery("vsphere", hardware.DiscoverySetup{StateDir: t.TempDir(), Log: quietLog, Config: config(t, "vsphere", text)})
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet()
	for _, s := range setup {
		s(f)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, f) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after its context ended")
		}
		f.closeAll()
	})
	return f, done
}

// waitUntil polls cond until it holds, for at most 3 minutes: vcsim
// copies every watched VM's properties at each change it reports, which
// with 500 VMs under the race detector takes seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDiscovery500: 500 VMs, of which the patterns take 499: each found
// once, in name order, with its instance UUID as Id and its name as
// alias, before Listed; then a VM created, one destroyed and one renamed
// out of the patterns and back are found and lost as they come; the
// machines answer ErrUnavailable while the simulator restarts, and come
// back after it without being lost.
func TestDiscovery500(t *testing.T) {
	if testing.Short() {
		t.Skip("500 simulated VMs: not in -short")
	}
	v := newVCenter(t, 500, false)
	start := time.Now()
	f, _ := runDiscovery(t, v, `, vms: ["DC0_C0_RP0_VM*"], exclude: ["*_VM499"]`)
	select {
	case <-f.listed:
	case <-time.After(2 * time.Minute):
		t.Fatal("no Listed")
	}
	t.Logf("499 VMs listed in %s", time.Since(start))
	if n, _ := f.count(); n != 499 {
		t.Fatalf("%d machines found, want 499", n)
	}
	f.mu.Lock()
	if !sort.StringsAreSorted(f.names) {
		t.Error("the first listing was not found in name order")
	}
	if slices.Contains(f.names, vmName(499)) {
		t.Error("the excluded VM was found")
	}
	f.mu.Unlock()
	vm0 := v.vm(t, vmName(0))
	m, ok := f.byName(vmName(0))
	if !ok || m.ID != vm0.Config.InstanceUuid || m.Backend.Info().UUID != vm0.Config.Uuid {
		t.Fatalf("%s: found %+v, want Id %s (instance UUID)", vmName(0), m, vm0.Config.InstanceUuid)
	}

	ctx := context.Background()
	vc := v.client(t)
	fd := find.NewFinder(vc)
	// Created: found.
	src, err := fd.VirtualMachine(ctx, vmName(1))
	if err != nil {
		t.Fatal(err)
	}
	folder, err := fd.Folder(ctx, "/DC0/vm")
	if err != nil {
		t.Fatal(err)
	}
	task, err := src.Clone(ctx, folder, "DC0_C0_RP0_VM500", types.VirtualMachineCloneSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the new VM found", func() bool { _, ok := f.byName("DC0_C0_RP0_VM500"); return ok })
	// Destroyed: lost, its backend closed.
	gone, err := fd.VirtualMachine(ctx, vmName(2))
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := f.byName(vmName(2))
	if task, err := gone.Destroy(ctx); err != nil || task.Wait(ctx) != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the destroyed VM lost", func() bool { _, ok := f.byName(vmName(2)); return !ok })
	if _, err := m2.Backend.(*Backend).PowerState(ctx); err == nil {
		t.Error("a lost machine still reports a power state")
	}
	// Renamed out of the patterns and back.
	vm3, err := fd.VirtualMachine(ctx, vmName(3))
	if err != nil {
		t.Fatal(err)
	}
	rename := func(name string) {
		t.Helper()
		task, err := vm3.Rename(ctx, name)
		if err != nil || task.Wait(ctx) != nil {
			t.Fatalf("rename: %v", err)
		}
	}
	rename("elsewhere")
	waitUntil(t, "the renamed VM lost", func() bool { _, ok := f.byName(vmName(3)); return !ok })
	rename(vmName(3))
	waitUntil(t, "the VM renamed back found", func() bool { _, ok := f.byName(vmName(3)); return ok })
	if n, lost := f.count(); n != 499 || lost != 2 {
		t.Errorf("%d machines, %d lost; want 499 and 2", n, lost)
	}

	// A power-on in vCenter reaches the machine's host.
	m4, _ := f.byName(vmName(4))
	h4 := f.hosts[m4.ID]
	vm4, _ := fd.VirtualMachine(ctx, vmName(4))
	if task, err := vm4.PowerOn(ctx); err != nil || task.Wait(ctx) != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the power-on seen", func() bool { c, boots := h4.seen(); return len(c) == 1 && boots == 1 })

	// The simulator restarts: machines unavailable, then back, none lost.
	b4 := m4.Backend.(*Backend)
	v.restart(t, 0)
	waitUntil(t, "the machines back after the restart", func() bool {
		ps, err := b4.PowerState(ctx)
		return err == nil && ps == hardware.PowerOn
	})
	if task, err := vm4.PowerOff(ctx); err != nil || task.Wait(ctx) != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a power-off after the restart seen", func() bool { ps, _ := b4.PowerState(ctx); return ps == hardware.PowerOff })
	if n, lost := f.count(); n != 499 || lost != 2 {
		t.Errorf("after the restart %d machines, %d lost; want 499 and 2", n, lost)
	}
}

// TestDiscoveryDown: a discovery that cannot list stops at once with the
// reason; a session vCenter forgot is logged in again; a machine whose
// Id is taken is skipped.
func TestDiscoveryDown(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 3, false)
	for _, tc := range []struct{ name, block string }{
		{"no such datacenter", `, datacenter: DC9`},
		{"no such folder", `, folder: /DC0/vm/none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := fmt.Sprintf("{url: %q, username: user, password: pass, insecure: true%s}", v.URL, tc.block)
			d, err := hardware.NewDiscovery("vsphere", hardware.DiscoverySetup{Log: quietLog, Config: config(t, "vsphere", text)})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := d.Run(ctx, newFleet()); err == nil || ctx.Err() != nil {
				t.Errorf("Run: %v, want an error at once", err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		d, err := hardware.NewDiscovery("vsphere", hardware.DiscoverySetup{Log: quietLog,
			Config: config(t, "vsphere", `{url: "https://127.0.0.1:1/sdk", username: u, password: p}`)})
		if err != nil {
			t.Fatal(err)
		}
		err = d.Run(context.Background(), newFleet())
		if !errors.Is(err, hardware.ErrUnavailable) {
			t.Errorf("Run: %v, want ErrUnavailable", err)
		}
	})

	t.Run("session ended, Id taken", func(t *testing.T) {
		vm1 := v.vm(t, vmName(1))
		f, _ := runDiscovery(t, v, "", func(f *fleet) { f.refuse = vm1.Config.InstanceUuid })
		<-f.listed
		if n, _ := f.count(); n != 2 {
			t.Fatalf("%d machines, want 2 (one refused)", n)
		}
		m, _ := f.byName(vmName(0))
		v.endSessions(t)
		if err := m.Backend.(*Backend).Reset(context.Background(), hardware.ResetOn); err != nil {
			t.Fatalf("power on after vCenter forgot the session: %v", err)
		}
		waitUntil(t, "the power-on seen", func() bool {
			ps, err := m.Backend.(*Backend).PowerState(context.Background())
			return err == nil && ps == hardware.PowerOn
		})
	})
}

// TestDiscoveryConfig: what the block takes.
func TestDiscoveryConfig(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{username: u, password: p}`, "vsphere.url"},
		{`{url: "ftp://x", username: u, password: p}`, "vsphere.url"},
		{`{url: "https://x/sdk", username: u}`, "vsphere.password"},
		{`{url: "https://x/sdk", username: u, password: p, vms: ["[a"]}`, "vsphere.vms"},
		{`{url: "https://x/sdk", username: u, password: p, folders: x}`, "vsphere.folders: unknown parameter"},
		{`{url: "https://u:p@x/sdk", username: u, password: p}`, "vsphere.url"},
		{`{url: "https://x/sdk", username: u, password_file: /nonexistent}`, "vsphere.password_file"},
	} {
		_, err := hardware.NewDiscovery("vsphere", hardware.DiscoverySetup{Config: config(t, "vsphere", tc.text)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.text, err, tc.want)
		}
	}
}
