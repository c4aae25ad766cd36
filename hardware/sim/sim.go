// Package sim is the simulated machine backend: a server with realistic
// power transitions, a firmware that honours boot overrides, virtual media
// that really fetches its image, and sensors that follow power state.
package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// Config sets up one simulated machine.
type Config struct {
	// ID names the machine; Seed (an installation-unique string) and ID
	// derive its UUID, serial number and MAC addresses, so they stay stable
	// across restarts.
	ID   string
	Seed string
	// Power transition delays. Zero values get realistic defaults.
	PowerOnDelay  time.Duration // Off -> On (POST)
	PowerOffDelay time.Duration // minimum off time in a power cycle
	ShutdownDelay time.Duration // ACPI graceful shutdown of the OS
	// PoweredOn starts the machine On instead of Off. It is the state of
	// a machine first created: once a hardware.Machine recorded a power
	// state, a restart of bmcd resumes that one (ResumePower).
	PoweredOn bool
	// Fetcher fetches virtual media images (under each slot's TLS policy)
	// and firmware update images; nil uses the defaults of internal/fetch.
	Fetcher *fetch.Fetcher
}

// Defaults for the power delays.
const (
	DefaultPowerOnDelay  = 2 * time.Second
	DefaultPowerOffDelay = time.Second
	DefaultShutdownDelay = 3 * time.Second
)

// Machine is a simulated server. It implements hardware.Backend and every
// part (hardware.Parts) itself: power (with hardware.POSTReporter and
// hardware.PowerResumer), boot control, firmware settings, virtual media,
// sensors, power supplies, the serial console, the identify lamp, restore
// policy and firmware update.
type Machine struct {
	cfg   Config
	info  hardware.Info
	bios  hardware.BiosRegistry
	fetch *fetch.Fetcher

	mu       sync.Mutex
	state    hardware.PowerState
	epoch    uint64 // bumps cancel scheduled transitions
	timer    *time.Timer
	host     hardware.Host // set by Attach; nil in the sim's own unit tests
	bootedAt time.Time
	// post: the firmware is running its POST (PoweringOn, or On after a
	// warm reset); restart: power on again once the shutdown in progress
	// is done.
	post    bool
	restart bool
	closed  bool
	con     simConsole // serial line, see console.go
	disp    simDisplay // screen, keyboard and pointer, see display.go
}

// New creates a simulated machine.
func New(cfg Config) *Machine {
	if cfg.PowerOnDelay == 0 {
		cfg.PowerOnDelay = DefaultPowerOnDelay
	}
	if cfg.PowerOffDelay == 0 {
		cfg.PowerOffDelay = DefaultPowerOffDelay
	}
	if cfg.ShutdownDelay == 0 {
		cfg.ShutdownDelay = DefaultShutdownDelay
	}
	f := cfg.Fetcher
	if f == nil {
		f = &fetch.Fetcher{}
	}
	m := &Machine{cfg: cfg, fetch: f, state: hardware.PowerOff, info: inventory(cfg.Seed, cfg.ID)}
	m.bios = biosRegistry(m.info)
	if cfg.PoweredOn {
		m.state = hardware.PowerOn
		m.bootedAt = time.Now()
	}
	return m
}

