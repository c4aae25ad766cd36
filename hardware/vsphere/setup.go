package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

func init() {
	hardware.Register("vsphere", setup)
	hardware.RegisterDiscovery("vsphere", setupDiscovery)
}

// Params is a system's `vsphere:` block: one VM of a vCenter (or ESXi).
//
//	vsphere:
//	  url: https://vcenter.example.com/sdk
//	  username: bmcd@vsphere.local
//	  password_file: /etc/bmcd/vcenter-password   # or password: ...
//	  ca_file: /etc/bmcd/vcenter-ca.pem           # or insecure: true
//	  datacenter: DC1                             # optional with one datacenter
//	  vm: /DC1/vm/lab/node-3                      # inventory path, name, or instance UUID
type Params struct {
	// URL is the SDK endpoint, https://HOST/sdk ("/sdk" is added to a URL
	// without a path).
	URL      string `yaml:"url" validate:"required"`
	Username string `yaml:"username" validate:"required"`
	// Password, or PasswordFile: a file holding it (a trailing newline is
	// dropped).
	Password     string `yaml:"password" validate:"required_without=PasswordFile,excluded_with=PasswordFile"`
	PasswordFile string `yaml:"password_file"`
	// Insecure accepts any certificate; CAFile names the PEM certificates
	// vCenter's must chain to (default: the system roots).
	Insecure bool   `yaml:"insecure"`
	CAFile   string `yaml:"ca_file" validate:"excluded_with=Insecure"`
	// Datacenter is the VM's datacenter (name or inventory path); empty
	// when the vCenter has one.
	Datacenter string `yaml:"datacenter"`
	// VM is the VM: its inventory path (/DC1/vm/folder/name), its name
	// (unique in the datacenter), or its instance UUID (config.instanceUuid;
	// the BIOS UUID is tried next).
	VM string `yaml:"vm" validate:"required"`
	// MediaDatastore is where images are uploaded (default: the VM's
	// first datastore).
	MediaDatastore string `yaml:"media_datastore"`
	// ScreenshotInterval is how often the console's picture is taken while
	// someone watches it (default 1s).
	ScreenshotInterval time.Duration `yaml:"screenshot_interval" validate:"min=0"`
}

