package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

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
