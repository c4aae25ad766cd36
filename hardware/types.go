// Package hardware is the machine model that every protocol acts on: power,
// boot override, virtual media, firmware settings, sensors and the event log.
// Backends (one package each) drive a real or simulated machine; the Machine
// type in this package holds the state a BMC keeps for it and persists it.
package hardware

import (
	"errors"
	"fmt"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
)

// PowerState is the power state of a machine, including the transitions a
// real server goes through.
type PowerState string

// Power states.
const (
	PowerOff         PowerState = "Off"
	PowerOn          PowerState = "On"
	PowerPoweringOn  PowerState = "PoweringOn"
	PowerPoweringOff PowerState = "PoweringOff"
)

// ResetType is a request to change power state. The names match the
// vocabulary of the Redfish ResetType enumeration, which every other
// interface maps onto.
type ResetType string

// Reset types.
const (
	ResetOn               ResetType = "On"
	ResetForceOn          ResetType = "ForceOn"
	ResetForceOff         ResetType = "ForceOff"
	ResetGracefulShutdown ResetType = "GracefulShutdown"
	ResetGracefulRestart  ResetType = "GracefulRestart"
	ResetForceRestart     ResetType = "ForceRestart"
	ResetPowerCycle       ResetType = "PowerCycle"
	ResetNmi              ResetType = "Nmi"
	ResetPushPowerButton  ResetType = "PushPowerButton"
)

// AllResetTypes lists every reset type in a stable order.
var AllResetTypes = []ResetType{
	ResetOn, ResetForceOn, ResetForceOff, ResetGracefulShutdown,
	ResetGracefulRestart, ResetForceRestart, ResetPowerCycle, ResetNmi,
	ResetPushPowerButton,
}

// Restarts reports whether r restarts the host: GracefulRestart,
// ForceRestart and PowerCycle, the resets the event log records as a host
// reset (EventHostReset) besides any power change they bring.
func (r ResetType) Restarts() bool {
	return r == ResetGracefulRestart || r == ResetForceRestart || r == ResetPowerCycle
}

// BootSource is a device class the firmware can boot from.
type BootSource string

// Boot sources.
const (
	BootNone      BootSource = "None"
	BootPxe       BootSource = "Pxe"
	BootCd        BootSource = "Cd"
	BootUsb       BootSource = "Usb"
	BootHdd       BootSource = "Hdd"
	BootBiosSetup BootSource = "BiosSetup"
	BootDiags     BootSource = "Diags"
	BootUefiShell BootSource = "UefiShell"
	BootUefiHttp  BootSource = "UefiHttp"
	BootFloppy    BootSource = "Floppy"
	// BootUefiTarget boots the UEFI device path BootOverride.UefiTarget.
	BootUefiTarget BootSource = "UefiTarget"
	// BootUefiBootNext boots the boot option BootNext names, once.
	BootUefiBootNext BootSource = "UefiBootNext"
)

// BootEnabled says whether a boot override applies, and for how long.
type BootEnabled string

// Boot override durations.
const (
	BootDisabled   BootEnabled = "Disabled"
	BootOnce       BootEnabled = "Once"
	BootContinuous BootEnabled = "Continuous"
)

// BootMode is the firmware boot mode.
type BootMode string

// Boot modes.
const (
	BootModeUEFI   BootMode = "UEFI"
	BootModeLegacy BootMode = "Legacy"
)

// BootOverride is the one-time or persistent boot device override a BMC
// hands to the firmware. It takes precedence over BootNext and the boot
// order, and changes neither.
type BootOverride struct {
	Target  BootSource  `json:"target"`
	Enabled BootEnabled `json:"enabled"`
	Mode    BootMode    `json:"mode"`
	// UefiTarget is the UEFI device path booted when Target is
	// BootUefiTarget: one of the boot options' DevicePath.
	UefiTarget string `json:"uefi_target,omitempty"`
}

// MediaType is the kind of virtual medium a slot emulates.
type MediaType string

// Media types.
const (
	MediaCD       MediaType = "CD"
	MediaDVD      MediaType = "DVD"
	MediaUSBStick MediaType = "USBStick"
)

// SlotSpec describes a virtual media slot a backend offers.
type SlotSpec struct {
	ID    string      // stable identifier, e.g. "CD" or "USB"
	Name  string      // human-readable name
	Types []MediaType // media the slot emulates
	// Boot is the boot source that reaches this slot.
	Boot BootSource
}

// Media is the state of one virtual media slot. A slot is empty (Image
// ""), holds a checked image that is not inserted (Image set, Inserted
// false: the host sees no medium and the firmware cannot boot it), or
// holds an inserted one.
type Media struct {
	SlotSpec
	Image          string    `json:"image,omitempty"`
	Inserted       bool      `json:"inserted"`
	WriteProtected bool      `json:"write_protected"`
	Size           int64     `json:"size,omitempty"` // bytes, -1 if unknown
	Format         string    `json:"format,omitempty"`
	InsertedAt     time.Time `json:"inserted_at,omitempty"` // when the image was attached, or last inserted
	// VerifyCertificate and Certificates are the slot's policy for https
	// images (see TLSPolicy); they are settings of the slot and stay when
	// the medium is ejected.
	VerifyCertificate bool          `json:"verify_certificate,omitempty"`
	Certificates      []Certificate `json:"certificates,omitempty"`
}

// Certificate is a certificate the BMC trusts for a remote server (an
// image server): PEM text of one certificate or a chain, as added.
type Certificate struct {
	ID  string `json:"id"` // "1", "2", ... unique within its collection
	PEM string `json:"pem"`
}