// connConfig checks the connection settings.
func connSettings(rawURL, user, password, passwordFile string, insecure bool, caFile string) (connConfig, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return connConfig{}, fmt.Errorf("vsphere.url: %q is not an https URL of a vCenter or ESXi", rawURL)
	}
	if u.User != nil {
		return connConfig{}, errors.New("vsphere.url: give the user in username and password, not in the URL")
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	if passwordFile != "" {
		b, err := os.ReadFile(passwordFile)
		if err != nil {
			return connConfig{}, fmt.Errorf("vsphere.password_file: %w", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	if caFile != "" {
		if _, err := os.Stat(caFile); err != nil {
			return connConfig{}, fmt.Errorf("vsphere.ca_file: %w", err)
		}
	}
	return connConfig{URL: u, Username: user, Password: password, Insecure: insecure, CAFile: caFile}, nil
}

// setupTimeout bounds finding a configured VM at start.
const setupTimeout = time.Minute

// setup is the vsphere backend's hardware.SetupFunc: it logs in (or
// shares the session of another system on the same vCenter), finds the
// VM and reads its state. An unreachable vCenter or a VM that does not
// exist is an error: bmcd does not start.
func setup(s hardware.Setup) (hardware.Backend, error) {
	var p Params
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	cc, err := connSettings(p.URL, p.Username, p.Password, p.PasswordFile, p.Insecure, p.CAFile)
	if err != nil {
		return nil, err
	}
	c := acquire(cc, s.Log)
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	st, err := findVM(ctx, c, p.Datacenter, p.VM)
	if err != nil {
		c.release()
		return nil, err
	}
	c.probe(ctx, []vmState{st})
	b := newBackend(c, st, s.Log, options{Datacenter: p.Datacenter, MediaDatastore: p.MediaDatastore,
		TempDir: stateDir(s.StateDir), ScreenshotInterval: p.ScreenshotInterval})
	c.follow(b)
	return b, nil
}

// stateDir is the backend's folder in bmcd's state directory (images
// while they are fetched), "" (the system's temporary folder) without one.
func stateDir(dir string) string {
	if dir == "" {
		return ""
	}
	d := filepath.Join(dir, "vsphere")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return ""
	}
	return d
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// findVM finds the VM that spec names in datacenter dc and reads its
// state.
func findVM(ctx context.Context, c *conn, dc, spec string) (vmState, error) {
	var st vmState
	err := c.do(ctx, "vsphere.vm "+spec, func(vc *vim25.Client) error {
		f := find.NewFinder(vc, false)
		d, err := f.DatacenterOrDefault(ctx, dc)
		if err != nil {
			return fmt.Errorf("vsphere.datacenter: %w", err)
		}
		f.SetDatacenter(d)
		var ref types.ManagedObjectReference
		switch {
		case uuidPattern.MatchString(spec):
			si := object.NewSearchIndex(vc)
			found, err := si.FindByUuid(ctx, d, spec, true, types.NewBool(true))
			if err == nil && found == nil {
				found, err = si.FindByUuid(ctx, d, spec, true, types.NewBool(false))
			}
			if err != nil {
				return err
			}
			if found == nil {
				return fmt.Errorf("no VM with instance or BIOS UUID %s: %w", spec, hardware.ErrNotFound)
			}
			ref = found.Reference()
		case strings.Contains(spec, "/"):
			vm, err := f.VirtualMachine(ctx, spec)
			if err != nil {
				return err
			}
			ref = vm.Reference()
		default:
			folders, err := d.Folders(ctx)
			if err != nil {
				return err
			}
			v, err := view.NewManager(vc).CreateContainerView(ctx, folders.VmFolder.Reference(), []string{"VirtualMachine"}, true)
			if err != nil {
				return err
			}
			defer func() { _ = v.Destroy(context.Background()) }()
			refs, err := v.Find(ctx, []string{"VirtualMachine"}, property.Match{"name": spec})
			if err != nil {
				return err
			}
			switch len(refs) {
			case 0:
				return fmt.Errorf("no VM named %q in datacenter %s: %w", spec, d.InventoryPath, hardware.ErrNotFound)
			case 1:
				ref = refs[0]
			default:
				return fmt.Errorf("%d VMs are named %q: give the inventory path or instance UUID: %w", len(refs), spec, hardware.ErrInvalid)
			}
		}
		var vm mo.VirtualMachine
		if err := property.DefaultCollector(vc).RetrieveOne(ctx, ref, vmProps, &vm); err != nil {
			return err
		}
		st = stateOf(vm)
		if st.Config == nil {
			return fmt.Errorf("VM %s has no configuration (inaccessible): %w", vm.Name, hardware.ErrUnavailable)
		}
		return nil
	})
	return st, err
}

// retain adds a reference to the session, for one more backend.
func (c *conn) retain() {
	c.mu.Lock()
	c.refs++
	c.mu.Unlock()
}

// follow puts configured backend b's VM in the session's ListView watch,
// started with the first one and stopped after the last one's Close.
func (c *conn) follow(b *Backend) {
	c.mu.Lock()
	start := c.configured == nil
	if start {
		c.cfgVMs = &vmRouter{vms: map[types.ManagedObjectReference][]*Backend{}}
		c.configured = &watch{conn: c, h: c.cfgVMs, log: c.log}
	}
	w, r := c.configured, c.cfgVMs
	c.mu.Unlock()
	r.add(b)
	w.add(b.ref)
	if start {
		w.start()
	}
	b.detach = func() {
		r.remove(b)
		if !w.remove(b.ref) {
			return
		}
		c.mu.Lock()
		if c.configured == w {
			c.configured, c.cfgVMs = nil, nil
		}
		c.mu.Unlock()
		w.stop()
	}
}

// vmRouter hands what the configured watch sees to each backend of the
// VM.
type vmRouter struct {
	mu  sync.Mutex
	vms map[types.ManagedObjectReference][]*Backend
}

func (r *vmRouter) add(b *Backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vms[b.ref] = append(r.vms[b.ref], b)
}

func (r *vmRouter) remove(b *Backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	bs := r.vms[b.ref]
	for i, x := range bs {
		if x == b {
			bs = append(bs[:i:i], bs[i+1:]...)
			break
		}
	}
	if len(bs) == 0 {
		delete(r.vms, b.ref)
	} else {
		r.vms[b.ref] = bs
	}
}

func (r *vmRouter) of(ref types.ManagedObjectReference) []*Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Backend(nil), r.vms[ref]...)
}

func (r *vmRouter) all() []*Backend {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Backend
	for _, bs := range r.vms {
		out = append(out, bs...)
	}
	return out
}

func (r *vmRouter) entered(s vmState) {
	for _, b := range r.of(s.Ref) {
		b.observe(s)
	}
}

func (r *vmRouter) changed(_, cur vmState) { r.entered(cur) }

func (r *vmRouter) left(s vmState) {
	for _, b := range r.of(s.Ref) {
		b.lost()
	}
}

func (r *vmRouter) listed(bool) {}

func (r *vmRouter) down(err error) {
	for _, b := range r.all() {
		b.setDown(err)
	}
}
