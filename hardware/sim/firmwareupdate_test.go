package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

var _ hardware.FirmwareUpdater = (*Machine)(nil)

func TestFirmwareComponents(t *testing.T) {
	m := New(Config{ID: "0", Seed: "fw"})
	cs := m.FirmwareComponents()
	ids := map[string]hardware.FirmwareComponent{}
	for _, c := range cs {
		ids[c.ID] = c
		if c.Version == "" || c.SoftwareID == "" || c.Name == "" || !c.Updateable || c.Pending != nil {
			t.Errorf("%s: incomplete %+v", c.ID, c)
		}
	}
	bios, ok := ids["BIOS"]
	if !ok || bios.Kind != hardware.FirmwareBIOS || bios.Version != m.Info().BiosVersion || !bios.ResetRequired {
		t.Errorf("BIOS component %+v, Info.BiosVersion %q", bios, m.Info().BiosVersion)
	}
	if nic := ids["NIC"]; nic.Kind != hardware.FirmwareNIC || len(nic.Devices) != len(m.Info().NICs) || !nic.ResetRequired {
		t.Errorf("NIC component %+v", nic)
	}
	if d := ids["Disk0"]; d.Kind != hardware.FirmwareDrive || d.ResetRequired || len(d.Devices) != 1 || d.Devices[0] != m.Info().Disks[0].ID {
		t.Errorf("Disk0 component %+v", d)
	}
}

func TestIdentifyFirmware(t *testing.T) {
	m := New(Config{ID: "0", Seed: "fw"})
	bin := []byte{0x7f, 'E', 'L', 'F', 0, 1, 2}
	for _, c := range []struct {
		name       string
		data       []byte
		comp, vers string
		date       string // release date, "" for none
	}{
		{"bios-2.5.0.bin", bin, "bios", "2.5.0", ""},
		{"BIOS_v2.5.1.rom", bin, "BIOS", "2.5.1", ""},
		{"nic-22.32.1", bin, "nic", "22.32.1", ""},
		{"disk0-1.0.4.fw", bin, "disk0", "1.0.4", ""},
		{"bios-2.6.0-rc1.cap", bin, "bios", "2.6.0-rc1", ""},
		{"firmware.bin", bin, "", "", ""},
		{"bios.bin", bin, "", "", ""},
		{"bios-latest.bin", bin, "", "", ""},
		{"", bin, "", "", ""},
		// The header wins over the name, field by field.
		{"firmware.bin", []byte("BMCD-FW component=bios version=3.0.0\nrest"), "bios", "3.0.0", ""},
		{"bios-2.5.0.bin", []byte("BMCD-FW version=2.5.0-hotfix\n"), "bios", "2.5.0-hotfix", ""},
		{"blob", []byte("BMCD-FW  component=nic\tversion=1\r\n"), "nic", "1", ""},
		{"blob", []byte("BMCD-FW component= version\n"), "", "", ""},
		{"blob", []byte("bmcd-fw component=nic version=1\n"), "", "", ""}, // the magic is case-sensitive
		{"blob", []byte("XBMCD-FW component=nic version=1\n"), "", "", ""},
		// date= is the release date.
		{"blob", []byte("BMCD-FW component=bios version=2.7.0 date=2026-09-14\n"), "bios", "2.7.0", "2026-09-14"},
		{"bios-2.7.0.bin", []byte("BMCD-FW date=14.09.2026\n"), "bios", "2.7.0", ""},
	} {
		got := m.IdentifyFirmware(hardware.FirmwareImage{Name: c.name, Data: c.data})
		date := ""
		if !got.ReleaseDate.IsZero() {
			date = got.ReleaseDate.Format(time.DateOnly)
		}
		if got.Component != c.comp || got.Version != c.vers || date != c.date {
			t.Errorf("%q %q: got %+v, want component %q version %q date %q", c.name, c.data, got, c.comp, c.vers, c.date)
		}
	}
}

// TestFormatFirmwareVersion: every BIOS version has the factory one's form,
// "SIM <version> (<release date>)"; other components show the version.
func TestFormatFirmwareVersion(t *testing.T) {
	m := New(Config{ID: "0", Seed: "fw"})
	d := time.Date(2026, 9, 14, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		component, version string
		released           time.Time
		want               string
	}{
		{"BIOS", "2.4.1", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), m.Info().BiosVersion},
		{"BIOS", "2.5.0", d, "SIM 2.5.0 (2026-09-14)"},
		{"bios", "2.5.0", d.Add(13 * time.Hour), "SIM 2.5.0 (2026-09-14)"},
		{"BIOS", "2.5.0", time.Time{}, "SIM 2.5.0"},
		{"NIC", "22.40.0", d, "22.40.0"},
		{"Disk0", "1.0.4", d, "1.0.4"},
	} {
		if got := m.FormatFirmwareVersion(c.component, c.version, c.released); got != c.want {
			t.Errorf("%s %s %v: %q, want %q", c.component, c.version, c.released, got, c.want)
		}
	}
	if m.Info().BiosVersion != "SIM 2.4.1 (2026-06-01)" {
		t.Errorf("factory BiosVersion %q", m.Info().BiosVersion)
	}
}

