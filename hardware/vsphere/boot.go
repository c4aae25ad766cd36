package vsphere

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// A VM's boot device is set before it starts: the Machine hands the plan
// for the next boot (SetNextBoot) and this backend writes it into the
// VM's configuration: config.bootOptions.bootOrder (the plan's device
// class first), enterBIOSSetup (BiosSetup), config.firmware (efi for
// UEFI, bios for Legacy) and bootOptions.efiSecureBootEnabled, and the
// BIOS attributes below. vSphere changes the firmware and Secure Boot
// only while the VM is off: on a VM that runs they wait for its next cold
// start (a power-on, a power cycle, or a ForceRestart, which then powers
// off and on instead of resetting).

// bootTargets are the override targets a VM honours.
var bootTargets = []hardware.BootSource{hardware.BootPxe, hardware.BootCd, hardware.BootHdd, hardware.BootBiosSetup}

// BootTargets implements hardware.BootControl.
func (b *Backend) BootTargets() []hardware.BootSource { return slices.Clone(bootTargets) }

// BootModes implements hardware.BootControl: the VM's firmware when bmcd
// found it first, then the other.
func (b *Backend) BootModes() []hardware.BootMode { return slices.Clone(b.modes) }

// BootOptions implements hardware.BootControl: none (the boot order is
// written by device class, not UEFI boot option).
func (b *Backend) BootOptions() []hardware.BootOption { return nil }

// The BIOS attributes a VM has: its boot options that are not the boot
// device.
const (
	attrBootRetry   = "BootRetry"           // bootOptions.bootRetryEnabled
	attrNetworkBoot = "NetworkBootProtocol" // bootOptions.networkBootProtocol
)

// BiosRegistry implements hardware.FirmwareSettings.
func (b *Backend) BiosRegistry() hardware.BiosRegistry {
	onOff := []hardware.AttributeValue{{Name: "Enabled", DisplayName: "Enabled"}, {Name: "Disabled", DisplayName: "Disabled"}}
	return hardware.BiosRegistry{Name: "BiosAttributeRegistryVMware", Version: "1.0.0", Attributes: []hardware.BiosAttribute{
		{Name: attrBootRetry, Type: hardware.AttrEnumeration, DisplayName: "Boot Retry",
			HelpText: "When no boot device is found, retry the boot after 10 seconds (bootOptions.bootRetryEnabled).",
			Default:  "Disabled", Values: onOff},
		{Name: attrNetworkBoot, Type: hardware.AttrEnumeration, DisplayName: "Network Boot Protocol",
			HelpText: "The protocol an EFI network boot uses (bootOptions.networkBootProtocol).",
			Default:  "IPv4", Values: []hardware.AttributeValue{{Name: "IPv4", DisplayName: "IPv4"}, {Name: "IPv6", DisplayName: "IPv6"}}},
	}}
}

// SecureBootToggle implements hardware.FirmwareSettings: EFI VMs have
// bootOptions.efiSecureBootEnabled.
func (b *Backend) SecureBootToggle() bool { return true }

// bootConfig is the part of a VM's configuration that a boot plan sets.
type bootConfig struct {
	Firmware   string // "efi" or "bios"; cold
	SecureBoot bool   // cold
	Order      []types.BaseVirtualMachineBootOptionsBootableDevice
	EnterSetup bool
	Retry      bool
	NetBoot    string // "ipv4" or "ipv6"
}

