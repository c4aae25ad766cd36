package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/conformance/schemacheck"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

// libvirtBMC is a bmcd serving a simulated system ("0": without one, no
// system has updatable firmware, and the UpdateService's ActionInfo shows
// null Targets, which the schema walk refuses) and libvirt domains as
// systems "vm1", "vm2", ..., with IPMI on ephemeral ports. The
// domains are TCG machines with a blank disk, a NIC and 1 GiB (sushy's
// memory size is whole GiB; QEMU only takes what the guest touches), defined for the
// test (and undefined after it) on the libvirtd libvirttest starts.
type libvirtBMC struct {
	ipmiBMC
	domains map[string]string // system Id -> domain name
	uuids   map[string]string // system Id -> domain UUID
}

func startLibvirtBMC(t *testing.T, n int) *libvirtBMC {
	t.Helper()
	libvirttest.Daemon(t)
	lb := &libvirtBMC{domains: map[string]string{}, uuids: map[string]string{}}
	media := libvirttest.MediaDir(t)
	var more strings.Builder
	more.WriteString("systems:\n  - {id: \"0\", backend: sim}\n")
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("vm%d", i)
		name, uuid := libvirttest.Define(t, libvirttest.Spec{Name: "conf-" + id, NIC: true, Disk: true, MemoryMiB: 1024})
		lb.domains[id], lb.uuids[id] = name, uuid
		// The guests ignore the ACPI power button: graceful requests are
		// forced after 2 s.
		fmt.Fprintf(&more, "  - id: %s\n    backend: libvirt\n    libvirt: {uri: %q, domain: %q, shutdown_timeout: 2s, media_dir: %q}\n",
			id, libvirttest.URI, name, media)
	}
	b := startBMC(t, bmcOpts{IPMI: true, Config: more.String()})
	lb.ipmiBMC = ipmiBMC{bmc: b, ports: map[string]string{}}
	for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
		_, port, err := net.SplitHostPort(m[2])
		if err != nil {
			t.Fatalf("ipmi listening on %q", m[2])
		}
		lb.ports[m[1]] = port
	}
	if len(lb.ports) != n+1 {
		t.Fatalf("%d IPMI listeners for %d systems; output:\n%s", len(lb.ports), n+1, b.Output())
	}
	return lb
}

// firstBoot is the device the persistent definition of the domain of
// system id boots first: "disk", "cdrom", "nic" or "".
func (lb *libvirtBMC) firstBoot(t *testing.T, id string) string {
	t.Helper()
	var def libvirtxml.Domain
	if err := def.Unmarshal(libvirttest.Virsh(t, "dumpxml", "--inactive", lb.domains[id])); err != nil {
		t.Fatal(err)
	}
	for _, d := range def.Devices.Disks {
		if d.Boot != nil && d.Boot.Order == 1 {
			return d.Device
		}
	}
	for _, n := range def.Devices.Interfaces {
		if n.Boot != nil && n.Boot.Order == 1 {
			return "nic"
		}
	}
	return ""
}

