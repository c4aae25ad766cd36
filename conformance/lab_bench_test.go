package conformance

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

// BenchmarkLab is one bmcd in front of a lab: the 500 VMs of a vcsim
// process and 50 defined libvirt domains, both found by discover entries,
// as `make bench` reports it (issue 9): how long bmcd takes to list them
// all at start, one expanded GET of every System, a power-on round trip
// through Redfish for a vSphere VM and a libvirt domain (the POST until
// a GET shows On), and bmcd's resident memory. Run once:
//
//	go test -run '^$' -bench BenchmarkLab -benchtime 1x ./conformance/
func BenchmarkLab(b *testing.B) {
	const vms, domains = 500, 50
	uri := libvirttest.Daemon(b)
	vc := startVcsim(b, "-vm", strconv.Itoa(vms))
	var names []string
	for i := range domains {
		name, _ := libvirttest.Define(b, libvirttest.Spec{Name: fmt.Sprintf("lab%02d", i), NoSerial: true, NoVNC: true})
		names = append(names, name)
	}
	cfg := fmt.Sprintf(`discover:
  - backend: vsphere
    vsphere: {url: %q, username: bmcd, password: secret, ca_file: %q}
  - backend: libvirt
    libvirt: {uri: %q, domains: [%q]}
`, vc.URL, vc.Cert, uri, libvirttest.Prefix+"lab*")
	for b.Loop() {
		start := time.Now()
		bm := startBMC(b, bmcOpts{IPMI: true, Config: cfg})
		listed := time.Since(start)

		t0 := time.Now()
		coll := bm.Get(b, "/redfish/v1/Systems?$expand=.($levels=1)")
		expand := time.Since(t0)
		members, _ := coll["Members"].([]any)
		if n, want := len(members), vms+domains; n != want {
			b.Fatalf("%d Systems, want %d", n, want)
		}
		// By alias: a vSphere VM's name, a domain's name.
		vsID, _ := bm.Get(b, "/redfish/v1/Systems/DC0_C0_RP0_VM0")["Id"].(string)
		lvID, _ := bm.Get(b, "/redfish/v1/Systems/"+names[0])["Id"].(string)
		powerOn := func(id string) time.Duration {
			ps, _ := bm.Get(b, "/redfish/v1/Systems/"+id)["PowerState"].(string)
			if ps == "On" {
				bm.Must(b, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/" + id + "/Actions/ComputerSystem.Reset", Body: map[string]string{"ResetType": "ForceOff"}})
				bm.WaitPower(b, id, "Off")
			}
			t := time.Now()
			bm.Must(b, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/" + id + "/Actions/ComputerSystem.Reset", Body: map[string]string{"ResetType": "On"}})
			for {
				if ps, _ := bm.Get(b, "/redfish/v1/Systems/"+id)["PowerState"].(string); ps == "On" {
					return time.Since(t)
				}
				if time.Since(t) > time.Minute {
					b.Fatalf("%s not On after a minute", id)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		vsOn, lvOn := powerOn(vsID), powerOn(lvID)
		bm.Must(b, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/" + lvID + "/Actions/ComputerSystem.Reset", Body: map[string]string{"ResetType": "ForceOff"}})
		rss := residentKiB(bm.current().cmd.Process.Pid)
		b.ReportMetric(listed.Seconds(), "s/start+list")
		b.ReportMetric(float64(expand.Milliseconds()), "ms/expanded-GET")
		b.ReportMetric(float64(vsOn.Milliseconds()), "ms/vsphere-power-on")
		b.ReportMetric(float64(lvOn.Milliseconds()), "ms/libvirt-power-on")
		b.ReportMetric(float64(rss)/1024, "MiB-RSS")
		fmt.Printf("lab: %d vcsim VMs + %d libvirt domains: bmcd started and listed them in %s; GET Systems?$expand=.($levels=1) (%d members) %s; "+
			"power-on round trip (Redfish POST On until GET shows On): vSphere %s, libvirt %s; bmcd resident %.1f MiB\n",
			vms, domains, listed.Round(time.Millisecond), len(members), expand.Round(time.Millisecond),
			vsOn.Round(time.Millisecond), lvOn.Round(time.Millisecond), float64(rss)/1024)
	}
}

// residentKiB is a process's VmRSS, 0 if it cannot be read.
func residentKiB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
