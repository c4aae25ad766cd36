package libvirt

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// What bmcd reads from and writes into a domain's definition (the domain
// XML, https://libvirt.org/formatdomain.html), through libvirtxml. Nothing
// here talks to libvirt: these are the pure edits the unit tests check.

// SlotCD is the one virtual media slot: the domain's first CD-ROM drive.
// Its Id is the one sushy-tools gives it, so clients moving over keep
// their URIs.
const SlotCD = "Cd"

var cdSlot = hardware.SlotSpec{ID: SlotCD, Name: "Virtual CD-ROM", Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd}

// devKind is the kind of a device that can boot.
type devKind int

const (
	devDisk devKind = iota
	devCdrom
	devNIC
)

// bootDev is a device of the definition that the firmware can boot, and
// the boot option it is.
type bootDev struct {
	kind devKind
	key  string // disk and CD-ROM: target dev; NIC: MAC address
	opt  hardware.BootOption
}

// firmware is what the domain's hypervisor offers for its machine type
// (libvirt's domain capabilities).
type firmware struct {
	efi        bool // UEFI firmware (OVMF) is installed
	secureBoot bool // and a Secure Boot build of it
}

// layout is what bmcd knows of a domain's definition for boot control and
// media: its boot options in the order a UEFI firmware enumerates them
// (disks, CD-ROMs, NICs: that is also the default boot order), the CD-ROM
// that is the media slot (added when the domain has none), the firmware
// modes it can boot.
type layout struct {
	devs    []bootDev
	cdrom   string // target dev of the slot's CD-ROM
	cdBus   string // its bus
	addCD   bool   // the definition has no CD-ROM yet: one is added
	modes   []hardware.BootMode
	fw      firmware
	q35     bool
	x86     bool
	powerOf bool // on_poweroff is destroy (the default): a guest shutdown ends the domain
}

// parseDef reads a domain definition.
func parseDef(doc string) (*libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, fmt.Errorf("domain XML: %w", err)
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	if d.OS == nil {
		d.OS = &libvirtxml.DomainOS{}
	}
	return &d, nil
}

// machineType is the definition's machine type ("pc-q35-7.2") and arch.
func machineType(def *libvirtxml.Domain) (machine, arch string) {
	if t := def.OS.Type; t != nil {
		return t.Machine, t.Arch
	}
	return "", ""
}

// newLayout reads def's boot devices and firmware, fw being what the
// hypervisor offers for it.
func newLayout(def *libvirtxml.Domain, fw firmware) *layout {
	machine, arch := machineType(def)
	lo := &layout{fw: fw, q35: strings.Contains(machine, "q35"), x86: arch == "" || arch == "x86_64" || arch == "i686"}
	lo.powerOf = def.OnPoweroff == "" || def.OnPoweroff == "destroy"
	var disks, cds, nics []bootDev
	for _, d := range def.Devices.Disks {
		if d.Target == nil || d.Target.Dev == "" {
			continue
		}
		switch d.Device {
		case "", "disk":
			disks = append(disks, bootDev{kind: devDisk, key: d.Target.Dev, opt: hardware.BootOption{
				Alias: hardware.BootHdd, Disk: d.Target.Dev, DisplayName: fmt.Sprintf("Hard disk %s (%s)", d.Target.Dev, busOf(d)),
				DevicePath: diskPath(d)}})
		case "cdrom":
			cd := bootDev{kind: devCdrom, key: d.Target.Dev, opt: hardware.BootOption{
				Alias: hardware.BootCd, DisplayName: fmt.Sprintf("CD-ROM %s (%s)", d.Target.Dev, busOf(d)), DevicePath: diskPath(d)}}
			if lo.cdrom == "" {
				lo.cdrom, lo.cdBus = d.Target.Dev, busOf(d)
				cd.opt.Slot, cd.opt.DisplayName = SlotCD, cd.opt.DisplayName+": virtual media"
			}
			cds = append(cds, cd)
		}
	}
	if lo.cdrom == "" {
		lo.addCD = true
		lo.cdBus = "sata"
		if !lo.q35 {
			lo.cdBus = "ide"
		}
		lo.cdrom = freeTarget(def, lo.cdBus)
		cds = append(cds, bootDev{kind: devCdrom, key: lo.cdrom, opt: hardware.BootOption{
			Alias: hardware.BootCd, Slot: SlotCD, DisplayName: fmt.Sprintf("CD-ROM %s (%s): virtual media", lo.cdrom, lo.cdBus)}})
	}
	for i, n := range def.Devices.Interfaces {
		if n.MAC == nil || n.MAC.Address == "" {
			continue
		}
		id := fmt.Sprintf("NIC%d", i+1)
		nics = append(nics, bootDev{kind: devNIC, key: strings.ToLower(n.MAC.Address), opt: hardware.BootOption{
			Alias: hardware.BootPxe, NIC: id, DisplayName: fmt.Sprintf("PXE %s (MAC %s)", id, n.MAC.Address),
			DevicePath: nicPath(n)}})
	}
	lo.devs = slices.Concat(disks, cds, nics)
	for i := range lo.devs {
		lo.devs[i].opt.Reference = fmt.Sprintf("Boot%04X", i+1)
	}
	cur := modeOf(def)
	lo.modes = []hardware.BootMode{cur}
	switch {
	case cur == hardware.BootModeUEFI && lo.x86:
		lo.modes = append(lo.modes, hardware.BootModeLegacy)
	case cur == hardware.BootModeLegacy && fw.efi:
		lo.modes = append(lo.modes, hardware.BootModeUEFI)
	}
	return lo
}