// TestLibvirt drives libvirt domains configured as systems (backend:
// libvirt) with the clients a lab uses: ipmitool's power and boot device
// commands, as VirtualBMC users do, and sushy's virtual-media boot, as
// sushy-tools users do, the guest booting a real ISO whose marker is read
// over IPMI SOL. Redfish Ids are the configured ones; the domains' UUIDs
// are the Systems' UUIDs.
func TestLibvirt(t *testing.T) {
	t.Parallel()
	requireIPMIClients(t)
	requireSushy(t)
	lb := startLibvirtBMC(t, 2)

	t.Run("Inventory", func(t *testing.T) {
		for id, uuid := range lb.uuids {
			s := lb.Get(t, "/redfish/v1/Systems/"+id)
			if s["UUID"] != uuid || s["HostName"] != lb.domains[id] || s["PowerState"] != "Off" {
				t.Errorf("system %s: UUID %v HostName %v PowerState %v, want %s %s Off", id, s["UUID"], s["HostName"], s["PowerState"], uuid, lb.domains[id])
			}
		}
	})

	t.Run("Schema", func(t *testing.T) {
		v, err := schemacheck.Load(schemaDir)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		results, err := v.Walk(ctx, lb.client, lb.URL, func(r *http.Request) { r.SetBasicAuth(lb.User, lb.Password) })
		if err != nil {
			t.Fatalf("walk: %v", err)
		}
		seen := 0
		for _, r := range results {
			if r.Err != nil {
				t.Errorf("%s [HTTP %d, %s]: %v", r.Path, r.Status, r.Type, r.Err)
			}
			if strings.Contains(r.Path, "/vm1") {
				seen++
			}
		}
		if seen < 10 {
			t.Errorf("the walk validated %d documents of vm1", seen)
		}
	})

	t.Run("IPMIPowerAndBootDevice", func(t *testing.T) {
		const id = "vm1"
		name := lb.domains[id]
		lb.mustIpmitool(t, id, nil, "Chassis Power is off", "chassis", "power", "status")
		// An empty CD boots nothing, as on a server: the CD-ROM drive goes
		// first once the CD holds an image.
		lb.mustIpmitool(t, id, nil, "Set Boot Device to cdrom", "chassis", "bootdev", "cdrom")
		iso := bootiso.Path(t, bootiso.Options{Halt: 2 * time.Second})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, iso) }))
		defer srv.Close()
		lb.Must(t, http.StatusNoContent, request{Method: "POST", Path: "/redfish/v1/Systems/" + id + "/VirtualMedia/Cd/Actions/VirtualMedia.InsertMedia",
			Body: map[string]any{"Image": srv.URL + "/boot.iso"}})
		eventually(t, 10*time.Second, func() (bool, string) {
			return lb.firstBoot(t, id) == "cdrom", "the CD-ROM first in the domain's definition"
		})
		lb.mustIpmitool(t, id, nil, "Set Boot Device to pxe", "chassis", "bootdev", "pxe")
		eventually(t, 10*time.Second, func() (bool, string) { return lb.firstBoot(t, id) == "nic", "the NIC first in the domain's definition" })

		lb.mustIpmitool(t, id, nil, "Chassis Power Control: Up/On", "chassis", "power", "on")
		if st := libvirttest.State(t, name); st != "running" {
			t.Errorf("domain %s after power on, want running", st)
		}
		lb.mustIpmitool(t, id, nil, "Chassis Power is on", "chassis", "power", "status")
		if ps := lb.Get(t, "/redfish/v1/Systems/"+id)["PowerState"]; ps != "On" {
			t.Errorf("Redfish PowerState %v, want On", ps)
		}
		// The one-time boot device was used: the disk boots first again.
		eventually(t, 10*time.Second, func() (bool, string) { return lb.firstBoot(t, id) == "disk", "the disk first again after the boot" })
		if target, enabled, _ := lb.boot(t, id); enabled != "Disabled" {
			t.Errorf("override %s %s after the boot", target, enabled)
		}
		lb.Must(t, http.StatusNoContent, request{Method: "POST", Path: "/redfish/v1/Systems/" + id + "/VirtualMedia/Cd/Actions/VirtualMedia.EjectMedia", Body: map[string]any{}})

		lb.mustIpmitool(t, id, nil, "Chassis Power Control: Reset", "chassis", "power", "reset")
		lb.mustIpmitool(t, id, nil, "Chassis Power Control: Down/Off", "chassis", "power", "off")
		if st := libvirttest.State(t, name); st != "shut off" {
			t.Errorf("domain %s after power off, want shut off", st)
		}
		lb.mustIpmitool(t, id, nil, "Chassis Power is off", "chassis", "power", "status")
		// A domain started outside bmcd is seen on, from libvirt's event.
		libvirttest.Virsh(t, "start", name)
		eventually(t, 5*time.Second, func() (bool, string) {
			return lb.Get(t, "/redfish/v1/Systems/"+id)["PowerState"] == "On", "Redfish to see the domain started by virsh"
		})
		lb.mustIpmitool(t, id, nil, "Chassis Power Control: Down/Off", "chassis", "power", "off")
	})

	t.Run("ConsoleSnapshot", func(t *testing.T) {
		// The domain's VNC screen through bmcd's console: its firmware's
		// text on a VGA-sized picture.
		const id = "vm1"
		lb.mustIpmitool(t, id, nil, "Chassis Power Control: Up/On", "chassis", "power", "on")
		defer lb.mustIpmitool(t, id, nil, "Chassis Power Control: Down/Off", "chassis", "power", "off")
		eventually(t, 30*time.Second, func() (bool, string) {
			r, err := lb.Do(request{Method: http.MethodGet, Path: "/kvm/" + id + "/snapshot.png"})
			if err != nil || r.Status != http.StatusOK {
				return false, fmt.Sprintf("no snapshot yet (%v %v)", r, err)
			}
			img, err := png.Decode(bytes.NewReader(r.Body))
			if err != nil {
				return false, "snapshot.png does not decode: " + err.Error()
			}
			lit := 0
			b := img.Bounds()
			for y := b.Min.Y; y < b.Max.Y; y += 2 {
				for x := b.Min.X; x < b.Max.X; x += 2 {
					if r, g, bl, _ := img.At(x, y).RGBA(); r+g+bl > 3*0x8000 {
						lit++
					}
				}
			}
			return b.Dx() >= 640 && b.Dy() >= 400 && lit > 100, fmt.Sprintf("snapshot %v with %d lit pixels", b, lit)
		})
	})

	t.Run("SushyVirtualMediaBoot", func(t *testing.T) {
		const id = "vm2"
		iso := bootiso.Path(t, bootiso.Options{Halt: 2 * time.Second})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, iso) }))
		defer srv.Close()
		script, err := filepath.Abs(filepath.Join("clients", "sushy_vmedia_boot.py"))
		if err != nil {
			t.Fatal(err)
		}
		log := filepath.Join(t.TempDir(), "sushy.log")
		flow := []string{"sh", "-c", fmt.Sprintf("%s %s --url %s --username %s --password %s --system /redfish/v1/Systems/%s --image-url %s --mode UEFI >%s 2>&1",
			systemPython, script, lb.URL, lb.User, lb.Password, id, srv.URL+"/boot.iso", log)}
		driver := filepath.Join(t.TempDir(), "soldrive.py")
		if err := os.WriteFile(driver, []byte(solDriverScript), 0o600); err != nil {
			t.Fatal(err)
		}
		sol := []string{"ipmitool", "-I", "lanplus", "-H", "127.0.0.1", "-p", lb.ports[id], "-U", adminUser, "-P", adminPassword, "sol", "activate"}
		// SOL first, then the flow (the guest prints its marker once, at
		// boot), then the marker read from SOL's output.
		steps := fmt.Sprintf(`[["expect", "SOL Session operational"], ["run", %s], ["expect", %q], ["send", "\r~."]]`,
			jsonList(flow), bootiso.Marker)
		out, code := runClient(t, 3*time.Minute, systemPython, append([]string{driver, steps}, sol...)...)
		flowOut, _ := os.ReadFile(log)
		if code != 0 || !strings.Contains(out, bootiso.Marker) {
			t.Fatalf("SOL: exit %d:\n%s\nsushy flow:\n%s\nbmcd output:\n%s", code, out, flowOut, lb.Output())
		}
		if !strings.Contains(string(flowOut), "OK: sushy virtual-media boot passed") {
			t.Fatalf("sushy flow:\n%s", flowOut)
		}
		t.Logf("sushy flow:\n%s\nSOL:\n%s", flowOut, out)
		if lb.firstBoot(t, id) != "disk" {
			t.Errorf("the domain boots %s first after the flow, want its disk", lb.firstBoot(t, id))
		}
	})
}

