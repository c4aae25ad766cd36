// Package qemu is the backend of a QEMU virtual machine: bmcd starts and
// stops the QEMU process of a system itself (or attaches to one started
// by someone else, through its QMP socket) and gives the VM every part a
// BMC has:
//
//   - power: starting the process is power on (with the boot order and
//     media of the boot plan on its command line), killing it is ForceOff;
//     ACPI power button, reset and NMI go through QMP. The power state
//     comes from the process and QMP's events, never from asking QEMU.
//   - boot: BootControl's plan becomes the devices' bootindex, on the
//     command line and, for a VM that runs, through qom-set before a
//     reset; SeaBIOS's debug port says when the firmware picks its boot
//     device, and the boot is reported then (Host.Booted); with OVMF,
//     when the VM starts or resets.
//   - virtual media: a CD-ROM whose image bmcd fetches into a cache (under
//     the slot's TLS policy) and inserts with QMP.
//   - the serial port, the screen, the keyboard and an absolute pointer:
//     COM1 on a socket bridged to the serial console, and QEMU's VNC
//     server on a UNIX socket read by hardware/vnc, with a USB tablet.
//
// docs/backends.md says how each part maps; docs/configuration.md lists
// the `qemu:` block.
package qemu

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/vnc"
	"github.com/bmcd/bmcd/internal/fetch"
)

// Firmware kinds.
const (
	FirmwareBIOS = "bios" // SeaBIOS, QEMU's default: Legacy boot
	FirmwareUEFI = "uefi" // OVMF: UEFI boot
)

// Defaults of Config.
const (
	DefaultBinary   = "qemu-system-x86_64"
	DefaultMachine  = "q35"
	DefaultMemoryMB = 1024
	DefaultCPUs     = 1
	DefaultOVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	DefaultOVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
	DefaultNetwork  = "user"
)

// Config is one QEMU virtual machine.
type Config struct {
	// ID is the system's Id; Seed and ID derive the VM's UUID, serial
	// number and MAC addresses (hardware.DeriveIdentity).
	ID, Seed string
	// Dir is the backend's directory for this system: the OVMF
	// variables, disks created, the media cache, the sockets and QEMU's
	// log. Created if missing.
	Dir string
	// Binary is the QEMU system emulator (DefaultBinary if empty).
	Binary string
	// Accel is "kvm", "tcg", or "auto"/"" (KVM when /dev/kvm can be
	// opened, TCG otherwise).
	Accel    string
	Machine  string // QEMU machine type (DefaultMachine if empty)
	MemoryMB int
	CPUs     int
	// Firmware is FirmwareBIOS (the default) or FirmwareUEFI; OVMFCode
	// and OVMFVars are OVMF's code and its variables template, copied
	// into Dir once for this system.
	Firmware           string
	OVMFCode, OVMFVars string
	Disks              []Disk
	// Networks are QEMU -netdev specifications without an id ("user",
	// "bridge,br=br0", "tap,ifname=tap0,script=no,downscript=no"), one
	// virtio NIC each. Nil: one NIC on "user".
	Networks []string
	// ShutdownTimeout: a graceful shutdown or power button press that
	// the guest has not acted on in this time is followed by a forced
	// power off. Zero waits for the guest forever.
	ShutdownTimeout time.Duration
	// ExtraArgs are appended to QEMU's command line.
	ExtraArgs []string
	// KeepRunning leaves the VM running when bmcd stops; the next bmcd
	// takes it up again through its QMP socket.
	KeepRunning bool
	// Attach is the QMP socket of a QEMU started by someone else (see
	// Attached): bmcd attaches to it instead of starting its own.
	Attach *Attached
	// Fetcher fetches media images; nil uses internal/fetch's defaults.
	Fetcher *fetch.Fetcher
	Log     *slog.Logger
}

// Disk is one virtio disk of the VM.
type Disk struct {
	// Path of the image; relative paths are in Config.Dir.
	Path string
	// Size in bytes: a qcow2 image of this size is created when Path
	// does not exist (0: Path must exist).
	Size     int64
	Format   string // "qcow2" (the default) or "raw"
	ReadOnly bool
}

// Attached describes a QEMU process bmcd did not start. bmcd cannot start
// it again once it exits, so power off pauses the VM (QMP stop) and power
// on resets and resumes it; start it with -no-shutdown, so that a guest
// that powers off stays, paused, to be powered on again.
type Attached struct {
	QMP string // the QMP socket: "unix:PATH", a path, or "tcp:HOST:PORT"
	// VNC is the VM's VNC server ("unix:PATH" or "HOST:PORT"); empty: no
	// screen, keyboard or pointer.
	VNC         string
	VNCPassword string
	// Serial is a socket chardev of the VM's serial port in server mode
	// ("unix:PATH" or "HOST:PORT"); empty: no serial console.
	Serial string
	// CDROM is the qdev ID of a CD-ROM drive (ide-cd, scsi-cd) for the
	// virtual media slot; empty: no virtual media.
	CDROM string
	// Debug is a socket chardev in server mode behind SeaBIOS's debug
	// console (-device isa-debugcon,iobase=0x402): with it bmcd reports a
	// boot when SeaBIOS picks its device, and the POST until then;
	// without, when the VM starts or resets.
	Debug string
}

