package vsphere

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"

	"github.com/bmcd/bmcd/hardware"
)

// TestPowerFromVCenter: power changes made in vCenter reach the Host, a
// power-on and a reset each as one boot; reading the state asks vCenter
// nothing.
func TestPowerFromVCenter(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 1, false)
	b := v.backend(t, vmName(0)).(*Backend)
	h := &fakeHost{}
	b.Attach(h)
	ctx := context.Background()
	vm, err := find.NewFinder(v.client(t)).VirtualMachine(ctx, vmName(0))
	if err != nil {
		t.Fatal(err)
	}
	run := func(what string, start func(context.Context) (*object.Task, error)) {
		t.Helper()
		task, err := start(ctx)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	seen := func(what string, changes []string, boots int) {
		t.Helper()
		waitUntil(t, what, func() bool {
			c, n := h.seen()
			return slices.Equal(c, changes) && n == boots
		})
	}
	power := func() hardware.PowerState {
		ps, err := b.PowerState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ps
	}
	run("power on", vm.PowerOn)
	seen("the power-on", []string{"Off>On"}, 1)
	if power() != hardware.PowerOn {
		t.Error("not on")
	}
	run("reset", vm.Reset) // vcsim resets as off and on
	seen("the reset", []string{"Off>On", "On>Off", "Off>On"}, 2)
	run("suspend", vm.Suspend)
	seen("the suspend", []string{"Off>On", "On>Off", "Off>On", "On>Off"}, 2)
	if power() != hardware.PowerOff {
		t.Error("a suspended VM is not off")
	}

	// Every read is the collector's: no call to vCenter.
	calls := v.calls.Load()
	for range 1000 {
		power()
		b.Info()
		b.BootModes()
		b.ResetTypes()
	}
	if n := v.calls.Load() - calls; n != 0 {
		t.Errorf("reading the state made %d calls to vCenter", n)
	}
}

// TestGuestOperations: a guest restart needs VMware Tools (ErrState
// without, as vCenter's ToolsUnavailable); a server without SendNMI and
// screenshots (vcsim) gets no Nmi and no display; an NMI sent anyway is
// ErrNotSupported.
func TestGuestOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 1, false)
	b := v.backend(t, vmName(0)).(*Backend)
	parts := b.Attach(&fakeHost{})
	ctx := context.Background()
	if slices.Contains(b.ResetTypes(), hardware.ResetNmi) || parts.Display != nil {
		t.Errorf("vcsim has no SendNMI nor screenshots, yet: resets %v, display %v", b.ResetTypes(), parts.Display)
	}
	if err := b.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := b.Reset(ctx, hardware.ResetGracefulRestart); !errors.Is(err, hardware.ErrState) {
		t.Errorf("guest restart without Tools: %v, want ErrState", err)
	}
	b.nmi = true
	if err := b.Reset(ctx, hardware.ResetNmi); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("NMI on a server without SendNMI: %v, want ErrNotSupported", err)
	}
	if b.conn.supports(methodSendNMI) {
		t.Error("the session still takes the server for one with SendNMI")
	}
}

// TestVMDestroyed: a configured VM destroyed in vCenter is unavailable,
// and actions on it are ErrNotFound.
func TestVMDestroyed(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 2, false)
	b := v.backend(t, vmName(0)).(*Backend)
	other := v.backend(t, vmName(1)).(*Backend)
	b.Attach(&fakeHost{})
	ctx := context.Background()
	vm, err := find.NewFinder(v.client(t)).VirtualMachine(ctx, vmName(0))
	if err != nil {
		t.Fatal(err)
	}
	task, err := vm.Destroy(ctx)
	if err != nil || task.Wait(ctx) != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the VM gone", func() bool {
		_, err := b.PowerState(ctx)
		return errors.Is(err, hardware.ErrUnavailable)
	})
	if err := b.Reset(ctx, hardware.ResetOn); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("power on a destroyed VM: %v, want ErrNotFound", err)
	}
	if err := other.Reset(ctx, hardware.ResetOn); err != nil {
		t.Errorf("the other VM: %v", err)
	}
}
