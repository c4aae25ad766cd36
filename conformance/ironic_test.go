package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"
)

// TestIronic runs the real OpenStack Ironic (Debian's python3-ironic,
// standalone: conformance/ironic/ironic.conf.tmpl) against one bmcd, once
// per target file conformance/ironic/*.yaml: Ironic inspects node A,
// drives its redfish management (boot device, boot mode, Secure Boot,
// indicator, NMI, soft power off), deploys it by redfish-virtual-media
// with its ramdisk deploy interface (the ISO served by Ironic's HTTP
// server, then by its own URL) and tears it down, and manages node B by
// IPMI (power, boot device, reboot, and its
// power sync undoing a power-on made behind its back). Every step is
// checked on bmcd's side through Redfish: power, boot override, the CD's
// image, the event log's boot from Cd.
func TestIronic(t *testing.T) {
	t.Parallel()
	requireIronic(t)
	files, err := filepath.Glob(filepath.Join("ironic", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Ironic targets in conformance/ironic (%v)", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			runIronicTarget(t, loadIronicTarget(t, f))
		})
	}
}

// ironicSetups prepares the backend a target file names in its setup key
// (a libvirt daemon and its domains, say) and returns the values the file
// uses as {{.Name}}. It skips t when the backend cannot run here.
var ironicSetups = map[string]func(t *testing.T) map[string]string{}

// ironicTarget is one target file (see conformance/ironic/sim.yaml).
type ironicTarget struct {
	Setup         string        `yaml:"setup"`
	BMCD          string        `yaml:"bmcd"`
	VMediaSystem  string        `yaml:"vmedia_system"`
	IPMISystem    string        `yaml:"ipmi_system"`
	BootISO       string        `yaml:"boot_iso"`
	DeployTimeout time.Duration `yaml:"deploy_timeout"`
	PowerTimeout  time.Duration `yaml:"power_timeout"`
}

// The bmcd accounts Ironic uses. Virtual media needs ConfigureManager
// (DSP8011), so the Redfish node's account is an Administrator; the IPMI
// node's is an Operator, whose sessions run at OPERATOR privilege (power,
// boot flags).
const (
	ironicBMCUser      = "ironic"
	ironicBMCPassword  = "Ironic-Pass1"
	ironicIPMIUser     = "ironic-ipmi"
	ironicIPMIPassword = "Ironic-Ipmi1"
)

func requireIronic(t *testing.T) {
	t.Helper()
	out, err := exec.Command(systemPython, "-c", "import ironic.cmd.singleprocess, ironic.cmd.dbsync, sushy").CombinedOutput()
	if err != nil {
		t.Skipf("OpenStack Ironic is not installed (%v: %s): `make deps` installs python3-ironic", err, strings.TrimSpace(ironicLastLine(string(out))))
	}
	if _, err := exec.LookPath("ipmitool"); err != nil {
		t.Skipf("ipmitool, Ironic's IPMI client, is not installed (%v): `make deps` installs it", err)
	}
}

func ironicLastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// loadIronicTarget reads a target file: its setup runs first, and the
// file is then a template of the values the setup returned.
func loadIronicTarget(t *testing.T, file string) ironicTarget {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Setup string `yaml:"setup"`
	}
	if err := yaml.Unmarshal(raw, &head); err != nil {
		t.Fatalf("%s: %v (template actions go in quoted strings or the bmcd block)", file, err)
	}
	vars := map[string]string{}
	if head.Setup != "" {
		setup, ok := ironicSetups[head.Setup]
		if !ok {
			t.Fatalf("%s: setup %q is not registered in ironicSetups", file, head.Setup)
		}
		vars = setup(t)
	}
	tmpl, err := template.New(file).Option("missingkey=error").Parse(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var text bytes.Buffer
	if err := tmpl.Execute(&text, vars); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var tg ironicTarget
	dec := yaml.NewDecoder(&text)
	dec.KnownFields(true)
	if err := dec.Decode(&tg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if tg.BMCD == "" || tg.VMediaSystem == "" || tg.IPMISystem == "" {
		t.Fatalf("%s: bmcd, vmedia_system and ipmi_system are required", file)
	}
	if tg.DeployTimeout == 0 {
		tg.DeployTimeout = time.Minute
	}
	if tg.PowerTimeout == 0 {
		tg.PowerTimeout = 30 * time.Second
	}
	return tg
}

func runIronicTarget(t *testing.T, tg ironicTarget) {
	start := time.Now()
	b := startBMC(t, bmcOpts{IPMI: true, Config: tg.BMCD +
		fmt.Sprintf("\nusers:\n  - {name: %s, password: %q, role: Administrator}\n  - {name: %s, password: %q, role: Operator}\n",
			ironicBMCUser, ironicBMCPassword, ironicIPMIUser, ironicIPMIPassword)})
	vmedia := b.Get(t, "/redfish/v1/Systems/"+tg.VMediaSystem)
	ipmiSys := b.Get(t, "/redfish/v1/Systems/"+tg.IPMISystem)
	ipmiPort := ""
	eventually(t, 10*time.Second, func() (bool, string) { // a found system's listener may start just after
		for _, m := range ipmiListening.FindAllStringSubmatch(b.Output(), -1) {
			if m[1] == ipmiSys["Id"] {
				_, ipmiPort, _ = net.SplitHostPort(m[2])
			}
		}
		return ipmiPort != "", fmt.Sprintf("bmcd logged no IPMI port for system %v; output:\n%s", ipmiSys["Id"], b.Output())
	})

	iso := tg.BootISO
	if iso == "" {
		iso = ironicISO(t)
	}
	img, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	isoSrv := serveIronic(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/images/deploy.iso" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "deploy.iso", time.Time{}, bytes.NewReader(img))
	}))
	isoURL := isoSrv.URL + "/images/deploy.iso"

	dir := t.TempDir()
	httpRoot := filepath.Join(dir, "httpboot")
	if err := os.MkdirAll(httpRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	httpSrv := serveIronic(t, http.FileServer(http.Dir(httpRoot)))
	ir := startIronic(t, dir, httpSrv.URL)
	t.Logf("bmcd and Ironic up in %s", time.Since(start).Round(time.Millisecond))
	defer func() {
		if errs := ir.logLines("ERROR"); len(errs) > 0 {
			t.Errorf("Ironic logged errors:\n%s", strings.Join(errs, "\n"))
		}
	}()

	f := &ironicFlow{b: b, ir: ir, tg: tg, iso: img, isoURL: isoURL, isoSrv: isoSrv, httpRoot: httpRoot, httpSrv: httpSrv}
	// The two nodes at once, as one bmcd serves a lab; the group returns
	// when both are done.
	t.Run("nodes", func(t *testing.T) {
		t.Run("redfish-virtual-media", func(t *testing.T) {
			t.Parallel()
			f.vmediaNode(t, vmedia)
		})
		t.Run("ipmi", func(t *testing.T) {
			t.Parallel()
			f.ipmiNode(t, ipmiSys, ipmiPort)
		})
	})
}

// ironicFlow drives Ironic's nodes and checks their machines in bmcd.
type ironicFlow struct {
	b  *bmc
	ir *ironic
	tg ironicTarget

	iso      []byte        // the ISO deployed
	isoURL   string        // its own URL, on isoSrv
	isoSrv   *ironicServer // serves the ISO
	httpRoot string        // Ironic's [deploy] http_root
	httpSrv  *ironicServer // serves httpRoot at Ironic's [deploy] http_url
}

// ironicStep runs one timed step of a flow and logs how long it took.
func ironicStep(t *testing.T, name string, fn func()) {
	t.Helper()
	start := time.Now()
	fn()
	t.Logf("%-44s %s", name, time.Since(start).Round(time.Millisecond))
}

