package hardware_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

func serveISO(w http.ResponseWriter, r *http.Request) {
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(isoImage))
}

// TestMediaTLSPolicy inserts images from https servers with their own
// certificates under each slot policy.
func TestMediaTLSPolicy(t *testing.T) {
	e := newEnv(t)
	m := e.m
	ctx := context.Background()
	ca := fetchtest.NewCA(t, "Image CA")
	wrong := fetchtest.NewCA(t, "Wrong CA")
	selfCert, selfPEM := fetchtest.SelfSigned(t)
	caSigned := fetchtest.NewTLSServer(t, http.HandlerFunc(serveISO), ca.ServerCert(t)).URL + "/boot.iso"
	self := fetchtest.NewTLSServer(t, http.HandlerFunc(serveISO), selfCert).URL + "/boot.iso"

	for _, tc := range []struct {
		name   string
		verify bool
		certs  []string
		url    string
		ok     bool
	}{
		{"default accepts a self-signed server", false, nil, self, true},
		{"default accepts a CA-signed server", false, nil, caSigned, true},
		{"no verify ignores the certificates", false, []string{wrong.PEM}, caSigned, true},
		{"verify without certificates refuses", true, nil, self, false},
		{"verify without certificates ignores the system roots", true, nil, caSigned, false},
		{"verify with the CA", true, []string{ca.PEM}, caSigned, true},
		{"verify with the CA among others", true, []string{wrong.PEM, ca.PEM}, caSigned, true},
		{"verify with the wrong CA", true, []string{wrong.PEM}, caSigned, false},
		{"verify with the self-signed certificate itself", true, []string{selfPEM}, self, true},
		{"verify with a CA, self-signed server", true, []string{ca.PEM}, self, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range mustSlot(t, m, "CD").Certificates {
				if err := m.DeleteMediaCertificate("CD", c.ID); err != nil {
					t.Fatal(err)
				}
			}
			for _, p := range tc.certs {
				if _, err := m.AddMediaCertificate("CD", p); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.SetMediaVerifyCertificate("CD", tc.verify); err != nil {
				t.Fatal(err)
			}
			err := m.InsertMedia(ctx, "CD", tc.url, true)
			md := mustSlot(t, m, "CD")
			if tc.ok {
				if err != nil || !md.Inserted || md.Format != "iso9660" {
					t.Fatalf("insert: %v; slot %+v", err, md)
				}
				if err := m.EjectMedia(ctx, "CD"); err != nil {
					t.Fatal(err)
				}
				return
			}
			var me *hardware.MediaError
			if !errors.As(err, &me) || !errors.Is(err, fetch.ErrCertificate) || !errors.Is(err, hardware.ErrMedia) {
				t.Fatalf("err %v, want a MediaError of class fetch.ErrCertificate", err)
			}
			if !strings.Contains(err.Error(), "certificate") || me.URL != tc.url {
				t.Errorf("error %q (URL %q) does not say what failed", err, me.URL)
			}
			if md.Inserted || md.Image != "" {
				t.Errorf("a refused image left the slot %+v", md)
			}
		})
	}
}

// With verification on, the trusted roots are the slot's certificates
// only: an empty pool, not nil (which would mean the host's roots).
func TestMediaTLSPolicyRoots(t *testing.T) {
	ca := fetchtest.NewCA(t, "Image CA")
	for _, tc := range []struct {
		md    hardware.Media
		roots int // -1: nil
	}{
		{hardware.Media{}, -1},
		{hardware.Media{Certificates: []hardware.Certificate{{ID: "1", PEM: ca.PEM}}}, -1},
		{hardware.Media{VerifyCertificate: true}, 0},
		{hardware.Media{VerifyCertificate: true, Certificates: []hardware.Certificate{{ID: "1", PEM: ca.PEM}}}, 1},
	} {
		p := tc.md.TLSPolicy()
		switch {
		case p.Verify != tc.md.VerifyCertificate:
			t.Errorf("%+v: Verify %v", tc.md, p.Verify)
		case tc.roots < 0 && p.Roots != nil:
			t.Errorf("%+v: roots without verification", tc.md)
		case tc.roots == 0 && (p.Roots == nil || !p.Roots.Equal(x509.NewCertPool())):
			t.Errorf("%+v: roots %v, want an empty pool", tc.md, p.Roots)
		case tc.roots == 1 && (p.Roots == nil || !p.Roots.Equal(fetch.Pool(ca.PEM))):
			t.Errorf("%+v: roots are not the slot's certificate", tc.md)
		}
	}
}

func mustSlot(t *testing.T, m *hardware.Machine, slot string) hardware.Media {
	t.Helper()
	md, ok := m.MediaSlot(slot)
	if !ok {
		t.Fatalf("no slot %s", slot)
	}
	return md
}

