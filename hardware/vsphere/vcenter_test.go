package vsphere

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"gopkg.in/yaml.v3"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
)

// vcenter is govmomi's simulator in this process: a vCenter with one
// datacenter (DC0), one cluster of one host, one datastore (LocalDS_0)
// and n VMs named DC0_C0_RP0_VM0.., powered off, served over https with
// a self-signed certificate.
type vcenter struct {
	t    testing.TB
	m    *simulator.Model
	addr string
	mu   sync.Mutex
	srv  server      // the server now, nil while stopped
	URL  string      // https://127.0.0.1:PORT/sdk
	tls  *tls.Config // the server's, with its certificate
	// nmis counts the NMIs the VMs got (with extras).
	nmis atomic.Int32
	// screenshots counts the screenshots taken (with extras).
	screenshots atomic.Int32
	// calls counts the SOAP calls but the property collector's long polls.
	calls atomic.Int64
}

func newVCenter(t testing.TB, n int, extras bool) *vcenter {
	t.Helper()
	m := simulator.VPX()
	m.Host, m.ClusterHost, m.Machine, m.Autostart = 0, 1, n, false
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	v := &vcenter{t: t, m: m}
	v.front(extras)
	m.Service.TLS = new(tls.Config)
	s := m.Service.NewServer()
	v.srv, v.addr, v.tls = s, s.URL.Host, s.TLS
	v.URL = "https://" + v.addr + "/sdk"
	t.Cleanup(func() {
		v.stop()
		m.Remove()
	})
	return v
}

// server is a running simulator server.
type server interface {
	Close()
	CloseClientConnections()
}

// stop closes the server and every connection to it.
func (v *vcenter) stop() {
	v.mu.Lock()
	s := v.srv
	v.srv = nil
	v.mu.Unlock()
	if s != nil {
		s.CloseClientConnections()
		s.Close()
	}
}

// restart stops the server for down and serves the same inventory again
// on the same address, with every session but the test's own ended, as a
// vCenter restart does.
func (v *vcenter) restart(t testing.TB, down time.Duration) {
	t.Helper()
	v.endSessions(t)
	v.stop()
	time.Sleep(down)
	l, err := net.Listen("tcp", v.addr)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(v.m.Service.ServeMux)
	s.Listener.Close()
	s.Listener, s.TLS = l, v.tls
	s.StartTLS()
	v.mu.Lock()
	v.srv = s
	v.mu.Unlock()
	v.client(t).CloseIdleConnections() // the test's own, to the old server
}

// endSessions ends every session but the test's own (TerminateSession).
func (v *vcenter) endSessions(t testing.TB) {
	t.Helper()
	vc := v.client(t)
	ctx := context.Background()
	var sm mo.SessionManager
	ref := *vc.ServiceContent.SessionManager
	if err := property.DefaultCollector(vc).RetrieveOne(ctx, ref, []string{"sessionList", "currentSession"}, &sm); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range sm.SessionList {
		if sm.CurrentSession == nil || s.Key != sm.CurrentSession.Key {
			ids = append(ids, s.Key)
		}
	}
	if len(ids) == 0 {
		return
	}
	if _, err := methods.TerminateSession(ctx, vc, &types.TerminateSession{This: ref, SessionId: ids}); err != nil {
		t.Fatal(err)
	}
}