// options are the boot options.
func (lo *layout) options() []hardware.BootOption {
	out := make([]hardware.BootOption, len(lo.devs))
	for i, d := range lo.devs {
		out[i] = d.opt
	}
	return out
}

// targets are the boot override targets the definition can honour.
func (lo *layout) targets() []hardware.BootSource {
	t := []hardware.BootSource{hardware.BootHdd, hardware.BootCd}
	for _, d := range lo.devs {
		if d.kind == devNIC {
			t = append([]hardware.BootSource{hardware.BootPxe}, t...)
			break
		}
	}
	return append(t, hardware.BootBiosSetup, hardware.BootUefiTarget, hardware.BootUefiBootNext)
}

// setupMenu is the boot menu bmcd writes for a BiosSetup boot: the
// firmware waits at its menu (SeaBIOS's boot menu; OVMF's splash, where
// Esc enters its setup) for 30 s before it boots. libvirt has no way to
// make a firmware enter its setup by itself.
var setupMenu = libvirtxml.DomainBootMenu{Enable: "yes", Timeout: "30000"}

// secureBoot reports whether the domain can boot with Secure Boot: an
// OVMF Secure Boot build is installed and the machine is a q35 (Secure
// Boot needs SMM).
func (lo *layout) secureBoot() bool {
	return lo.fw.secureBoot && lo.q35 && slices.Contains(lo.modes, hardware.BootModeUEFI)
}

func busOf(d libvirtxml.DomainDisk) string {
	if d.Target != nil && d.Target.Bus != "" {
		return d.Target.Bus
	}
	switch {
	case strings.HasPrefix(d.Target.Dev, "vd"):
		return "virtio"
	case strings.HasPrefix(d.Target.Dev, "hd"):
		return "ide"
	}
	return "sata"
}

// freeTarget is the first target dev name of bus that no disk of def
// uses ("sda", "sdb", ... or "hda", ...).
func freeTarget(def *libvirtxml.Domain, bus string) string {
	prefix := "sd"
	if bus == "ide" {
		prefix = "hd"
	}
	used := map[string]bool{}
	for _, d := range def.Devices.Disks {
		if d.Target != nil {
			used[d.Target.Dev] = true
		}
	}
	for c := 'a'; c <= 'z'; c++ {
		if n := prefix + string(c); !used[n] {
			return n
		}
	}
	return prefix + "zz"
}

// pciOf is the PCI slot and function of a device address, if it has one.
func pciOf(a *libvirtxml.DomainAddress) (slot, fn uint, ok bool) {
	if a == nil || a.PCI == nil || a.PCI.Slot == nil {
		return 0, 0, false
	}
	if a.PCI.Function != nil {
		fn = *a.PCI.Function
	}
	return *a.PCI.Slot, fn, true
}

