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

	"github.com/bmcd/bmcd/hardware"
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
	}{
		{"bios-2.5.0.bin", bin, "bios", "2.5.0"},
		{"BIOS_v2.5.1.rom", bin, "BIOS", "2.5.1"},
		{"nic-22.32.1", bin, "nic", "22.32.1"},
		{"disk0-1.0.4.fw", bin, "disk0", "1.0.4"},
		{"bios-2.6.0-rc1.cap", bin, "bios", "2.6.0-rc1"},
		{"firmware.bin", bin, "", ""},
		{"bios.bin", bin, "", ""},
		{"bios-latest.bin", bin, "", ""},
		{"", bin, "", ""},
		// The header wins over the name, field by field.
		{"firmware.bin", []byte("BMCD-FW component=bios version=3.0.0\nrest"), "bios", "3.0.0"},
		{"bios-2.5.0.bin", []byte("BMCD-FW version=2.5.0-hotfix\n"), "bios", "2.5.0-hotfix"},
		{"blob", []byte("BMCD-FW  component=nic\tversion=1\r\n"), "nic", "1"},
		{"blob", []byte("BMCD-FW component= version\n"), "", ""},
		{"blob", []byte("bmcd-fw component=nic version=1\n"), "", ""}, // the magic is case-sensitive
		{"blob", []byte("XBMCD-FW component=nic version=1\n"), "", ""},
	} {
		got := m.IdentifyFirmware(hardware.FirmwareImage{Name: c.name, Data: c.data})
		if got.Component != c.comp || got.Version != c.vers {
			t.Errorf("%q %q: got %+v, want component %q version %q", c.name, c.data, got, c.comp, c.vers)
		}
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
	tlsSrv := httptest.NewTLSServer(mux)
	defer tlsSrv.Close()
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
	t.Run("https, certificate not verified by default", func(t *testing.T) {
		got, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: tlsSrv.URL + "/bios-2.5.0.bin"}, nil)
		if err != nil || len(got.Data) != len(img) {
			t.Errorf("%d bytes, %v", len(got.Data), err)
		}
	})
	t.Run("https, certificate verified against the given roots", func(t *testing.T) {
		roots := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
		if _, err := m.FetchFirmware(ctx, hardware.ImageSource{URL: tlsSrv.URL + "/bios-2.5.0.bin", VerifyCertificate: true, RootCAs: roots}, nil); err != nil {
			t.Error(err)
		}
	})
	for _, c := range []struct {
		name, url string
		status    int  // MediaError.HTTPStatus; 0 for none
		media     bool // a *MediaError
		tooLarge  bool
	}{
		{"404", plain.URL + "/missing.bin", 404, true, false},
		{"403", plain.URL + "/private.bin", 403, true, false},
		{"no server", closed.URL + "/bios-2.5.0.bin", 0, true, false},
		{"untrusted certificate", tlsSrv.URL + "/bios-2.5.0.bin#verify", 0, true, false},
		{"Content-Length over the bound", plain.URL + "/huge.bin", 0, false, true},
		{"stream over the bound", plain.URL + "/endless.bin", 0, false, true},
		{"not http", "ftp://127.0.0.1/bios-2.5.0.bin", 0, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := hardware.ImageSource{URL: c.url, VerifyCertificate: strings.HasSuffix(c.url, "#verify")}
			_, err := m.FetchFirmware(ctx, src, nil)
			var me *hardware.MediaError
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.media && (!errors.As(err, &me) || me.HTTPStatus != c.status):
				t.Errorf("want a MediaError with status %d, got %v", c.status, err)
			case c.tooLarge && !errors.Is(err, hardware.ErrFirmwareTooLarge):
				t.Errorf("want ErrFirmwareTooLarge, got %v", err)
			case !c.media && !c.tooLarge && !errors.Is(err, hardware.ErrInvalid):
				t.Errorf("want ErrInvalid, got %v", err)
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