// front answers the SOAP calls in front of vcsim's handler: it counts
// them, and with extras gives the simulated VMs SendNMI and
// CreateScreenshot_Task, which vcsim lacks (vCenter 8 has both), so that
// the backend declares Nmi and a display (vcsim dispatches a method to
// the object itself, so they cannot be added there). Called before the
// server serves anything.
func (v *vcenter) front(extras bool) {
	if v.m.Service.ServeMux == nil {
		v.m.Service.ServeMux = http.NewServeMux()
	}
	// More specific than the "/sdk" NewServer registers.
	v.m.Service.ServeMux.HandleFunc("POST /sdk", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if !bytes.Contains(body, []byte("WaitForUpdatesEx")) {
			v.calls.Add(1)
		}
		m := extraCall.FindSubmatch(body)
		if m == nil || !extras {
			v.m.Service.ServeSDK(w, r)
			return
		}
		method, ref := string(m[1]), types.ManagedObjectReference{Type: "VirtualMachine", Value: string(m[2])}
		vm, ok := v.m.Map().Get(ref).(*simulator.VirtualMachine)
		if !ok {
			v.m.Service.ServeSDK(w, r)
			return
		}
		var power types.VirtualMachinePowerState
		var name, dir string
		var dsRef types.ManagedObjectReference
		ctx := v.m.Service.Context
		v.m.Map().WithLock(ctx, vm, func() {
			power, name, dsRef = vm.Runtime.PowerState, vm.Name, vm.Datastore[0]
			var p object.DatastorePath
			p.FromString(vm.Config.Files.VmPathName)
			dir = filepath.Dir(p.Path)
		})
		const env = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>`
		if method == "SendNMI" {
			if power != types.VirtualMachinePowerStatePoweredOn {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, env, `<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The attempted operation cannot be performed in the current state (Powered off).</faultstring><detail><InvalidPowerStateFault xmlns="urn:vim25" xsi:type="InvalidPowerState"><requestedState>poweredOn</requestedState><existingState>`+string(power)+`</existingState></InvalidPowerStateFault></detail></soapenv:Fault>`)
				return
			}
			v.nmis.Add(1)
			fmt.Fprintf(w, env, `<SendNMIResponse xmlns="urn:vim25"></SendNMIResponse>`)
			return
		}
		task := simulator.CreateTask(vm, "createScreenshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			if power != types.VirtualMachinePowerStatePoweredOn {
				return nil, &types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOn, ExistingState: power}
			}
			ds := v.m.Map().Get(dsRef).(*simulator.Datastore)
			n := v.screenshots.Add(1)
			img := image.NewRGBA(image.Rect(0, 0, 64, 48))
			img.Set(int(n)%64, 0, color.RGBA{R: 255, A: 255}) // each picture differs
			var buf bytes.Buffer
			_ = png.Encode(&buf, img)
			file := fmt.Sprintf("%s/%s-%d.png", dir, name, n)
			if err := os.WriteFile(filepath.Join(ds.Info.GetDatastoreInfo().Url, file), buf.Bytes(), 0o600); err != nil {
				return nil, &types.FileFault{File: file}
			}
			return fmt.Sprintf("[%s] %s", ds.Name, file), nil
		})
		fmt.Fprintf(w, env, `<CreateScreenshot_TaskResponse xmlns="urn:vim25"><returnval type="Task">`+task.Run(ctx).Value+`</returnval></CreateScreenshot_TaskResponse>`)
	})
}

// extraCall matches a SOAP request for one of the extras.
var extraCall = regexp.MustCompile(`<(SendNMI|CreateScreenshot_Task)\b[^>]*>\s*<_this[^>]*>([^<]+)</_this>`)

// client logs in to the simulator as "test" (a session of its own, apart
// from the backends'), for a test's own look at the VMs.
func (v *vcenter) client(t testing.TB) *vim25.Client {
	t.Helper()
	u, err := url.Parse(v.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := acquire(connConfig{URL: u, Username: "test", Password: "pass", Insecure: true}, quietLog)
	t.Cleanup(c.release)
	vc, _, err := c.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return vc
}

// vms lists the VMs' references and names, by name.
func (v *vcenter) vms(t testing.TB) []mo.VirtualMachine {
	t.Helper()
	vc := v.client(t)
	var out []mo.VirtualMachine
	vms, err := find.NewFinder(vc).VirtualMachineList(context.Background(), "*")
	if err != nil {
		t.Fatal(err)
	}
	refs := make([]types.ManagedObjectReference, len(vms))
	for i, vm := range vms {
		refs[i] = vm.Reference()
	}
	if err := property.DefaultCollector(vc).Retrieve(context.Background(), refs, []string{"name", "config", "runtime"}, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// vm reads one VM as vCenter has it.
func (v *vcenter) vm(t testing.TB, name string) mo.VirtualMachine {
	t.Helper()
	vc := v.client(t)
	obj, err := find.NewFinder(vc).VirtualMachine(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	var vm mo.VirtualMachine
	if err := obj.Properties(context.Background(), obj.Reference(), []string{"name", "config", "runtime", "summary"}, &vm); err != nil {
		t.Fatal(err)
	}
	return vm
}

// toolsRunning makes VMware Tools run in every VM's guest (vcsim's
// RebootGuest needs them).
func (v *vcenter) toolsRunning() {
	ctx := v.m.Service.Context
	for _, e := range v.m.Map().All("VirtualMachine") {
		v.m.Map().AtomicUpdate(ctx, e.(mo.Reference), []types.PropertyChange{
			{Name: "guest.toolsRunningStatus", Val: string(types.VirtualMachineToolsRunningStatusGuestToolsRunning)}})
	}
}

// vmName is the name of the simulator's VM number i.
func vmName(i int) string { return fmt.Sprintf("DC0_C0_RP0_VM%d", i) }

// config is a backend block in YAML, decoded as bmcd decodes it.
func config(t testing.TB, backend, text string) hardware.BackendConfig {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return backendconfig.New(backend, n.Content[0])
}

// newTestBackend makes the backend of VM name through the registry, as
// bmcd does from its configuration file.
func (v *vcenter) backend(t testing.TB, name string, extra ...string) hardware.Backend {
	t.Helper()
	text := fmt.Sprintf("{url: %q, username: user, password: pass, insecure: true, vm: %q, screenshot_interval: 50ms%s}",
		v.URL, name, strings.Join(append([]string{""}, extra...), ", "))
	b, err := hardware.NewBackend("vsphere", hardware.Setup{ID: name, StateDir: t.TempDir(), Log: quietLog, Config: config(t, "vsphere", text)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

var quietLog = slog.New(slog.DiscardHandler)
