package hardware

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
)

// FirmwareKind says what a firmware component runs on, so protocols can
// relate it to the device (Redfish: SoftwareInventory.RelatedItem).
type FirmwareKind string

// Firmware kinds.
const (
	// FirmwareBIOS is the host's system firmware (BIOS/UEFI). Its version
	// is Info.BiosVersion.
	FirmwareBIOS FirmwareKind = "BIOS"
	// FirmwareNIC runs on a network adapter (controller firmware and
	// option ROM); Devices names its ports (Info.NICs).
	FirmwareNIC FirmwareKind = "NIC"
	// FirmwareDrive runs on a drive; Devices names it (Info.Disks).
	FirmwareDrive FirmwareKind = "Drive"
)

// MaxFirmwareImageSize bounds an update image: 64 MiB, the size of a
// large server BIOS capsule. Larger images are refused.
const MaxFirmwareImageSize = 64 << 20

// FirmwareComponent is one piece of firmware of the machine.
type FirmwareComponent struct {
	// ID is stable and unique within the machine: ASCII letters and
	// digits only, e.g. "BIOS", "NIC", "Disk0".
	ID           string
	Name         string
	Kind         FirmwareKind
	Devices      []string // inventory IDs (Info.NICs, Info.Disks) it runs on
	Manufacturer string
	SoftwareID   string    // the vendor's label for this software
	Version      string    // the version running now
	ReleaseDate  time.Time // of the running version; zero if unknown
	Updateable   bool
	// ResetRequired: a new image takes effect only when the host next
	// resets (power-on, restart, power cycle), as a BIOS flash does; until
	// then it is Pending. Otherwise it is activated at once.
	ResetRequired bool
	// Pending is an image waiting for that reset; nil if none.
	Pending *StagedFirmware
}

// StagedFirmware is an update image waiting to be activated.
type StagedFirmware struct {
	Version string    `json:"version"`
	Image   string    `json:"image"` // where it came from: a redacted URL or a file name
	Size    int64     `json:"size"`  // bytes
	Staged  time.Time `json:"staged"`
	// ReleaseDate is the image's date (FirmwareIdentity.ReleaseDate), or
	// the day bmcd received an image that does not say; zero in state
	// written before bmcd kept it.
	ReleaseDate time.Time `json:"release_date,omitzero"`
}

// ImageSource is where an update image is fetched from, and how.
type ImageSource struct {
	// URL is http or https; user information in it is sent as HTTP Basic
	// credentials.
	URL string
	// TLS is how an https server's certificate is checked, the same kind
	// of policy as MediaImage.TLS: the zero value accepts any certificate
	// (VerifyRemoteServerCertificate false, the Redfish default). A
	// backend that fetches by other means must apply it too (or refuse
	// https).
	TLS fetch.Policy
}

// FirmwareImage is an update image in memory.
type FirmwareImage struct {
	Name string // file name: the last element of the URL path, or the upload's name
	Data []byte
}

// FirmwareIdentity is what an image says it is.
type FirmwareIdentity struct {
	Component string // a component ID, compared without regard to case
	Version   string
	// ReleaseDate is the image's date, zero if it does not say.
	ReleaseDate time.Time
}

// FirmwareVersionFormatter is implemented by FirmwareUpdaters whose firmware
// shows its version in a form of its own, as the simulated BIOS shows
// build 2.4.1 of 2026-06-01 as "SIM 2.4.1 (2026-06-01)". The Machine shows
// an updated component's version, and a staged image's, through it, so
// every version of a component has the factory one's form. version is what
// the image says (FirmwareIdentity.Version), released its release date
// (zero if unknown). Without it the version is shown as the image says.
type FirmwareVersionFormatter interface {
	FormatFirmwareVersion(component, version string, released time.Time) string
}

// FirmwareUpdater is the firmware update of backends whose firmware can be listed
// and updated. The backend knows its components, fetches images and tells
// what an image is; the Machine keeps which version runs and which image
// waits for a reset, persisted, and activates staged images when the host
// firmware next starts (Host.Booted).
type FirmwareUpdater interface {
	// FirmwareComponents lists the firmware as shipped: factory versions,
	// no Pending.
	FirmwareComponents() []FirmwareComponent
	// FetchFirmware downloads the image at src, reading at most
	// MaxFirmwareImageSize+1 bytes and reporting progress (bytes so far,
	// total bytes or -1 if unknown) as it goes. A URL that is not http or
	// https is ErrInvalid; an image that cannot be reached or read is a
	// *MediaError that wraps the internal/fetch class of the failure
	// (fetch.ErrCertificate, fetch.ErrNotFound, ...), as InsertMedia's.
	FetchFirmware(ctx context.Context, src ImageSource, progress func(done, total int64)) (FirmwareImage, error)
	// IdentifyFirmware says which component img is for and which version
	// it carries; either may be "" when the image does not say.
	IdentifyFirmware(img FirmwareImage) FirmwareIdentity
}

