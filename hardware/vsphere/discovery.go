package vsphere

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// DiscoveryParams is a `discover:` entry's block for vSphere: every VM of
// a datacenter (or of one folder of it, recursively) whose name matches
// one of VMs and none of Exclude becomes a machine, its Id the VM's
// instance UUID and its name an alias.
//
//	vsphere:
//	  url: https://vcenter.example.com/sdk
//	  username: bmcd@vsphere.local
//	  password_file: /etc/bmcd/vcenter-password
//	  insecure: true
//	  datacenter: DC1
//	  folder: /DC1/vm/lab          # optional: the datacenter's VM folder
//	  vms: ["node-*", "worker-*"]  # optional: every VM
//	  exclude: ["*-template"]
type DiscoveryParams struct {
	URL          string `yaml:"url" validate:"required"`
	Username     string `yaml:"username" validate:"required"`
	Password     string `yaml:"password" validate:"required_without=PasswordFile,excluded_with=PasswordFile"`
	PasswordFile string `yaml:"password_file"`
	Insecure     bool   `yaml:"insecure"`
	CAFile       string `yaml:"ca_file" validate:"excluded_with=Insecure"`
	Datacenter   string `yaml:"datacenter"`
	// Folder is the VM folder watched (inventory path, absolute or
	// relative to the datacenter); empty: the datacenter's VM folder.
	Folder string `yaml:"folder"`
	// VMs and Exclude are name patterns (path.Match: *, ?, [a-z]).
	VMs                []string      `yaml:"vms"`
	Exclude            []string      `yaml:"exclude"`
	MediaDatastore     string        `yaml:"media_datastore"`
	ScreenshotInterval time.Duration `yaml:"screenshot_interval" validate:"min=0"`
}

// Discovery is the VMs of one vCenter folder as machines
// (hardware.Discovery).
type Discovery struct {
	cc   connConfig
	p    DiscoveryParams
	log  *slog.Logger
	opts options
}

// setupDiscovery is the vsphere discovery's hardware.DiscoverySetupFunc.
func setupDiscovery(s hardware.DiscoverySetup) (hardware.Discovery, error) {
	var p DiscoveryParams
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	return newDiscovery(p, s.Log, s.StateDir)
}