func (f *ironicFlow) vmediaNode(t *testing.T, sys map[string]any) {
	b, ir := f.b, f.ir
	isoURL, isoSrv, httpRoot, httpSrv := f.isoURL, f.isoSrv, f.httpRoot, f.httpSrv
	sysPath := sys["@odata.id"].(string)
	var node map[string]any
	ironicStep(t, "enroll (redfish, redfish-virtual-media)", func() {
		node = ir.call(t, http.MethodPost, "/v1/nodes", map[string]any{
			"name":              "vmedia",
			"driver":            "redfish",
			"boot_interface":    "redfish-virtual-media",
			"deploy_interface":  "ramdisk",
			"inspect_interface": "redfish",
			"driver_info": map[string]any{
				"redfish_address":   b.URL,
				"redfish_system_id": sysPath,
				"redfish_username":  ironicBMCUser,
				"redfish_password":  ironicBMCPassword,
				"redfish_verify_ca": false,
			},
		}, http.StatusCreated)
	})
	uuid := node["uuid"].(string)
	ironicStep(t, "manage", func() { ir.provision(t, "vmedia", "manage", "manageable", f.tg.PowerTimeout) })

	ironicStep(t, "inspect (redfish)", func() { ir.provision(t, "vmedia", "inspect", "manageable", f.tg.DeployTimeout) })
	node = ir.node(t, "vmedia")
	props, _ := node["properties"].(map[string]any)
	sys = b.Get(t, sysPath)
	if want := ironicField(sys, "ProcessorSummary", "LogicalProcessorCount"); fmt.Sprint(props["cpus"]) != fmt.Sprint(want) {
		t.Errorf("inspected cpus %v, bmcd's ProcessorSummary.LogicalProcessorCount %v", props["cpus"], want)
	}
	if gib, ok := ironicField(sys, "MemorySummary", "TotalSystemMemoryGiB").(float64); !ok || fmt.Sprint(props["memory_mb"]) != fmt.Sprint(int(gib*1024)) {
		t.Errorf("inspected memory_mb %v, bmcd's MemorySummary.TotalSystemMemoryGiB %v", props["memory_mb"], gib)
	}
	if props["cpu_arch"] == nil || props["local_gb"] == nil {
		t.Errorf("inspection found no cpu_arch or local_gb: %v", props)
	}
	var ports []string
	for _, p := range ir.call(t, http.MethodGet, "/v1/ports?detail=true&node_uuid="+uuid, nil, http.StatusOK)["ports"].([]any) {
		ports = append(ports, strings.ToLower(p.(map[string]any)["address"].(string)))
	}
	var macs []string
	for _, m := range b.Get(t, sysPath+"/EthernetInterfaces")["Members"].([]any) {
		nic := b.Get(t, m.(map[string]any)["@odata.id"].(string))
		if ironicField(nic, "Status", "State") == "Enabled" {
			macs = append(macs, strings.ToLower(nic["MACAddress"].(string)))
		}
	}
	slices.Sort(ports)
	slices.Sort(macs)
	if len(ports) == 0 || !slices.Equal(ports, macs) {
		t.Errorf("inspection created ports %v, bmcd's enabled EthernetInterfaces have %v", ports, macs)
	}

	if !t.Run("management", func(t *testing.T) { f.vmediaManagement(t, sysPath) }) {
		return
	}

	ironicStep(t, "provide", func() { ir.provision(t, "vmedia", "provide", "available", f.tg.PowerTimeout) })

	for _, v := range []struct {
		name, source string // source: instance_info ramdisk_image_download_source
	}{
		{"ISO published by Ironic's HTTP server", "local"},
		{"ISO at its own URL", "http"},
	} {
		if !t.Run(v.name, func(t *testing.T) {
			ir.call(t, http.MethodPatch, "/v1/nodes/vmedia", []map[string]any{
				{"op": "add", "path": "/instance_info/boot_iso", "value": isoURL},
				{"op": "add", "path": "/instance_info/ramdisk_image_download_source", "value": v.source},
			}, http.StatusOK)
			before := f.eventIDs(t, sysPath)
			isoGets, httpGets := isoSrv.Gets(), httpSrv.Gets()
			ironicStep(t, "deploy (ramdisk, "+v.source+")", func() { ir.provision(t, "vmedia", "active", "active", f.tg.DeployTimeout) })

			if ps := ir.node(t, "vmedia")["power_state"]; ps != "power on" {
				t.Errorf("Ironic's power_state %v after the deploy", ps)
			}
			sys := b.Get(t, sysPath)
			boot, _ := sys["Boot"].(map[string]any)
			if sys["PowerState"] != "On" || boot["BootSourceOverrideTarget"] != "Cd" || boot["BootSourceOverrideEnabled"] != "Continuous" {
				t.Errorf("bmcd after the deploy: PowerState %v, boot override %v %v; want On, Cd Continuous",
					sys["PowerState"], boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"])
			}
			cd := f.cd(t, sysPath)
			image, _ := cd["Image"].(string)
			published := ""
			switch v.source {
			case "local":
				if !strings.HasPrefix(image, ir.httpURL+"/") || !strings.HasSuffix(image, ".iso") {
					t.Errorf("CD image %q, want an ISO under Ironic's http_url %s", image, ir.httpURL)
				} else {
					published = filepath.Join(httpRoot, filepath.FromSlash(strings.TrimPrefix(image, ir.httpURL+"/")))
					if got, err := os.ReadFile(published); err != nil || !bytes.Equal(got, f.iso) {
						t.Errorf("Ironic published %s as something else than the ISO (%v)", published, err)
					}
				}
				if httpSrv.Gets() == httpGets {
					t.Error("bmcd never fetched the ISO Ironic published")
				}
			case "http":
				if image != isoURL {
					t.Errorf("CD image %q, want the ISO's own URL %s", image, isoURL)
				}
				if isoSrv.Gets() == isoGets {
					t.Error("bmcd never fetched the ISO")
				}
			}
			if cd["Inserted"] != true {
				t.Errorf("CD Inserted %v after the deploy", cd["Inserted"])
			}
			if !slices.ContainsFunc(f.newEvents(t, sysPath, before), func(e map[string]any) bool {
				args, _ := e["MessageArgs"].([]any)
				return strings.HasSuffix(fmt.Sprint(e["MessageId"]), ".HostBootStartedFromImage") &&
					len(args) == 3 && args[0] == "Cd" && args[1] == image
			}) {
				t.Errorf("bmcd's event log shows no boot from Cd image %s; new entries:\n%s", image, f.describeEvents(t, sysPath, before))
			}

			before = f.eventIDs(t, sysPath)
			ironicStep(t, "undeploy", func() { ir.provision(t, "vmedia", "deleted", "available", f.tg.DeployTimeout) })
			cd = f.cd(t, sysPath)
			if cd["Inserted"] != false || cd["Image"] != nil {
				t.Errorf("CD after the undeploy: Inserted %v, Image %v", cd["Inserted"], cd["Image"])
			}
			if ps := b.Get(t, sysPath)["PowerState"]; ps != "Off" {
				t.Errorf("bmcd's PowerState %v after the undeploy", ps)
			}
			if !slices.ContainsFunc(f.newEvents(t, sysPath, before), func(e map[string]any) bool {
				return strings.HasSuffix(fmt.Sprint(e["MessageId"]), ".VirtualMediaEjected")
			}) {
				t.Errorf("bmcd's event log shows no eject; new entries:\n%s", f.describeEvents(t, sysPath, before))
			}
			if published != "" {
				if _, err := os.Stat(published); err == nil {
					t.Errorf("Ironic still publishes %s after the undeploy", published)
				}
			}
		}) {
			return
		}
	}
}

// vmediaManagement drives what Ironic's redfish management and power
// interfaces do besides a deploy, on a manageable node that is off, and
// leaves it off with a UEFI, Secure Boot off, no-override machine.
func (f *ironicFlow) vmediaManagement(t *testing.T, sysPath string) {
	b, ir := f.b, f.ir
	supported := ir.call(t, http.MethodGet, "/v1/nodes/vmedia/management/boot_device/supported", nil, http.StatusOK)
	devs, _ := supported["supported_boot_devices"].([]any)
	for _, d := range []string{"pxe", "disk", "cdrom", "bios"} {
		if !slices.Contains(devs, any(d)) {
			t.Errorf("Ironic's supported boot devices %v lack %s", devs, d)
		}
	}
	ironicStep(t, "boot device bios (once)", func() {
		ir.call(t, http.MethodPut, "/v1/nodes/vmedia/management/boot_device", map[string]any{"boot_device": "bios"}, http.StatusNoContent)
	})
	f.wantOverride(t, sysPath, "BiosSetup", "Once")
	if bd := ir.call(t, http.MethodGet, "/v1/nodes/vmedia/management/boot_device", nil, http.StatusOK); bd["boot_device"] != "bios" || bd["persistent"] != false {
		t.Errorf("Ironic reads the boot device back as %v", bd)
	}

	// What the machine offers decides what else Ironic is asked (a VM
	// whose firmware is UEFI only has no Legacy mode, say).
	sys := b.Get(t, sysPath)
	offers := func(list any, v string) bool { l, _ := list.([]any); return slices.Contains(l, any(v)) }
	if offers(ironicField(sys, "Boot", "BootSourceOverrideMode@Redfish.AllowableValues"), "Legacy") {
		for _, m := range []struct{ ironic, redfish string }{{"bios", "Legacy"}, {"uefi", "UEFI"}} {
			ironicStep(t, "boot mode "+m.ironic, func() {
				ir.call(t, http.MethodPut, "/v1/nodes/vmedia/states/boot_mode", map[string]any{"target": m.ironic}, http.StatusAccepted)
				ir.waitField(t, "vmedia", "boot_mode", m.ironic, f.tg.PowerTimeout)
			})
			if mode := ironicField(b.Get(t, sysPath), "Boot", "BootSourceOverrideMode"); mode != m.redfish {
				t.Errorf("bmcd's BootSourceOverrideMode %v after Ironic set boot mode %s", mode, m.ironic)
			}
		}
	} else {
		t.Log("no Legacy boot mode on this machine: boot mode changes not tried")
	}
	if offers(b.Get(t, sysPath+"/SecureBoot")["@Redfish.WriteableProperties"], "SecureBootEnable") {
		for _, on := range []bool{true, false} {
			ironicStep(t, fmt.Sprintf("secure boot %v", on), func() {
				ir.call(t, http.MethodPut, "/v1/nodes/vmedia/states/secure_boot", map[string]any{"target": on}, http.StatusAccepted)
				ir.waitField(t, "vmedia", "secure_boot", on, f.tg.PowerTimeout)
			})
			if got := b.Get(t, sysPath+"/SecureBoot")["SecureBootEnable"]; got != on {
				t.Errorf("bmcd's SecureBootEnable %v after Ironic set secure boot %v", got, on)
			}
		}
	} else {
		t.Log("Secure Boot cannot be switched on this machine: not tried")
	}

	// Ironic names a system's indicator by the System's UUID and sets it
	// through IndicatorLED. (Its list of indicators, GET
	// .../management/indicators, fails in Ironic 21.4 on any System with
	// SimpleStorage: it asks the collection for "drives".)
	path := "/v1/nodes/vmedia/management/indicators/" + fmt.Sprint(sys["UUID"]) + "@system"
	ironicStep(t, "indicator on", func() { ir.call(t, http.MethodPut, path, map[string]any{"state": "on"}, http.StatusNoContent) })
	if sys := b.Get(t, sysPath); sys["IndicatorLED"] != "Lit" || sys["LocationIndicatorActive"] != true {
		t.Errorf("bmcd's IndicatorLED %v, LocationIndicatorActive %v after Ironic lit the system's indicator", sys["IndicatorLED"], sys["LocationIndicatorActive"])
	}
	if st := ir.call(t, http.MethodGet, path, nil, http.StatusOK); st["state"] != "on" {
		t.Errorf("Ironic reads the indicator back as %v", st)
	}
	ir.call(t, http.MethodPut, path, map[string]any{"state": "off"}, http.StatusNoContent)
	if led := b.Get(t, sysPath)["IndicatorLED"]; led != "Off" {
		t.Errorf("bmcd's IndicatorLED %v after Ironic put the indicator out", led)
	}

	// Power on boots BIOS setup, the one-time override above.
	ironicStep(t, "power on", func() { ir.power(t, "vmedia", "power on", f.tg.PowerTimeout) })
	resetTypes := ironicField(sys, "Actions", "#ComputerSystem.Reset", "ResetType@Redfish.AllowableValues")
	if offers(resetTypes, "Nmi") {
		before := f.eventIDs(t, sysPath)
		ironicStep(t, "inject NMI", func() {
			ir.call(t, http.MethodPut, "/v1/nodes/vmedia/management/inject_nmi", map[string]any{}, http.StatusNoContent)
		})
		if !slices.ContainsFunc(f.newEvents(t, sysPath, before), func(e map[string]any) bool {
			return strings.HasSuffix(fmt.Sprint(e["MessageId"]), ".DiagnosticInterruptSent")
		}) {
			t.Errorf("bmcd's event log shows no NMI; new entries:\n%s", f.describeEvents(t, sysPath, before))
		}
	} else {
		t.Log("no NMI on this machine: not tried")
	}
	off := "soft power off"
	if !offers(resetTypes, "GracefulShutdown") {
		off = "power off"
	}
	ironicStep(t, off, func() { ir.power(t, "vmedia", off, f.tg.PowerTimeout) })
	if ps := b.Get(t, sysPath)["PowerState"]; ps != "Off" {
		t.Errorf("bmcd's PowerState %v after Ironic's %s", ps, off)
	}
	f.wantOverride(t, sysPath, "None", "Disabled") // the one-time override was used
}

func (f *ironicFlow) ipmiNode(t *testing.T, sys map[string]any, port string) {
	b, ir := f.b, f.ir
	sysPath := sys["@odata.id"].(string)
	ironicStep(t, "enroll (ipmi)", func() {
		ir.call(t, http.MethodPost, "/v1/nodes", map[string]any{
			"name":   "ipmi",
			"driver": "ipmi",
			"driver_info": map[string]any{
				"ipmi_address":    "127.0.0.1",
				"ipmi_port":       port,
				"ipmi_username":   ironicIPMIUser,
				"ipmi_password":   ironicIPMIPassword,
				"ipmi_priv_level": "OPERATOR",
			},
		}, http.StatusCreated)
	})
	ironicStep(t, "manage", func() { ir.provision(t, "ipmi", "manage", "manageable", f.tg.PowerTimeout) })
	if ps := b.Get(t, sysPath)["PowerState"]; ps == "On" {
		ironicStep(t, "power off", func() { ir.power(t, "ipmi", "power off", f.tg.PowerTimeout) })
	}
	ironicStep(t, "power on", func() { ir.power(t, "ipmi", "power on", f.tg.PowerTimeout) })
	b.WaitPower(t, ironicTail(sysPath), "On")

	ironicStep(t, "boot device pxe (once)", func() {
		ir.call(t, http.MethodPut, "/v1/nodes/ipmi/management/boot_device", map[string]any{"boot_device": "pxe"}, http.StatusNoContent)
	})
	f.wantOverride(t, sysPath, "Pxe", "Once")
	if bd := ir.call(t, http.MethodGet, "/v1/nodes/ipmi/management/boot_device", nil, http.StatusOK); bd["boot_device"] != "pxe" || bd["persistent"] != false {
		t.Errorf("Ironic reads the boot device back as %v", bd)
	}
	before := f.eventIDs(t, sysPath)
	ironicStep(t, "reboot", func() { ir.power(t, "ipmi", "rebooting", f.tg.PowerTimeout) })
	b.WaitPower(t, ironicTail(sysPath), "On")
	eventually(t, f.tg.PowerTimeout, func() (bool, string) {
		return slices.ContainsFunc(f.newEvents(t, sysPath, before), func(e map[string]any) bool {
			args, _ := e["MessageArgs"].([]any)
			return strings.HasSuffix(fmt.Sprint(e["MessageId"]), ".HostBootStarted") && len(args) > 0 && args[0] == "Pxe"
		}), "no boot from Pxe in bmcd's event log; new entries:\n" + f.describeEvents(t, sysPath, before)
	})
	f.wantOverride(t, sysPath, "None", "Disabled") // the one-time override was used

	ironicStep(t, "boot device disk (persistent)", func() {
		ir.call(t, http.MethodPut, "/v1/nodes/ipmi/management/boot_device", map[string]any{"boot_device": "disk", "persistent": true}, http.StatusNoContent)
	})
	f.wantOverride(t, sysPath, "Hdd", "Continuous")
	if bd := ir.call(t, http.MethodGet, "/v1/nodes/ipmi/management/boot_device", nil, http.StatusOK); bd["boot_device"] != "disk" || bd["persistent"] != true {
		t.Errorf("Ironic reads the boot device back as %v", bd)
	}
	ironicStep(t, "power off", func() { ir.power(t, "ipmi", "power off", f.tg.PowerTimeout) })
	b.WaitPower(t, ironicTail(sysPath), "Off")

	// A power-on behind Ironic's back (through Redfish): Ironic's power
	// sync reads it over IPMI and, as force_power_state_during_sync says,
	// powers the node off again.
	ironicStep(t, "power sync undoes a Redfish power-on", func() {
		before := f.eventIDs(t, sysPath)
		b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: sysPath + "/Actions/ComputerSystem.Reset", Body: map[string]any{"ResetType": "On"}})
		// From the event log rather than by polling PowerState, which
		// could miss an On that Ironic is quick to end.
		eventually(t, f.tg.PowerTimeout, func() (bool, string) {
			on := -1
			for i, e := range f.newEvents(t, sysPath, before) {
				switch id := fmt.Sprint(e["MessageId"]); {
				case strings.HasSuffix(id, ".ResourcePoweredOn"):
					on = i
				case strings.HasSuffix(id, ".ResourcePoweredOff") && on >= 0:
					if ps := b.Get(t, sysPath)["PowerState"]; ps == "Off" {
						return true, ""
					}
				}
			}
			return false, "Ironic's power sync did not power the node off again; new entries:\n" + f.describeEvents(t, sysPath, before)
		})
	})
	if n := ir.node(t, "ipmi"); n["power_state"] != "power off" || n["maintenance"] != false {
		t.Errorf("Ironic's node after the power sync: power_state %v, maintenance %v (%v)", n["power_state"], n["maintenance"], n["maintenance_reason"])
	}
}