// ImageName is the last path element of the image URL.
func (m Media) ImageName() string {
	s := m.Image
	// The query (and fragment) start at the first '?' ('#'); either may
	// contain '/' and '?' itself.
	for i := 0; i < len(s); i++ {
		if s[i] == '?' || s[i] == '#' {
			s = s[:i]
			break
		}
	}
	if i := lastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func lastIndexByte(s string, c byte) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// Disk is a host drive as inventory.
type Disk struct {
	ID            string
	Model         string
	SerialNumber  string
	CapacityBytes int64
	MediaType     string // "SSD" or "HDD"
	Protocol      string // "SATA", "SAS", "NVMe"
}

// NIC is a host network interface as inventory.
type NIC struct {
	ID        string
	MAC       string
	SpeedMbps int
}

// Info is the static inventory of a machine.
type Info struct {
	// Name is the machine's own name, shown as the System's Name (a VM's
	// name, as sushy-tools shows it); empty: "System <Id>".
	Name              string
	Manufacturer      string
	Model             string
	SerialNumber      string
	SKU               string
	PartNumber        string
	UUID              string
	BiosVersion       string
	HostName          string
	ProcessorCount    int
	ProcessorModel    string
	CoresPerProcessor int
	ThreadsPerCore    int
	MemoryGiB         float64
	NICs              []NIC
	Disks             []Disk
	// StorageControllers drive the Disks; Volumes are what they build
	// from them (none without hardware RAID). A backend gives the volumes
	// it ships with; Machine.Info gives those there are now (volumes.go).
	StorageControllers []StorageController
	Volumes            []Volume
}

// Capabilities summarises what a machine's parts can do, read from the
// parts themselves (Machine.Capabilities). Protocols report it to clients
// (allowable values, completion codes) instead of failing at random.
type Capabilities struct {
	ResetTypes []ResetType
	// BootTargets are the override targets the backend can honour. Empty
	// means the backend cannot change the boot device at all: overrides are
	// accepted and recorded as Disabled (the PiKVM behaviour).
	BootTargets []BootSource
	BootModes   []BootMode
	MediaSlots  []SlotSpec
	// BootOptions are the firmware's UEFI boot options (Boot####), in the
	// order it enumerates them, which is also the default boot order.
	// Empty means the firmware's boot order is not visible to the BMC:
	// without an override it boots the disk.
	BootOptions []BootOption
	// SecureBoot reports whether the firmware has a Secure Boot toggle.
	SecureBoot bool
	// Display: the machine has a screen (a Display part); Keyboard and
	// Pointer: the console can type and point on it.
	Display, Keyboard, Pointer bool
}

// CanBoot reports whether the backend can honour an override to t.
func (c Capabilities) CanBoot(t BootSource) bool {
	if t == BootNone {
		return len(c.BootTargets) > 0
	}
	for _, b := range c.BootTargets {
		if b == t {
			return true
		}
	}
	return false
}

// CanReset reports whether the backend supports reset type r.
func (c Capabilities) CanReset(r ResetType) bool {
	for _, x := range c.ResetTypes {
		if x == r {
			return true
		}
	}
	return false
}

// Errors a Machine returns; protocols map them to their own codes.
var (
	// ErrNotSupported: the backend lacks the capability.
	ErrNotSupported = errors.New("not supported by this machine")
	// ErrInvalid: a value outside what the machine accepts.
	ErrInvalid = errors.New("invalid value")
	// ErrBusy: a conflicting operation is in progress.
	ErrBusy = errors.New("machine busy")
	// ErrNotFound: no such slot or entry.
	ErrNotFound = errors.New("not found")
	// ErrState: the operation does not apply in the current state.
	ErrState = errors.New("not possible in the current state")
	// ErrMedia: a virtual media image could not be reached or read.
	ErrMedia = errors.New("media unavailable")
	// ErrFull: a collection holds as many entries as it can.
	ErrFull = errors.New("no room for another entry")
	// ErrExists: the entry is already there.
	ErrExists = errors.New("already exists")
	// ErrUnavailable: the machine's backend could not carry out the
	// request (a hypervisor or device that cannot be reached, an I/O
	// error); trying again later may work.
	ErrUnavailable = errors.New("machine backend unavailable")
)

// MediaError says why a virtual media image could not be used. It wraps
// ErrMedia and Err; a backend that reports only HTTPStatus gets the
// internal/fetch class of that status wrapped too, so protocols tell
// failures apart with errors.Is(err, fetch.ErrNotFound) and the like
// whichever way the backend fetched.
type MediaError struct {
	URL        string
	HTTPStatus int // 0 when no HTTP response came back
	Err        error
}

func (e *MediaError) Error() string {
	var fe *fetch.Error
	switch {
	case errors.As(e.Err, &fe): // it names the URL already
		return "image " + fe.Error()
	case e.HTTPStatus != 0:
		return fmt.Sprintf("image %s: HTTP status %d", RedactURL(e.URL), e.HTTPStatus)
	}
	return fmt.Sprintf("image %s: %v", RedactURL(e.URL), e.Err)
}

// Unwrap makes errors.Is(err, ErrMedia) true, and keeps the cause (a
// fetch class, a timeout, a refused connection) reachable.
func (e *MediaError) Unwrap() []error {
	out := []error{ErrMedia}
	if e.Err != nil {
		out = append(out, e.Err)
	} else if c := fetch.StatusClass(e.HTTPStatus); e.HTTPStatus != 0 && c != nil {
		out = append(out, c)
	}
	return out
}
