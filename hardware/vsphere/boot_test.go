package vsphere

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// devices is a VM with two disks, a CD-ROM and two NICs.
var devices = object.VirtualDeviceList{
	&types.VirtualLsiLogicController{VirtualSCSIController: types.VirtualSCSIController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: 1000}}}},
	&types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: 2000, ControllerKey: 1000}},
	&types.VirtualCdrom{VirtualDevice: types.VirtualDevice{Key: 3000}},
	&types.VirtualDisk{VirtualDevice: types.VirtualDevice{Key: 2001, ControllerKey: 1000}},
	&types.VirtualVmxnet3{VirtualVmxnet: types.VirtualVmxnet{VirtualEthernetCard: types.VirtualEthernetCard{VirtualDevice: types.VirtualDevice{Key: 4000}}}},
	&types.VirtualE1000{VirtualEthernetCard: types.VirtualEthernetCard{VirtualDevice: types.VirtualDevice{Key: 4001}}},
}

// order writes a boot order the short way: d2000 c e4000.
func order(o []types.BaseVirtualMachineBootOptionsBootableDevice) string {
	var s []string
	for _, d := range o {
		switch d := d.(type) {
		case *types.VirtualMachineBootOptionsBootableDiskDevice:
			s = append(s, fmt.Sprintf("d%d", d.DeviceKey))
		case *types.VirtualMachineBootOptionsBootableEthernetDevice:
			s = append(s, fmt.Sprintf("e%d", d.DeviceKey))
		case *types.VirtualMachineBootOptionsBootableCdromDevice:
			s = append(s, "c")
		default:
			s = append(s, fmt.Sprintf("%T", d))
		}
	}
	return strings.Join(s, " ")
}

