package vsphere

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// TestSetup: a VM named by name, inventory path, instance UUID or BIOS
// UUID is the same VM; its inventory comes from its configuration; two
// systems on one vCenter share one session; the vCenter's certificate is
// checked against ca_file unless insecure.
func TestSetup(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 2, false)
	vm := v.vm(t, vmName(1))
	var refs []string
	for _, spec := range []string{vmName(1), "/DC0/vm/" + vmName(1), vm.Config.InstanceUuid, vm.Config.Uuid} {
		b := v.backend(t, spec).(*Backend)
		refs = append(refs, b.ref.Value)
	}
	for _, r := range refs {
		if r != vm.Self.Value {
			t.Errorf("VMs found %v, want %s each time", refs, vm.Self.Value)
			break
		}
	}
	if n := sessions(t, v, "user"); n != 1 {
		t.Errorf("%d sessions of the backends' user, want 1 shared", n)
	}

	info := v.backend(t, vmName(1)).Info()
	var macs []string
	var disk int64
	for _, d := range vm.Config.Hardware.Device {
		switch d := d.(type) {
		case types.BaseVirtualEthernetCard:
			macs = append(macs, d.GetVirtualEthernetCard().MacAddress)
		case *types.VirtualDisk:
			disk = d.CapacityInKB * 1024
		}
	}
	if info.UUID != vm.Config.Uuid || !strings.HasPrefix(info.SerialNumber, "VMware-") || info.Manufacturer != "VMware, Inc." {
		t.Errorf("identity %q %q %q", info.UUID, info.SerialNumber, info.Manufacturer)
	}
	if len(info.NICs) != len(macs) || len(macs) == 0 || info.NICs[0].MAC != macs[0] {
		t.Errorf("NICs %+v, want the MACs %v", info.NICs, macs)
	}
	if len(info.Disks) != 1 || info.Disks[0].CapacityBytes != disk {
		t.Errorf("disks %+v, want one of %d bytes", info.Disks, disk)
	}
	if got := info.ProcessorCount * info.CoresPerProcessor; got != int(vm.Config.Hardware.NumCPU) || info.MemoryGiB*1024 != float64(vm.Config.Hardware.MemoryMB) {
		t.Errorf("%d CPUs, %v GiB; want %d, %d MB", got, info.MemoryGiB, vm.Config.Hardware.NumCPU, vm.Config.Hardware.MemoryMB)
	}

	dir := t.TempDir()
	ca := filepath.Join(dir, "vcenter.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: v.tls.Certificates[0].Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(dir, "password")
	if err := os.WriteFile(pw, []byte("pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	trusted := fmt.Sprintf("{url: %q, username: other, password_file: %q, ca_file: %q, vm: %q}", v.URL, pw, ca, vmName(0))
	b, err := hardware.NewBackend("vsphere", hardware.Setup{ID: "x", Log: quietLog, Config: config(t, "vsphere", trusted)})
	if err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	_ = b.Close()

	for _, tc := range []struct{ text, want string }{
		{fmt.Sprintf("{url: %q, username: u2, password: p, vm: %q}", v.URL, vmName(0)), "certificate"},
		{fmt.Sprintf("{url: %q, username: u, password: p, insecure: true, vm: nothere}", v.URL), `no VM named "nothere"`},
		{fmt.Sprintf("{url: %q, username: u, password: p, insecure: true, vm: /DC0/vm/nothere}", v.URL), "not found"},
		{fmt.Sprintf("{url: %q, username: u, password: p, insecure: true, vm: 00000000-0000-0000-0000-000000000000}", v.URL), "no VM with instance or BIOS UUID"},
		{fmt.Sprintf("{url: %q, username: u, password: p, insecure: true, datacenter: DC7, vm: x}", v.URL), "vsphere.datacenter"},
		{`{url: "https://127.0.0.1:1/sdk", username: u, password: p, vm: x}`, "unavailable"},
		{fmt.Sprintf("{url: %q, username: u, password: p, insecure: true, ca_file: %q, vm: x}", v.URL, ca), "vsphere.ca_file"},
		{fmt.Sprintf("{url: %q, username: u, password: p, password_file: %q, insecure: true, vm: x}", v.URL, pw), "vsphere.password"},
		{`{url: "https://x/sdk", username: u, password: p}`, "vsphere.vm"},
	} {
		_, err := hardware.NewBackend("vsphere", hardware.Setup{ID: "bad", Log: quietLog, Config: config(t, "vsphere", tc.text)})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.text, err, tc.want)
		}
	}
	if n := sessions(t, v, "u"); n != 0 {
		t.Errorf("failed setups left %d sessions", n)
	}
}

// sessions counts the simulator's sessions of user.
func sessions(t *testing.T, v *vcenter, user string) int {
	t.Helper()
	vc := v.client(t)
	var sm mo.SessionManager
	if err := property.DefaultCollector(vc).RetrieveOne(context.Background(), *vc.ServiceContent.SessionManager, []string{"sessionList"}, &sm); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range sm.SessionList {
		if s.UserName == user {
			n++
		}
	}
	return n
}
