package conformance

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	script, err := filepath.Abs(filepath.Join("clients", "sushy_ironic_flow.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, 2*time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password,
		"--image-url", img.URL, "--system", "/redfish/v1/Systems/1")
	if code != 0 {
		t.Fatalf("sushy_ironic_flow.py exited %d:\n%s\nbmcd output:\n%s", code, out, b.Output())
	}
	if !strings.Contains(out, "OK: sushy Ironic virtual-media flow passed") {
		t.Fatalf("sushy_ironic_flow.py did not report success:\n%s", out)
	}
	if img.Hits() == 0 {
		t.Error("bmcd never fetched the image sushy inserted")
	}
	t.Logf("sushy flow:\n%s", out)
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
