package fetch

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrBadCertificate: text given as trusted certificates is not PEM
// certificates.
var ErrBadCertificate = errors.New("not a PEM certificate")

// ParseCertificates parses PEM text holding one or more "CERTIFICATE"
// blocks (RFC 7468), as a Redfish CertificateString of CertificateType PEM
// or PEMchain carries. Text outside the blocks (comments in a CA bundle)
// is ignored; a block of another type (a private key), an unterminated
// block, or a certificate crypto/x509 cannot parse is an error that wraps
// ErrBadCertificate and says what is wrong.
func ParseCertificates(text string) ([]*x509.Certificate, error) {
	rest := []byte(text)
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is %q, want CERTIFICATE: %w", len(out)+1, b.Type, ErrBadCertificate)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %v: %w", len(out)+1, err, ErrBadCertificate)
		}
		out = append(out, c)
	}
	if bytes.Contains(rest, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("PEM block %d is malformed or has no END line: %w", len(out)+1, ErrBadCertificate)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM CERTIFICATE block: %w", ErrBadCertificate)
	}
	return out, nil
}

// EncodeCertificates is the PEM text of certs, one block each.
func EncodeCertificates(certs []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}

// Pool is a certificate pool of every certificate in the PEM texts; text
// that does not parse is skipped. No text gives an empty pool, which
// trusts nothing.
func Pool(pemTexts ...string) *x509.CertPool {
	p := x509.NewCertPool()
	for _, t := range pemTexts {
		p.AppendCertsFromPEM([]byte(t))
	}
	return p
}
