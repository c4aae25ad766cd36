package conformance

// The QEMU backend end to end: bmcd owning a real QEMU virtual machine
// (TCG), driven with ipmitool and sushy as Ironic drives a lab of VMs,
// booting the test ISO (conformance/bootiso) from virtual media: its
// marker read through IPMI Serial over LAN and its screen seen in the
// console's snapshot, and the guest that halts itself seen off by
// Redfish within a second.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
)

// requireQEMU skips a test that runs virtual machines with -short, and
// when QEMU is not installed (the daemon cannot run here).
func requireQEMU(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs QEMU virtual machines (seconds each under TCG): skipped with -short")
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is not installed (Debian qemu-system-x86; `make deps` installs it): the QEMU backend cannot run here")
	}
}

// startQEMUBMC starts bmcd with one QEMU system, vm0, whose `qemu:` block
// is qemuYAML, serving IPMI.
func startQEMUBMC(t *testing.T, qemuYAML string) *ipmiBMC {
	t.Helper()
	b := startBMC(t, bmcOpts{IPMI: true, Config: "systems:\n  - id: vm0\n    backend: qemu\n    qemu: " + qemuYAML + "\n"})
	ib := &ipmiBMC{bmc: b, ports: map[string]string{}}
	for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
		_, port, err := net.SplitHostPort(m[2])
		if err != nil {
			t.Fatal(err)
		}
		ib.ports[m[1]] = port
	}
	if ib.ports["vm0"] == "" {
		t.Fatalf("no IPMI listener for vm0; output:\n%s", b.Output())
	}
	return ib
}

// serveISO serves the file at path on 127.0.0.1 over http.
func serveISO(t *testing.T, path string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, path) }))
	t.Cleanup(srv.Close)
	return srv.URL + "/boot.iso"
}

// watchScreen keeps the console's MJPEG stream open until the test ends,
// as a user watching the screen does, so that snapshots are of the
// screen now (the display reads the VM only while someone watches).
func watchScreen(t *testing.T, b *bmc, sys string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.URL+"/kvm/"+sys+"/stream.mjpeg", nil)
			req.SetBasicAuth(b.User, b.Password)
			if res, err := b.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
}

// snapshot is the console's snapshot.png, nil while there is no picture.
func snapshot(t *testing.T, b *bmc, sys string) image.Image {
	t.Helper()
	r, err := b.Do(request{Method: http.MethodGet, Path: "/kvm/" + sys + "/snapshot.png"})
	if err != nil || r.Status != http.StatusOK {
		return nil
	}
	img, err := png.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("snapshot.png: %v", err)
	}
	return img
}

// lit counts the pixels that are not (nearly) black.
func lit(img image.Image) int {
	n := 0
	bb := img.Bounds()
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r+g+b > 3*0x3000 {
				n++
			}
		}
	}
	return n
}

// bootEvents are the event log's boot entries of sys.
func bootEvents(t *testing.T, b *bmc, sys string) []string {
	t.Helper()
	var out []string
	ms, _ := b.Get(t, "/redfish/v1/Systems/"+sys+"/LogServices/EventLog/Entries")["Members"].([]any)
	for _, m := range ms {
		if s, _ := m.(map[string]any)["Message"].(string); strings.Contains(s, "booting from") {
			out = append(out, s)
		}
	}
	return out
}

// solSession is ipmitool's Serial over LAN session under a
// pseudo-terminal (solDriverScript), its output read as it comes.
type solSession struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	seen map[string]time.Time
	want []string
	done chan struct{}
}

// startSOL activates SOL on vm0 and expects each of want in turn, then
// leaves with ~.
func startSOL(t *testing.T, ib *ipmiBMC, want ...string) *solSession {
	t.Helper()
	driver := filepath.Join(t.TempDir(), "soldrive.py")
	if err := os.WriteFile(driver, []byte(solDriverScript), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := [][2]any{{"expect", "SOL Session operational"}}
	for _, w := range want {
		steps = append(steps, [2]any{"expect", w})
	}
	steps = append(steps, [2]any{"send", "\r~."})
	js, _ := json.Marshal(steps)
	args := []string{driver, string(js), "ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", ib.ports["vm0"],
		"-U", adminUser, "-P", adminPassword, "sol", "activate"}
	s := &solSession{cmd: exec.Command(systemPython, args...), seen: map[string]time.Time{},
		want: append([]string{"SOL Session operational"}, want...), done: make(chan struct{})}
	s.cmd.Env = clientEnv()
	pipe, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := pipe.Read(buf)
			if n > 0 {
				now := time.Now()
				s.mu.Lock()
				s.out.Write(buf[:n])
				for _, w := range s.want {
					if _, ok := s.seen[w]; !ok && strings.Contains(s.out.String(), w) {
						s.seen[w] = now
					}
				}
				s.mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		_ = s.cmd.Wait()
	})
	return s
}

