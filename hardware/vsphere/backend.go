// Package vsphere drives VMs of a vCenter Server or an ESXi host as
// bmcd machines, through govmomi: one VM per system (backend "vsphere"),
// or every VM of a datacenter or folder that matches name patterns
// (discovery "vsphere"), with one session per vCenter shared by all of
// them.
//
// A VM's state (power, boot time, configuration: boot options, firmware,
// CD-ROM backing, devices; existence) is kept current by vSphere's
// property collector (watch.go): a Redfish GET or an IPMI request reads
// what it last reported and never asks vCenter. Actions are vSphere
// calls: power operations and guest shutdown (power.go), the boot plan
// written into config.bootOptions and config.firmware (boot.go), the
// CD-ROM's ISO backing (media.go), screenshots (display.go).
// docs/backends.md (vSphere) describes the mapping and its limits.
package vsphere

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// options are a backend's settings besides its VM.
type options struct {
	// Datacenter is the inventory path of the VM's datacenter (empty: the
	// only one).
	Datacenter string
	// MediaDatastore names the datastore images are uploaded to; empty:
	// the VM's first datastore.
	MediaDatastore string
	// TempDir holds images while they are fetched (bmcd's state directory).
	TempDir string
	// ScreenshotInterval is how often the display is captured while
	// watched.
	ScreenshotInterval time.Duration
	// Fetch fetches images over http(s); nil: the default fetcher.
	Fetch *fetch.Fetcher
}

// Backend is one VM as a bmcd machine (hardware.Backend). Its parts are
// itself (Power, Boot, Firmware, Media) and, where the server takes
// screenshots, a Display.
type Backend struct {
	conn *conn
	ref  types.ManagedObjectReference
	log  *slog.Logger
	opts options
	// detach stops routing the watch's reports here; called by Close.
	detach func()

	info  hardware.Info
	modes []hardware.BootMode
	nmi   bool
	disp  *display // nil without screenshots

	opMu sync.Mutex // one operation on the VM at a time: reset, boot plan, media

	mu        sync.Mutex
	host      hardware.Host
	st        vmState
	down      error     // the session is lost; the watch reconnects
	gone      bool      // the VM left vCenter
	closed    bool      //
	lastBoot  time.Time // the boot time of the last boot reported
	boots     uint64    // boots reported (Host.Booted calls)
	changed   chan struct{}
	plan      *hardware.BootPlan // the last plan handed
	pending   *bootConfig        // firmware and Secure Boot to write at the next cold start
	continual bool               // re-arm enterBIOSSetup after each boot
}

// newBackend builds the backend of the VM in st.
func newBackend(c *conn, st vmState, log *slog.Logger, opts options) *Backend {
	b := &Backend{conn: c, ref: st.Ref, log: log, opts: opts, st: st,
		lastBoot: st.BootTime, changed: make(chan struct{}), info: inventory(st)}
	// The VM's firmware now is the default mode, so that bmcd's first
	// plan does not switch it.
	if st.firmware() == "efi" {
		b.modes = []hardware.BootMode{hardware.BootModeUEFI, hardware.BootModeLegacy}
	} else {
		b.modes = []hardware.BootMode{hardware.BootModeLegacy, hardware.BootModeUEFI}
	}
	b.nmi = c.supports(methodSendNMI)
	if c.supports(methodScreenshot) {
		b.disp = newDisplay(b)
	}
	return b
}

// Info implements hardware.Backend: the VM's inventory when it was found.
func (b *Backend) Info() hardware.Info { return b.info }

// Attach implements hardware.Backend.
func (b *Backend) Attach(h hardware.Host) hardware.Parts {
	b.mu.Lock()
	b.host = h
	b.mu.Unlock()
	p := hardware.Parts{Power: b, Boot: b, Firmware: b, Media: b}
	if b.disp != nil {
		p.Display = b.disp
	}
	return p
}

// Close implements hardware.Backend: the VM is no longer followed; the
// session is released (the last user logs out).
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	if b.disp != nil {
		b.disp.close()
	}
	b.opMu.Lock() // let an operation in progress end
	b.opMu.Unlock()
	if b.detach != nil {
		b.detach()
	}
	b.conn.release()
	return nil
}

// observe takes what the property collector reported of the VM: every
// power change goes to the Host, and a boot (the VM powered on, or its
// boot time changed) is reported once.
func (b *Backend) observe(cur vmState) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	old := b.st
	b.st, b.down, b.gone = cur, nil, false
	if from, to := old.power(), cur.power(); from != to && b.host != nil {
		b.host.PowerChanged(from, to)
	}
	if cur.Power == types.VirtualMachinePowerStatePoweredOn {
		switch {
		case !cur.BootTime.IsZero() && !cur.BootTime.Equal(b.lastBoot):
			b.lastBoot = cur.BootTime
			b.bootedLocked()
		case cur.BootTime.IsZero() && old.Power != types.VirtualMachinePowerStatePoweredOn:
			b.bootedLocked() // a server that keeps no boot time
		}
	}
	b.signalLocked()
}

// lost: the VM left vCenter (destroyed, or out of the view).
func (b *Backend) lost() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.gone = true
	b.signalLocked()
}

// setDown: the session is lost (err), or back (nil, when a listing found
// the VM again: observe clears it too).
func (b *Backend) setDown(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = err
	b.signalLocked()
}