// Machine is one QEMU VM as a hardware.Backend.
type Machine struct {
	cfg   Config
	log   *slog.Logger
	info  hardware.Info
	macs  []string
	fetch *fetch.Fetcher
	paths paths
	vnc   *vnc.Client // nil without a screen

	opMu sync.Mutex // serialises starting and stopping the process

	mu       sync.Mutex
	host     hardware.Host
	power    hardware.PowerState
	post     bool  // the firmware runs its POST (SeaBIOS)
	proc     *proc // the QEMU process (or attached QEMU) running, nil if none
	epoch    uint64
	restart  bool // power on again once the guest is off (GracefulRestart)
	plan     hardware.BootPlan
	planSet  bool
	media    mediaState
	closed   bool
	closing  chan struct{}
	serialMu sync.Mutex // serialises calls of serialOut
	out      func([]byte)
	boots    uint64    // boots reported
	bootedAt time.Time // when the last was
	// cdIndex is the bootindex an attached VM's CD-ROM had (-1: none).
	cdIndex int
	// firmwareBoots are the last lines in which SeaBIOS named the device
	// it boots, for tests.
	firmwareBoots []string
}

// New makes the machine. It does not start QEMU; with KeepRunning or
// Attach it takes up a QEMU that runs, if any. Errors: a Config that
// cannot work (a missing OVMF, disk or QEMU binary).
func New(cfg Config) (*Machine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m := &Machine{cfg: cfg, log: cfg.Log, fetch: cfg.Fetcher, power: hardware.PowerOff, closing: make(chan struct{}), cdIndex: -1}
	if m.fetch == nil {
		m.fetch = &fetch.Fetcher{}
	}
	m.info, m.macs = inventory(cfg)
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("qemu: %w", err)
	}
	m.paths = m.layout()
	if err := m.loadMedia(); err != nil {
		m.log.Warn("qemu: virtual media state lost", "err", err)
	}
	if a := cfg.Attach; a != nil {
		if a.VNC != "" {
			m.vnc = vnc.New(vnc.Config{Dial: dialer(a.VNC), Password: a.VNCPassword, Log: m.log})
		}
	} else {
		m.vnc = vnc.New(vnc.Config{Dial: vnc.Unix(m.paths.VNC), Log: m.log})
	}
	m.takeUp()
	return m, nil
}

// defaults fills in and checks cfg.
func (cfg *Config) defaults() error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir == "" {
		return fmt.Errorf("qemu: no state directory")
	}
	if cfg.Binary == "" {
		cfg.Binary = DefaultBinary
	}
	if cfg.Machine == "" {
		cfg.Machine = DefaultMachine
	}
	if cfg.MemoryMB <= 0 {
		cfg.MemoryMB = DefaultMemoryMB
	}
	if cfg.CPUs <= 0 {
		cfg.CPUs = DefaultCPUs
	}
	switch cfg.Firmware {
	case "":
		cfg.Firmware = FirmwareBIOS
	case FirmwareBIOS, FirmwareUEFI:
	default:
		return fmt.Errorf("qemu: firmware %q: want %s or %s", cfg.Firmware, FirmwareBIOS, FirmwareUEFI)
	}
	if cfg.Attach != nil {
		if cfg.Attach.QMP == "" {
			return fmt.Errorf("qemu: attach: no QMP socket")
		}
		return nil
	}
	if cfg.Firmware == FirmwareUEFI {
		if cfg.OVMFCode == "" {
			cfg.OVMFCode = DefaultOVMFCode
		}
		if cfg.OVMFVars == "" {
			cfg.OVMFVars = DefaultOVMFVars
		}
		for _, p := range []string{cfg.OVMFCode, cfg.OVMFVars} {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("qemu: OVMF (Debian package ovmf): %w", err)
			}
		}
	}
	if cfg.Networks == nil {
		cfg.Networks = []string{DefaultNetwork}
	}
	for i := range cfg.Disks {
		d := &cfg.Disks[i]
		if d.Path == "" {
			return fmt.Errorf("qemu: disk %d: no path", i)
		}
		if !filepath.IsAbs(d.Path) {
			d.Path = filepath.Join(cfg.Dir, d.Path)
		}
		switch d.Format {
		case "":
			d.Format = "qcow2"
		case "qcow2", "raw":
		default:
			return fmt.Errorf("qemu: disk %d: format %q: want qcow2 or raw", i, d.Format)
		}
	}
	return nil
}

