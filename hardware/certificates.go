package hardware

import (
	"fmt"
	"strconv"

	"github.com/bmcd/bmcd/internal/fetch"
)

// The trusted certificates of a remote-server TLS policy: a VirtualMedia
// slot's Certificates (VerifyCertificate) and the UpdateService's
// RemoteServerCertificates (VerifyRemoteServerCertificate) follow the one
// rule below, so an image server is trusted the same way whatever it
// serves.

// MaxTrustedCertificates is how many certificates one collection of
// trusted certificates keeps.
const MaxTrustedCertificates = 16

// TrustPolicy is the TLS policy of a verify switch and its trusted
// certificates: with verify false any certificate is accepted (the
// Redfish default, as on real BMCs); with verify true the server must
// present a chain to one of certs that names the URL's host. The host's
// system roots are never consulted, so verify with no certificates
// refuses every https server.
func TrustPolicy(verify bool, certs []Certificate) fetch.Policy {
	if !verify {
		return fetch.Policy{}
	}
	pems := make([]string, len(certs))
	for i, c := range certs {
		pems[i] = c.PEM
	}
	return fetch.Policy{Verify: true, Roots: fetch.Pool(pems...)}
}

// AddCertificate returns certs with the PEM text of one certificate or a
// chain appended, and the new entry as stored (re-encoded, text outside
// the PEM blocks dropped) with the next free ID ("1", "2", ...). certs is
// not modified. Errors: ErrInvalid (wrapping fetch.ErrBadCertificate, with
// the reason) when the text is not PEM certificates; ErrExists when certs
// holds the same certificates already; ErrFull beyond
// MaxTrustedCertificates.
func AddCertificate(certs []Certificate, pemText string) ([]Certificate, Certificate, error) {
	parsed, err := fetch.ParseCertificates(pemText)
	if err != nil {
		return nil, Certificate{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c := Certificate{PEM: fetch.EncodeCertificates(parsed)}
	next := 1
	for _, have := range certs {
		if have.PEM == c.PEM {
			return nil, Certificate{}, fmt.Errorf("certificate %s: %w", have.ID, ErrExists)
		}
		if n, err := strconv.Atoi(have.ID); err == nil && n >= next {
			next = n + 1
		}
	}
	if len(certs) >= MaxTrustedCertificates {
		return nil, Certificate{}, fmt.Errorf("%d certificates held: %w", MaxTrustedCertificates, ErrFull)
	}
	c.ID = strconv.Itoa(next)
	// A new slice: copies of the state handed out keep theirs.
	return append(append([]Certificate(nil), certs...), c), c, nil
}

// RemoveCertificate returns certs without certificate id (nil when none
// is left); certs is not modified. Errors: ErrNotFound.
func RemoveCertificate(certs []Certificate, id string) ([]Certificate, error) {
	keep := make([]Certificate, 0, len(certs))
	for _, c := range certs {
		if c.ID != id {
			keep = append(keep, c)
		}
	}
	if len(keep) == len(certs) {
		return nil, fmt.Errorf("certificate %q: %w", id, ErrNotFound)
	}
	if len(keep) == 0 {
		keep = nil
	}
	return keep, nil
}