// TestPlanConfig: each plan's boot order, firmware, Secure Boot, BIOS
// setup and attributes.
func TestPlanConfig(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plan  hardware.BootPlan
		devs  object.VirtualDeviceList
		order string
		want  bootConfig // all but Order
	}{
		{"disk, UEFI", hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeUEFI}, devices,
			"d2000 d2001 c e4000 e4001", bootConfig{Firmware: "efi", NetBoot: "ipv4"}},
		{"PXE once, Legacy", hardware.BootPlan{Source: hardware.BootPxe, Mode: hardware.BootModeLegacy, Once: true}, devices,
			"e4000 e4001 d2000 d2001 c", bootConfig{Firmware: "bios", NetBoot: "ipv4"}},
		{"CD, UEFI with Secure Boot", hardware.BootPlan{Source: hardware.BootCd, Mode: hardware.BootModeUEFI, SecureBoot: true, Image: "http://x/a.iso"}, devices,
			"c d2000 d2001 e4000 e4001", bootConfig{Firmware: "efi", SecureBoot: true, NetBoot: "ipv4"}},
		{"Secure Boot is UEFI's only", hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeLegacy, SecureBoot: true}, devices,
			"d2000 d2001 c e4000 e4001", bootConfig{Firmware: "bios", NetBoot: "ipv4"}},
		{"BIOS setup keeps the disk first", hardware.BootPlan{Source: hardware.BootBiosSetup, Mode: hardware.BootModeUEFI}, devices,
			"d2000 d2001 c e4000 e4001", bootConfig{Firmware: "efi", EnterSetup: true, NetBoot: "ipv4"}},
		{"attributes", hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeUEFI,
			Bios: map[string]any{attrBootRetry: "Enabled", attrNetworkBoot: "IPv6", "BootMode": "UEFI"}}, devices,
			"d2000 d2001 c e4000 e4001", bootConfig{Firmware: "efi", Retry: true, NetBoot: "ipv6"}},
		{"PXE without a NIC", hardware.BootPlan{Source: hardware.BootPxe, Mode: hardware.BootModeUEFI}, devices[:4],
			"d2000 d2001 c", bootConfig{Firmware: "efi", NetBoot: "ipv4"}},
		{"no devices", hardware.BootPlan{Source: hardware.BootCd, Mode: hardware.BootModeUEFI}, nil,
			"", bootConfig{Firmware: "efi", NetBoot: "ipv4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planConfig(tc.plan, tc.devs)
			if o := order(got.Order); o != tc.order {
				t.Errorf("boot order %q, want %q", o, tc.order)
			}
			got.Order = nil
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("config %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestBootConfigCompare: what changes on a running VM and what waits for
// it to be off; the spec keeps the boot options the plan does not set.
func TestBootConfigCompare(t *testing.T) {
	cur := &types.VirtualMachineConfigInfo{Firmware: "efi", BootOptions: &types.VirtualMachineBootOptions{
		BootDelay: 3000, EfiSecureBootEnabled: types.NewBool(true), BootRetryDelay: 20000,
		BootOrder: planConfig(hardware.BootPlan{Source: hardware.BootHdd}, devices).Order}}
	now := currentConfig(cur)
	if !now.SecureBoot || now.Firmware != "efi" || order(now.Order) != "d2000 d2001 c e4000 e4001" || now.NetBoot != "ipv4" {
		t.Fatalf("current config %+v", now)
	}
	hdd := planConfig(hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeUEFI, SecureBoot: true}, devices)
	if !hdd.sameHot(now) || !hdd.sameCold(now) {
		t.Error("the same plan differs")
	}
	pxe := planConfig(hardware.BootPlan{Source: hardware.BootPxe, Mode: hardware.BootModeUEFI, SecureBoot: true}, devices)
	if pxe.sameHot(now) || !pxe.sameCold(now) {
		t.Error("PXE first: a hot change only")
	}
	legacy := planConfig(hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeLegacy}, devices)
	if !legacy.sameHot(now) || legacy.sameCold(now) {
		t.Error("Legacy: a cold change only")
	}
	noSB := planConfig(hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeUEFI}, devices)
	if noSB.sameCold(now) {
		t.Error("Secure Boot off: a cold change")
	}

	hot := pxe.spec(cur, false)
	if hot.Firmware != "" || hot.BootOptions.BootDelay != 3000 || hot.BootOptions.BootRetryDelay != 20000 || !*hot.BootOptions.EfiSecureBootEnabled {
		t.Errorf("a hot spec changed what the plan does not set: %+v", hot.BootOptions)
	}
	if order(hot.BootOptions.BootOrder) != "e4000 e4001 d2000 d2001 c" || *hot.BootOptions.EnterBIOSSetup {
		t.Errorf("hot spec %+v", hot.BootOptions)
	}
	cold := legacy.spec(cur, true)
	if cold.Firmware != "bios" || *cold.BootOptions.EfiSecureBootEnabled {
		t.Errorf("a cold spec to Legacy: firmware %q, Secure Boot %v", cold.Firmware, *cold.BootOptions.EfiSecureBootEnabled)
	}
	if cur.BootOptions.BootOrder == nil || *cur.BootOptions.EfiSecureBootEnabled != true {
		t.Error("spec changed the configuration it started from")
	}
}