func TestMediaCertificates(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ca := fetchtest.NewCA(t, "Image CA")
	other := fetchtest.NewCA(t, "Other CA")
	im := newImages(t)

	md := mustSlot(t, e.m, "CD")
	if md.VerifyCertificate || len(md.Certificates) != 0 {
		t.Fatalf("a new slot verifies %v with certificates %v; want false and none", md.VerifyCertificate, md.Certificates)
	}
	gen := e.m.Generation()
	c1, err := e.m.AddMediaCertificate("CD", "# the image CA\n"+ca.PEM)
	if err != nil || c1.ID != "1" || c1.PEM != ca.PEM {
		t.Fatalf("add: %+v, %v; want ID 1 and the PEM without the comment", c1, err)
	}
	if e.m.Generation() == gen {
		t.Error("Generation unchanged by AddMediaCertificate")
	}
	c2, err := e.m.AddMediaCertificate("CD", other.PEM+ca.PEM) // a chain is one entry
	if err != nil || c2.ID != "2" {
		t.Fatalf("add chain: %+v, %v", c2, err)
	}
	for _, tc := range []struct {
		name, slot, pem string
		want            error
	}{
		{"garbage", "CD", "not a certificate", hardware.ErrInvalid},
		{"private key", "CD", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", hardware.ErrInvalid},
		{"duplicate", "CD", ca.PEM, hardware.ErrExists},
		{"unknown slot", "FLOPPY", ca.PEM, hardware.ErrNotFound},
	} {
		if _, err := e.m.AddMediaCertificate(tc.slot, tc.pem); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := e.m.AddMediaCertificate("CD", "junk"); !errors.Is(err, fetch.ErrBadCertificate) {
		t.Errorf("bad PEM: %v does not say why (fetch.ErrBadCertificate)", err)
	}
	if err := e.m.SetMediaVerifyCertificate("CD", true); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetMediaVerifyCertificate("FLOPPY", true); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("verify on an unknown slot: %v", err)
	}
	// The slot's settings outlive a medium and a restart, and belong to
	// that slot only.
	if err := e.m.InsertMedia(ctx, "CD", im.URL+"/a.iso", true); err != nil {
		t.Fatal(err)
	}
	if err := e.m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	md = mustSlot(t, e.m, "CD")
	if !md.VerifyCertificate || len(md.Certificates) != 2 || md.Certificates[0] != c1 || md.Certificates[1] != c2 {
		t.Fatalf("after eject and restart: verify %v, certificates %+v", md.VerifyCertificate, md.Certificates)
	}
	if usb := mustSlot(t, e.m, "USB"); usb.VerifyCertificate || len(usb.Certificates) != 0 {
		t.Errorf("USB took CD's settings: %+v", usb)
	}

	// Deleting: unknown IDs are ErrNotFound, IDs are not renumbered.
	if err := e.m.DeleteMediaCertificate("CD", "1"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "9", ""} {
		if err := e.m.DeleteMediaCertificate("CD", id); !errors.Is(err, hardware.ErrNotFound) {
			t.Errorf("delete %q: %v, want ErrNotFound", id, err)
		}
	}
	if err := e.m.DeleteMediaCertificate("FLOPPY", "2"); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("delete on an unknown slot: %v", err)
	}
	if md := mustSlot(t, e.m, "CD"); len(md.Certificates) != 1 || md.Certificates[0].ID != "2" {
		t.Fatalf("after delete: %+v", md.Certificates)
	}
	// The collection fills up.
	for i := 1; i < hardware.MaxMediaCertificates; i++ {
		c, err := e.m.AddMediaCertificate("CD", fetchtest.NewCA(t, "CA "+strconv.Itoa(i)).PEM)
		if err != nil {
			t.Fatalf("certificate %d: %v", i+1, err)
		}
		if want := strconv.Itoa(i + 2); c.ID != want {
			t.Fatalf("ID %s, want %s", c.ID, want)
		}
	}
	if _, err := e.m.AddMediaCertificate("CD", ca.PEM); !errors.Is(err, hardware.ErrFull) {
		t.Errorf("certificate %d: %v, want ErrFull", hardware.MaxMediaCertificates+1, err)
	}
}

// Settings changed while an image is being fetched are kept: the insert
// records the medium, not the slot as it was when the fetch began.
func TestMediaSettingsDuringInsert(t *testing.T) {
	e := newEnv(t)
	im := newImages(t)
	ca := fetchtest.NewCA(t, "Image CA")
	done := make(chan error, 1)
	go func() { done <- e.m.InsertMedia(context.Background(), "CD", im.URL+"/block/a.iso", true) }()
	<-im.entered
	if _, err := e.m.AddMediaCertificate("CD", ca.PEM); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetMediaVerifyCertificate("CD", true); err != nil {
		t.Fatal(err)
	}
	close(im.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	md := mustSlot(t, e.m, "CD")
	if !md.Inserted || !md.VerifyCertificate || len(md.Certificates) != 1 {
		t.Errorf("slot after the insert: %+v", md)
	}
}

// A backend that reports only an HTTP status still gets its class.
func TestMediaErrorClasses(t *testing.T) {
	for _, tc := range []struct {
		err  *hardware.MediaError
		want error
		text string
	}{
		{&hardware.MediaError{URL: "http://u:pw@h/x.iso", HTTPStatus: 404}, fetch.ErrNotFound, "image http://u:xxxxx@h/x.iso: HTTP status 404"},
		{&hardware.MediaError{URL: "http://h/x.iso", HTTPStatus: 403}, fetch.ErrUnauthorized, "image http://h/x.iso: HTTP status 403"},
		{&hardware.MediaError{URL: "http://h/x.iso", Err: &fetch.Error{URL: "http://u:pw@h/x.iso", Status: 500}, HTTPStatus: 500},
			fetch.ErrStatus, "image http://u:xxxxx@h/x.iso: HTTP status 500"},
		{&hardware.MediaError{URL: "http://h/x.iso", Err: errors.New("image is empty")}, hardware.ErrMedia, "image http://h/x.iso: image is empty"},
	} {
		if !errors.Is(tc.err, tc.want) || !errors.Is(tc.err, hardware.ErrMedia) || tc.err.Error() != tc.text {
			t.Errorf("%#v: %q; want class %v and text %q", tc.err, tc.err, tc.want, tc.text)
		}
	}
}
