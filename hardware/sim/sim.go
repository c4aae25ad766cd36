// Package sim is the simulated machine backend: a server with realistic
// power transitions, a firmware that honours boot overrides, virtual media
// that really fetches its image, and sensors that follow power state.
package sim

import (
	"context"
	"crypto/sha1"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
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
	// PoweredOn starts the machine On instead of Off.
	PoweredOn bool
	// HTTPClient fetches virtual media images; nil uses a client with a
	// 30 s timeout.
	HTTPClient *http.Client
}

// Defaults for the power delays.
const (
	DefaultPowerOnDelay  = 2 * time.Second
	DefaultPowerOffDelay = time.Second
	DefaultShutdownDelay = 3 * time.Second
)

// Machine is a simulated server. It implements hardware.Backend,
// hardware.MediaBackend, hardware.SensorReader and hardware.PowerWatcher.
type Machine struct {
	cfg  Config
	info hardware.Info
	http *http.Client

	mu       sync.Mutex
	state    hardware.PowerState
	epoch    uint64 // bumps cancel scheduled transitions
	timer    *time.Timer
	onChange func(from, to hardware.PowerState)
	bootedAt time.Time
	closed   bool
	con      simConsole // serial line, see console.go
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
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	m := &Machine{cfg: cfg, http: c, state: hardware.PowerOff, info: inventory(cfg.Seed, cfg.ID)}
	if cfg.PoweredOn {
		m.state = hardware.PowerOn
		m.bootedAt = time.Now()
	}
	return m
}

func inventory(seed, id string) hardware.Info {
	h := sha1.Sum([]byte("bmcd-sim\x00" + seed + "\x00" + id))
	u := h
	u[6] = (u[6] & 0x0f) | 0x50 // version 5 (name-based, SHA-1)
	u[8] = (u[8] & 0x3f) | 0x80 // RFC 4122 variant
	mac := func(n byte) string {
		return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[10], h[11], h[12]^n)
	}
	return hardware.Info{
		Manufacturer:      "bmcd",
		Model:             "Simulated Server S1",
		SerialNumber:      fmt.Sprintf("SIM%X", h[13:18]),
		SKU:               "SIM-S1",
		PartNumber:        "S1-0001",
		UUID:              fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]),
		BiosVersion:       "SIM 2.4.1 (2026-06-01)",
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
		},
		// One host bus adapter without hardware RAID, so no volumes: the
		// host sees the drives themselves.
		StorageControllers: []hardware.StorageController{{
			ID: "1", Name: "Storage Controller", Manufacturer: "bmcd", Model: "Simulated SATA/NVMe HBA",
			SerialNumber: fmt.Sprintf("SIMC%X", h[15:19]), FirmwareVersion: "3.1.0", SpeedGbps: 12,
			ControllerProtocols: []string{"PCIe"}, DeviceProtocols: []string{"SATA", "NVMe"},
		}},
		BiosAttributes: map[string]any{
			"BootMode":           "UEFI",
			"ProcTurboMode":      "Enabled",
			"ProcVirtualization": "Enabled",
			"PxeNicIndex":        float64(0),
			"SerialConsole":      "COM1",
			"AssetTag":           "",
		},
	}
}

// Info implements hardware.Backend.
func (m *Machine) Info() hardware.Info { return m.info }

// Capabilities implements hardware.Backend: the simulation can do
// everything a full-featured server can.
func (m *Machine) Capabilities() hardware.Capabilities {
	return hardware.Capabilities{
		ResetTypes: hardware.AllResetTypes,
		BootTargets: []hardware.BootSource{
			hardware.BootPxe, hardware.BootCd, hardware.BootUsb, hardware.BootHdd,
			hardware.BootBiosSetup, hardware.BootDiags, hardware.BootUefiShell,
			hardware.BootUefiHttp,
		},
		BootModes: []hardware.BootMode{hardware.BootModeUEFI, hardware.BootModeLegacy},
		MediaSlots: []hardware.SlotSpec{
			{ID: "CD", Name: "Virtual CD/DVD", Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd},
			{ID: "USB", Name: "Virtual USB stick", Types: []hardware.MediaType{hardware.MediaUSBStick}, Boot: hardware.BootUsb},
		},
		SecureBoot: true,
	}
}

