package hardware_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
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
			err := m.InsertMedia(ctx, "CD", tc.url, hardware.InsertOptions{Inserted: true, WriteProtected: true})
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
	if err := e.m.InsertMedia(ctx, "CD", im.URL+"/a.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
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
	go func() {
		done <- e.m.InsertMedia(context.Background(), "CD", im.URL+"/block/a.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true})
	}()
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

// mediaRecorder is the simulation with its VirtualMedia calls recorded.
type mediaRecorder struct {
	*sim.Machine
	mu    sync.Mutex
	calls []string
}

// Attach puts the recorder in place of the simulation's media.
func (r *mediaRecorder) Attach(h hardware.Host) hardware.Parts {
	p := r.Machine.Attach(h)
	p.Media = r
	return p
}

func (r *mediaRecorder) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	r.mu.Lock()
	r.calls = append(r.calls, fmt.Sprintf("insert %s check-only=%v", slot, img.CheckOnly))
	r.mu.Unlock()
	return r.Machine.InsertMedia(ctx, slot, img)
}

func (r *mediaRecorder) EjectMedia(ctx context.Context, slot string) error {
	r.mu.Lock()
	r.calls = append(r.calls, "eject "+slot)
	r.mu.Unlock()
	return r.Machine.EjectMedia(ctx, slot)
}

// took returns the calls recorded since the last took.
func (r *mediaRecorder) took() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.calls, ", ")
	r.calls = nil
	return s
}

