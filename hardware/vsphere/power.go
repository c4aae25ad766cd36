package vsphere

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// The reset types and the vSphere operations they are (docs/backends.md):
//
//	On, ForceOn       PowerOnVM_Task
//	ForceOff          PowerOffVM_Task
//	GracefulShutdown  ShutdownGuest (VMware Tools)
//	GracefulRestart   RebootGuest (VMware Tools)
//	ForceRestart      ResetVM_Task
//	PowerCycle        PowerOffVM_Task, then PowerOnVM_Task
//	PushPowerButton   ShutdownGuest when on, PowerOnVM_Task when off
//	Nmi               SendNMI, where the server has it
var resetTypes = []hardware.ResetType{
	hardware.ResetOn, hardware.ResetForceOn, hardware.ResetForceOff,
	hardware.ResetGracefulShutdown, hardware.ResetGracefulRestart,
	hardware.ResetForceRestart, hardware.ResetPowerCycle, hardware.ResetNmi,
	hardware.ResetPushPowerButton,
}

// ResetTypes implements hardware.Power: every type, Nmi only where the
// server has SendNMI.
func (b *Backend) ResetTypes() []hardware.ResetType {
	if b.nmi {
		return slices.Clone(resetTypes)
	}
	return slices.DeleteFunc(slices.Clone(resetTypes), func(r hardware.ResetType) bool { return r == hardware.ResetNmi })
}

// PowerState implements hardware.Power: what the property collector last
// reported (a suspended VM is Off). Errors: ErrUnavailable while the
// session is lost, the VM's host is disconnected, or the VM left vCenter.
func (b *Backend) PowerState(context.Context) (hardware.PowerState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.down != nil:
		return "", fmt.Errorf("vsphere VM %s: %w: %w", b.st.Name, hardware.ErrUnavailable, b.down)
	case b.gone:
		return "", fmt.Errorf("vsphere VM %s is no longer in vCenter: %w", b.st.Name, hardware.ErrUnavailable)
	case !b.st.reachable():
		return "", fmt.Errorf("vsphere VM %s is %s: %w", b.st.Name, b.st.Connection, hardware.ErrUnavailable)
	}
	return b.st.power(), nil
}

// Reset implements hardware.Power (see resetTypes). It returns once
// vCenter has done it and the property collector reported it (a graceful
// shutdown returns when the guest was asked). Errors: ErrState when a
// guest operation needs VMware Tools that do not run (vCenter's
// ToolsUnavailable) or vCenter refuses the operation in the VM's state;
// ErrPoweredOff for an NMI to a VM that is off; ErrNotSupported for an
// NMI the server lacks; ErrUnavailable when vCenter cannot be reached.
func (b *Backend) Reset(ctx context.Context, r hardware.ResetType) error {
	if !slices.Contains(b.ResetTypes(), r) {
		return fmt.Errorf("reset %s: %w", r, hardware.ErrNotSupported)
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	st, err := b.usable()
	if err != nil {
		return err
	}
	if st.template() {
		return fmt.Errorf("vsphere VM %s is a template: %w", st.Name, hardware.ErrState)
	}
	on := st.Power == types.VirtualMachinePowerStatePoweredOn
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn:
		if on {
			return nil
		}
		return b.powerOn(ctx)
	case hardware.ResetForceOff:
		if !on {
			return nil
		}
		return b.powerOff(ctx)
	case hardware.ResetGracefulShutdown:
		if !on {
			return nil
		}
		return b.shutdownGuest(ctx)
	case hardware.ResetPushPowerButton:
		if on {
			return b.shutdownGuest(ctx)
		}
		return b.powerOn(ctx)
	case hardware.ResetForceRestart:
		if !on {
			return b.powerOn(ctx)
		}
		if b.pendingCold() {
			return b.powerCycle(ctx) // the firmware changes only while off
		}
		return b.reset(ctx)
	case hardware.ResetPowerCycle:
		if !on {
			return b.powerOn(ctx)
		}
		return b.powerCycle(ctx)
	case hardware.ResetGracefulRestart:
		if !on {
			return b.powerOn(ctx)
		}
		return b.rebootGuest(ctx)
	case hardware.ResetNmi:
		if !on {
			return fmt.Errorf("NMI to vsphere VM %s: %w", st.Name, hardware.ErrPoweredOff)
		}
		return b.sendNMI(ctx)
	}
	return fmt.Errorf("reset %s: %w", r, hardware.ErrNotSupported)
}

// vm is the VM as a govmomi object in session vc.
func (b *Backend) vm(vc *vim25.Client) *object.VirtualMachine {
	return object.NewVirtualMachine(vc, b.ref)
}

// powerOn writes a pending firmware change, powers on and reports the
// boot.
func (b *Backend) powerOn(ctx context.Context) error {
	if err := b.writePending(ctx); err != nil {
		return err
	}
	boots := b.bootCount()
	err := b.conn.change(ctx, "power on "+b.name(), func(vc *vim25.Client) error {
		t, err := b.vm(vc).PowerOn(ctx)
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	})
	if err != nil && !isAlready(err, types.VirtualMachinePowerStatePoweredOn) {
		return err
	}
	b.ensureBooted(ctx, boots)
	return nil
}