// Firmware errors; both wrap ErrInvalid.
var (
	// ErrFirmwareImage: the image is not plausible firmware (empty, a web
	// page, too large, no version).
	ErrFirmwareImage = fmt.Errorf("unusable firmware image: %w", ErrInvalid)
	// ErrFirmwareNotApplicable: the image is for another component than
	// the one named, or for none this machine has.
	ErrFirmwareNotApplicable = fmt.Errorf("firmware image not applicable: %w", ErrInvalid)
)

// ErrFirmwareTooLarge is the error for an image over
// MaxFirmwareImageSize. It wraps ErrFirmwareImage.
var ErrFirmwareTooLarge = fmt.Errorf("image larger than %d bytes: %w", MaxFirmwareImageSize, ErrFirmwareImage)

// Firmware events.
const (
	EventFirmwareStaged  EventKind = "FirmwareStaged"
	EventFirmwareUpdated EventKind = "FirmwareUpdated"
)

// FirmwarePhase is the step an update is at.
type FirmwarePhase string

// Firmware update phases, in order.
const (
	FirmwareTransferring FirmwarePhase = "Transferring" // downloading the image
	FirmwareVerifying    FirmwarePhase = "Verifying"    // checking it fits the component
)

// FirmwareProgress reports how far an update got.
type FirmwareProgress struct {
	Phase       FirmwarePhase
	Component   string // ID, once known (always while Verifying)
	Done, Total int64  // bytes transferred; Total -1 if unknown
}

// FirmwareResult is the outcome of an update of one component.
type FirmwareResult struct {
	Component FirmwareComponent // as it is now
	Version   string            // the image's version
	// Staged: the image waits for the next host reset (Component.Pending);
	// otherwise it is running.
	Staged bool
}

// firmwareState is what a Machine persists per component.
type firmwareState struct {
	Version     string          `json:"version,omitempty"` // "" = the factory version; else as the image says
	ReleaseDate time.Time       `json:"release_date,omitzero"`
	Pending     *StagedFirmware `json:"pending,omitempty"`
}

// CheckFirmwareImage says whether img is plausible as firmware: not
// empty, at most MaxFirmwareImageSize bytes, not an HTML page (what a web
// server answers for a wrong link). Errors wrap ErrFirmwareImage.
func CheckFirmwareImage(img FirmwareImage) error {
	switch {
	case len(img.Data) == 0:
		return fmt.Errorf("image %q is empty: %w", img.Name, ErrFirmwareImage)
	case len(img.Data) > MaxFirmwareImageSize:
		return fmt.Errorf("image %q: %w", img.Name, ErrFirmwareTooLarge)
	case looksLikeHTML(img.Data):
		return fmt.Errorf("image %q is a web page, not firmware: %w", img.Name, ErrFirmwareImage)
	}
	return nil
}

func looksLikeHTML(b []byte) bool {
	head := bytes.TrimLeft(b[:min(len(b), 512)], " \t\r\n\xef\xbb\xbf")
	head = bytes.ToLower(head[:min(len(head), 14)])
	return bytes.HasPrefix(head, []byte("<!doctype html")) || bytes.HasPrefix(head, []byte("<html")) ||
		bytes.HasPrefix(head, []byte("<head")) || bytes.HasPrefix(head, []byte("<body"))
}

// shippedFirmware is the backend's component list; a backend that cannot
// update firmware still reports its BIOS version.
func shippedFirmware(fu FirmwareUpdater, info Info) []FirmwareComponent {
	if fu != nil {
		return fu.FirmwareComponents()
	}
	if info.BiosVersion == "" {
		return nil
	}
	return []FirmwareComponent{{ID: "BIOS", Name: "BIOS", Kind: FirmwareBIOS, Manufacturer: info.Manufacturer, Version: info.BiosVersion}}
}

// Firmware lists the machine's firmware in the backend's order, with the
// versions running now and any image staged for the next host reset.
func (m *Machine) Firmware() []FirmwareComponent {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]FirmwareComponent, len(m.firmware))
	for i, c := range m.firmware {
		out[i] = m.currentLocked(c)
	}
	return out
}

// FirmwareComponent returns one component by ID.
func (m *Machine) FirmwareComponent(id string) (FirmwareComponent, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.firmware {
		if c.ID == id {
			return m.currentLocked(c), true
		}
	}
	return FirmwareComponent{}, false
}

