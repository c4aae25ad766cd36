package conformance

// bmcd in front of VMs of a vCenter: vcsim (govmomi's simulator, bin/vcsim)
// runs as a process of its own, bmcd's configuration file names three of
// its VMs as systems (backend: vsphere), and real clients drive them:
// ipmitool's power and boot device commands, and sushy's virtual-media
// flow. vcsim runs no guest and boots no ISO, so each step is checked in
// vCenter itself, through govmomi: the VM's power state, its boot order,
// firmware and Secure Boot, and its CD-ROM's backing.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// vcsimProc is a vcsim process and a govmomi client of it.
type vcsimProc struct {
	URL  string // https://127.0.0.1:PORT/sdk
	Cert string // its certificate, PEM
	vc   *vim25.Client
}

// startVcsim runs vcsim (bin/vcsim, made by `make vcsim`, or built here)
// with args until the test ends, and logs in to it.
func startVcsim(t testing.TB, args ...string) *vcsimProc {
	t.Helper()
	bin := filepath.Join("..", "bin", "vcsim")
	if !fileExists(bin) {
		bin = filepath.Join(t.TempDir(), "vcsim")
		build := exec.Command(goTool(), "build", "-o", bin, "github.com/bmcd/bmcd/hardware/vsphere/vcsim")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build vcsim: %v\n%s", err, out)
		}
	}
	cert := filepath.Join(t.TempDir(), "vcsim.pem")
	cmd := exec.Command(bin, append([]string{"-l", "127.0.0.1:0", "-cert", cert}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errOut lockedWriter
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatalf("start vcsim: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if s, ok := strings.CutPrefix(sc.Text(), "vcsim "); ok {
				line <- s
			}
		}
	}()
	var raw string
	select {
	case raw = <-line:
	case <-done:
		t.Fatalf("vcsim exited before listening:\n%s", errOut.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("vcsim did not listen within 2 minutes:\n%s", errOut.String())
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("vcsim printed %q: %v", raw, err)
	}
	u.User = nil
	p := &vcsimProc{URL: u.String(), Cert: cert}
	ctx := context.Background()
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(cert); err != nil {
		t.Fatal(err)
	}
	if p.vc, err = vim25.NewClient(ctx, sc); err != nil {
		t.Fatal(err)
	}
	if err := session.NewManager(p.vc).Login(ctx, url.UserPassword("test", "test")); err != nil {
		t.Fatal(err)
	}
	return p
}

// vm is the VM named name as vCenter has it now.
func (p *vcsimProc) vm(t testing.TB, name string) (*object.VirtualMachine, mo.VirtualMachine) {
	t.Helper()
	ctx := context.Background()
	obj, err := find.NewFinder(p.vc).VirtualMachine(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var vm mo.VirtualMachine
	if err := obj.Properties(ctx, obj.Reference(), []string{"config", "runtime"}, &vm); err != nil {
		t.Fatal(err)
	}
	return obj, vm
}

// firstBoot is the class of the first device of the VM's boot order:
// "disk", "cdrom", "ethernet" or "" (no order).
func (p *vcsimProc) firstBoot(t testing.TB, name string) string {
	t.Helper()
	_, vm := p.vm(t, name)
	if vm.Config.BootOptions == nil || len(vm.Config.BootOptions.BootOrder) == 0 {
		return ""
	}
	switch vm.Config.BootOptions.BootOrder[0].(type) {
	case *types.VirtualMachineBootOptionsBootableDiskDevice:
		return "disk"
	case *types.VirtualMachineBootOptionsBootableCdromDevice:
		return "cdrom"
	case *types.VirtualMachineBootOptionsBootableEthernetDevice:
		return "ethernet"
	}
	return fmt.Sprintf("%T", vm.Config.BootOptions.BootOrder[0])
}

// cdrom is the ISO file the VM's CD-ROM holds ("" for none).
func (p *vcsimProc) cdrom(t testing.TB, name string) string {
	t.Helper()
	_, vm := p.vm(t, name)
	cd, err := object.VirtualDeviceList(vm.Config.Hardware.Device).FindCdrom("")
	if err != nil {
		return ""
	}
	if b, ok := cd.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
		return b.FileName
	}
	return ""
}