// diskPath is a UEFI device path text (UEFI 2.10 §10.6) for a disk, as
// OVMF would show it, from the address libvirt assigned.
func diskPath(d libvirtxml.DomainDisk) string {
	if s, f, ok := pciOf(d.Address); ok {
		return fmt.Sprintf("PciRoot(0x0)/Pci(0x%X,0x%X)", s, f)
	}
	unit := uint(0)
	if d.Address != nil && d.Address.Drive != nil && d.Address.Drive.Unit != nil {
		unit = *d.Address.Drive.Unit
	}
	switch busOf(d) {
	case "ide":
		return fmt.Sprintf("PciRoot(0x0)/Pci(0x1,0x1)/Ata(0x%X)", unit)
	case "scsi":
		return fmt.Sprintf("PciRoot(0x0)/Pci(0x5,0x0)/Scsi(0x0,0x%X)", unit)
	case "usb":
		return fmt.Sprintf("PciRoot(0x0)/Pci(0x1,0x2)/USB(0x%X,0x0)", unit)
	}
	return fmt.Sprintf("PciRoot(0x0)/Pci(0x1F,0x2)/Sata(0x%X,0xFFFF,0x0)", unit)
}

// nicPath is a UEFI device path text for a NIC's PXE boot.
func nicPath(n libvirtxml.DomainInterface) string {
	mac := strings.ToUpper(strings.ReplaceAll(n.MAC.Address, ":", ""))
	if s, f, ok := pciOf(n.Address); ok {
		return fmt.Sprintf("PciRoot(0x0)/Pci(0x%X,0x%X)/MAC(%s,0x1)/IPv4(0.0.0.0)", s, f, mac)
	}
	return fmt.Sprintf("PciRoot(0x0)/MAC(%s,0x1)/IPv4(0.0.0.0)", mac)
}

// modeOf is the firmware the definition boots: UEFI with firmware='efi'
// or a pflash (or OVMF/AAVMF/edk2) loader, else the BIOS.
func modeOf(def *libvirtxml.Domain) hardware.BootMode {
	if def.OS.Firmware == "efi" {
		return hardware.BootModeUEFI
	}
	if l := def.OS.Loader; l != nil {
		p := strings.ToLower(l.Path)
		if l.Type == "pflash" || strings.Contains(p, "ovmf") || strings.Contains(p, "aavmf") || strings.Contains(p, "edk2") {
			return hardware.BootModeUEFI
		}
	}
	return hardware.BootModeLegacy
}

// secureOf reports whether the definition boots UEFI with Secure Boot: a
// secure loader, or firmware autoselection asking for the secure-boot
// feature.
func secureOf(def *libvirtxml.Domain) bool {
	if modeOf(def) != hardware.BootModeUEFI {
		return false
	}
	if fi := def.OS.FirmwareInfo; fi != nil {
		for _, f := range fi.Features {
			if f.Name == "secure-boot" {
				return f.Enabled == "yes"
			}
		}
	}
	return def.OS.Loader != nil && def.OS.Loader.Secure == "yes"
}

// applyPlan writes the boot plan p into def: the boot order as
// per-device <boot order='N'/> (the option booted first, then the rest
// of p.Order; os/boot elements go, as libvirt takes one or the other),
// the firmware's boot menu for BiosSetup (setupMenu),
// the firmware (firmware='efi' with the secure-boot and enrolled-keys
// features, or none for the BIOS) and the slot's CD-ROM when the domain
// has none. fwChanged says the firmware or Secure Boot changed, so the
// next start must reset the UEFI variable store.
func applyPlan(def *libvirtxml.Domain, p hardware.BootPlan, lo *layout) (fwChanged bool) {
	if lo.addCD {
		ensureCdrom(def, lo)
	}
	// The order: the option the plan boots, then the enabled ones.
	var order []string
	if p.Option.Reference != "" {
		order = append(order, p.Option.Reference)
	}
	for _, ref := range p.Order {
		if !slices.Contains(order, ref) {
			order = append(order, ref)
		}
	}
	if p.Option.Reference == "" {
		// A target that is not an option: put its class first.
		sort.SliceStable(order, func(i, j int) bool {
			return aliasOf(lo, order[i]) == p.Source && aliasOf(lo, order[j]) != p.Source
		})
	}
	setBootOrder(def, lo, order, p.Source)
	switch {
	case p.Source == hardware.BootBiosSetup:
		menu := setupMenu
		def.OS.BootMenu = &menu
	case def.OS.BootMenu != nil && *def.OS.BootMenu == setupMenu:
		def.OS.BootMenu = nil // bmcd's, from a BiosSetup boot
	}
	return setFirmware(def, lo, p)
}