// currentLocked overlays the persisted state on a shipped component:
// versions shown in the component's own form (FirmwareVersionFormatter),
// with their release dates.
func (m *Machine) currentLocked(c FirmwareComponent) FirmwareComponent {
	c.Devices = append([]string(nil), c.Devices...)
	fs := m.st.Firmware[c.ID]
	if fs.Version != "" {
		c.Version, c.ReleaseDate = m.firmwareVersion(c.ID, fs.Version, fs.ReleaseDate), fs.ReleaseDate
	}
	if fs.Pending != nil {
		p := *fs.Pending
		p.Version = m.firmwareVersion(c.ID, p.Version, p.ReleaseDate)
		c.Pending = &p
	}
	return c
}

// firmwareVersion shows version of component as the backend does.
func (m *Machine) firmwareVersion(component, version string, released time.Time) string {
	if f, ok := m.parts.Update.(FirmwareVersionFormatter); ok {
		return f.FormatFirmwareVersion(component, version, released)
	}
	return version
}

// biosVersionLocked is the version the BIOS runs now ("" if none).
func (m *Machine) biosVersionLocked() string {
	for _, c := range m.firmware {
		if c.Kind == FirmwareBIOS {
			return m.currentLocked(c).Version
		}
	}
	return m.info.BiosVersion
}

// UpdateFirmware fetches the image at src and installs it on the
// component with ID component, or, when component is "", on the component
// the image says it is for. A component that needs a host reset gets the
// image staged (Pending) until the firmware next starts; others run it at
// once. Both are logged. progress, if not nil, is called as the update
// advances.
//
// Errors: ErrNotSupported (the backend cannot update firmware, or the
// component is not Updateable), ErrNotFound (no such component), ErrBusy
// (the component is being updated), *MediaError (the image could not be
// fetched), ErrFirmwareImage (implausible image), ErrFirmwareNotApplicable
// (the image is for another component).
func (m *Machine) UpdateFirmware(ctx context.Context, component string, src ImageSource, progress func(FirmwareProgress)) (FirmwareResult, error) {
	fu, err := m.firmwareTarget(component)
	if err != nil {
		return FirmwareResult{}, err
	}
	if err := m.reserveFirmware(component); err != nil {
		return FirmwareResult{}, err
	}
	defer m.releaseFirmware(component)
	if progress == nil {
		progress = func(FirmwareProgress) {}
	}
	progress(FirmwareProgress{Phase: FirmwareTransferring, Component: component, Total: -1})
	img, err := fu.FetchFirmware(ctx, src, func(done, total int64) {
		progress(FirmwareProgress{Phase: FirmwareTransferring, Component: component, Done: done, Total: total})
	})
	if err != nil {
		return FirmwareResult{}, fmt.Errorf("fetch firmware: %w", err)
	}
	return m.install(fu, component, img, RedactURL(src.URL), progress)
}

// InstallFirmware installs an image already in hand (a push update) as
// UpdateFirmware does after fetching; source names it in the log.
func (m *Machine) InstallFirmware(component string, img FirmwareImage, source string, progress func(FirmwareProgress)) (FirmwareResult, error) {
	fu, err := m.firmwareTarget(component)
	if err != nil {
		return FirmwareResult{}, err
	}
	if err := m.reserveFirmware(component); err != nil {
		return FirmwareResult{}, err
	}
	defer m.releaseFirmware(component)
	if progress == nil {
		progress = func(FirmwareProgress) {}
	}
	return m.install(fu, component, img, source, progress)
}

// firmwareTarget checks the backend can update component ("" for any).
func (m *Machine) firmwareTarget(component string) (FirmwareUpdater, error) {
	fu := m.parts.Update
	if fu == nil {
		return nil, fmt.Errorf("firmware update: %w", ErrNotSupported)
	}
	if component == "" {
		return fu, nil
	}
	c, ok := m.FirmwareComponent(component)
	switch {
	case !ok:
		return nil, fmt.Errorf("firmware component %q: %w", component, ErrNotFound)
	case !c.Updateable:
		return nil, fmt.Errorf("firmware component %q cannot be updated: %w", component, ErrNotSupported)
	}
	return fu, nil
}

// reserveFirmware marks a component as being updated ("" reserves
// nothing: the component is known only once the image is identified).
func (m *Machine) reserveFirmware(id string) error {
	if id == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fwBusy[id] {
		return fmt.Errorf("firmware component %q is being updated: %w", id, ErrBusy)
	}
	m.fwBusy[id] = true
	return nil
}

func (m *Machine) releaseFirmware(id string) {
	if id == "" {
		return
	}
	m.mu.Lock()
	delete(m.fwBusy, id)
	m.mu.Unlock()
}