// TestSerialNumber: VMware's serial number form of a BIOS UUID.
func TestSerialNumber(t *testing.T) {
	for in, want := range map[string]string{
		"421c4e2b-513e-7e2d-7c1a-8e7e4f5c2d4b": "VMware-42 1c 4e 2b 51 3e 7e 2d-7c 1a 8e 7e 4f 5c 2d 4b",
		"421C4E2B-513E-7E2D-7C1A-8E7E4F5C2D4B": "VMware-42 1c 4e 2b 51 3e 7e 2d-7c 1a 8e 7e 4f 5c 2d 4b",
		"":                                     "",
		"not-a-uuid":                           "",
	} {
		if got := serialNumber(in); got != want {
			t.Errorf("serialNumber(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBootPlanWritten: the plans a Machine would hand are written into
// the simulated VM: the boot order and BIOS setup on a running VM at
// once, the firmware and Secure Boot while it is off, or at its next
// cold start, which a ForceRestart then is.
func TestBootPlanWritten(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 1, false)
	name := vmName(0)
	b := v.backend(t, name).(*Backend)
	h := &fakeHost{}
	b.Attach(h)
	ctx := context.Background()
	vmOrder := func() string { return order(v.vm(t, name).Config.BootOptions.BootOrder) }
	firmware := func() (string, bool) {
		cfg := v.vm(t, name).Config
		sb := cfg.BootOptions != nil && cfg.BootOptions.EfiSecureBootEnabled != nil && *cfg.BootOptions.EfiSecureBootEnabled
		return cfg.Firmware, sb
	}
	if fw, _ := firmware(); fw != "bios" || b.BootModes()[0] != hardware.BootModeLegacy {
		t.Fatalf("the simulator's VM has firmware %q, and the backend's default mode is %s", fw, b.BootModes()[0])
	}
	// The default plan (the disk, the VM's firmware, the factory BIOS
	// attributes) writes nothing into a VM without a boot order.
	fresh := v.vm(t, name).Config.ChangeVersion
	if err := b.SetNextBoot(ctx, hardware.BootPlan{Source: hardware.BootHdd, Mode: hardware.BootModeLegacy,
		Bios: map[string]any{"BootMode": "Legacy", attrBootRetry: "Disabled", attrNetworkBoot: "IPv4"}}); err != nil {
		t.Fatal(err)
	}
	if v.vm(t, name).Config.ChangeVersion != fresh {
		t.Error("the default plan reconfigured a fresh VM")
	}

	// Off: everything at once.
	if err := b.SetNextBoot(ctx, hardware.BootPlan{Source: hardware.BootPxe, Mode: hardware.BootModeUEFI, SecureBoot: true, Once: true}); err != nil {
		t.Fatal(err)
	}
	if o := vmOrder(); !strings.HasPrefix(o, "e") || !strings.Contains(o, "c") || !strings.Contains(o, "d") {
		t.Errorf("boot order %q, want the NIC first, then disk and CD", o)
	}
	if fw, sb := firmware(); fw != "efi" || !sb {
		t.Errorf("firmware %q, Secure Boot %v; want efi with Secure Boot", fw, sb)
	}

	// On: the order changes, the firmware waits.
	if err := b.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := b.SetNextBoot(ctx, hardware.BootPlan{Source: hardware.BootCd, Mode: hardware.BootModeLegacy}); err != nil {
		t.Fatal(err)
	}
	if o := vmOrder(); !strings.HasPrefix(o, "c ") {
		t.Errorf("boot order %q on a running VM, want the CD first", o)
	}
	if fw, _ := firmware(); fw != "efi" {
		t.Errorf("firmware %q changed while the VM runs", fw)
	}
	boot0 := v.vm(t, name).Summary.Runtime.BootTime
	if err := b.Reset(ctx, hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if fw, sb := firmware(); fw != "bios" || sb {
		t.Errorf("after a ForceRestart firmware %q, Secure Boot %v; want bios without", fw, sb)
	}
	if vm := v.vm(t, name); vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOn || vm.Summary.Runtime.BootTime.Equal(*boot0) {
		t.Errorf("the ForceRestart left %s, boot time %v (was %v)", vm.Runtime.PowerState, vm.Summary.Runtime.BootTime, boot0)
	}

	// BIOS setup, and the attributes.
	if err := b.SetNextBoot(ctx, hardware.BootPlan{Source: hardware.BootBiosSetup, Mode: hardware.BootModeLegacy,
		Bios: map[string]any{attrBootRetry: "Enabled", attrNetworkBoot: "IPv6"}}); err != nil {
		t.Fatal(err)
	}
	o := v.vm(t, name).Config.BootOptions
	if !*o.EnterBIOSSetup || !*o.BootRetryEnabled || o.NetworkBootProtocol != "ipv6" {
		t.Errorf("boot options %+v, want enterBIOSSetup, boot retry, IPv6", o)
	}
	// The same plan again writes nothing.
	before := v.vm(t, name).Config.ChangeVersion
	if err := b.SetNextBoot(ctx, hardware.BootPlan{Source: hardware.BootBiosSetup, Mode: hardware.BootModeLegacy,
		Bios: map[string]any{attrBootRetry: "Enabled", attrNetworkBoot: "IPv6"}}); err != nil {
		t.Fatal(err)
	}
	if after := v.vm(t, name).Config.ChangeVersion; after != before {
		t.Error("an unchanged plan reconfigured the VM")
	}
}

// fakeHost is a Host that records what it is told.
type fakeHost struct {
	mu      sync.Mutex
	changes []string
	boots   int
}

func (h *fakeHost) PowerChanged(from, to hardware.PowerState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, string(from)+">"+string(to))
}

func (h *fakeHost) Booted() hardware.BootResult {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.boots++
	return hardware.BootResult{Source: hardware.BootHdd, Time: time.Now()}
}

func (h *fakeHost) LogEvent(hardware.Event) {}

// seen is what the host was told so far.
func (h *fakeHost) seen() (changes []string, boots int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.changes), h.boots
}