func aliasOf(lo *layout, ref string) hardware.BootSource {
	for _, d := range lo.devs {
		if d.opt.Reference == ref {
			return d.opt.Alias
		}
	}
	return ""
}

// setBootOrder numbers the devices of order 1, 2, ...; other devices of
// bmcd's kinds lose their <boot/>; devices bmcd does not manage (host
// devices, redirected USB) keep theirs, renumbered after. Without any
// option (a domain with no disk, CD-ROM or NIC) the class goes into
// <os><boot dev=.../>.
func setBootOrder(def *libvirtxml.Domain, lo *layout, order []string, src hardware.BootSource) {
	def.OS.BootDevices = nil
	pos := map[string]uint{}
	for i, ref := range order {
		for _, d := range lo.devs {
			if d.opt.Reference == ref {
				pos[fmt.Sprint(d.kind)+"/"+d.key] = uint(i + 1)
			}
		}
	}
	n := uint(len(order))
	boot := func(kind devKind, key string) *libvirtxml.DomainDeviceBoot {
		if o, ok := pos[fmt.Sprint(kind)+"/"+key]; ok {
			return &libvirtxml.DomainDeviceBoot{Order: o}
		}
		return nil
	}
	for i := range def.Devices.Disks {
		d := &def.Devices.Disks[i]
		if d.Target == nil {
			continue
		}
		kind := devDisk
		if d.Device == "cdrom" {
			kind = devCdrom
		} else if d.Device != "" && d.Device != "disk" {
			continue // a floppy or LUN keeps its own
		}
		d.Boot = boot(kind, d.Target.Dev)
	}
	for i := range def.Devices.Interfaces {
		nic := &def.Devices.Interfaces[i]
		if nic.MAC != nil {
			nic.Boot = boot(devNIC, strings.ToLower(nic.MAC.Address))
		}
	}
	// Others, in their order, after.
	type other struct {
		b     **libvirtxml.DomainDeviceBoot
		order uint
	}
	var others []other
	for i := range def.Devices.Hostdevs {
		if b := &def.Devices.Hostdevs[i].Boot; *b != nil {
			others = append(others, other{b, (*b).Order})
		}
	}
	for i := range def.Devices.RedirDevs {
		if b := &def.Devices.RedirDevs[i].Boot; *b != nil {
			others = append(others, other{b, (*b).Order})
		}
	}
	sort.SliceStable(others, func(i, j int) bool { return others[i].order < others[j].order })
	for _, o := range others {
		n++
		(*o.b).Order = n
	}
	if len(lo.devs) == 0 && len(others) == 0 {
		if dev := bootDevOf(src); dev != "" {
			def.OS.BootDevices = []libvirtxml.DomainBootDevice{{Dev: dev}}
		}
	}
}

// bootDevOf is the <os><boot dev=.../> of a class.
func bootDevOf(src hardware.BootSource) string {
	switch src {
	case hardware.BootPxe:
		return "network"
	case hardware.BootCd:
		return "cdrom"
	case hardware.BootHdd:
		return "hd"
	case hardware.BootFloppy:
		return "fd"
	}
	return ""
}