// install checks img, matches it to the component and stages or
// activates it.
func (m *Machine) install(fu FirmwareUpdater, component string, img FirmwareImage, source string, progress func(FirmwareProgress)) (FirmwareResult, error) {
	if err := CheckFirmwareImage(img); err != nil {
		return FirmwareResult{}, err
	}
	idn := fu.IdentifyFirmware(img)
	target := component
	if target == "" {
		c, ok := m.componentNamed(idn.Component)
		if !ok {
			if idn.Component == "" {
				return FirmwareResult{}, fmt.Errorf("image %q names no component: %w", img.Name, ErrFirmwareImage)
			}
			return FirmwareResult{}, fmt.Errorf("image %q is for %q, which this machine does not have: %w",
				img.Name, idn.Component, ErrFirmwareNotApplicable)
		}
		if !c.Updateable {
			return FirmwareResult{}, fmt.Errorf("image %q is for %s, which cannot be updated: %w", img.Name, c.ID, ErrFirmwareNotApplicable)
		}
		target = c.ID
	} else if idn.Component != "" && !strings.EqualFold(idn.Component, component) {
		return FirmwareResult{}, fmt.Errorf("image %q is for %q, not %s: %w", img.Name, idn.Component, component, ErrFirmwareNotApplicable)
	}
	progress(FirmwareProgress{Phase: FirmwareVerifying, Component: target, Done: int64(len(img.Data)), Total: int64(len(img.Data))})
	if idn.Version == "" {
		return FirmwareResult{}, fmt.Errorf("image %q does not say its version: %w", img.Name, ErrFirmwareImage)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if component == "" {
		if m.fwBusy[target] {
			return FirmwareResult{}, fmt.Errorf("firmware component %q is being updated: %w", target, ErrBusy)
		}
	}
	var shipped FirmwareComponent
	for _, c := range m.firmware {
		if c.ID == target {
			shipped = c
		}
	}
	before := m.currentLocked(shipped)
	res := FirmwareResult{Version: idn.Version, Staged: shipped.ResetRequired}
	now := time.Now().UTC()
	released := idn.ReleaseDate.UTC()
	if released.IsZero() {
		released = now.Truncate(24 * time.Hour) // the image does not say: the day it came
	}
	shown := m.firmwareVersion(target, idn.Version, released)
	err := m.updateLocked(func(st *state) error {
		fs := st.Firmware[target]
		if res.Staged {
			fs.Pending = &StagedFirmware{Version: idn.Version, Image: source, Size: int64(len(img.Data)), Staged: now, ReleaseDate: released}
		} else {
			fs.Version, fs.ReleaseDate, fs.Pending = idn.Version, released, nil
		}
		st.Firmware[target] = fs
		return nil
	})
	if err != nil {
		return FirmwareResult{}, err
	}
	res.Component = m.currentLocked(shipped)
	if res.Staged {
		m.logLocked(Event{Kind: EventFirmwareStaged, Severity: SeverityOK, Message: fmt.Sprintf(
			"%s firmware %s (%s) staged; it takes effect at the next host reset (running %s)",
			shipped.ID, shown, source, before.Version),
			Component: shipped.ID, Image: source, Version: idn.Version})
	} else {
		m.logLocked(Event{Kind: EventFirmwareUpdated, Severity: SeverityOK, Message: fmt.Sprintf(
			"%s firmware updated from %s to %s (%s)", shipped.ID, before.Version, shown, source),
			Component: shipped.ID, Image: source, Version: idn.Version})
	}
	m.log.Info("firmware update", "component", target, "version", idn.Version, "staged", res.Staged)
	return res, nil
}

// componentNamed finds a component by ID without regard to case.
func (m *Machine) componentNamed(name string) (FirmwareComponent, bool) {
	if name == "" {
		return FirmwareComponent{}, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.firmware {
		if strings.EqualFold(c.ID, name) {
			return c, true
		}
	}
	return FirmwareComponent{}, false
}

// activateStagedLocked runs when the host firmware starts: every staged
// image becomes the running version, and each is logged. It changes st,
// which the caller persists.
func (m *Machine) activateStagedLocked(st *state) {
	for _, c := range m.firmware {
		fs, ok := st.Firmware[c.ID]
		if !ok || fs.Pending == nil {
			continue
		}
		from := c.Version
		if fs.Version != "" {
			from = m.firmwareVersion(c.ID, fs.Version, fs.ReleaseDate)
		}
		p := fs.Pending
		fs.Version, fs.ReleaseDate, fs.Pending = p.Version, p.ReleaseDate, nil
		st.Firmware[c.ID] = fs
		m.logLocked(Event{Kind: EventFirmwareUpdated, Severity: SeverityOK, Message: fmt.Sprintf(
			"%s firmware updated from %s to %s at host reset (%s)", c.ID, from,
			m.firmwareVersion(c.ID, p.Version, p.ReleaseDate), p.Image),
			Component: c.ID, Image: p.Image, Version: p.Version})
	}
}
