package qemu

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/qemu/qmp"
)

// mediaSlot is the virtual CD-ROM.
var mediaSlot = hardware.SlotSpec{ID: "CD", Name: "Virtual CD/DVD",
	Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd}

// BootTargets implements hardware.BootControl: the classes of the VM's
// devices (the CD-ROM always; disks and NICs when it has some). An
// attached VM boots its CD-ROM first, or what its own boot order says
// (Hdd).
func (m *Machine) BootTargets() []hardware.BootSource {
	if a := m.cfg.Attach; a != nil {
		if a.CDROM == "" {
			return []hardware.BootSource{hardware.BootHdd}
		}
		return []hardware.BootSource{hardware.BootCd, hardware.BootHdd}
	}
	var out []hardware.BootSource
	for _, o := range m.BootOptions() {
		if !slices.Contains(out, o.Alias) {
			out = append(out, o.Alias)
		}
	}
	return out
}

// BootModes implements hardware.BootControl: the firmware's one mode
// (Legacy with SeaBIOS, UEFI with OVMF).
func (m *Machine) BootModes() []hardware.BootMode {
	if m.cfg.Firmware == FirmwareUEFI {
		return []hardware.BootMode{hardware.BootModeUEFI}
	}
	return []hardware.BootMode{hardware.BootModeLegacy}
}

// BootOptions implements hardware.BootControl: one option per disk, the
// CD-ROM and one per NIC, in that order (the default boot order), with
// the UEFI device paths of the slots the command line gives them. An
// attached VM's devices are not bmcd's to list: none.
func (m *Machine) BootOptions() []hardware.BootOption {
	var out []hardware.BootOption
	n := 0
	ref := func() string { n++; return fmt.Sprintf("Boot%04X", n) }
	if m.cfg.Attach != nil {
		return nil
	}
	for i := range m.cfg.Disks {
		out = append(out, hardware.BootOption{Reference: ref(), DisplayName: fmt.Sprintf("Virtio disk %d", i),
			Alias: hardware.BootHdd, Disk: fmt.Sprintf("Disk%d", i), DevicePath: fmt.Sprintf("PciRoot(0x0)/Pci(%#X,0x0)", diskSlot+i)})
	}
	cdPath := "PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x0,0xFFFF,0x0)"
	if !isQ35(m.cfg.Machine) {
		cdPath = "PciRoot(0x0)/Pci(0x1,0x1)/Ata(Secondary,Master,0x0)"
	}
	out = append(out, hardware.BootOption{Reference: ref(), DisplayName: "Virtual CD/DVD", Alias: hardware.BootCd,
		Slot: mediaSlot.ID, DevicePath: cdPath})
	for i := range m.cfg.Networks {
		nic := m.info.NICs[i]
		mac := ""
		for _, c := range nic.MAC {
			if c != ':' {
				mac += string(c)
			}
		}
		out = append(out, hardware.BootOption{Reference: ref(), DisplayName: fmt.Sprintf("PXE %s (%s)", nic.ID, nic.MAC),
			Alias: hardware.BootPxe, NIC: nic.ID,
			DevicePath: fmt.Sprintf("PciRoot(0x0)/Pci(%#X,0x0)/MAC(%s,0x1)", nicSlot+i, mac)})
	}
	return out
}

// device is the QEMU device an option boots.
func (m *Machine) device(o hardware.BootOption) string {
	switch {
	case o.Slot != "":
		if m.cfg.Attach != nil {
			return m.cfg.Attach.CDROM
		}
		return cdID
	case o.Disk != "":
		var i int
		fmt.Sscanf(o.Disk, "Disk%d", &i)
		return diskID(i)
	case o.NIC != "":
		var i int
		fmt.Sscanf(o.NIC, "NIC%d", &i)
		return nicID(i - 1)
	}
	return ""
}

// SetNextBoot implements hardware.BootControl: the plan becomes the
// devices' bootindex, on the command line of the next start and, while
// the VM runs, at once through qom-set, so that a reset (bmcd's or the
// guest's own) boots it: QEMU gives the firmware the boot order at each
// reset. Errors: ErrUnavailable when QEMU does not answer.
func (m *Machine) SetNextBoot(ctx context.Context, p hardware.BootPlan) error {
	m.mu.Lock()
	m.plan, m.planSet = p, true
	pr := m.proc
	if m.power == hardware.PowerOff {
		pr = nil // a VM that powered off: its next start reads the plan
	}
	m.mu.Unlock()
	if pr == nil {
		return nil
	}
	err := m.applyBoot(ctx, pr)
	select {
	case <-pr.done:
		return nil // it went meanwhile: the next start reads the plan
	default:
	}
	if errors.Is(err, qmp.ErrClosed) {
		return nil // going: the same
	}
	return err
}

// bootMapLocked is the bootindex of each device for the current plan. An
// attached VM's CD-ROM comes first (index 0) for a boot from it, and is
// where the VM had it otherwise.
func (m *Machine) bootMapLocked() map[string]int {
	if a := m.cfg.Attach; a != nil {
		out := map[string]int{}
		switch {
		case a.CDROM == "":
		case m.planSet && m.plan.Source == hardware.BootCd:
			out[a.CDROM] = 0
		case m.cdIndex >= 0:
			out[a.CDROM] = m.cdIndex
		}
		return out
	}
	opts := m.BootOptions()
	byRef := map[string]hardware.BootOption{}
	for _, o := range opts {
		byRef[o.Reference] = o
	}
	var order []string
	if m.planSet {
		for _, ref := range m.plan.Order {
			if o, ok := byRef[ref]; ok {
				order = append(order, m.device(o))
			}
		}
	} else {
		for _, o := range opts {
			order = append(order, m.device(o))
		}
	}
	first := ""
	if m.planSet {
		if o, ok := byRef[m.plan.Option.Reference]; ok {
			first = m.device(o)
		} else {
			for _, o := range opts {
				if o.Alias == m.plan.Source {
					first = m.device(o)
					break
				}
			}
		}
	}
	return bootIndexes(bootDevices(first, order))
}

// applyBoot writes the plan's bootindex into a running QEMU: the devices
// whose index changes lose theirs first, as QEMU refuses two devices
// with one index.
func (m *Machine) applyBoot(ctx context.Context, p *proc) error {
	m.mu.Lock()
	want := m.bootMapLocked()
	have := maps.Clone(p.boot)
	m.mu.Unlock()
	if maps.Equal(want, have) {
		return nil
	}
	var devs []string
	for d := range want {
		devs = append(devs, d)
	}
	for d := range have {
		if _, ok := want[d]; !ok {
			devs = append(devs, d)
		}
	}
	slices.Sort(devs)
	set := func(dev string, idx int) error {
		err := p.qmp.Execute(ctx, "qom-set", map[string]any{"path": qdevPath(dev), "property": "bootindex", "value": idx}, nil)
		if err != nil {
			return unavailable("boot order: qom-set "+dev, err)
		}
		return nil
	}
	for _, d := range devs {
		if i, ok := have[d]; ok && i != want[d] {
			if err := set(d, -1); err != nil {
				return err
			}
			delete(have, d)
		}
	}
	for _, d := range devs {
		if i, ok := want[d]; ok && have[d] != i {
			if err := set(d, i); err != nil {
				return err
			}
		}
	}
	m.mu.Lock()
	p.boot = want
	m.mu.Unlock()
	return nil
}

// qdevPath is the QOM path of a device given an id on the command line.
func qdevPath(id string) string { return "/machine/peripheral/" + id }