// powerOff powers off and waits until the collector reports it.
func (b *Backend) powerOff(ctx context.Context) error {
	err := b.conn.change(ctx, "power off "+b.name(), func(vc *vim25.Client) error {
		t, err := b.vm(vc).PowerOff(ctx)
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	})
	if err != nil && !fault.IsAlreadyPoweredOffError(err) {
		return err
	}
	b.waitFor(ctx, observeTimeout, func() bool { return b.st.Power != types.VirtualMachinePowerStatePoweredOn })
	return nil
}

// powerCycle is off, the pending firmware change, on.
func (b *Backend) powerCycle(ctx context.Context) error {
	if err := b.powerOff(ctx); err != nil {
		return err
	}
	return b.powerOn(ctx)
}

// reset is ResetVM_Task: the VM restarts with its power kept on.
func (b *Backend) reset(ctx context.Context) error {
	boots := b.bootCount()
	err := b.conn.change(ctx, "reset "+b.name(), func(vc *vim25.Client) error {
		t, err := b.vm(vc).Reset(ctx)
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	})
	if err != nil {
		return err
	}
	b.ensureBooted(ctx, boots)
	return nil
}

// shutdownGuest asks the guest OS to shut down through VMware Tools; the
// VM powers off when the guest is done. Without Tools vCenter refuses
// (ToolsUnavailable): ErrState, as vSphere has no ACPI power button a
// guest without Tools would see.
func (b *Backend) shutdownGuest(ctx context.Context) error {
	return b.conn.do(ctx, "shut down the guest of "+b.name(), func(vc *vim25.Client) error {
		return b.vm(vc).ShutdownGuest(ctx)
	})
}

// rebootGuest asks the guest OS to restart through VMware Tools; its
// firmware runs again, which is reported as a boot now (vCenter changes
// no property at a guest restart).
func (b *Backend) rebootGuest(ctx context.Context) error {
	boots := b.bootCount()
	err := b.conn.do(ctx, "reboot the guest of "+b.name(), func(vc *vim25.Client) error {
		return b.vm(vc).RebootGuest(ctx)
	})
	if err != nil {
		return err
	}
	b.ensureBooted(ctx, boots)
	return nil
}

// sendNMI is SendNMI. A server that lacks it answers MethodNotFound:
// ErrNotSupported, and machines made afterwards do not declare Nmi.
func (b *Backend) sendNMI(ctx context.Context) error {
	err := b.conn.do(ctx, "NMI to "+b.name(), func(vc *vim25.Client) error {
		_, err := methods.SendNMI(ctx, vc, &types.SendNMI{This: b.ref})
		return err
	})
	if isMethodNotFound(err) {
		b.conn.lacks(methodSendNMI)
	}
	return err
}

// bootCount is how many boots were reported so far.
func (b *Backend) bootCount() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.boots
}

// ensureBooted reports the boot an operation of bmcd caused (a power-on,
// a reset, a guest restart) unless the property collector showed it
// already (a new boot time, or a power-on). vCenter changes no property
// at a reset or a guest restart, so the VM's boot time and power state
// are read once, the collector given time to report them, and the boot
// reported here if it did not (with that boot time, so that a late report
// of it is not a second boot). A VM that is off by then did not boot.
func (b *Backend) ensureBooted(ctx context.Context, before uint64) {
	var vm mo.VirtualMachine
	err := b.conn.do(ctx, "read the boot time of "+b.name(), func(vc *vim25.Client) error {
		return property.DefaultCollector(vc).RetrieveOne(ctx, b.ref, []string{"runtime.powerState", "summary.runtime.bootTime"}, &vm)
	})
	var bt time.Time
	if err == nil {
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn {
			return
		}
		if vm.Summary.Runtime.BootTime != nil {
			bt = *vm.Summary.Runtime.BootTime
		}
		b.waitFor(ctx, observeTimeout, func() bool {
			return b.boots > before || b.st.Power == types.VirtualMachinePowerStatePoweredOn && (bt.IsZero() || b.st.BootTime.Equal(bt))
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.boots > before || b.closed {
		return
	}
	if !bt.IsZero() {
		b.lastBoot = bt
	}
	b.bootedLocked()
}

// isAlready reports a refusal because the VM is in state s already.
func isAlready(err error, s types.VirtualMachinePowerState) bool {
	var ips *types.InvalidPowerState
	if _, ok := fault.As(err, &ips); ok {
		return ips.ExistingState == s
	}
	return false
}

// waitTask waits for task ref to end; its failure is the error.
func waitTask(ctx context.Context, vc *vim25.Client, ref types.ManagedObjectReference) error {
	return object.NewTask(vc, ref).Wait(ctx)
}

// name names the VM in errors.
func (b *Backend) name() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.Name == "" {
		return "VM " + b.ref.Value
	}
	return "VM " + b.st.Name
}