// TestMediaNotInserted follows an image attached with Inserted false: the
// host sees no medium and the firmware cannot boot it until ChangeMedia
// inserts it; it survives a restart; EjectMedia clears it.
func TestMediaNotInserted(t *testing.T) {
	im := newImages(t)
	st := newMemStore()
	rec := &mediaRecorder{Machine: sim.New(sim.Config{ID: "sys1", Seed: "test", Fetcher: &fetch.Fetcher{Timeout: deadline}})}
	open := func() *hardware.Machine {
		m, err := hardware.NewMachine("sys1", rec, st, quiet)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := open()
	ctx := context.Background()
	url := im.URL + "/os.iso"
	if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootCd, Enabled: hardware.BootContinuous}); err != nil {
		t.Fatal(err)
	}
	bootsCd := func(want bool) {
		t.Helper()
		res := m.Boot()
		if got := res.Source == hardware.BootCd && res.Image == url; got != want {
			t.Errorf("boot from %s image %q; want the CD image: %v", res.Source, res.Image, want)
		}
		if ev := last(t, m.Events(), hardware.EventBoot); !want && !strings.Contains(ev.Message, "no medium in CD") {
			t.Errorf("boot event %q does not say the CD has no medium", ev.Message)
		}
	}

	// Attached, not inserted: the image was checked; nothing for the host.
	if err := m.InsertMedia(ctx, "CD", url, hardware.InsertOptions{WriteProtected: false}); err != nil {
		t.Fatal(err)
	}
	if got := rec.took(); got != "insert CD check-only=true" {
		t.Errorf("backend calls %q", got)
	}
	md := mustSlot(t, m, "CD")
	if md.Inserted || md.Image != url || md.WriteProtected || md.Format != "iso9660" || md.Size != int64(len(isoImage)) {
		t.Errorf("after InsertMedia Inserted false: %+v", md)
	}
	if n := count(m.Events(), hardware.EventMediaInsert); n != 0 {
		t.Errorf("%d insert events for a medium the host never saw", n)
	}
	bootsCd(false)
	if err := m.InsertMedia(ctx, "CD", url, hardware.InsertOptions{Inserted: true}); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("insert over a held image: %v, want ErrBusy", err)
	}

	// The held image survives a restart.
	m = open()
	if got := mustSlot(t, m, "CD"); got.Inserted || got.Image != url {
		t.Fatalf("after restart: %+v", got)
	}

	// Inserting it later: checked again, then the host sees it.
	g := m.Generation()
	if err := m.ChangeMedia(ctx, "CD", hardware.MediaChange{Inserted: ptr(true), WriteProtected: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if got := rec.took(); got != "insert CD check-only=false" {
		t.Errorf("backend calls %q", got)
	}
	if md := mustSlot(t, m, "CD"); !md.Inserted || md.Image != url || !md.WriteProtected || m.Generation() == g {
		t.Errorf("after ChangeMedia Inserted true: %+v", md)
	}
	if ev := last(t, m.Events(), hardware.EventMediaInsert); !strings.Contains(ev.Message, url) {
		t.Errorf("insert event %q", ev.Message)
	}
	bootsCd(true)

	// Taking the medium away keeps the image.
	if err := m.ChangeMedia(ctx, "CD", hardware.MediaChange{Inserted: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if got := rec.took(); got != "eject CD" {
		t.Errorf("backend calls %q", got)
	}
	if md := mustSlot(t, m, "CD"); md.Inserted || md.Image != url {
		t.Errorf("after ChangeMedia Inserted false: %+v", md)
	}
	if ev := last(t, m.Events(), hardware.EventMediaEject); !strings.Contains(ev.Message, "stays attached") {
		t.Errorf("eject event %q", ev.Message)
	}
	bootsCd(false)

	// Nothing to change: no call, no new generation.
	g = m.Generation()
	for _, c := range []hardware.MediaChange{{}, {Inserted: ptr(false)}, {WriteProtected: ptr(true)}} {
		if err := m.ChangeMedia(ctx, "CD", c); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if m.Generation() != g || rec.took() != "" {
		t.Error("a ChangeMedia that changes nothing changed something")
	}
	if err := m.ChangeMedia(ctx, "CD", hardware.MediaChange{WriteProtected: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if md := mustSlot(t, m, "CD"); md.WriteProtected || md.Inserted || m.Generation() == g {
		t.Errorf("after ChangeMedia WriteProtected false: %+v", md)
	}

	// An image that went away cannot be inserted; the slot keeps it.
	gone := newImages(t)
	if err := m.InsertMedia(ctx, "USB", gone.URL+"/stick.img", hardware.InsertOptions{}); err != nil {
		t.Fatal(err)
	}
	gone.Close()
	if err := m.ChangeMedia(ctx, "USB", hardware.MediaChange{Inserted: ptr(true), WriteProtected: ptr(true)}); !errors.Is(err, hardware.ErrMedia) {
		t.Errorf("inserting an unreachable image: %v, want ErrMedia", err)
	}
	if md := mustSlot(t, m, "USB"); md.Inserted || md.WriteProtected || md.Image != gone.URL+"/stick.img" {
		t.Errorf("after a failed insert: %+v", md)
	}

	// EjectMedia clears a held image; the host saw nothing go.
	rec.took()
	ejects := count(m.Events(), hardware.EventMediaEject)
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	if md := mustSlot(t, m, "CD"); md.Image != "" || md.Inserted || md.Size != -1 {
		t.Errorf("after EjectMedia: %+v", md)
	}
	if count(m.Events(), hardware.EventMediaEject) != ejects {
		t.Error("ejecting an image that was not inserted was logged as a medium leaving the host")
	}

	// An empty slot has nothing to insert or protect; Inserted false is fine.
	for _, tc := range []struct {
		slot string
		c    hardware.MediaChange
		want error
	}{
		{"CD", hardware.MediaChange{Inserted: ptr(true)}, hardware.ErrState},
		{"CD", hardware.MediaChange{WriteProtected: ptr(true)}, hardware.ErrState},
		{"CD", hardware.MediaChange{Inserted: ptr(false)}, nil},
		{"FLOPPY", hardware.MediaChange{Inserted: ptr(false)}, hardware.ErrNotFound},
	} {
		if err := m.ChangeMedia(ctx, tc.slot, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s %+v: %v, want %v", tc.slot, tc.c, err, tc.want)
		}
	}
}

// ChangeMedia waits for no fetch: while the slot checks an image it is busy.
func TestChangeMediaBusy(t *testing.T) {
	e := newEnv(t)
	im := newImages(t)
	done := make(chan error, 1)
	go func() {
		done <- e.m.InsertMedia(context.Background(), "CD", im.URL+"/block/a.iso", hardware.InsertOptions{})
	}()
	<-im.entered
	if err := e.m.ChangeMedia(context.Background(), "CD", hardware.MediaChange{Inserted: ptr(true)}); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("ChangeMedia during a fetch: %v, want ErrBusy", err)
	}
	close(im.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.m.ChangeMedia(context.Background(), "CD", hardware.MediaChange{Inserted: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if md := mustSlot(t, e.m, "CD"); !md.Inserted {
		t.Errorf("after ChangeMedia: %+v", md)
	}
}

func TestMediaFormat(t *testing.T) {
	iso := make([]byte, hardware.ISOHeadSize)
	copy(iso[32769:], "CD001")
	early := make([]byte, hardware.ISOHeadSize)
	copy(early[32768:], "CD001")
	for _, tc := range []struct {
		head []byte
		want string
	}{{iso, "iso9660"}, {early, "raw"}, {iso[:32773], "raw"}, {nil, "raw"}} {
		if got := hardware.MediaFormat(tc.head); got != tc.want {
			t.Errorf("MediaFormat(%d bytes) = %q, want %q", len(tc.head), got, tc.want)
		}
	}
}
