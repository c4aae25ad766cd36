package hardware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/bmcd/bmcd/internal/fetch"
)

// VirtualMedia is the virtual media drives a backend presents to its
// host: a VM's CD-ROM, a USB gadget's mass storage, the simulation's
// drives. The Machine keeps each slot's state (the image, inserted or not,
// its certificates) and persists it; the backend presents what it is told.
// A machine without one has DisabledVirtualMedia: no slots.
type VirtualMedia interface {
	// Slots are the drives, in a stable order.
	Slots() []SlotSpec
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

// MediaResumer is implemented by a VirtualMedia whose host runs inside
// bmcd (the simulation), which forgets its media whenever bmcd stops.
// When bmcd starts, right after Attach and before the power is resumed
// (PowerResumer), the Machine hands it the image of each slot that was
// inserted before it stopped; the backend presents it again without
// fetching it (the image server may not be up yet: it may be bmcd
// itself). A backend whose host keeps its media (a VM) may implement it
// to check what the host holds against the slot (libvirt puts bmcd's image
// back into the domain's definition when someone else changed it).
type MediaResumer interface {
	ResumeMedia(slot, url string)
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

// DisabledVirtualMedia is the virtual media of a machine that has none.
type DisabledVirtualMedia struct{}

// Slots implements VirtualMedia: none.
func (DisabledVirtualMedia) Slots() []SlotSpec { return nil }

// InsertMedia implements VirtualMedia: ErrNotSupported.
func (DisabledVirtualMedia) InsertMedia(context.Context, string, MediaImage) (int64, string, error) {
	return 0, "", fmt.Errorf("insert media: %w", ErrNotSupported)
}

// EjectMedia implements VirtualMedia: ErrNotSupported.
func (DisabledVirtualMedia) EjectMedia(context.Context, string) error {
	return fmt.Errorf("eject media: %w", ErrNotSupported)
}

// MaxMediaCertificates is how many certificates one media slot keeps.
const MaxMediaCertificates = MaxTrustedCertificates

// TLSPolicy is how the slot checks an https image server: TrustPolicy of
// its VerifyCertificate and Certificates. With VerifyCertificate false any
// certificate is accepted (the default, as on real BMCs); with it true the
// server must present a certificate that chains to one of the slot's
// Certificates and names the URL's host. The host's system roots are not
// consulted, so a slot with no certificates refuses every https image.
func (md Media) TLSPolicy() fetch.Policy {
	return TrustPolicy(md.VerifyCertificate, md.Certificates)
}

// SetMediaVerifyCertificate sets whether the slot verifies the certificate
// of https image servers, from the next insert on; it is persisted.
// Errors: ErrNotFound for an unknown slot.
func (m *Machine) SetMediaVerifyCertificate(slot string, verify bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	if !ok {
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	}
	if md.VerifyCertificate == verify {
		return nil
	}
	md.VerifyCertificate = verify
	return m.updateLocked(func(st *state) error { st.Media[slot] = md; return nil })
}

// AddMediaCertificate adds PEM text of one certificate or a chain to the
// certificates the slot trusts, and returns it as stored (re-encoded, text
// outside the PEM blocks dropped) with its new ID. Errors: ErrNotFound
// for an unknown slot; ErrInvalid (wrapping fetch.ErrBadCertificate, with
// the reason) when the text is not PEM certificates; ErrExists when the
// slot holds the same certificates already; ErrFull beyond
// MaxMediaCertificates.
func (m *Machine) AddMediaCertificate(slot, pemText string) (Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	if !ok {
		return Certificate{}, fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	}
	certs, c, err := AddCertificate(md.Certificates, pemText)
	switch {
	case errors.Is(err, ErrInvalid):
		return Certificate{}, err // the reason, as protocols show it
	case err != nil:
		return Certificate{}, fmt.Errorf("slot %q: %w", slot, err)
	}
	md.Certificates = certs
	if err := m.updateLocked(func(st *state) error { st.Media[slot] = md; return nil }); err != nil {
		return Certificate{}, err
	}
	return c, nil
}

// DeleteMediaCertificate removes certificate id from the slot. Errors:
// ErrNotFound for an unknown slot or certificate.
func (m *Machine) DeleteMediaCertificate(slot, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	if !ok {
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	}
	certs, err := RemoveCertificate(md.Certificates, id)
	if err != nil {
		return fmt.Errorf("slot %q: %w", slot, err)
	}
	md.Certificates = certs
	return m.updateLocked(func(st *state) error { st.Media[slot] = md; return nil })
}

// InsertOptions are how InsertMedia attaches an image: Redfish's
// VirtualMedia.InsertMedia parameters Inserted and WriteProtected. The
// zero value is neither; the Redfish default (both true) is the
// protocol's to apply.
type InsertOptions struct {
	// Inserted presents the image to the host as a medium in the slot.
	// False keeps the checked image attached to the slot without a medium
	// the host can see or the firmware can boot, until ChangeMedia
	// inserts it.
	Inserted bool
	// WriteProtected is shown with the image; the backend presents the
	// medium read-only either way when it cannot write images back.
	WriteProtected bool
}

// MediaChange changes the image a slot holds, as Redfish's PATCH of a
// VirtualMedia's Inserted and WriteProtected does. Nil fields are left as
// they are.
type MediaChange struct {
	// Inserted true presents the held image to the host (the backend
	// checks it again, as a BMC reconnecting to it would); false takes the
	// medium away from the host and keeps the image attached.
	Inserted *bool
	// WriteProtected sets the held image's write protection.
	WriteProtected *bool
}

// InsertMedia attaches the image at rawURL to slot, inserted or not as o
// says. The backend checks the image can be read before anything is
// recorded; the slot keeps the image (persisted) until EjectMedia.
// Errors: ErrNotSupported without VirtualMedia; ErrInvalid for a URL
// that is not http or https with a host; ErrNotFound for an unknown slot;
// ErrBusy when the slot holds an image (inserted or not) or is checking
// one; a *MediaError (wrapping ErrMedia) when the image cannot be read.
func (m *Machine) InsertMedia(ctx context.Context, slot, rawURL string, o InsertOptions) error {
	mb, ok := m.parts.Media, !disabled(m.parts.Media)
	if !ok {
		return fmt.Errorf("insert media: %w", ErrNotSupported)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("image %q: only http and https URLs are supported: %w", RedactURL(rawURL), ErrInvalid)
	}
	m.mu.Lock()
	md, ok := m.st.Media[slot]
	switch {
	case !ok:
		m.mu.Unlock()
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	case md.Image != "" || m.inserting[slot]:
		m.mu.Unlock()
		return fmt.Errorf("slot %q already holds an image: %w", slot, ErrBusy)
	}
	m.inserting[slot] = true
	m.mu.Unlock()

	size, format, err := mb.InsertMedia(ctx, slot, MediaImage{URL: rawURL, TLS: md.TLSPolicy(), CheckOnly: !o.Inserted})

	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.inserting, slot)
	if err != nil {
		return fmt.Errorf("insert media %s into %s: %w", RedactURL(rawURL), slot, err)
	}
	md = m.st.Media[slot] // the slot's settings may have changed meanwhile
	md.Image, md.Inserted, md.WriteProtected = rawURL, o.Inserted, o.WriteProtected
	md.Size, md.Format, md.InsertedAt = size, format, time.Now().UTC()
	if err := m.updateLocked(func(st *state) error { st.Media[slot] = md; return nil }); err != nil {
		return err
	}
	// The event log records what the host sees: a medium arriving.
	if o.Inserted {
		m.logLocked(Event{Kind: EventMediaInsert, Severity: SeverityOK, Message: fmt.Sprintf("Virtual media %s inserted into %s", RedactURL(rawURL), slot), Slot: slot, Image: RedactURL(rawURL)})
	}
	return nil
}

// ChangeMedia applies c to the image slot holds, as one step: either all
// of it takes effect or nothing does. Changing nothing is not an error,
// nor is Inserted false on a slot without an image. Errors: ErrNotFound
// for an unknown slot; ErrBusy while the slot checks an image; ErrState
// when c inserts or write-protects an image and the slot holds none;
// ErrNotSupported without VirtualMedia; a *MediaError when the image
// to insert can no longer be read (it stays attached, not inserted).
func (m *Machine) ChangeMedia(ctx context.Context, slot string, c MediaChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	switch {
	case !ok:
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	case m.inserting[slot]:
		return fmt.Errorf("slot %q is still checking an image: %w", slot, ErrBusy)
	case md.Image == "" && ((c.Inserted != nil && *c.Inserted) || c.WriteProtected != nil):
		return fmt.Errorf("slot %q holds no image: %w", slot, ErrState)
	case md.Image == "":
		return nil
	}
	next := md
	if c.WriteProtected != nil {
		next.WriteProtected = *c.WriteProtected
	}
	insert := c.Inserted != nil && *c.Inserted && !md.Inserted
	remove := c.Inserted != nil && !*c.Inserted && md.Inserted
	mb, hasBackend := m.parts.Media, !disabled(m.parts.Media)
	switch {
	case (insert || remove) && !hasBackend:
		return fmt.Errorf("change media: %w", ErrNotSupported)
	case insert:
		// The backend checks the image again, as it did when the image
		// was attached; the lock is released meanwhile and the slot is
		// busy.
		m.inserting[slot] = true
		m.mu.Unlock()
		size, format, err := mb.InsertMedia(ctx, slot, MediaImage{URL: md.Image, TLS: md.TLSPolicy()})
		m.mu.Lock()
		delete(m.inserting, slot)
		if err != nil {
			return fmt.Errorf("insert media %s into %s: %w", RedactURL(md.Image), slot, err)
		}
		// VerifyCertificate and Certificates may have changed meanwhile.
		cur := m.st.Media[slot]
		next.VerifyCertificate, next.Certificates = cur.VerifyCertificate, cur.Certificates
		next.Inserted, next.Size, next.Format, next.InsertedAt = true, size, format, time.Now().UTC()
	case remove:
		if err := m.unlockedForBackend(slot, func() error { return mb.EjectMedia(ctx, slot) }); err != nil {
			return fmt.Errorf("eject %s: %w", slot, err)
		}
		next.Inserted = false
	}
	if next.Inserted == md.Inserted && next.WriteProtected == md.WriteProtected {
		return nil
	}
	if err := m.updateLocked(func(st *state) error { st.Media[slot] = next; return nil }); err != nil {
		return err
	}
	switch {
	case insert:
		m.logLocked(Event{Kind: EventMediaInsert, Severity: SeverityOK, Message: fmt.Sprintf("Virtual media %s inserted into %s", RedactURL(md.Image), slot), Slot: slot, Image: RedactURL(md.Image)})
	case remove:
		m.logLocked(Event{Kind: EventMediaEject, Severity: SeverityOK, Message: fmt.Sprintf("Virtual media %s ejected from %s; the image stays attached, not inserted", RedactURL(md.Image), slot), Slot: slot, Image: RedactURL(md.Image)})
	}
	return nil
}

// EjectMedia detaches the image slot holds, inserted or not; the slot's
// VerifyCertificate and Certificates stay. Ejecting an empty slot
// succeeds. Errors: ErrNotFound for an unknown slot; ErrBusy while the
// slot checks an image.
func (m *Machine) EjectMedia(ctx context.Context, slot string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	md, ok := m.st.Media[slot]
	if !ok {
		return fmt.Errorf("slot %q: %w", slot, ErrNotFound)
	}
	if m.inserting[slot] {
		return fmt.Errorf("slot %q is still checking an image: %w", slot, ErrBusy)
	}
	if md.Image == "" && !md.Inserted {
		return nil
	}
	if !disabled(m.parts.Media) {
		if err := m.unlockedForBackend(slot, func() error { return m.parts.Media.EjectMedia(ctx, slot) }); err != nil {
			return fmt.Errorf("eject %s: %w", slot, err)
		}
		md = m.st.Media[slot] // certificates may have changed meanwhile
	}
	err := m.updateLocked(func(st *state) error {
		st.Media[slot] = Media{SlotSpec: md.SlotSpec, Size: -1,
			VerifyCertificate: md.VerifyCertificate, Certificates: md.Certificates}
		return nil
	})
	if err != nil {
		return err
	}
	// The host sees a medium go only if one was inserted.
	if md.Inserted {
		m.logLocked(Event{Kind: EventMediaEject, Severity: SeverityOK, Message: fmt.Sprintf("Virtual media %s ejected from %s", RedactURL(md.Image), slot), Slot: slot, Image: RedactURL(md.Image)})
	}
	return nil
}

// unlockedForBackend runs fn, a call into the backend, with m.mu released
// and the slot busy (other operations on it get ErrBusy), as every call
// into the backend is made: the backend may call Host under its own locks.
// The caller holds m.mu, and holds it again when this returns.
func (m *Machine) unlockedForBackend(slot string, fn func() error) error {
	m.inserting[slot] = true
	m.mu.Unlock()
	err := fn()
	m.mu.Lock()
	delete(m.inserting, slot)
	return err
}

// ISOHeadSize is how much of an image MediaFormat needs: up to the end of
// the ISO 9660 primary volume descriptor's identifier (ECMA-119 §8.4).
const ISOHeadSize = 32774

// MediaFormat tells an ISO 9660 image by its primary volume descriptor
// ("CD001" at byte 32769, ECMA-119 §8.4) in head, the image's first
// ISOHeadSize bytes or more: "iso9660", else "raw".
func MediaFormat(head []byte) string {
	if len(head) >= ISOHeadSize && string(head[32769:ISOHeadSize]) == "CD001" {
		return "iso9660"
	}
	return "raw"
}

// MediaFetchError is what a VirtualMedia returns for a failed fetch of
// rawURL (a media or firmware image) through internal/fetch: a URL that is
// not http or https is ErrInvalid; anything else is a *MediaError wrapping
// the *fetch.Error, so its class (fetch.ErrCertificate, fetch.ErrNotFound,
// ...) and HTTP status stay visible to protocols.
func MediaFetchError(rawURL string, err error) error {
	if errors.Is(err, fetch.ErrUnsupported) {
		return fmt.Errorf("%v: %w", err, ErrInvalid)
	}
	var fe *fetch.Error
	status := 0
	if errors.As(err, &fe) {
		status = fe.Status
	}
	return &MediaError{URL: rawURL, HTTPStatus: status, Err: err}
}

// ProbeBytes is how much of an image ProbeMedia reads: past the ISO 9660
// primary volume descriptor at 32 KiB.
const ProbeBytes = 36 * 1024

// ProbeMedia checks that img can be read, as a BMC mounting it would: it
// fetches its first ProbeBytes through f under img.TLS and returns the
// image's size in bytes (-1 when the server does not say) and its format
// (MediaFormat). Errors: MediaFetchError's (ErrInvalid for a URL that is
// not http or https, else a *MediaError), and a *MediaError for an empty
// image or a read that fails.
func ProbeMedia(ctx context.Context, f *fetch.Fetcher, img MediaImage) (size int64, format string, err error) {
	resp, err := f.Get(ctx, img.URL, img.TLS, http.Header{"Range": {fmt.Sprintf("bytes=0-%d", ProbeBytes-1)}})
	if err != nil {
		return 0, "", MediaFetchError(img.URL, err)
	}
	defer resp.Body.Close()
	size = resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		size = fetch.TotalFromContentRange(resp.Header.Get("Content-Range"))
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, ProbeBytes))
	if err != nil {
		return 0, "", &MediaError{URL: img.URL, Err: err}
	}
	if len(head) == 0 {
		return 0, "", &MediaError{URL: img.URL, Err: errors.New("image is empty")}
	}
	return size, MediaFormat(head), nil
}

// DownloadMedia fetches img whole through f under img.TLS into the file
// final (written beside it first, then renamed, so final is never half
// written) and returns its size in bytes and its format (MediaFormat).
// Errors: MediaFetchError's, a *MediaError for an empty image or a read
// that fails, and the file system's own.
func DownloadMedia(ctx context.Context, f *fetch.Fetcher, img MediaImage, final string) (size int64, format string, err error) {
	resp, err := f.Get(ctx, img.URL, img.TLS, nil)
	if err != nil {
		return 0, "", MediaFetchError(img.URL, err)
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(final), "download-*")
	if err != nil {
		return 0, "", err
	}
	head := &headBuffer{max: ISOHeadSize}
	n, err := io.Copy(io.MultiWriter(tmp, head), resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n == 0 {
		err = errors.New("image is empty")
	}
	if err != nil {
		os.Remove(tmp.Name())
		return 0, "", &MediaError{URL: img.URL, Err: err}
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		os.Remove(tmp.Name())
		return 0, "", err
	}
	return n, MediaFormat(head.buf), nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	max int
	buf []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
