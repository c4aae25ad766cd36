package sim

import (
	"fmt"
	"strings"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated server's UEFI firmware: its setup attributes and the boot
// options it enumerates.

// biosRegistry is the simulated firmware's attribute registry.
func biosRegistry(info hardware.Info) hardware.BiosRegistry {
	onOff := []hardware.AttributeValue{{Name: "Enabled", DisplayName: "Enabled"}, {Name: "Disabled", DisplayName: "Disabled"}}
	return hardware.BiosRegistry{
		Name:    "BiosAttributeRegistryS1",
		Version: "1.0.0",
		Attributes: []hardware.BiosAttribute{
			{Name: "BootMode", Type: hardware.AttrEnumeration, DisplayName: "Boot Mode",
				HelpText: "UEFI or legacy BIOS boot, when no boot override names a mode.",
				Default:  "UEFI", Values: []hardware.AttributeValue{{Name: "UEFI", DisplayName: "UEFI"}, {Name: "Legacy", DisplayName: "Legacy BIOS"}}},
			{Name: "ProcTurboMode", Type: hardware.AttrEnumeration, DisplayName: "Turbo Mode",
				HelpText: "Lets the processor cores run above their base frequency.", Default: "Enabled", Values: onOff},
			{Name: "ProcVirtualization", Type: hardware.AttrEnumeration, DisplayName: "Virtualization Technology",
				HelpText: "The processor's hardware virtualization extensions (VT-x).", Default: "Enabled", Values: onOff},
			{Name: "SriovGlobalEnable", Type: hardware.AttrBoolean, DisplayName: "SR-IOV Global Enable",
				HelpText: "Lets PCIe devices expose SR-IOV virtual functions.", Default: false},
			{Name: "PxeNicIndex", Type: hardware.AttrInteger, DisplayName: "PXE NIC",
				HelpText: "Which network interface network boot uses first, counted from 0.",
				Default:  float64(0), LowerBound: 0, UpperBound: int64(len(info.NICs) - 1), ScalarIncrement: 1},
			{Name: "SerialConsole", Type: hardware.AttrEnumeration, DisplayName: "Serial Console Redirection",
				HelpText: "The serial port the firmware console is redirected to.", Default: "COM1",
				Values: []hardware.AttributeValue{{Name: "COM1", DisplayName: "COM1"}, {Name: "COM2", DisplayName: "COM2"}, {Name: "Disabled", DisplayName: "Disabled"}}},
			{Name: "AssetTag", Type: hardware.AttrString, DisplayName: "Asset Tag",
				HelpText: "The owner's asset tag, up to 32 characters.", Default: "", MaxLength: 32},
			{Name: "SystemBiosVersion", Type: hardware.AttrString, DisplayName: "System BIOS Version",
				HelpText: "The firmware version.", Default: info.BiosVersion, ReadOnly: true, ShowsBiosVersion: true},
		},
	}
}

// factoryDisks is how many of the simulated server's disks were fitted
// when its firmware first started and numbered its boot options; the
// second HDD (Disk2) was fitted later.
const factoryDisks = 2

// bootOptions are what the simulated firmware enumerates, in its default
// boot order: each disk, the virtual media drives the BMC presents over
// USB, PXE (and HTTP boot, when it can) on each NIC, and the UEFI Shell;
// then the disks fitted after the first boot, which got the next free
// Boot#### numbers and the end of the order, as UEFI firmware appends an
// option for a device it meets for the first time.
func bootOptions(info hardware.Info, slots []hardware.SlotSpec, targets []hardware.BootSource) []hardware.BootOption {
	var out []hardware.BootOption
	add := func(o hardware.BootOption) {
		o.Reference = fmt.Sprintf("Boot%04X", len(out)+1)
		out = append(out, o)
	}
	can := func(b hardware.BootSource) bool {
		for _, t := range targets {
			if t == b {
				return true
			}
		}
		return false
	}
	disk := func(i int, d hardware.Disk) {
		o := hardware.BootOption{Alias: hardware.BootHdd, Disk: d.ID, DisplayName: fmt.Sprintf("UEFI %s: %s", d.Protocol, d.Model)}
		switch d.Protocol {
		case "NVMe":
			o.DevicePath = fmt.Sprintf("PciRoot(0x0)/Pci(0x1D,0x%X)/Pci(0x0,0x0)/NVMe(0x1,00-00-00-00-00-00-00-00)", i)
		default:
			o.DevicePath = fmt.Sprintf("PciRoot(0x0)/Pci(0x17,0x0)/Sata(0x%X,0xFFFF,0x0)", i)
		}
		add(o)
	}
	for i, d := range info.Disks[:min(factoryDisks, len(info.Disks))] {
		disk(i, d)
	}
	for i, s := range slots {
		if !can(s.Boot) {
			continue
		}
		add(hardware.BootOption{Alias: s.Boot, Slot: s.ID, DisplayName: "UEFI BMC " + s.Name,
			DevicePath: fmt.Sprintf("PciRoot(0x0)/Pci(0x14,0x0)/USB(0xE,0x0)/USB(0x%X,0x0)", i)})
	}
	for i, n := range info.NICs {
		mac := strings.ReplaceAll(n.MAC, ":", "")
		path := fmt.Sprintf("PciRoot(0x0)/Pci(0x1C,0x0)/Pci(0x0,0x%X)/MAC(%s,0x1)/IPv4(0.0.0.0)", i, mac)
		if can(hardware.BootPxe) {
			add(hardware.BootOption{Alias: hardware.BootPxe, NIC: n.ID, DevicePath: path,
				DisplayName: fmt.Sprintf("UEFI PXEv4: %s (MAC %s)", n.ID, n.MAC)})
		}
		if can(hardware.BootUefiHttp) {
			add(hardware.BootOption{Alias: hardware.BootUefiHttp, NIC: n.ID, DevicePath: path + "/Uri()",
				DisplayName: fmt.Sprintf("UEFI HTTPv4: %s (MAC %s)", n.ID, n.MAC)})
		}
	}
	if can(hardware.BootUefiShell) {
		add(hardware.BootOption{Alias: hardware.BootUefiShell, DisplayName: "UEFI Shell",
			DevicePath: "Fv(7CB8BDC9-F8EB-4F34-AAEA-3EE4AF6516A1)/FvFile(7C04A583-9E3E-4F1C-AD65-E05268D0B4D1)"})
	}
	for i := factoryDisks; i < len(info.Disks); i++ {
		disk(i, info.Disks[i])
	}
	return out
}
