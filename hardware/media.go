package hardware

import (
	"errors"
	"fmt"

	"github.com/bmcd/bmcd/internal/fetch"
)

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