func inventory(seed, id string) hardware.Info {
	// Every value a real server's manufacturer would burn in comes from
	// the system's identity: the UUID (which Metal3 BareMetalHosts keep),
	// serial numbers and the NICs' MACs (QEMU's 52:54:00 prefix).
	h := hardware.DeriveIdentity(seed, id).Sum("bmcd-sim")
	mac := func(n byte) string {
		return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[10], h[11], h[12]^n)
	}
	info := hardware.Info{
		Manufacturer:      "bmcd",
		Model:             "Simulated Server S1",
		SerialNumber:      fmt.Sprintf("SIM%X", h[13:18]),
		SKU:               "SIM-S1",
		PartNumber:        "S1-0001",
		UUID:              hardware.NameUUID(h),
		BiosVersion:       biosVersion(biosFactoryVersion, biosFactoryDate),
		HostName:          "sim-" + id,
		ProcessorCount:    2,
		ProcessorModel:    "Simulated x86-64 CPU @ 2.40GHz",
		CoresPerProcessor: 8,
		ThreadsPerCore:    2,
		MemoryGiB:         64,
		NICs: []hardware.NIC{
			{ID: "NIC1", MAC: mac(0), SpeedMbps: 10000},
			{ID: "NIC2", MAC: mac(1), SpeedMbps: 10000},
		},
		Disks: []hardware.Disk{
			{ID: "Disk0", Model: "Simulated NVMe SSD 960GB", SerialNumber: fmt.Sprintf("SIMD%X0", h[14:17]),
				CapacityBytes: 960_197_124_096, MediaType: "SSD", Protocol: "NVMe"},
			{ID: "Disk1", Model: "Simulated SATA HDD 4TB", SerialNumber: fmt.Sprintf("SIMD%X1", h[14:17]),
				CapacityBytes: 4_000_787_030_016, MediaType: "HDD", Protocol: "SATA"},
			{ID: "Disk2", Model: "Simulated SATA HDD 4TB", SerialNumber: fmt.Sprintf("SIMD%X2", h[14:17]),
				CapacityBytes: 4_000_787_030_016, MediaType: "HDD", Protocol: "SATA"},
		},
		// One tri-mode RAID controller over the three drives. It ships with
		// no volumes (the host sees the drives themselves) and builds RAID0
		// and RAID1 volumes at once or at the next host boot; the two HDDs
		// make a mirror.
		StorageControllers: []hardware.StorageController{{
			ID: "1", Name: "Storage Controller", Manufacturer: "bmcd", Model: "Simulated tri-mode RAID controller",
			SerialNumber: fmt.Sprintf("SIMC%X", h[15:19]), FirmwareVersion: "3.1.0", SpeedGbps: 12,
			ControllerProtocols: []string{"PCIe"}, DeviceProtocols: []string{"SATA", "NVMe"},
			RAIDTypes:  []string{"RAID0", "RAID1"},
			ApplyTimes: []hardware.ApplyTime{hardware.ApplyImmediate, hardware.ApplyOnReset},
		}},
	}
	return info
}

// Info implements hardware.Backend.
func (m *Machine) Info() hardware.Info { return m.info }

// The simulation can do everything a full-featured server can.
var (
	bootTargets = []hardware.BootSource{
		hardware.BootPxe, hardware.BootCd, hardware.BootUsb, hardware.BootHdd,
		hardware.BootBiosSetup, hardware.BootDiags, hardware.BootUefiShell,
		hardware.BootUefiHttp, hardware.BootUefiTarget, hardware.BootUefiBootNext,
	}
	bootModes  = []hardware.BootMode{hardware.BootModeUEFI, hardware.BootModeLegacy}
	mediaSlots = []hardware.SlotSpec{
		{ID: "CD", Name: "Virtual CD/DVD", Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd},
		{ID: "USB", Name: "Virtual USB stick", Types: []hardware.MediaType{hardware.MediaUSBStick}, Boot: hardware.BootUsb},
	}
)

// ResetTypes implements hardware.Power: every Redfish reset type.
func (m *Machine) ResetTypes() []hardware.ResetType { return slices.Clone(hardware.AllResetTypes) }

// BootTargets implements hardware.BootControl.
func (m *Machine) BootTargets() []hardware.BootSource { return slices.Clone(bootTargets) }

// BootModes implements hardware.BootControl: UEFI (the default) and Legacy.
func (m *Machine) BootModes() []hardware.BootMode { return slices.Clone(bootModes) }

// BootOptions implements hardware.BootControl: the UEFI boot options of
// the inventory's disks, NICs and media slots.
func (m *Machine) BootOptions() []hardware.BootOption {
	return bootOptions(m.info, mediaSlots, bootTargets)
}

// SetNextBoot implements hardware.BootControl. The simulated firmware
// reads the boot flags when its POST ends (Host.Booted), as a real BIOS
// does, so the plan handed before a reset is not needed.
func (m *Machine) SetNextBoot(context.Context, hardware.BootPlan) error { return nil }

// Slots implements hardware.VirtualMedia: a CD/DVD drive and a USB stick.
func (m *Machine) Slots() []hardware.SlotSpec { return slices.Clone(mediaSlots) }

// BiosRegistry implements hardware.FirmwareSettings.
func (m *Machine) BiosRegistry() hardware.BiosRegistry { return m.bios }

