package hardware_test

import (
	"crypto/x509"
	"errors"
	"strconv"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

// TestTrustPolicy: the one rule for every collection of trusted
// certificates (media slots, the UpdateService).
func TestTrustPolicy(t *testing.T) {
	ca := fetchtest.NewCA(t, "CA")
	for _, c := range []struct {
		name   string
		verify bool
		certs  []hardware.Certificate
		roots  int // -1: no pool
	}{
		{"off: nothing checked", false, []hardware.Certificate{{ID: "1", PEM: ca.PEM}}, -1},
		{"on without certificates: an empty pool, never the system roots", true, nil, 0},
		{"on: the certificates", true, []hardware.Certificate{{ID: "1", PEM: ca.PEM}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := hardware.TrustPolicy(c.verify, c.certs)
			if p.Verify != c.verify {
				t.Errorf("Verify %v", p.Verify)
			}
			switch {
			case c.roots < 0 && p.Roots != nil:
				t.Error("a pool when not verifying")
			case c.roots >= 0 && (p.Roots == nil || !p.Roots.Equal(poolOf(t, c.certs))):
				t.Errorf("roots %v, want the %d certificates only", p.Roots, c.roots)
			}
		})
	}
}

func TestAddRemoveCertificate(t *testing.T) {
	a, b := fetchtest.NewCA(t, "A"), fetchtest.NewCA(t, "B")
	certs, c, err := hardware.AddCertificate(nil, "a comment\n"+a.PEM)
	if err != nil || c.ID != "1" || c.PEM != a.PEM || len(certs) != 1 {
		t.Fatalf("add: %v %+v %v", certs, c, err)
	}
	for _, tc := range []struct {
		name string
		pem  string
		want error
	}{
		{"not PEM", "garbage", hardware.ErrInvalid},
		{"the same again", a.PEM, hardware.ErrExists},
	} {
		if _, _, err := hardware.AddCertificate(certs, tc.pem); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	two, c2, err := hardware.AddCertificate(certs, b.PEM)
	if err != nil || c2.ID != "2" || len(certs) != 1 || len(two) != 2 {
		t.Fatalf("second add: %v %+v %v (first list %d long)", two, c2, err, len(certs))
	}
	one, err := hardware.RemoveCertificate(two, "1")
	if err != nil || len(one) != 1 || one[0].ID != "2" || len(two) != 2 {
		t.Fatalf("remove: %v %v", one, err)
	}
	if _, err := hardware.RemoveCertificate(one, "1"); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	// IDs are not reused while higher ones exist.
	if _, c3, _ := hardware.AddCertificate(one, a.PEM); c3.ID != "3" {
		t.Errorf("re-added as %s", c3.ID)
	}
	if none, err := hardware.RemoveCertificate(one, "2"); err != nil || none != nil {
		t.Errorf("remove the last: %v %v", none, err)
	}
	full := []hardware.Certificate{}
	for i := 0; i < hardware.MaxTrustedCertificates; i++ {
		full = append(full, hardware.Certificate{ID: strconv.Itoa(i + 1), PEM: fetchtest.NewCA(t, "C").PEM})
	}
	if _, _, err := hardware.AddCertificate(full, a.PEM); !errors.Is(err, hardware.ErrFull) {
		t.Errorf("beyond %d: %v", hardware.MaxTrustedCertificates, err)
	}
}

func poolOf(t *testing.T, certs []hardware.Certificate) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	for _, c := range certs {
		if !p.AppendCertsFromPEM([]byte(c.PEM)) {
			t.Fatalf("certificate %s is not PEM", c.ID)
		}
	}
	return p
}