// setFirmware makes def boot p.Mode (its present mode when the plan says
// none) with p.SecureBoot; it reports a change. A domain that lets
// libvirt choose its UEFI firmware (firmware='efi') always gets the
// secure-boot and enrolled-keys features written, so the firmware chosen
// is the one the plan says; adding them is a change (the UEFI variables,
// maybe made from a Secure Boot template, are reset at the next start).
func setFirmware(def *libvirtxml.Domain, lo *layout, p hardware.BootPlan) bool {
	cur, curSB := modeOf(def), secureOf(def)
	want, wantSB := p.Mode, p.SecureBoot && lo.secureBoot()
	if want == "" || !slices.Contains(lo.modes, want) {
		want = cur
	}
	if want != hardware.BootModeUEFI {
		wantSB = false
	}
	if want == cur && wantSB == curSB && (want != hardware.BootModeUEFI || def.OS.Firmware != "efi" || featuresSay(def, wantSB)) {
		return false
	}
	os := def.OS
	os.Loader, os.NVRam, os.FirmwareInfo = nil, nil, nil
	if want == hardware.BootModeLegacy {
		os.Firmware = ""
		return true
	}
	os.Firmware = "efi"
	yes := map[bool]string{true: "yes", false: "no"}[wantSB]
	os.FirmwareInfo = &libvirtxml.DomainOSFirmwareInfo{Features: []libvirtxml.DomainOSFirmwareFeature{
		{Name: "enrolled-keys", Enabled: yes},
		{Name: "secure-boot", Enabled: yes},
	}}
	if wantSB {
		if def.Features == nil {
			def.Features = &libvirtxml.DomainFeatureList{}
		}
		def.Features.SMM = &libvirtxml.DomainFeatureSMM{State: "on"}
	}
	return true
}

// featuresSay reports whether def's firmware autoselection features say
// secure-boot and enrolled-keys are both enabled (sb) or both disabled:
// without them libvirt picks the first firmware of its descriptors,
// which on Debian is OVMF's Secure Boot build with Microsoft's keys.
func featuresSay(def *libvirtxml.Domain, sb bool) bool {
	want := map[bool]string{true: "yes", false: "no"}[sb]
	got := map[string]string{}
	if fi := def.OS.FirmwareInfo; fi != nil {
		for _, f := range fi.Features {
			got[f.Name] = f.Enabled
		}
	}
	return got["secure-boot"] == want && got["enrolled-keys"] == want
}

// ensureCdrom adds the slot's empty CD-ROM drive to a definition that
// has none.
func ensureCdrom(def *libvirtxml.Domain, lo *layout) {
	for _, d := range def.Devices.Disks {
		if d.Device == "cdrom" && d.Target != nil && d.Target.Dev == lo.cdrom {
			return
		}
	}
	def.Devices.Disks = append(def.Devices.Disks, libvirtxml.DomainDisk{
		Device:   "cdrom",
		Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{}},
		Target:   &libvirtxml.DomainDiskTarget{Dev: lo.cdrom, Bus: lo.cdBus},
		ReadOnly: &libvirtxml.DomainDiskReadOnly{},
	})
}

// cdromXML is the slot's CD-ROM drive of def holding the image file
// (none when file is ""), as DomainUpdateDeviceFlags takes it. Errors:
// the definition has no such drive.
func cdromXML(def *libvirtxml.Domain, lo *layout, file string) (string, error) {
	for _, d := range def.Devices.Disks {
		if d.Device != "cdrom" || d.Target == nil || d.Target.Dev != lo.cdrom {
			continue
		}
		d.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: file}}
		d.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		if d.Driver == nil {
			d.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu"}
		}
		d.Driver.Type = "raw"
		d.Alias = nil
		return d.Marshal()
	}
	return "", fmt.Errorf("the domain has no CD-ROM %s", lo.cdrom)
}

// cdromFile is the image file the slot's CD-ROM of def holds ("" if
// none), and whether def has that drive.
func cdromFile(def *libvirtxml.Domain, lo *layout) (file string, ok bool) {
	for _, d := range def.Devices.Disks {
		if d.Device == "cdrom" && d.Target != nil && d.Target.Dev == lo.cdrom {
			if d.Source != nil && d.Source.File != nil {
				return d.Source.File.File, true
			}
			return "", true
		}
	}
	return "", false
}

