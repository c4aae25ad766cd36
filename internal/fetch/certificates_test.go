package fetch_test

import (
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

func TestParseCertificates(t *testing.T) {
	ca := fetchtest.NewCA(t, "Image CA")
	other := fetchtest.NewCA(t, "Other CA")
	body := strings.TrimSuffix(strings.TrimPrefix(ca.PEM, "-----BEGIN CERTIFICATE-----\n"), "-----END CERTIFICATE-----\n")
	for _, tc := range []struct {
		name string
		text string
		n    int    // certificates; 0 means an error
		why  string // in the error
	}{
		{"one", ca.PEM, 1, ""},
		{"chain", ca.PEM + other.PEM, 2, ""},
		{"CRLF and comments around", "# Image CA\r\n" + strings.ReplaceAll(ca.PEM, "\n", "\r\n") + "\n# end\n", 1, ""},
		{"empty", "", 0, "no PEM CERTIFICATE block"},
		{"garbage", "not a certificate", 0, "no PEM CERTIFICATE block"},
		{"base64 without armour", body, 0, "no PEM CERTIFICATE block"},
		{"private key", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", 0, `"PRIVATE KEY"`},
		{"key after a certificate", ca.PEM + "-----BEGIN EC PRIVATE KEY-----\nMIIB\n-----END EC PRIVATE KEY-----\n", 0, "block 2"},
		{"no END line", "-----BEGIN CERTIFICATE-----\n" + body, 0, "no END line"},
		{"truncated second block", ca.PEM + "-----BEGIN CERTIFICATE-----\nMIIB", 0, "block 2"},
		{"not DER inside", "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n", 0, "block 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := fetch.ParseCertificates(tc.text)
			if tc.n == 0 {
				if !errors.Is(err, fetch.ErrBadCertificate) || !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("err %v, want ErrBadCertificate saying %q", err, tc.why)
				}
				return
			}
			if err != nil || len(certs) != tc.n {
				t.Fatalf("%d certificates, err %v; want %d", len(certs), err, tc.n)
			}
			if certs[0].Subject.CommonName != "Image CA" {
				t.Errorf("first subject %v", certs[0].Subject)
			}
			again, err := fetch.ParseCertificates(fetch.EncodeCertificates(certs))
			if err != nil || len(again) != tc.n || !again[0].Equal(certs[0]) {
				t.Errorf("EncodeCertificates does not round-trip: %v", err)
			}
		})
	}
	if fetch.EncodeCertificates(mustParse(t, ca.PEM)) != ca.PEM {
		t.Error("EncodeCertificates of one certificate is not its canonical PEM")
	}
}

func mustParse(t *testing.T, text string) []*x509.Certificate {
	t.Helper()
	c, err := fetch.ParseCertificates(text)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