// signalLocked wakes whoever waits for the VM's state to change.
func (b *Backend) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// bootedLocked reports a boot to the Host.
func (b *Backend) bootedLocked() {
	b.boots++
	if b.host == nil {
		return
	}
	b.host.Booted()
	if b.continual {
		// vSphere clears enterBIOSSetup at the boot that used it; a
		// continuous BiosSetup override sets it again.
		go b.rearm()
	}
}

// usable is the VM's state when actions can reach it. Errors:
// ErrUnavailable while the session is lost or the VM's host is not
// connected; ErrNotFound when the VM left vCenter; ErrState after Close.
func (b *Backend) usable() (vmState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return vmState{}, fmt.Errorf("vsphere VM %s: %w", errClosed, hardware.ErrState)
	case b.down != nil:
		return vmState{}, fmt.Errorf("vsphere VM %s: %w: %w", b.st.Name, hardware.ErrUnavailable, b.down)
	case b.gone:
		return vmState{}, fmt.Errorf("vsphere VM %s is no longer in vCenter: %w", b.st.Name, hardware.ErrNotFound)
	case !b.st.reachable():
		return vmState{}, fmt.Errorf("vsphere VM %s is %s: %w", b.st.Name, b.st.Connection, hardware.ErrUnavailable)
	}
	return b.st, nil
}

// waitFor waits, at most d, until cond holds of the backend (called with
// b.mu held), and reports whether it did.
func (b *Backend) waitFor(ctx context.Context, d time.Duration, cond func() bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		b.mu.Lock()
		ok, ch := cond(), b.changed
		b.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ch:
		case <-t.C:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// observeTimeout bounds how long an action waits for the property
// collector to report what it did.
const observeTimeout = 10 * time.Second

// inventory is the machine's inventory from the VM's configuration.
func inventory(st vmState) hardware.Info {
	info := hardware.Info{Manufacturer: "VMware, Inc.", Model: "VMware Virtual Platform", ThreadsPerCore: 1}
	cfg := st.Config
	if cfg == nil {
		return info
	}
	if st.firmware() == "efi" {
		info.Model = "VMware7,1" // the SMBIOS product name of EFI VMs
	}
	info.UUID = cfg.Uuid
	info.SerialNumber = serialNumber(cfg.Uuid)
	info.SKU = cfg.GuestId
	info.BiosVersion = fmt.Sprintf("%s %s", strings.ToUpper(st.firmware()), cfg.Version)
	info.Name, info.HostName = st.Name, st.Name
	cores := int32(1)
	if n := cfg.Hardware.NumCoresPerSocket; n != nil && *n > 0 {
		cores = *n
	}
	info.CoresPerProcessor = int(cores)
	info.ProcessorCount = int(max(cfg.Hardware.NumCPU/cores, 1))
	info.ProcessorModel = "VMware Virtual CPU"
	info.MemoryGiB = float64(cfg.Hardware.MemoryMB) / 1024
	devs := st.devices()
	for _, d := range devs {
		switch d := d.(type) {
		case types.BaseVirtualEthernetCard:
			card := d.GetVirtualEthernetCard()
			speed := 1000
			if _, ok := d.(*types.VirtualVmxnet3); ok {
				speed = 10000
			}
			info.NICs = append(info.NICs, hardware.NIC{ID: fmt.Sprintf("NIC%d", len(info.NICs)+1), MAC: card.MacAddress, SpeedMbps: speed})
		case *types.VirtualDisk:
			disk := hardware.Disk{ID: fmt.Sprintf("Disk%d", len(info.Disks)+1), Model: "Virtual disk",
				CapacityBytes: d.CapacityInBytes, MediaType: "HDD", Protocol: diskProtocol(devs, d)}
			if disk.CapacityBytes == 0 {
				disk.CapacityBytes = d.CapacityInKB * 1024
			}
			if b, ok := d.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				disk.SerialNumber = b.Uuid
			}
			info.Disks = append(info.Disks, disk)
		}
	}
	return info
}

// diskProtocol names the bus of the disk's controller.
func diskProtocol(devs []types.BaseVirtualDevice, d *types.VirtualDisk) string {
	for _, c := range devs {
		if c.GetVirtualDevice().Key != d.ControllerKey {
			continue
		}
		switch c.(type) {
		case *types.VirtualNVMEController:
			return "NVMe"
		case *types.VirtualAHCIController, *types.VirtualIDEController:
			return "SATA"
		}
		return "SAS"
	}
	return "SAS"
}

// serialNumber is the serial number VMware's virtual BIOS reports for a
// VM's BIOS UUID: "VMware-" and the UUID's 16 bytes in hex, "-" after the
// eighth ("VMware-42 1c 4e 2b 51 3e 7e 2d-7c 1a 8e 7e 4f 5c 2d 4b").
func serialNumber(uuid string) string {
	hex := strings.ReplaceAll(uuid, "-", "")
	if len(hex) != 32 {
		return ""
	}
	var sb strings.Builder
	sb.WriteString("VMware-")
	for i := 0; i < 32; i += 2 {
		switch {
		case i == 16:
			sb.WriteByte('-')
		case i > 0:
			sb.WriteByte(' ')
		}
		sb.WriteString(strings.ToLower(hex[i : i+2]))
	}
	return sb.String()
}