// bootKey is what of def decides how the domain boots: firmware, Secure
// Boot and boot order. Two definitions with the same key boot alike, so a
// running domain whose live key differs from its persistent one must be
// started again (not reset) to boot the new plan.
func bootKey(def *libvirtxml.Domain) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s sb=%t", modeOf(def), secureOf(def))
	if m := def.OS.BootMenu; m != nil {
		fmt.Fprintf(&b, " menu=%s/%s", m.Enable, m.Timeout)
	}
	b.WriteString(" os=")
	for _, d := range def.OS.BootDevices {
		b.WriteString(d.Dev + ",")
	}
	var devs []string
	for _, d := range def.Devices.Disks {
		if d.Boot != nil && d.Target != nil {
			devs = append(devs, fmt.Sprintf("%d=disk:%s", d.Boot.Order, d.Target.Dev))
		}
	}
	for _, n := range def.Devices.Interfaces {
		if n.Boot != nil && n.MAC != nil {
			devs = append(devs, fmt.Sprintf("%d=nic:%s", n.Boot.Order, strings.ToLower(n.MAC.Address)))
		}
	}
	for _, h := range def.Devices.Hostdevs {
		if h.Boot != nil {
			devs = append(devs, fmt.Sprintf("%d=hostdev", h.Boot.Order))
		}
	}
	sort.Slice(devs, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.SplitN(devs[i], "=", 2)[0])
		c, _ := strconv.Atoi(strings.SplitN(devs[j], "=", 2)[0])
		return a < c
	})
	b.WriteString(" dev=" + strings.Join(devs, ","))
	return b.String()
}

// firmwareOf reads libvirt's domain capabilities: whether UEFI firmware,
// and a Secure Boot build of it, can boot the machine type.
func firmwareOf(caps *libvirtxml.DomainCaps) firmware {
	var fw firmware
	if caps == nil || caps.OS == nil || caps.OS.Supported != "yes" {
		return fw
	}
	for _, e := range caps.OS.Enums {
		if e.Name == "firmware" && slices.Contains(e.Values, "efi") {
			fw.efi = true
		}
	}
	if l := caps.OS.Loader; l != nil && l.Supported == "yes" {
		fw.efi = fw.efi || len(l.Values) > 0
		for _, e := range l.Enums {
			if e.Name == "secure" && slices.Contains(e.Values, "yes") {
				fw.secureBoot = fw.efi
			}
		}
	}
	return fw
}

// serialPTY reports whether def has a serial port or console on a pty,
// which virDomainOpenConsole can reach.
func serialPTY(def *libvirtxml.Domain) bool {
	for _, s := range def.Devices.Serials {
		if s.Source != nil && s.Source.Pty != nil {
			return true
		}
	}
	for _, c := range def.Devices.Consoles {
		if c.Source != nil && c.Source.Pty != nil {
			return true
		}
	}
	return false
}

// vncAddr is where the live definition's VNC server listens: a TCP
// address ("127.0.0.1:5900"; an any-address listener is reached at
// anyHost) or a UNIX socket path; "" if it has none (no VNC graphics, or
// the domain is not running and has no port yet).
func vncAddr(def *libvirtxml.Domain, anyHost string) (network, addr string) {
	for _, g := range def.Devices.Graphics {
		v := g.VNC
		if v == nil {
			continue
		}
		if v.Socket != "" {
			return "unix", v.Socket
		}
		for _, l := range v.Listeners {
			if l.Socket != nil && l.Socket.Socket != "" {
				return "unix", l.Socket.Socket
			}
		}
		if v.Port <= 0 {
			return "", ""
		}
		host := v.Listen
		for _, l := range v.Listeners {
			if l.Address != nil && l.Address.Address != "" {
				host = l.Address.Address
			}
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = anyHost
		}
		return "tcp", net.JoinHostPort(host, strconv.Itoa(v.Port))
	}
	return "", ""
}

// vncPassword is the VNC password of def's graphics (a definition read
// with its secrets), "" if none.
func vncPassword(def *libvirtxml.Domain) (pw string, ok bool) {
	for _, g := range def.Devices.Graphics {
		if g.VNC != nil {
			return g.VNC.Passwd, true
		}
	}
	return "", false
}