// layout places the sockets and files. UNIX socket paths are limited to
// 107 bytes: sockets of a deep state directory go to a directory of
// their own in the temporary directory.
func (m *Machine) layout() paths {
	dir, sock := m.cfg.Dir, m.cfg.Dir
	if len(sock)+len("/serial.sock") > 100 {
		h := hardware.DeriveIdentity(m.cfg.Seed, sock).Sum("bmcd-qemu-sockets")
		sock = filepath.Join(os.TempDir(), fmt.Sprintf("bmcd-qemu-%x", h[:6]))
		_ = os.MkdirAll(sock, 0o700)
	}
	return paths{
		QMP: filepath.Join(sock, "qmp.sock"), Serial: filepath.Join(sock, "serial.sock"),
		Debug: filepath.Join(sock, "debug.sock"), VNC: filepath.Join(sock, "vnc.sock"),
		Pidfile: filepath.Join(dir, "qemu.pid"), Log: filepath.Join(dir, "qemu.log"),
		Vars: filepath.Join(dir, "OVMF_VARS.fd"),
	}
}

// inventory is the VM as its firmware's SMBIOS tables describe it, with
// the identity derived from the seed and the system's Id.
func inventory(cfg Config) (hardware.Info, []string) {
	h := hardware.DeriveIdentity(cfg.Seed, cfg.ID).Sum("bmcd-qemu")
	model := "Standard PC (Q35 + ICH9, 2009)"
	if !isQ35(cfg.Machine) {
		model = "Standard PC (i440FX + PIIX, 1996)"
	}
	bios := "SeaBIOS"
	if cfg.Firmware == FirmwareUEFI {
		bios = "OVMF (EDK II)"
	}
	info := hardware.Info{
		Manufacturer: "QEMU", Model: model,
		SerialNumber: fmt.Sprintf("QEMU%X", h[13:18]),
		UUID:         hardware.NameUUID(h),
		BiosVersion:  bios, HostName: cfg.ID,
		ProcessorCount: cfg.CPUs, ProcessorModel: "QEMU Virtual CPU", CoresPerProcessor: 1, ThreadsPerCore: 1,
		MemoryGiB: float64(cfg.MemoryMB) / 1024,
	}
	var macs []string
	for i := range cfg.Networks {
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[10], h[11], h[12]^byte(i))
		macs = append(macs, mac)
		info.NICs = append(info.NICs, hardware.NIC{ID: fmt.Sprintf("NIC%d", i+1), MAC: mac, SpeedMbps: 1000})
	}
	for i, d := range cfg.Disks {
		size := d.Size
		if size == 0 {
			if fi, err := os.Stat(d.Path); err == nil && d.Format == "raw" {
				size = fi.Size()
			}
		}
		info.Disks = append(info.Disks, hardware.Disk{ID: fmt.Sprintf("Disk%d", i), Model: "QEMU virtio disk",
			SerialNumber: fmt.Sprintf("QM%X%d", h[14:17], i), CapacityBytes: size, MediaType: "HDD", Protocol: "PCIe"})
	}
	return info, macs
}

// Info implements hardware.Backend.
func (m *Machine) Info() hardware.Info { return m.info }

// Attach implements hardware.Backend.
func (m *Machine) Attach(h hardware.Host) hardware.Parts {
	m.mu.Lock()
	m.host = h
	m.mu.Unlock()
	p := hardware.Parts{Power: m, Boot: m}
	if m.cfg.Attach == nil || m.cfg.Attach.CDROM != "" {
		p.Media = m
	}
	if m.cfg.Attach == nil || m.cfg.Attach.Serial != "" {
		p.Serial = m
	}
	if m.vnc != nil {
		p.Display, p.Keyboard, p.Pointer = m.vnc, keyboard{m}, pointer{m}
	}
	return p
}

// Close implements hardware.Backend: QEMU is stopped, unless KeepRunning
// (or Attach, whose QEMU is not bmcd's) leaves it running.
func (m *Machine) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.closing)
	p := m.proc
	m.mu.Unlock()
	if m.vnc != nil {
		m.vnc.Close()
	}
	if p == nil {
		return nil
	}
	if m.cfg.KeepRunning || m.cfg.Attach != nil {
		m.mu.Lock()
		p.detached = true
		m.mu.Unlock()
		p.disconnect()
		<-p.done
		return nil
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	return m.kill(p)
}

// dialer is a vnc.DialFunc for "unix:PATH", a path, or "HOST:PORT".
func dialer(addr string) vnc.DialFunc {
	network, a := splitAddr(addr)
	if network == "unix" {
		return vnc.Unix(a)
	}
	return vnc.TCP(a)
}

// splitAddr reads "unix:PATH", "tcp:HOST:PORT", an absolute path or
// "HOST:PORT".
func splitAddr(addr string) (network, a string) {
	switch {
	case len(addr) > 5 && addr[:5] == "unix:":
		return "unix", addr[5:]
	case len(addr) > 4 && addr[:4] == "tcp:":
		return "tcp", addr[4:]
	case filepath.IsAbs(addr):
		return "unix", addr
	}
	return "tcp", addr
}

var _ net.Conn = (*net.UnixConn)(nil)