// wait returns when text came out of the session.
func (s *solSession) wait(t *testing.T, text string, timeout time.Duration) time.Time {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		at, ok := s.seen[text]
		out := s.out.String()
		s.mu.Unlock()
		if ok {
			return at
		}
		select {
		case <-deadline:
			t.Fatalf("SOL: no %q within %s; output:\n%s", text, timeout, out)
		case <-s.done:
			t.Fatalf("SOL session ended before %q; output:\n%s", text, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *solSession) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// runSushyVMBoot runs clients/sushy_vm_boot.py against vm0.
func runSushyVMBoot(t *testing.T, b *bmc, imageURL string) (string, int) {
	script, err := filepath.Abs(filepath.Join("clients", "sushy_vm_boot.py"))
	if err != nil {
		t.Error(err)
		return "", -1
	}
	return runClient(t, 3*time.Minute, systemPython, script, "--url", b.URL, "--username", b.User, "--password", b.Password,
		"--image-url", imageURL, "--system", "/redfish/v1/Systems/vm0")
}

// haltSeenOff checks that Redfish shows vm0 off within a second of the
// guest's last line (HaltMarker) coming out of SOL at haltAt.
func haltSeenOff(t *testing.T, b *bmc, haltAt time.Time) {
	t.Helper()
	for {
		ps, _ := b.Get(t, "/redfish/v1/Systems/vm0")["PowerState"].(string)
		if ps == "Off" {
			break
		}
		if time.Since(haltAt) > 5*time.Second {
			t.Fatalf("PowerState %s 5 s after the guest halted", ps)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(haltAt); d > time.Second {
		t.Errorf("the guest halted; Redfish said Off %s after its last line on the serial port", d.Round(time.Millisecond))
	}
}

// TestQEMUVirtualMachine drives a SeaBIOS VM as a lab does: ipmitool
// power and boot device (PXE), then Ironic's virtual-media deployment
// with sushy while ipmitool's SOL session reads the serial port: the VM
// boots the test ISO from the CD, its marker arrives over SOL and its
// screen in the console's snapshot, and the guest's own halt is Off in
// Redfish within a second; then ipmitool's bootdev cdrom boots it again.
func TestQEMUVirtualMachine(t *testing.T) {
	t.Parallel()
	requireQEMU(t)
	requireIPMIClients(t)
	requireSushy(t)
	iso := bootiso.Path(t, bootiso.Options{Halt: 4 * time.Second})
	imageURL := serveISO(t, iso)
	ib := startQEMUBMC(t, "{accel: tcg, memory_mb: 256, shutdown_timeout: 2s, disks: [{path: disk0.qcow2, size: 64M}]}")
	watchScreen(t, ib.bmc, "vm0")

	sys := ib.Get(t, "/redfish/v1/Systems/vm0")
	if sys["Manufacturer"] != "QEMU" || sys["PowerState"] != "Off" {
		t.Errorf("System vm0: Manufacturer %v, PowerState %v", sys["Manufacturer"], sys["PowerState"])
	}
	allowed, _ := sys["Boot"].(map[string]any)["BootSourceOverrideTarget@Redfish.AllowableValues"].([]any)
	for _, want := range []string{"Pxe", "Cd", "Hdd"} {
		if !strings.Contains(fmt.Sprint(allowed), want) {
			t.Errorf("boot targets %v lack %s", allowed, want)
		}
	}

	// ipmitool: a one-time PXE boot, then power off.
	ib.mustIpmitool(t, "vm0", nil, "Chassis Power is off", "power", "status")
	ib.mustIpmitool(t, "vm0", nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe")
	if tg, en, _ := ib.boot(t, "vm0"); tg != "Pxe" || en != "Once" {
		t.Errorf("after bootdev pxe: Redfish shows %s/%s", tg, en)
	}
	ib.mustIpmitool(t, "vm0", nil, "Up/On", "power", "on")
	ib.WaitPower(t, "vm0", "On")
	eventually(t, 30*time.Second, func() (bool, string) {
		evs := bootEvents(t, ib.bmc, "vm0")
		return len(evs) == 1 && strings.Contains(evs[0], "from Pxe"), fmt.Sprintf("boot events %q", evs)
	})
	if _, en, _ := ib.boot(t, "vm0"); en != "Disabled" {
		t.Errorf("the PXE override is %s after its boot", en)
	}
	ib.mustIpmitool(t, "vm0", nil, "Chassis Power is on", "power", "status")
	var firmware image.Image
	eventually(t, 30*time.Second, func() (bool, string) {
		firmware = snapshot(t, ib.bmc, "vm0")
		return firmware != nil && lit(firmware) > 100, "no firmware screen in snapshot.png"
	})
	ib.mustIpmitool(t, "vm0", nil, "Down/Off", "power", "off")
	ib.WaitPower(t, "vm0", "Off")
	ib.mustIpmitool(t, "vm0", nil, "Chassis Power is off", "power", "status")

	// sushy's virtual-media deployment, watched over SOL.
	sol := startSOL(t, ib, bootiso.Marker, bootiso.HaltMarker)
	sol.wait(t, "SOL Session operational", 30*time.Second)
	type result struct {
		out  string
		code int
	}
	flow := make(chan result, 1)
	go func() {
		out, code := runSushyVMBoot(t, ib.bmc, imageURL)
		flow <- result{out, code}
	}()
	sol.wait(t, bootiso.Marker, 90*time.Second)
	eventually(t, 10*time.Second, func() (bool, string) {
		img := snapshot(t, ib.bmc, "vm0")
		if img == nil {
			return false, "no snapshot"
		}
		return lit(img) > 100 && meanError(img, firmware) > 1, "the snapshot still shows the firmware's screen, or nothing"
	})
	haltSeenOff(t, ib.bmc, sol.wait(t, bootiso.HaltMarker, 30*time.Second))
	r := <-flow
	if r.code != 0 || !strings.Contains(r.out, "OK: sushy VM virtual-media boot passed") {
		t.Fatalf("sushy_vm_boot.py exited %d:\n%s\nbmcd output:\n%s", r.code, r.out, ib.Output())
	}
	t.Logf("sushy:\n%s", r.out)
	select {
	case <-sol.done:
	case <-time.After(30 * time.Second):
		t.Errorf("the SOL session did not end with ~.:\n%s", sol.output())
	}

	// ipmitool's bootdev cdrom, the medium inserted through Redfish.
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/vm0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		Body: map[string]any{"Image": imageURL, "Inserted": true}})
	ib.mustIpmitool(t, "vm0", nil, "Set Boot Device to cdrom", "chassis", "bootdev", "cdrom")
	ib.mustIpmitool(t, "vm0", nil, "Up/On", "power", "on")
	eventually(t, 30*time.Second, func() (bool, string) {
		evs := bootEvents(t, ib.bmc, "vm0")
		return len(evs) == 3 && strings.Contains(evs[2], "from Cd"), fmt.Sprintf("boot events %q", evs)
	})
	eventually(t, 60*time.Second, func() (bool, string) {
		out, _ := ib.ipmitool(t, "vm0", nil, "power", "status")
		return strings.Contains(out, "Chassis Power is off"), "the guest has not halted: " + out
	})
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/vm0/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia",
		Body: map[string]any{}})
}

// TestQEMUVirtualMachineUEFI: the virtual-media deployment on an OVMF
// VM, booted in UEFI mode.
func TestQEMUVirtualMachineUEFI(t *testing.T) {
	t.Parallel()
	requireQEMU(t)
	for _, f := range []string{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"} {
		if _, err := os.Stat(f); err != nil {
			t.Skipf("OVMF is not installed (Debian ovmf): %v", err)
		}
	}
	requireIPMIClients(t)
	requireSushy(t)
	iso := bootiso.Path(t, bootiso.Options{Halt: 2 * time.Second})
	imageURL := serveISO(t, iso)
	ib := startQEMUBMC(t, "{accel: tcg, memory_mb: 256, firmware: uefi}")
	if mode := ib.Get(t, "/redfish/v1/Systems/vm0")["Boot"].(map[string]any)["BootSourceOverrideMode"]; mode != "UEFI" {
		t.Errorf("BootSourceOverrideMode %v", mode)
	}
	sol := startSOL(t, ib, bootiso.Marker, bootiso.HaltMarker)
	sol.wait(t, "SOL Session operational", 30*time.Second)
	out, code := "", 0
	flowDone := make(chan struct{})
	go func() {
		defer close(flowDone)
		out, code = runSushyVMBoot(t, ib.bmc, imageURL)
	}()
	sol.wait(t, bootiso.Marker, 120*time.Second)
	haltSeenOff(t, ib.bmc, sol.wait(t, bootiso.HaltMarker, 30*time.Second))
	<-flowDone
	if code != 0 || !strings.Contains(out, "OK: sushy VM virtual-media boot passed") {
		t.Fatalf("sushy_vm_boot.py exited %d:\n%s\nbmcd output:\n%s", code, out, ib.Output())
	}
	if evs := bootEvents(t, ib.bmc, "vm0"); len(evs) != 1 || !strings.Contains(evs[0], "from Cd") || !strings.Contains(evs[0], "in UEFI mode") {
		t.Errorf("boot events %q", evs)
	}
}