// startVSphereBMC starts bmcd with one system per VM name, backend
// vsphere, and IPMI on ephemeral ports.
func startVSphereBMC(t *testing.T, p *vcsimProc, names ...string) *ipmiBMC {
	t.Helper()
	b := startBMC(t, bmcOpts{Systems: 1})
	var cfg strings.Builder
	cfg.WriteString("systems:\n")
	for _, n := range names {
		fmt.Fprintf(&cfg, "  - id: %s\n    backend: vsphere\n    vsphere: {url: %q, username: bmcd, password: secret, ca_file: %q, vm: %s}\n",
			strings.ToLower(strings.ReplaceAll(n, "_", "-")), p.URL, p.Cert, n)
	}
	cfg.WriteString("ipmi:\n  addr: \"127.0.0.1:0\"\n")
	if err := os.WriteFile(b.config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, code := b.Terminate(5 * time.Second); code != 0 {
		t.Fatalf("bmcd exited %d", code)
	}
	b.Start()
	ib := &ipmiBMC{bmc: b, ports: map[string]string{}}
	for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
		if _, port, err := net.SplitHostPort(m[2]); err == nil {
			ib.ports[m[1]] = port
		}
	}
	if len(ib.ports) != len(names) {
		t.Fatalf("%d IPMI listeners for %d systems; output:\n%s", len(ib.ports), len(names), b.Output())
	}
	return ib
}