// planConfig is the configuration that boots plan p on a VM with devs:
// the plan's device class first in the boot order, then the others in
// the order disk, CD-ROM, network (as a BIOS's default order); every disk
// and every network card, in device order; the one CD-ROM entry vSphere
// has. BiosSetup keeps that order and sets enterBIOSSetup.
func planConfig(p hardware.BootPlan, devs object.VirtualDeviceList) bootConfig {
	c := bootConfig{Firmware: "bios", Retry: p.Bios[attrBootRetry] == "Enabled", NetBoot: "ipv4"}
	if p.Mode == hardware.BootModeUEFI {
		c.Firmware, c.SecureBoot = "efi", p.SecureBoot
	}
	if p.Bios[attrNetworkBoot] == "IPv6" {
		c.NetBoot = "ipv6"
	}
	var disks, nics, cds []types.BaseVirtualMachineBootOptionsBootableDevice
	for _, d := range devs {
		switch d := d.(type) {
		case *types.VirtualDisk:
			disks = append(disks, &types.VirtualMachineBootOptionsBootableDiskDevice{DeviceKey: d.Key})
		case types.BaseVirtualEthernetCard:
			nics = append(nics, &types.VirtualMachineBootOptionsBootableEthernetDevice{DeviceKey: d.GetVirtualEthernetCard().Key})
		case *types.VirtualCdrom:
			if len(cds) == 0 {
				cds = append(cds, &types.VirtualMachineBootOptionsBootableCdromDevice{})
			}
		}
	}
	classes := [][]types.BaseVirtualMachineBootOptionsBootableDevice{disks, cds, nics}
	switch p.Source {
	case hardware.BootPxe:
		classes = [][]types.BaseVirtualMachineBootOptionsBootableDevice{nics, disks, cds}
	case hardware.BootCd:
		classes = [][]types.BaseVirtualMachineBootOptionsBootableDevice{cds, disks, nics}
	case hardware.BootBiosSetup:
		c.EnterSetup = true
	}
	for _, cl := range classes {
		c.Order = append(c.Order, cl...)
	}
	return c
}

// currentConfig is what a VM's configuration says now.
func currentConfig(cfg *types.VirtualMachineConfigInfo) bootConfig {
	c := bootConfig{Firmware: "bios", NetBoot: "ipv4"}
	if cfg == nil {
		return c
	}
	if cfg.Firmware == "efi" {
		c.Firmware = "efi"
	}
	if o := cfg.BootOptions; o != nil {
		c.SecureBoot = o.EfiSecureBootEnabled != nil && *o.EfiSecureBootEnabled
		c.Order = o.BootOrder
		c.EnterSetup = o.EnterBIOSSetup != nil && *o.EnterBIOSSetup
		c.Retry = o.BootRetryEnabled != nil && *o.BootRetryEnabled
		if o.NetworkBootProtocol == "ipv6" {
			c.NetBoot = "ipv6"
		}
	}
	return c
}

// sameHot reports whether c and o agree on what vSphere changes on a
// running VM; sameCold on the firmware and Secure Boot.
func (c bootConfig) sameHot(o bootConfig) bool {
	return c.EnterSetup == o.EnterSetup && c.Retry == o.Retry && c.NetBoot == o.NetBoot && sameOrder(c.Order, o.Order)
}

func (c bootConfig) sameCold(o bootConfig) bool {
	return c.Firmware == o.Firmware && (c.SecureBoot == o.SecureBoot || c.Firmware != "efi")
}

// sameOrder compares boot orders entry by entry (class and device key).
func sameOrder(a, b []types.BaseVirtualMachineBootOptionsBootableDevice) bool {
	return slices.EqualFunc(a, b, func(x, y types.BaseVirtualMachineBootOptionsBootableDevice) bool {
		return reflect.TypeOf(x) == reflect.TypeOf(y) && reflect.DeepEqual(x, y)
	})
}

// spec is the reconfiguration that writes c over cur: the hot part, and
// the cold part too when cold. The boot options are sent whole (those c
// does not set as cur has them): vcsim replaces them whole.
func (c bootConfig) spec(cur *types.VirtualMachineConfigInfo, cold bool) types.VirtualMachineConfigSpec {
	var o types.VirtualMachineBootOptions
	if cur != nil && cur.BootOptions != nil {
		o = *cur.BootOptions
	}
	if c.Order != nil {
		o.BootOrder = c.Order
	}
	o.EnterBIOSSetup = types.NewBool(c.EnterSetup)
	o.BootRetryEnabled = types.NewBool(c.Retry)
	o.NetworkBootProtocol = c.NetBoot
	spec := types.VirtualMachineConfigSpec{BootOptions: &o}
	if cold {
		spec.Firmware = c.Firmware
		o.EfiSecureBootEnabled = types.NewBool(c.Firmware == "efi" && c.SecureBoot)
	}
	return spec
}