// OnPowerChange implements hardware.PowerWatcher.
func (m *Machine) OnPowerChange(fn func(from, to hardware.PowerState)) {
	m.mu.Lock()
	m.onChange = fn
	m.mu.Unlock()
}

// PowerState implements hardware.Backend.
func (m *Machine) PowerState(context.Context) (hardware.PowerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state, nil
}

// Reset implements hardware.Backend.
func (m *Machine) Reset(_ context.Context, r hardware.ResetType, fw hardware.Firmware) error {
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
			m.powerOnLocked(0, fw)
		case hardware.PowerPoweringOff:
			if r == hardware.ResetOn {
				return fmt.Errorf("shutdown in progress: %w", hardware.ErrBusy)
			}
			m.setLocked(hardware.PowerOff)
			m.powerOnLocked(0, fw)
		}
	case hardware.ResetForceOff:
		m.cancelLocked()
		m.setLocked(hardware.PowerOff)
	case hardware.ResetGracefulShutdown:
		switch s {
		case hardware.PowerOn:
			m.shutdownLocked(nil)
		case hardware.PowerPoweringOn:
			return fmt.Errorf("host is still booting: %w", hardware.ErrBusy)
		}
	case hardware.ResetGracefulRestart:
		switch s {
		case hardware.PowerOn:
			m.shutdownLocked(fw)
		case hardware.PowerOff:
			return fmt.Errorf("graceful restart: %w", hardware.ErrPoweredOff)
		default:
			return fmt.Errorf("power transition in progress: %w", hardware.ErrBusy)
		}
	case hardware.ResetForceRestart:
		if s == hardware.PowerOff {
			return fmt.Errorf("warm reset: %w", hardware.ErrPoweredOff)
		}
		m.cancelLocked()
		m.setLocked(hardware.PowerPoweringOn) // a warm reset: power stays applied
		m.powerOnLocked(0, fw)
	case hardware.ResetPowerCycle:
		if s == hardware.PowerOff {
			// Redfish ResetType PowerCycle: "If currently in the power off
			// state, the resource will transition to a power on state."
			m.powerOnLocked(0, fw)
			break
		}
		m.cancelLocked()
		m.setLocked(hardware.PowerOff)
		m.powerOnLocked(m.cfg.PowerOffDelay, fw)
	case hardware.ResetNmi:
		switch s {
		case hardware.PowerOff:
			return fmt.Errorf("NMI: %w", hardware.ErrPoweredOff)
		case hardware.PowerPoweringOn, hardware.PowerPoweringOff:
			return fmt.Errorf("NMI: power transition in progress: %w", hardware.ErrBusy)
		}
	case hardware.ResetPushPowerButton:
		switch s {
		case hardware.PowerOff:
			m.powerOnLocked(0, fw)
		case hardware.PowerOn:
			m.shutdownLocked(nil)
		}
	default:
		return fmt.Errorf("reset type %q: %w", r, hardware.ErrNotSupported)
	}
	return nil
}

// powerOnLocked goes PoweringOn after wait, then On after the POST delay,
// when the firmware picks its boot device.
func (m *Machine) powerOnLocked(wait time.Duration, fw hardware.Firmware) {
	m.cancelLocked()
	epoch := m.epoch
	start := func() {
		m.setLocked(hardware.PowerPoweringOn)
		m.afterLocked(m.cfg.PowerOnDelay, epoch, func() {
			m.setLocked(hardware.PowerOn)
			m.bootedAt = time.Now()
			var res hardware.BootResult
			if fw != nil {
				res = fw.Boot()
			}
			m.bootedLocked(res, fw)
		})
	}
	if wait <= 0 {
		start()
		return
	}
	m.afterLocked(wait, epoch, start)
}

// shutdownLocked asks the OS to shut down; then is called with the lock
// held once the host is off (used for restart).
func (m *Machine) shutdownLocked(restart hardware.Firmware) {
	m.cancelLocked()
	epoch := m.epoch
	m.setLocked(hardware.PowerPoweringOff)
	m.afterLocked(m.cfg.ShutdownDelay, epoch, func() {
		m.setLocked(hardware.PowerOff)
		if restart != nil {
			m.powerOnLocked(m.cfg.PowerOffDelay, restart)
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
	if m.onChange != nil {
		m.onChange(from, to)
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