func ironicTail(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

func ironicField(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	return v
}

func (f *ironicFlow) wantOverride(t *testing.T, sysPath, target, enabled string) {
	t.Helper()
	boot, _ := f.b.Get(t, sysPath)["Boot"].(map[string]any)
	if boot["BootSourceOverrideTarget"] != target || boot["BootSourceOverrideEnabled"] != enabled {
		t.Errorf("bmcd's boot override %v %v, want %s %s", boot["BootSourceOverrideTarget"], boot["BootSourceOverrideEnabled"], target, enabled)
	}
}

// cd is the system's virtual CD (the VirtualMedia member whose MediaTypes
// has CD or DVD).
func (f *ironicFlow) cd(t *testing.T, sysPath string) map[string]any {
	t.Helper()
	for _, m := range f.b.Get(t, sysPath+"/VirtualMedia")["Members"].([]any) {
		vm := f.b.Get(t, m.(map[string]any)["@odata.id"].(string))
		types, _ := vm["MediaTypes"].([]any)
		if slices.Contains(types, any("CD")) || slices.Contains(types, any("DVD")) {
			return vm
		}
	}
	t.Fatalf("%s has no virtual CD", sysPath)
	return nil
}

func (f *ironicFlow) events(t *testing.T, sysPath string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range f.b.Get(t, sysPath+"/LogServices/EventLog/Entries")["Members"].([]any) {
		out = append(out, m.(map[string]any))
	}
	return out
}

func (f *ironicFlow) eventIDs(t *testing.T, sysPath string) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, e := range f.events(t, sysPath) {
		ids[fmt.Sprint(e["@odata.id"])] = true
	}
	return ids
}