// SecureBootToggle implements hardware.FirmwareSettings: the simulated
// UEFI firmware has Secure Boot.
func (m *Machine) SecureBootToggle() bool { return true }

// SetIndicator implements hardware.Indicator: the simulated chassis has an
// identify lamp, which nobody sees.
func (m *Machine) SetIndicator(hardware.IdentifyMode) error { return nil }

// Attach implements hardware.Backend: the simulation is a full-featured
// server, every part its own (the Machine's methods below).
func (m *Machine) Attach(h hardware.Host) hardware.Parts {
	m.mu.Lock()
	m.host = h
	m.mu.Unlock()
	return hardware.Parts{
		Power: m, Boot: m, Firmware: m, Media: m, Sensors: m, PowerSupplies: m,
		Serial: m, Indicator: m, RestorePolicy: m, Update: m,
		Display: m.Display(), Keyboard: m.Keyboard(), Pointer: m.Pointer(),
	}
}

// PowerState implements hardware.Backend.
func (m *Machine) PowerState(context.Context) (hardware.PowerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, nil
}

// Reset implements hardware.Backend. The only refusal is an NMI with the
// power off: every other reset applies in every state and ends where the
// Redfish ResetType says (On, ForceOn, GracefulRestart, ForceRestart and
// PowerCycle end On; ForceOff and GracefulShutdown end Off; Nmi changes
// nothing; PushPowerButton turns a machine that is off on and one that is
// on off). Power stays applied through a warm reset (ForceRestart, or a
// restart while the firmware runs its POST): the state stays On (or
// PoweringOn) while the host POSTs again, as InPOST reports.
func (m *Machine) Reset(_ context.Context, r hardware.ResetType) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("simulated machine closed: %w", hardware.ErrState)
	}
	s := m.state
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn:
		switch s {
		case hardware.PowerOff:
			m.powerOnLocked(0)
		case hardware.PowerPoweringOff:
			if r == hardware.ResetOn {
				// The OS is already shutting down; power comes back on
				// once it is off, as after a graceful restart.
				m.restart = true
				break
			}
			m.cancelLocked()
			m.setLocked(hardware.PowerOff)
			m.powerOnLocked(0)
		}
	case hardware.ResetForceOff:
		m.cancelLocked()
		m.setLocked(hardware.PowerOff)
	case hardware.ResetGracefulShutdown, hardware.ResetPushPowerButton:
		switch {
		case s == hardware.PowerOff:
			if r == hardware.ResetPushPowerButton {
				m.powerOnLocked(0)
			}
		case m.post:
			// No OS runs yet: the firmware handles the power button
			// itself and turns the power off at once.
			m.cancelLocked()
			m.setLocked(hardware.PowerOff)
		case s == hardware.PowerOn:
			m.shutdownLocked(false)
		case s == hardware.PowerPoweringOff && r == hardware.ResetGracefulShutdown:
			m.restart = false // a restart in progress now ends off
		}
	case hardware.ResetGracefulRestart:
		switch {
		case s == hardware.PowerOff:
			// Redfish ResetType: on success the system is On.
			m.powerOnLocked(0)
		case m.post:
			m.postLocked() // no OS to shut down: the firmware restarts
		case s == hardware.PowerOn:
			m.shutdownLocked(true)
		case s == hardware.PowerPoweringOff:
			m.restart = true
		}
	case hardware.ResetForceRestart:
		switch s {
		case hardware.PowerOff:
			m.powerOnLocked(0)
		case hardware.PowerPoweringOff:
			// A warm reset during the OS shutdown: the power is still
			// on, and the host POSTs again.
			m.setLocked(hardware.PowerOn)
			m.postLocked()
		default:
			m.postLocked() // a warm reset: power stays applied
		}
	case hardware.ResetPowerCycle:
		if s == hardware.PowerOff {
			// Redfish ResetType PowerCycle: "If currently in the power off
			// state, the resource will transition to a power on state."
			m.powerOnLocked(0)
			break
		}
		m.cancelLocked()
		m.setLocked(hardware.PowerOff)
		m.powerOnLocked(m.cfg.PowerOffDelay)
	case hardware.ResetNmi:
		// The NMI line reaches the processors whenever they have power,
		// whatever runs on them.
		if s == hardware.PowerOff {
			return fmt.Errorf("NMI: %w", hardware.ErrPoweredOff)
		}
	default:
		return fmt.Errorf("reset type %q: %w", r, hardware.ErrNotSupported)
	}
	return nil
}

