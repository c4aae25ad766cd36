package conformance

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