func newDiscovery(p DiscoveryParams, log *slog.Logger, dir string) (*Discovery, error) {
	cc, err := connSettings(p.URL, p.Username, p.Password, p.PasswordFile, p.Insecure, p.CAFile)
	if err != nil {
		return nil, err
	}
	for _, pat := range slices.Concat(p.VMs, p.Exclude) {
		if _, err := path.Match(pat, ""); err != nil {
			return nil, fmt.Errorf("vsphere.vms: %q: %w", pat, err)
		}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Discovery{cc: cc, p: p, log: log, opts: options{Datacenter: p.Datacenter, MediaDatastore: p.MediaDatastore,
		TempDir: stateDir(dir), ScreenshotInterval: p.ScreenshotInterval}}, nil
}

// Run implements hardware.Discovery: it logs in, finds the folder, and
// watches it (watch.go): the first listing is reported as Found in name
// order, then Listed; VMs created or moved in later are Found, those
// destroyed or moved out Lost, and a VM renamed into or out of the
// patterns is Found or Lost. A lost session is logged in again and the
// folder listed again (machines meanwhile answer ErrUnavailable). Errors:
// vCenter cannot be reached, the login is refused, or the datacenter or
// folder does not exist, at the start only.
func (d *Discovery) Run(ctx context.Context, h hardware.DiscoveryHost) error {
	c := acquire(d.cc, d.log)
	defer c.release()
	err := c.do(ctx, "vsphere discovery", func(vc *vim25.Client) error {
		_, err := d.root(ctx, vc)
		return err
	})
	if err != nil {
		return err
	}
	dh := &discoverer{d: d, c: c, h: h, vms: map[types.ManagedObjectReference]*found{}}
	w := &watch{conn: c, h: dh, log: d.log, root: d.root}
	w.start()
	<-ctx.Done()
	w.stop()
	return nil
}

// root is the folder watched.
func (d *Discovery) root(ctx context.Context, vc *vim25.Client) (types.ManagedObjectReference, error) {
	f := find.NewFinder(vc, false)
	dc, err := f.DatacenterOrDefault(ctx, d.p.Datacenter)
	if err != nil {
		return types.ManagedObjectReference{}, fmt.Errorf("vsphere.datacenter: %w", err)
	}
	f.SetDatacenter(dc)
	if d.p.Folder != "" {
		fo, err := f.Folder(ctx, d.p.Folder)
		if err != nil {
			return types.ManagedObjectReference{}, fmt.Errorf("vsphere.folder: %w", err)
		}
		return fo.Reference(), nil
	}
	folders, err := dc.Folders(ctx)
	if err != nil {
		return types.ManagedObjectReference{}, err
	}
	return folders.VmFolder.Reference(), nil
}

// matches reports whether the VM is one of the discovery's machines: a
// VM, not a template, with an instance UUID, whose name matches.
func (d *Discovery) matches(s vmState) bool {
	if s.Config == nil || s.template() || s.instanceUUID() == "" {
		return false
	}
	match := func(pats []string) bool {
		return slices.ContainsFunc(pats, func(p string) bool { ok, _ := path.Match(p, s.Name); return ok })
	}
	return (len(d.p.VMs) == 0 || match(d.p.VMs)) && !match(d.p.Exclude)
}

// discoverer turns what the watch sees into Found and Lost.
type discoverer struct {
	d        *Discovery
	c        *conn
	h        hardware.DiscoveryHost
	vms      map[types.ManagedObjectReference]*found
	isListed bool
	first    []vmState // the first listing, until it is complete
}

// found is one machine the discovery added.
type found struct {
	id string
	b  *Backend
}

func (x *discoverer) entered(s vmState) {
	if !x.isListed {
		x.first = append(x.first, s)
		return
	}
	x.add(s)
}

func (x *discoverer) changed(_, cur vmState) {
	f := x.vms[cur.Ref]
	switch {
	case f != nil && x.d.matches(cur) && cur.instanceUUID() == f.id:
		f.b.observe(cur)
	case f != nil:
		x.remove(cur.Ref)
		x.add(cur)
	default:
		x.add(cur)
	}
}

func (x *discoverer) left(s vmState) { x.remove(s.Ref) }

func (x *discoverer) listed(first bool) {
	if !first {
		return
	}
	x.isListed = true
	x.c.probe(context.Background(), x.first)
	slices.SortFunc(x.first, func(a, b vmState) int { return cmp.Compare(a.Name, b.Name) })
	for _, s := range x.first {
		x.add(s)
	}
	x.first = nil
	x.h.Listed()
}

func (x *discoverer) down(err error) {
	for _, f := range x.vms {
		f.b.setDown(err)
	}
}

// add makes a machine of s if it is one.
func (x *discoverer) add(s vmState) {
	if !x.d.matches(s) {
		return
	}
	x.c.retain()
	b := newBackend(x.c, s, x.d.log.With("system", s.instanceUUID(), "vm", s.Name), x.d.opts)
	id := s.instanceUUID()
	if err := x.h.Found(hardware.Found{ID: id, Aliases: []string{s.Name}, Backend: b}); err != nil {
		x.d.log.Warn("vsphere VM not added", "vm", s.Name, "id", id, "err", err)
		_ = b.Close() // the host closed it already; Close is idempotent
		return
	}
	x.vms[s.Ref] = &found{id: id, b: b}
}

// remove loses the machine of ref.
func (x *discoverer) remove(ref types.ManagedObjectReference) {
	f := x.vms[ref]
	if f == nil {
		return
	}
	delete(x.vms, ref)
	f.b.lost()
	x.h.Lost(f.id)
}
