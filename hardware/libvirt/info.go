package libvirt

import (
	"fmt"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// infoOf is the inventory a domain's definition describes, as its guest
// sees it: QEMU's SMBIOS (unless <sysinfo> says otherwise), the domain's
// UUID (the guest's SMBIOS system UUID), vCPUs, memory, NICs and disks.
// capacity gives a disk's size in bytes (0 if unknown).
func infoOf(def *libvirtxml.Domain, capacity func(target string) int64) hardware.Info {
	machine, _ := machineType(def)
	in := hardware.Info{
		Manufacturer: "QEMU",
		Model:        modelOf(machine),
		UUID:         strings.ToLower(def.UUID),
		Name:         def.Name,
		HostName:     def.Name,
		BiosVersion:  "SeaBIOS",
	}
	if modeOf(def) == hardware.BootModeUEFI {
		in.BiosVersion = "EDK II (OVMF)"
	}
	for _, si := range def.SysInfo {
		if si.SMBIOS == nil || si.SMBIOS.System == nil {
			continue
		}
		for _, e := range si.SMBIOS.System.Entry {
			switch e.Name {
			case "manufacturer":
				in.Manufacturer = e.Value
			case "product":
				in.Model = e.Value
			case "serial":
				in.SerialNumber = e.Value
			case "sku":
				in.SKU = e.Value
			}
		}
	}
	vcpus := 1
	if def.VCPU != nil && def.VCPU.Value > 0 {
		vcpus = int(def.VCPU.Value)
	}
	in.ProcessorCount, in.CoresPerProcessor, in.ThreadsPerCore = 1, vcpus, 1
	in.ProcessorModel = "QEMU Virtual CPU"
	if c := def.CPU; c != nil {
		if t := c.Topology; t != nil && t.Sockets > 0 && t.Cores > 0 {
			in.ProcessorCount, in.CoresPerProcessor = t.Sockets, t.Cores
			if t.Threads > 0 {
				in.ThreadsPerCore = t.Threads
			}
		}
		switch {
		case c.Mode == "host-passthrough" || c.Mode == "host-model":
			in.ProcessorModel = "QEMU Virtual CPU (" + c.Mode + ")"
		case c.Model != nil && c.Model.Value != "":
			in.ProcessorModel = "QEMU Virtual CPU (" + c.Model.Value + ")"
		}
	}
	if m := def.Memory; m != nil {
		in.MemoryGiB = float64(bytesOf(m.Value, m.Unit)) / (1 << 30)
	}
	for i, n := range def.Devices.Interfaces {
		if n.MAC != nil && n.MAC.Address != "" {
			in.NICs = append(in.NICs, hardware.NIC{ID: fmt.Sprintf("NIC%d", i+1), MAC: strings.ToLower(n.MAC.Address)})
		}
	}
	var protocols []string
	for _, d := range def.Devices.Disks {
		if d.Target == nil || d.Target.Dev == "" || (d.Device != "" && d.Device != "disk") {
			continue
		}
		model, proto := "QEMU HARDDISK", "SATA"
		switch busOf(d) {
		case "virtio":
			model, proto = "Virtio Block Device", "PCIe"
		case "scsi":
			proto = "SAS"
		case "nvme":
			model, proto = "QEMU NVMe Ctrl", "NVMe"
		case "usb":
			proto = "USB"
		}
		size := int64(0)
		if capacity != nil {
			size = capacity(d.Target.Dev)
		}
		in.Disks = append(in.Disks, hardware.Disk{ID: d.Target.Dev, Model: model, SerialNumber: d.Serial,
			CapacityBytes: size, MediaType: "HDD", Protocol: proto})
		if !slices.Contains(protocols, proto) {
			protocols = append(protocols, proto)
		}
	}
	if len(in.Disks) > 0 {
		in.StorageControllers = []hardware.StorageController{{
			ID: "1", Name: "Storage Controller", Manufacturer: "QEMU", Model: "QEMU virtual disk controllers",
			ControllerProtocols: []string{"PCIe"}, DeviceProtocols: protocols,
		}}
	}
	return in
}

// modelOf names a machine type as QEMU's SMBIOS does.
func modelOf(machine string) string {
	switch {
	case strings.Contains(machine, "q35"):
		return "Standard PC (Q35 + ICH9, 2009)"
	case machine == "pc" || strings.Contains(machine, "i440fx"):
		return "Standard PC (i440FX + PIIX, 1996)"
	case machine == "":
		return "QEMU Virtual Machine"
	}
	return "QEMU Virtual Machine (" + machine + ")"
}

// bytesOf converts a libvirt memory amount (https://libvirt.org/formatdomain.html#memory-allocation).
func bytesOf(v uint, unit string) uint64 {
	n := uint64(v)
	switch strings.ToLower(unit) {
	case "b", "bytes":
		return n
	case "k", "kib", "":
		return n << 10
	case "kb":
		return n * 1000
	case "m", "mib":
		return n << 20
	case "mb":
		return n * 1000 * 1000
	case "g", "gib":
		return n << 30
	case "gb":
		return n * 1000 * 1000 * 1000
	case "t", "tib":
		return n << 40
	case "tb":
		return n * 1000 * 1000 * 1000 * 1000
	}
	return n << 10
}