// TestLibvirtDiscovery: a discover entry serves the domains whose names
// match its pattern, each as a System whose Id is the domain's UUID (its
// name accepted in URIs too) with an IPMI endpoint; a domain defined while
// bmcd runs appears, one undefined disappears, without a restart.
func TestLibvirtDiscovery(t *testing.T) {
	t.Parallel()
	requireIPMIClients(t)
	libvirttest.Daemon(t)
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	group := "disc-" + hex.EncodeToString(rnd[:])
	nameA, uuidA := libvirttest.Define(t, libvirttest.Spec{Name: group + "-a", NIC: true})
	nameB, uuidB := libvirttest.Define(t, libvirttest.Spec{Name: group + "-b", NIC: true})
	b := startBMC(t, bmcOpts{IPMI: true, Config: fmt.Sprintf(
		"discover:\n  - backend: libvirt\n    libvirt: {uri: %q, domains: [%q], shutdown_timeout: 2s, media_dir: %q}\n",
		libvirttest.URI, libvirttest.Prefix+group+"-*", libvirttest.MediaDir(t))})
	members := func() []string {
		var ids []string
		for _, m := range b.Get(t, "/redfish/v1/Systems")["Members"].([]any) {
			ids = append(ids, strings.TrimPrefix(m.(map[string]any)["@odata.id"].(string), "/redfish/v1/Systems/"))
		}
		return ids
	}
	if got := members(); !slices.Equal(got, []string{uuidA, uuidB}) {
		t.Errorf("Systems %v, want [%s %s] (the domains by name)", got, uuidA, uuidB)
	}
	if s := b.Get(t, "/redfish/v1/Systems/"+nameA); s["Id"] != uuidA || s["UUID"] != uuidA {
		t.Errorf("by name: Id %v UUID %v, want %s", s["Id"], s["UUID"], uuidA)
	}

	ib := &ipmiBMC{bmc: b, ports: map[string]string{}}
	for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
		_, port, _ := net.SplitHostPort(m[2])
		ib.ports[m[1]] = port
	}
	if ib.ports[uuidA] == "" {
		t.Fatalf("no IPMI endpoint for %s; output:\n%s", uuidA, b.Output())
	}
	ib.mustIpmitool(t, uuidA, nil, "Chassis Power Control: Up/On", "chassis", "power", "on")
	if st := libvirttest.State(t, nameA); st != "running" {
		t.Errorf("domain %s after ipmitool power on, want running", st)
	}
	ib.mustIpmitool(t, uuidA, nil, "Chassis Power Control: Down/Off", "chassis", "power", "off")

	_, uuidC := libvirttest.Define(t, libvirttest.Spec{Name: group + "-c"})
	eventually(t, 15*time.Second, func() (bool, string) {
		got := members()
		return slices.Contains(got, uuidC), fmt.Sprintf("Systems %v lack the domain defined later, %s", got, uuidC)
	})
	libvirttest.Undefine(t, nameB)
	eventually(t, 15*time.Second, func() (bool, string) {
		r, err := b.Do(request{Method: http.MethodGet, Path: "/redfish/v1/Systems/" + uuidB})
		return err == nil && r.Status == http.StatusNotFound, fmt.Sprintf("the undefined domain still served: %v %v", r, err)
	})
}

// The Ironic target conformance/ironic/libvirt.yaml: two TCG domains
// booting UEFI (Ironic switches Secure Boot only on a UEFI machine), with
// a NIC, a sparse 20 GiB disk and 1 GiB, that one discover entry serves.
func init() {
	ironicSetups["libvirt"] = func(t *testing.T) map[string]string {
		libvirttest.Daemon(t)
		var rnd [3]byte
		_, _ = rand.Read(rnd[:])
		group := "ironic-" + hex.EncodeToString(rnd[:])
		spec := libvirttest.Spec{UEFI: true, NIC: true, Disk: true, DiskMiB: 20 << 10, MemoryMiB: 1024}
		spec.Name = group + "-vmedia"
		vmedia, _ := libvirttest.Define(t, spec)
		spec.Name = group + "-ipmi"
		_, ipmiUUID := libvirttest.Define(t, spec)
		return map[string]string{
			"URI": libvirttest.URI, "Domains": libvirttest.Prefix + group + "-*", "MediaDir": libvirttest.MediaDir(t),
			"VMediaDomain": vmedia, "IPMIUUID": ipmiUUID,
		}
	}
}

// jsonList is argv as a JSON list of strings.
func jsonList(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = fmt.Sprintf("%q", a)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