// SetNextBoot implements hardware.BootControl: it writes plan p into the
// VM's configuration (see planConfig), all of it on a VM that is off; on
// one that runs, all but the firmware and Secure Boot, which wait for the
// next cold start. Errors: ErrUnavailable when vCenter cannot be reached;
// ErrInvalid when vCenter refuses the configuration (Secure Boot on a
// BIOS VM, an unknown device).
func (b *Backend) SetNextBoot(ctx context.Context, p hardware.BootPlan) error {
	b.opMu.Lock()
	defer b.opMu.Unlock()
	b.mu.Lock()
	b.plan = &p
	b.continual = p.Source == hardware.BootBiosSetup && !p.Once
	b.mu.Unlock()
	return b.writePlan(ctx)
}

// writePlan writes the last plan handed (the caller holds opMu).
func (b *Backend) writePlan(ctx context.Context) error {
	st, err := b.usable()
	if err != nil {
		return err
	}
	b.mu.Lock()
	p := b.plan
	b.mu.Unlock()
	if p == nil || st.Config == nil {
		return nil
	}
	want := planConfig(*p, st.devices())
	cur := currentConfig(st.Config)
	if len(cur.Order) == 0 && p.Source == hardware.BootHdd && !p.Once {
		// A VM without a boot order of its own boots as its firmware
		// does by default; it keeps that until a plan needs another
		// device first (so a discovery writes nothing into hundreds of
		// fresh VMs when it finds them).
		want.Order = nil
	}
	on := st.Power == types.VirtualMachinePowerStatePoweredOn
	hot, cold := !want.sameHot(cur), !want.sameCold(cur)
	b.mu.Lock()
	b.pending = nil
	if cold && on {
		b.pending = &want
	}
	b.mu.Unlock()
	if !hot && (!cold || on) {
		return nil
	}
	return b.reconfigure(ctx, st, want, cold && !on)
}

// reconfigure writes c (its cold part too when cold) and waits until the
// property collector reports it.
func (b *Backend) reconfigure(ctx context.Context, st vmState, c bootConfig, cold bool) error {
	spec := c.spec(st.Config, cold)
	err := b.conn.change(ctx, "write the boot configuration of "+b.name(), func(vc *vim25.Client) error {
		t, err := b.vm(vc).Reconfigure(ctx, spec)
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	})
	if err != nil {
		return err
	}
	b.waitFor(ctx, observeTimeout, func() bool {
		now := currentConfig(b.st.Config)
		return c.sameHot(now) && (!cold || c.sameCold(now))
	})
	return nil
}

// pendingCold reports whether a firmware or Secure Boot change waits for
// the VM's next cold start.
func (b *Backend) pendingCold() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pending != nil
}

// writePending writes the whole plan before a cold start, when part of it
// waited for one (the caller holds opMu, and the VM is off).
func (b *Backend) writePending(ctx context.Context) error {
	if !b.pendingCold() {
		return nil
	}
	if err := b.writePlan(ctx); err != nil {
		return fmt.Errorf("boot configuration before power-on: %w", err)
	}
	return nil
}

// rearm writes the plan again after a boot, for a continuous BiosSetup
// override (vSphere cleared enterBIOSSetup at the boot).
func (b *Backend) rearm() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.opMu.Lock()
	defer b.opMu.Unlock()
	b.waitFor(ctx, observeTimeout, func() bool { return !currentConfig(b.st.Config).EnterSetup })
	if err := b.writePlan(ctx); err != nil {
		b.log.Warn("vsphere: enterBIOSSetup not set again", "err", err)
	}
}