// ResumePower implements hardware.PowerResumer. The simulated host runs
// inside bmcd, so when bmcd starts again the host is taken up where it
// was, without a new boot and without reporting a change: Off stays Off,
// On stays On (the OS at its login prompt), a POST in progress (PoweringOn,
// or On with post after a warm reset) starts again and boots once, through
// the Host, and a graceful shutdown in progress completes (Off; a restart that
// was to follow it is not remembered). Another state is ErrInvalid.
func (m *Machine) ResumePower(s hardware.PowerState, post bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("simulated machine closed: %w", hardware.ErrState)
	}
	switch s {
	case hardware.PowerOff, hardware.PowerOn, hardware.PowerPoweringOn, hardware.PowerPoweringOff:
	default:
		return fmt.Errorf("resume power state %q: %w", s, hardware.ErrInvalid)
	}
	m.cancelLocked()
	m.state = s // as it was: no change to report
	m.bootedAt = time.Time{}
	m.con.state = shellDown
	switch {
	case s == hardware.PowerPoweringOn || s == hardware.PowerOn && post:
		m.postLocked()
	case s == hardware.PowerOn:
		m.bootedAt = time.Now()
		m.con.state = shellLogin
	case s == hardware.PowerPoweringOff:
		m.shutdownLocked(false)
	}
	return nil
}

// InPOST implements hardware.POSTReporter: whether the host firmware is
// running its power-on self test, after a power-on (PoweringOn) or a warm
// reset (On).
func (m *Machine) InPOST() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.post
}

// powerOnLocked goes PoweringOn after wait, then runs the POST.
func (m *Machine) powerOnLocked(wait time.Duration) {
	m.cancelLocked()
	epoch := m.epoch
	start := func() {
		m.setLocked(hardware.PowerPoweringOn)
		m.postLocked()
	}
	if wait <= 0 {
		start()
		return
	}
	m.afterLocked(wait, epoch, start)
}

// postLocked (re)starts the firmware's POST with the power applied: the
// state stays as it is (PoweringOn, or On after a warm reset) until the
// firmware picks its boot device after the POST delay; then the machine is
// On and the OS boots.
func (m *Machine) postLocked() {
	m.cancelLocked()
	epoch := m.epoch
	m.post = true
	m.con.state = shellDown // the OS, and its shell, are gone
	m.displayPOSTLocked()
	m.afterLocked(m.cfg.PowerOnDelay, epoch, func() {
		m.post = false
		m.setLocked(hardware.PowerOn)
		m.bootedAt = time.Now()
		// The firmware reads the boot flags now: this is the boot the
		// Machine hears of (Host.Booted), and what it returns is booted.
		var res hardware.BootResult
		if m.host != nil {
			res = m.host.Booted()
		}
		m.bootedLocked(res)
	})
}

// shutdownLocked asks the OS to shut down; once the host is off, the
// power comes back on if restart (or a later request, through m.restart)
// asks for it.
func (m *Machine) shutdownLocked(restart bool) {
	m.cancelLocked()
	epoch := m.epoch
	m.restart = restart
	m.setLocked(hardware.PowerPoweringOff)
	m.afterLocked(m.cfg.ShutdownDelay, epoch, func() {
		m.setLocked(hardware.PowerOff)
		if m.restart {
			m.restart = false
			m.powerOnLocked(m.cfg.PowerOffDelay)
		}
	})
}

// afterLocked runs fn with the lock held after d, unless a later command
// changed the epoch first.
func (m *Machine) afterLocked(d time.Duration, epoch uint64, fn func()) {
	m.timer = time.AfterFunc(d, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.epoch != epoch || m.closed {
			return
		}
		fn()
	})
}

func (m *Machine) cancelLocked() {
	m.epoch++
	m.restart, m.post = false, false
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
}

func (m *Machine) setLocked(to hardware.PowerState) {
	from := m.state
	if from == to {
		return
	}
	m.state = to
	m.displayPowerLocked(to)
	if m.host != nil {
		m.host.PowerChanged(from, to)
	}
}

// Close stops pending transitions.
func (m *Machine) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancelLocked()
	m.closed = true
	return nil
}
