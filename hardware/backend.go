package hardware

import (
	"context"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
)

// Backend drives one machine: a simulation, a virtual machine or real
// hardware. A backend reports power and carries out resets; everything else
// is an optional capability (the interfaces below), discovered by type
// assertion as kvmd's plugins are.
type Backend interface {
	Info() Info
	Capabilities() Capabilities
	PowerState(ctx context.Context) (PowerState, error)
	// Reset carries out r. Whenever the machine starts to boot (now or
	// later, e.g. at the end of a power cycle) the backend calls fw.Boot
	// exactly once per boot to learn which device the firmware picks.
	Reset(ctx context.Context, r ResetType, fw Firmware) error
	Close() error
}

// Firmware is the BIOS's view of the BMC: what to boot next. The Machine
// implements it; calling Boot consumes a one-time override exactly as a
// real BIOS does when it reads the boot flags.
type Firmware interface {
	Boot() BootResult
}

// BootResult is what the firmware decided to boot.
type BootResult struct {
	Source BootSource
	Mode   BootMode
	Image  string // media image URL when booting virtual media
	// Option is the boot option booted; zero when the backend declares
	// none, or for targets that are not options (BiosSetup, Diags).
	Option BootOption
	Time   time.Time
	// BiosVersion is the BIOS that runs this boot (a staged BIOS update
	// has just been activated).
	BiosVersion string
}

// MediaBackend is implemented by backends that attach virtual media.
type MediaBackend interface {
	// InsertMedia attaches img to the slot, after checking it can be read
	// under img.TLS; it returns the size in bytes (-1 if unknown) and a
	// format hint ("iso9660", "raw"). A failure to reach or read the image
	// is a *MediaError. With img.CheckOnly the backend only checks: the
	// host sees no medium, and the Machine calls InsertMedia again without
	// it when the image is to be inserted.
	InsertMedia(ctx context.Context, slot string, img MediaImage) (size int64, format string, err error)
	// EjectMedia takes away whatever the slot presents to the host; the
	// slot may present nothing (an image attached but not inserted).
	EjectMedia(ctx context.Context, slot string) error
}

// MediaImage is what a backend needs to reach a virtual media image.
type MediaImage struct {
	URL string // http or https; may carry user information
	// TLS is how an https server's certificate is checked: the slot's
	// VerifyCertificate and Certificates. A backend that fetches by other
	// means must apply it too (or refuse https).
	TLS fetch.Policy
	// CheckOnly: check the image can be read, present no medium to the
	// host (Redfish InsertMedia with Inserted false).
	CheckOnly bool
}

// PowerWatcher is implemented by backends whose power state changes on its
// own (timers, a VM shut down from inside). The Machine registers fn once;
// the backend calls it after every change.
type PowerWatcher interface {
	OnPowerChange(fn func(from, to PowerState))
}

// PowerResumer is implemented by backends whose host runs inside bmcd
// (the simulation), so that it would otherwise stop whenever bmcd does. A
// restart of the BMC is not a loss of mains power: real servers keep
// running while their BMC reboots. When bmcd starts, the Machine hands the
// backend the power state recorded before it stopped (post: the firmware
// was running its POST, see POSTReporter), before it registers any
// PowerWatcher; the backend takes the host up in that state without a new
// boot (a POST in progress goes on and boots once; fw is the Firmware to
// call then) and reports no change for it. Backends that observe a real
// host do not implement it: they report what they see, and the Machine
// logs any difference from the record (Machine.CheckPower). Errors:
// ErrInvalid for a state the backend cannot take up.
type PowerResumer interface {
	ResumePower(s PowerState, post bool, fw Firmware) error
}

// POSTReporter is implemented by backends that know when the host firmware
// is running its power-on self test: while powering on, and with the power
// still applied (PowerOn) after a warm reset, until the firmware picks its
// boot device.
type POSTReporter interface {
	InPOST() bool
}
