package qemu

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Device IDs on QEMU's command line, which QMP commands name.
const (
	cdID = "cd0" // the virtual CD-ROM (ide-cd)
)

func diskID(i int) string { return "disk" + strconv.Itoa(i) }
func nicID(i int) string  { return "net" + strconv.Itoa(i) }

// PCI slots given to the disks and NICs, so their UEFI device paths stay
// the same whatever else the machine has.
const (
	nicSlot  = 0x08
	diskSlot = 0x10
)

// paths are the files and sockets of one QEMU process.
type paths struct {
	QMP, Serial, Debug, VNC string // UNIX sockets QEMU listens on
	Pidfile, Log            string
	Vars                    string // the system's copy of the OVMF variables
	Media                   string // the CD's image in the cache, "" for none
}

// cmdline is what a start of the VM needs besides Config.
type cmdline struct {
	cfg   Config
	paths paths
	accel string
	macs  []string       // one per network
	boot  map[string]int // bootindex per device ID
	uuid  string
	smbio string // -smbios type=1 value
}

// args builds QEMU's command line: the machine, paused (-S) until bmcd
// is connected to its QMP socket, the serial port and (SeaBIOS) the
// debug console on sockets bmcd reads, the display on a VNC UNIX socket
// with a USB tablet, the disks, the CD-ROM and the NICs with the boot
// indexes of the boot plan, then Config.ExtraArgs.
func (c cmdline) args() []string {
	cfg := c.cfg
	a := []string{
		"-name", "bmcd-" + cfg.ID,
		"-nodefaults", "-no-user-config",
		"-machine", cfg.Machine,
		"-accel", c.accel,
		"-m", strconv.Itoa(cfg.MemoryMB),
		"-smp", strconv.Itoa(cfg.CPUs),
		"-uuid", c.uuid,
		"-smbios", c.smbio,
		"-S",
		"-qmp", "unix:" + c.paths.QMP + ",server=on,wait=off",
		"-pidfile", c.paths.Pidfile,
		"-chardev", "socket,id=ser0,path=" + optPath(c.paths.Serial) + ",server=on,wait=off",
		"-serial", "chardev:ser0",
		"-vnc", "unix:" + c.paths.VNC,
		"-device", "VGA",
		"-device", "qemu-xhci,id=xhci",
		"-device", "usb-tablet,bus=xhci.0",
	}
	if cfg.Firmware == FirmwareUEFI {
		a = append(a,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+optPath(cfg.OVMFCode),
			"-drive", "if=pflash,format=raw,unit=1,file="+optPath(c.paths.Vars))
	} else {
		// SeaBIOS says on its debug port when it starts its POST and
		// which device it boots: bmcd reports the boot then.
		a = append(a,
			"-chardev", "socket,id=dbg0,path="+optPath(c.paths.Debug)+",server=on,wait=off",
			"-device", "isa-debugcon,iobase=0x402,chardev=dbg0")
	}
	for i, d := range cfg.Disks {
		id := diskID(i)
		format := d.Format
		ro := ""
		if d.ReadOnly {
			ro = ",read-only=on"
		}
		a = append(a,
			"-blockdev", "driver=file,node-name="+id+"-file,filename="+optPath(d.Path)+ro,
			"-blockdev", "driver="+format+",node-name="+id+"-fmt,file="+id+"-file"+ro,
			"-device", fmt.Sprintf("virtio-blk-pci,id=%s,drive=%s-fmt,addr=%#x%s", id, id, diskSlot+i, bootindex(c.boot, id)))
	}
	cd := "ide-cd,id=" + cdID + ",bus=" + cdBus(cfg.Machine) + bootindex(c.boot, cdID)
	if c.paths.Media != "" {
		a = append(a,
			"-blockdev", "driver=file,node-name="+mediaNode(0)+"-file,filename="+optPath(c.paths.Media)+",read-only=on",
			"-blockdev", "driver=raw,node-name="+mediaNode(0)+",file="+mediaNode(0)+"-file,read-only=on")
		cd += ",drive=" + mediaNode(0)
	}
	a = append(a, "-device", cd)
	for i, n := range cfg.Networks {
		id := nicID(i)
		a = append(a,
			"-netdev", n+",id="+id+"-dev",
			"-device", fmt.Sprintf("virtio-net-pci,id=%s,netdev=%s-dev,mac=%s,addr=%#x%s", id, id, c.macs[i], nicSlot+i, bootindex(c.boot, id)))
	}
	return append(a, cfg.ExtraArgs...)
}

// cdBus is the IDE bus of the CD-ROM: the first AHCI port of a q35
// machine, the secondary channel's master on a PC (i440FX).
func cdBus(machine string) string {
	if isQ35(machine) {
		return "ide.0"
	}
	return "ide.1"
}

func isQ35(machine string) bool {
	return strings.HasPrefix(machine, "q35") || strings.Contains(machine, "-q35")
}

func bootindex(boot map[string]int, id string) string {
	if i, ok := boot[id]; ok {
		return ",bootindex=" + strconv.Itoa(i)
	}
	return ""
}

// mediaNode names the block node of the n-th medium inserted into the CD
// by one process (QEMU refuses to reuse a node name while the old one
// is being deleted).
func mediaNode(n int) string { return "cd0-media" + strconv.Itoa(n) }

// optPath escapes a path for a QEMU option value: commas are doubled.
func optPath(p string) string { return strings.ReplaceAll(p, ",", ",,") }

// accelerator picks the accelerator: KVM when asked, or when auto and
// /dev/kvm can be opened; TCG otherwise.
func accelerator(want string) string {
	switch want {
	case "kvm", "tcg":
		return want
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		return "kvm"
	}
	return "tcg"
}

// bootDevices lists the devices to boot from, first tried first: the
// plan's device, then the enabled options of its boot order.
func bootDevices(first string, order []string) []string {
	var out []string
	if first != "" {
		out = append(out, first)
	}
	for _, d := range order {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// bootIndexes numbers devices from 1 in order.
func bootIndexes(devs []string) map[string]int {
	m := make(map[string]int, len(devs))
	for i, d := range devs {
		m[d] = i + 1
	}
	return m
}