// TestVSphere: ipmitool and sushy drive VMs of vcsim through bmcd.
func TestVSphere(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	requireClient(t, "ipmitool", func() error { _, err := exec.LookPath("ipmitool"); return err })
	p := startVcsim(t, "-vm", "3")
	vm0, vm1 := "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"
	// Machines as Metal3 and OKD provision them on vSphere: 4 GiB, and EFI
	// for the one the sushy flow turns Secure Boot on for.
	ctx := context.Background()
	for _, name := range []string{vm0, vm1} {
		spec := types.VirtualMachineConfigSpec{MemoryMB: 4096, NumCPUs: 2}
		if name == vm1 {
			spec.Firmware = "efi"
		}
		obj, _ := p.vm(t, name)
		task, err := obj.Reconfigure(ctx, spec)
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	ib := startVSphereBMC(t, p, vm0, vm1)

	t.Run("ipmitool power and bootdev", func(t *testing.T) {
		sys := "dc0-c0-rp0-vm0"
		power := func() types.VirtualMachinePowerState { _, vm := p.vm(t, vm0); return vm.Runtime.PowerState }
		ib.mustIpmitool(t, sys, nil, "Chassis Power is off", "power", "status")
		ib.mustIpmitool(t, sys, nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "ethernet", "the VM boots " + f + " first"
		})
		ib.mustIpmitool(t, sys, nil, "Chassis Power Control: Up/On", "power", "on")
		if s := power(); s != types.VirtualMachinePowerStatePoweredOn {
			t.Fatalf("vCenter shows the VM %s after power on", s)
		}
		ib.mustIpmitool(t, sys, nil, "Chassis Power is on", "power", "status")
		// The PXE boot consumed the one-time override: the disk first again.
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "disk", "after the PXE boot the VM boots " + f + " first"
		})
		// A one-time PXE boot set while the VM runs: the NIC first now, the
		// disk again after the reset that boots it.
		ib.mustIpmitool(t, sys, nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "ethernet", "the running VM boots " + f + " first"
		})
		ib.mustIpmitool(t, sys, nil, "Chassis Power Control: Reset", "power", "reset")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "disk", "after the PXE boot the VM boots " + f + " first"
		})
		// A CD boot needs a medium: an image inserted through Redfish.
		img := serveImage(t)
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/" + sys + "/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
			Body: map[string]any{"Image": img.URL}})
		ib.mustIpmitool(t, sys, nil, "Set Boot Device to cdrom", "chassis", "bootdev", "cdrom")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "cdrom", "the VM boots " + f + " first"
		})
		if iso := p.cdrom(t, vm0); !strings.HasPrefix(iso, "[LocalDS_0] bmcd-media/") {
			t.Errorf("the CD-ROM holds %q", iso)
		}
		ib.mustIpmitool(t, sys, nil, "Chassis Power Control: Cycle", "power", "cycle")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm0)
			return f == "disk", "after the CD boot the VM boots " + f + " first"
		})
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/" + sys + "/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia", Body: map[string]any{}})
		if iso := p.cdrom(t, vm0); iso != "" {
			t.Errorf("after the eject the CD-ROM holds %q", iso)
		}
		ib.mustIpmitool(t, sys, nil, "Chassis Power Control: Down/Off", "power", "off")
		if s := power(); s != types.VirtualMachinePowerStatePoweredOff {
			t.Fatalf("vCenter shows the VM %s after power off", s)
		}
		ib.mustIpmitool(t, sys, nil, "Chassis Power is off", "power", "status")
		// Powered on in vCenter: bmcd sees it without being asked.
		obj, _ := p.vm(t, vm0)
		if task, err := obj.PowerOn(ctx); err != nil || task.Wait(ctx) != nil {
			t.Fatalf("power on in vCenter: %v", err)
		}
		eventually(t, 15*time.Second, func() (bool, string) {
			out, _ := ib.ipmitool(t, sys, nil, "power", "status")
			return strings.Contains(out, "Chassis Power is on"), out
		})
		sysJSON := ib.Get(t, "/redfish/v1/Systems/"+sys)
		_, vm := p.vm(t, vm0)
		if sysJSON["UUID"] != vm.Config.Uuid || !strings.HasPrefix(fmt.Sprint(sysJSON["SerialNumber"]), "VMware-") {
			t.Errorf("System UUID %v, serial %v; the VM's BIOS UUID is %s", sysJSON["UUID"], sysJSON["SerialNumber"], vm.Config.Uuid)
		}
	})

	t.Run("sushy virtual media", func(t *testing.T) {
		sys := "/redfish/v1/Systems/dc0-c0-rp0-vm1"
		img := serveImage(t)
		runSushyFlow(t, ib.bmc, img.URL, sys, "--bios-attribute", "BootRetry")
		if img.Hits() == 0 {
			t.Error("bmcd never fetched the image")
		}
		// The image was uploaded to the datastore under its checksum; the
		// flow ejected it, turned Secure Boot and boot retry on, and shut
		// the VM down.
		sum := sha256.Sum256(isoImage)
		ds, err := find.NewFinder(p.vc).Datastore(ctx, "LocalDS_0")
		if err != nil {
			t.Fatal(err)
		}
		if fi, err := ds.Stat(ctx, "bmcd-media/"+hex.EncodeToString(sum[:])+".iso"); err != nil || fi.GetFileInfo().FileSize != int64(len(isoImage)) {
			t.Errorf("the uploaded image on the datastore: %v", err)
		}
		if iso := p.cdrom(t, vm1); iso != "" {
			t.Errorf("the CD-ROM holds %q after the eject", iso)
		}
		_, vm := p.vm(t, vm1)
		o := vm.Config.BootOptions
		if vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff || vm.Config.Firmware != "efi" ||
			o == nil || o.EfiSecureBootEnabled == nil || !*o.EfiSecureBootEnabled || o.BootRetryEnabled == nil || !*o.BootRetryEnabled {
			t.Errorf("after the flow vCenter shows %s, firmware %s, boot options %+v", vm.Runtime.PowerState, vm.Config.Firmware, o)
		}

		// The same steps by hand, looking at vCenter between them: the
		// inserted image is the CD-ROM's backing, the one-time CD boot
		// puts the CD-ROM first until the VM boots, eject empties it.
		id := strings.TrimPrefix(sys, "/redfish/v1/Systems/")
		want := "[LocalDS_0] bmcd-media/" + hex.EncodeToString(sum[:]) + ".iso"
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: sys,
			Body: map[string]any{"Boot": map[string]any{"BootSourceOverrideTarget": "Cd", "BootSourceOverrideEnabled": "Once"}}})
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/" + id + "/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
			Body: map[string]any{"Image": img.URL}})
		if iso := p.cdrom(t, vm1); iso != want {
			t.Errorf("after InsertMedia the CD-ROM holds %q, want %s", iso, want)
		}
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm1)
			return f == "cdrom", "with a one-time CD boot the VM boots " + f + " first"
		})
		reset(t, ib.bmc, id, "On")
		eventually(t, 15*time.Second, func() (bool, string) {
			f := p.firstBoot(t, vm1)
			return f == "disk", "after the CD boot the VM boots " + f + " first"
		})
		ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/" + id + "/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia", Body: map[string]any{}})
		if iso := p.cdrom(t, vm1); iso != "" {
			t.Errorf("after EjectMedia the CD-ROM holds %q", iso)
		}
		reset(t, ib.bmc, id, "ForceOff")
		if _, vm := p.vm(t, vm1); vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
			t.Errorf("after ForceOff vCenter shows %s", vm.Runtime.PowerState)
		}
	})
}