func TestFetchFirmware(t *testing.T) {
	img := bytes.Repeat([]byte{0x5A}, 3<<20)
	var authMu sync.Mutex
	var gotAuth string
	mux := http.NewServeMux()
	mux.HandleFunc("/bios-2.5.0.bin", func(w http.ResponseWriter, r *http.Request) {
		authMu.Lock()
		u, p, _ := r.BasicAuth()
		gotAuth = u + ":" + p
		authMu.Unlock()
		w.Header().Set("Content-Length", fmt.Sprint(len(img)))
		_, _ = w.Write(img)
	})
	mux.HandleFunc("/stream.bin", func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the size is learnt by reading.
		w.(http.Flusher).Flush()
		_, _ = w.Write(img[:1000])
	})
	mux.HandleFunc("/huge.bin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(hardware.MaxFirmwareImageSize+1))
	})
	mux.HandleFunc("/endless.bin", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // chunked, no length
		chunk := make([]byte, 1<<20)
		for i := 0; i <= hardware.MaxFirmwareImageSize>>20; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/private.bin", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	})
	plain := httptest.NewServer(mux)
	defer plain.Close()
	selfCert, _ := fetchtest.SelfSigned(t)
	selfSigned := fetchtest.NewTLSServer(t, mux, selfCert)
	ca := fetchtest.NewCA(t, "Firmware CA")
	caSigned := fetchtest.NewTLSServer(t, mux, ca.ServerCert(t))
	closed := httptest.NewServer(mux)
	closed.Close()

	m := New(Config{ID: "0", Seed: "fw"})
	ctx := context.Background()
	t.Run("ok with progress and credentials", func(t *testing.T) {
		u := strings.Replace(plain.URL, "http://", "http://fw:s3cret@", 1) + "/bios-2.5.0.bin"
		var calls, last, total int64
		got, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: u}, func(done, tot int64) { calls++; last, total = done, tot })
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "bios-2.5.0.bin" || !bytes.Equal(got.Data, img) {
			t.Errorf("image %q, %d bytes", got.Name, len(got.Data))
		}
		if calls < 2 || last != int64(len(img)) || total != int64(len(img)) {
			t.Errorf("progress: %d calls, last %d of %d", calls, last, total)
		}
		authMu.Lock()
		defer authMu.Unlock()
		if gotAuth != "fw:s3cret" {
			t.Errorf("credentials sent %q", gotAuth)
		}
	})
	t.Run("unknown length", func(t *testing.T) {
		var total int64
		got, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: plain.URL + "/stream.bin"}, func(_, tot int64) { total = tot })
		if err != nil || len(got.Data) != 1000 || total != -1 {
			t.Errorf("%d bytes, total %d, %v", len(got.Data), total, err)
		}
	})
	// The TLS policy is internal/fetch's, as for virtual media.
	for _, c := range []struct {
		name   string
		server string
		policy fetch.Policy
	}{
		{"https, verification off: a self-signed certificate is accepted", selfSigned.URL, fetch.Policy{}},
		{"https, verification on: a server issued by a trusted CA", caSigned.URL, fetch.Policy{Verify: true, Roots: fetch.Pool(ca.PEM)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: c.server + "/bios-2.5.0.bin", TLS: c.policy}, nil)
			if err != nil || len(got.Data) != len(img) {
				t.Errorf("%d bytes, %v", len(got.Data), err)
			}
		})
	}
	trustCA := fetch.Policy{Verify: true, Roots: fetch.Pool(ca.PEM)}
	for _, c := range []struct {
		name, url string
		policy    fetch.Policy
		status    int   // MediaError.HTTPStatus; 0 for none
		class     error // the internal/fetch class a MediaError wraps
		want      error // for errors that are not a MediaError
	}{
		{"404", plain.URL + "/missing.bin", fetch.Policy{}, 404, fetch.ErrNotFound, nil},
		{"403", plain.URL + "/private.bin", fetch.Policy{}, 403, fetch.ErrUnauthorized, nil},
		{"no server", closed.URL + "/bios-2.5.0.bin", fetch.Policy{}, 0, fetch.ErrUnreachable, nil},
		{"self-signed, verification on", selfSigned.URL + "/bios-2.5.0.bin", trustCA, 0, fetch.ErrCertificate, nil},
		{"verification on, no certificate trusted", caSigned.URL + "/bios-2.5.0.bin", fetch.Policy{Verify: true, Roots: fetch.Pool()}, 0, fetch.ErrCertificate, nil},
		{"Content-Length over the bound", plain.URL + "/huge.bin", fetch.Policy{}, 0, nil, hardware.ErrFirmwareTooLarge},
		{"stream over the bound", plain.URL + "/endless.bin", fetch.Policy{}, 0, nil, hardware.ErrFirmwareTooLarge},
		{"not http", "ftp://127.0.0.1/bios-2.5.0.bin", fetch.Policy{}, 0, nil, hardware.ErrInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: c.url, TLS: c.policy}, nil)
			var me *hardware.MediaError
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.class != nil && (!errors.As(err, &me) || me.HTTPStatus != c.status || !errors.Is(err, c.class)):
				t.Errorf("want a MediaError with status %d wrapping %v, got %v", c.status, c.class, err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Errorf("want %v, got %v", c.want, err)
			}
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := m.FetchFirmware(cctx, hardware.ImageSource{URL: plain.URL + "/bios-2.5.0.bin"}, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v", err)
		}
	})
}