// newEvents are the system's event log entries that were not in before.
func (f *ironicFlow) newEvents(t *testing.T, sysPath string, before map[string]bool) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range f.events(t, sysPath) {
		if !before[fmt.Sprint(e["@odata.id"])] {
			out = append(out, e)
		}
	}
	return out
}

func (f *ironicFlow) describeEvents(t *testing.T, sysPath string, before map[string]bool) string {
	var s strings.Builder
	for _, e := range f.newEvents(t, sysPath, before) {
		fmt.Fprintf(&s, "  %v %v %v\n", e["MessageId"], e["MessageArgs"], e["Message"])
	}
	return s.String()
}

// ironicServer is an HTTP server on 127.0.0.1 that counts the GET
// requests it answers.
type ironicServer struct {
	URL  string
	mu   sync.Mutex
	gets int
}

func serveIronic(t *testing.T, h http.Handler) *ironicServer {
	t.Helper()
	s := &ironicServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.mu.Lock()
			s.gets++
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *ironicServer) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// ironicISO makes a small ISO 9660 image with xorriso, or returns the
// synthetic image every simulated firmware accepts when xorriso is not
// installed.
func ironicISO(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "deploy.iso")
	if _, err := exec.LookPath("xorriso"); err == nil {
		root := filepath.Join(dir, "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "README.TXT"), []byte("bmcd Ironic conformance\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-V", "BMCD_IRONIC", "-o", out, root).CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v\n%s", err, msg)
		}
		return out
	}
	t.Log("xorriso is not installed: deploying the synthetic ISO image")
	if err := os.WriteFile(out, isoImage, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// ironic is one standalone Ironic (API and conductor in one process).
type ironic struct {
	URL     string // the API's endpoint, http://127.0.0.1:port
	httpURL string // [deploy] http_url
	logPath string
	client  *http.Client
}

var ironicListening = regexp.MustCompile(`wsgi starting up on (http://127\.0\.0\.1:\d+)`)

// startIronic writes ironic.conf into dir from ironic/ironic.conf.tmpl
// (http_root dir/httpboot, published at httpURL), creates the database
// and starts Ironic; it is stopped when the test ends.
func startIronic(t *testing.T, dir, httpURL string) *ironic {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("ironic", "ironic.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"state", "tmp", "lock", "httpboot", "tftpboot", "images", "master_images", "master_iso_images"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]string{"Dir": dir, "HTTPURL": httpURL}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "ironic.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("ironic", "ironic_standalone.py"))
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runClient(t, 2*time.Minute, systemPython, script, "dbsync", "--config-file", confPath, "create_schema"); code != 0 {
		t.Fatalf("ironic-dbsync create_schema exited %d:\n%s", code, out)
	}

	ir := &ironic{httpURL: httpURL, logPath: filepath.Join(dir, "ironic.log"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	logf, err := os.Create(ir.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, script, "serve", "--config-file", confPath)
	cmd.Env = clientEnv()
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // ipmitool children go with it
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start Ironic: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			// The whole log (sushy's and ipmitool's exchanges are DEBUG
			// records) outlives the test's directory.
			kept := ""
			if raw, err := os.ReadFile(ir.logPath); err == nil {
				if f, err := os.CreateTemp("", "bmcd-ironic-*.log"); err == nil {
					_, _ = f.Write(raw)
					f.Close()
					kept = ", the whole log kept in " + f.Name()
				}
			}
			t.Logf("Ironic's log but DEBUG records%s:\n%s", kept, strings.Join(ir.logLines(""), "\n"))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for ir.URL == "" {
		raw, _ := os.ReadFile(ir.logPath)
		if m := ironicListening.FindSubmatch(raw); m != nil {
			ir.URL = string(m[1])
			break
		}
		select {
		case <-done:
			t.Fatalf("Ironic exited before serving:\n%s", raw)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ironic did not serve within 90s:\n%s", raw)
		}
	}
	return ir
}

// osloLine starts each record of Ironic's log: date, time, pid, level.
var osloLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \S+ \d+ (\w+) `)

// logLines are the records of Ironic's log at level ("ERROR") or, for "",
// every record but DEBUG ones; a record's continuation lines (a
// traceback, ipmitool's output) go with it.
func (ir *ironic) logLines(level string) []string {
	f, err := os.Open(ir.logPath)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var out []string
	keep := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := osloLine.FindStringSubmatch(line); m != nil {
			keep = m[1] == level || (level == "" && m[1] != "DEBUG")
		}
		if keep {
			out = append(out, line)
		}
	}
	return out
}

// call sends one request to Ironic's API (the newest microversion) and
// fails t unless the status is want; it returns the JSON body, if any.
func (ir *ironic) call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ir.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", "latest")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ir.client.Do(req)
	if err != nil {
		t.Fatalf("Ironic %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("Ironic %s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("Ironic %s %s: %v: %s", method, path, err, raw)
		}
	}
	return m
}

func (ir *ironic) node(t *testing.T, name string) map[string]any {
	t.Helper()
	return ir.call(t, http.MethodGet, "/v1/nodes/"+name, nil, http.StatusOK)
}

// provision asks for a provision state change (target: manage, provide,
// inspect, active, deleted) and waits until the node rests in want.
func (ir *ironic) provision(t *testing.T, name, target, want string, timeout time.Duration) {
	t.Helper()
	ir.call(t, http.MethodPut, "/v1/nodes/"+name+"/states/provision", map[string]any{"target": target}, http.StatusAccepted)
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		state, _ := n["provision_state"].(string)
		if state == want && n["target_provision_state"] == nil {
			return
		}
		if strings.HasSuffix(state, "failed") || state == "error" || (state == "enroll" && n["last_error"] != nil) {
			t.Fatalf("node %s: %s -> %s: provision_state %q: %v", name, target, want, state, n["last_error"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s -> %s: still %q (target %v) after %s", name, target, want, state, n["target_provision_state"], timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitField waits until a field of the node is want (boot_mode and
// secure_boot change in the background after a 202).
func (ir *ironic) waitField(t *testing.T, name, field string, want any, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		if n[field] == want {
			return
		}
		if n["last_error"] != nil {
			t.Fatalf("node %s: %s %v: %v", name, field, want, n["last_error"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s is %v, not %v, after %s", name, field, n[field], want, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// power asks for a power state (power on, power off, soft power off,
// rebooting) and waits until Ironic has reached it.
func (ir *ironic) power(t *testing.T, name, target string, timeout time.Duration) {
	t.Helper()
	ir.call(t, http.MethodPut, "/v1/nodes/"+name+"/states/power", map[string]any{"target": target}, http.StatusAccepted)
	want := map[string]string{"rebooting": "power on", "soft power off": "power off"}[target]
	if want == "" {
		want = target
	}
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		if n["target_power_state"] == nil {
			if n["last_error"] != nil {
				t.Fatalf("node %s: %s: %v", name, target, n["last_error"])
			}
			if n["power_state"] == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s: power_state %v (target %v) after %s", name, target, n["power_state"], n["target_power_state"], timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
