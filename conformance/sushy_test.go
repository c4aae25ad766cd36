package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/fetch/fetchtest"
)

// systemPython is Debian's interpreter, where python3-sushy is installed
// (the python3 on PATH may be another one without it).
const systemPython = "/usr/bin/python3"

func requireSushy(t *testing.T) {
	requireClient(t, "python3-sushy", func() error {
		out, err := exec.Command(systemPython, "-c", "import sushy").CombinedOutput()
		if err != nil {
			return &clientError{err, out}
		}
		return nil
	})
}

type clientError struct {
	err error
	out []byte
}

func (e *clientError) Error() string {
	return e.err.Error() + ": " + strings.TrimSpace(string(e.out))
}

// TestSushyIronicFlow runs clients/sushy_ironic_flow.py: what OpenStack
// Ironic's redfish driver does, with sushy, to deploy a node from virtual
// media.
func TestSushyIronicFlow(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 2})
	img := serveImage(t)
	runSushyFlow(t, b, img.URL, "/redfish/v1/Systems/1")
	if img.Hits() == 0 {
		t.Error("bmcd never fetched the image sushy inserted")
	}
}

// TestSushyIronicFlowHTTPS is the same flow with the image on an https
// server with a self-signed certificate, as Ironic and Metal3 serve their
// ISOs: accepted while VerifyCertificate is left false, accepted with
// VerifyCertificate true once the certificate is in the CD's Certificates,
// refused with VerifyCertificate true and no certificate.
func TestSushyIronicFlowHTTPS(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 3})
	cert, certPEM := fetchtest.SelfSigned(t)
	img := serveImageTLS(t, &cert)
	if !strings.HasPrefix(img.URL, "https://127.0.0.1:") {
		t.Fatalf("image URL %s", img.URL)
	}
	caFile := filepath.Join(t.TempDir(), "image-server.pem")
	if err := os.WriteFile(caFile, []byte(certPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		system  string
		args    []string
		fetched bool // the image server sees a request
	}{
		{"VerifyCertificate left default", "/redfish/v1/Systems/0", nil, true},
		{"VerifyCertificate true, certificate posted", "/redfish/v1/Systems/1",
			[]string{"--vmedia-verify", "--vmedia-ca", caFile}, true},
		{"VerifyCertificate true, no certificate", "/redfish/v1/Systems/2",
			[]string{"--vmedia-verify", "--expect-insert-refused"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := img.Hits()
			runSushyFlow(t, b, img.URL, tc.system, tc.args...)
			if fetched := img.Hits() > before; fetched != tc.fetched {
				t.Errorf("the image server saw a request: %v, want %v", fetched, tc.fetched)
			}
		})
	}
	// The untrusted server left the third system's CD empty, and only
	// the second one had a certificate, removed at the end of its flow.
	for _, sys := range []string{"0", "1", "2"} {
		cd := b.Get(t, "/redfish/v1/Systems/"+sys+"/VirtualMedia/CD")
		if cd["Inserted"] != false || cd["VerifyCertificate"] != false {
			t.Errorf("system %s CD after the flow: Inserted %v, VerifyCertificate %v", sys, cd["Inserted"], cd["VerifyCertificate"])
		}
		certs := b.Get(t, "/redfish/v1/Systems/"+sys+"/VirtualMedia/CD/Certificates")
		if n := certs["Members@odata.count"]; n != float64(0) {
			t.Errorf("system %s CD keeps %v certificates", sys, n)
		}
	}
}

// runSushyFlow runs clients/sushy_ironic_flow.py against system of b with
// the image at imageURL and fails t unless it reports success.
func runSushyFlow(t *testing.T, b *bmc, imageURL, system string, extra ...string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("clients", "sushy_ironic_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{script, "--url", b.URL, "--username", b.User, "--password", b.Password,
		"--image-url", imageURL, "--system", system}, extra...)
	out, code := runClient(t, 2*time.Minute, systemPython, args...)
	if code != 0 {
		t.Fatalf("sushy_ironic_flow.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if !strings.Contains(out, "OK: sushy Ironic virtual-media flow passed") {
		t.Fatalf("sushy_ironic_flow.py did not report success:\n%s", out)
	}
	t.Logf("sushy flow:\n%s", out)
}

// TestSushyBiosAndBootOrder runs clients/sushy_bios_boot.py: the BIOS
// attribute registry and set_attributes checked against it, as Ironic's
// redfish BIOS interface uses them, then BootOrder, BootNext and
// UefiBootNext through sushy's connection.
func TestSushyBiosAndBootOrder(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_bios_boot.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--system", "/redfish/v1/Systems/0")
	if code != 0 {
		t.Fatalf("sushy_bios_boot.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if !strings.Contains(out, "OK: sushy BIOS and boot order flow passed") {
		t.Fatalf("sushy_bios_boot.py did not report success:\n%s", out)
	}
	t.Logf("sushy BIOS and boot order flow:\n%s", out)
}

// TestSushyBootMode runs clients/sushy_boot_mode.py: system.boot.mode
// (BootSourceOverrideMode, Ironic's boot mode) after each step of a BIOS
// BootMode change and of a consumed one-time Legacy override, Ironic's
// set_boot_mode, and Secure Boot against Legacy mode.
func TestSushyBootMode(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_boot_mode.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--system", "/redfish/v1/Systems/0")
	if code != 0 || !strings.Contains(out, "OK: sushy boot mode flow passed") {
		t.Fatalf("sushy_boot_mode.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	t.Logf("sushy boot mode flow:\n%s", out)
}

// TestSushyInventory runs clients/sushy_inventory.py: sushy reading the
// Chassis's Thermal and Power (with power supplies) and the System's
// Storage (controllers, volumes) and SimpleStorage, as Ironic's inspection
// and RAID interfaces do.
func TestSushyInventory(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	script, err := filepath.Abs(filepath.Join("clients", "sushy_inventory.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--system", "/redfish/v1/Systems/0")
	if code != 0 || !strings.Contains(out, "OK: sushy inventory passed") {
		t.Fatalf("sushy_inventory.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	t.Logf("sushy inventory:\n%s", out)
}

// TestSushyMediaNotInserted runs clients/sushy_vmedia_not_inserted.py:
// sushy's insert_media(..., inserted=False), then the held image inserted
// and taken away by PATCH Inserted, then eject_media.
func TestSushyMediaNotInserted(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	img := serveImage(t)
	script, err := filepath.Abs(filepath.Join("clients", "sushy_vmedia_not_inserted.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script, "--url", b.URL, "--username", b.User,
		"--password", b.Password, "--image-url", img.URL, "--manager", "/redfish/v1/Managers/0")
	if code != 0 || !strings.Contains(out, "OK: sushy Inserted false checks passed") {
		t.Fatalf("sushy_vmedia_not_inserted.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if img.Hits() < 2 {
		t.Errorf("the image server saw %d requests; want the check at InsertMedia and again at PATCH Inserted true", img.Hits())
	}
	t.Logf("sushy:\n%s", out)
}
