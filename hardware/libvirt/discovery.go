package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/bmcd/bmcd/hardware"
)

// DiscoveryParams is the block of a `discover:` entry with backend
// libvirt: the daemon, and which of its domains to serve.
type DiscoveryParams struct {
	// URI is the daemon's libvirt URI; default qemu:///system.
	URI string `yaml:"uri"`
	// Domains are name patterns (path.Match: *, ?, [a-z]); a domain is
	// served when its name matches one. None: every domain.
	Domains []string `yaml:"domains"`
	// Exclude are name patterns of domains not served, even if Domains
	// names them.
	Exclude []string `yaml:"exclude"`
	// ShutdownTimeout and MediaDir are every domain's (Params).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" validate:"min=0"`
	MediaDir        string        `yaml:"media_dir"`
}

// Discovery serves the persistent domains of a libvirt daemon whose names
// match its patterns, each as a machine whose Id is the domain's UUID
// (what sushy-tools' libvirt driver calls it, so Metal3 BareMetalHost
// addresses keep working) and whose name is an alias. Domains defined
// later are found, undefined ones lost, through libvirt's lifecycle
// events; a lost connection is retried, and the domains listed again.
type Discovery struct {
	uri              string
	include, exclude []string
	opts             Options
	log              *slog.Logger
}

// setupDiscovery is the libvirt discovery's hardware.DiscoverySetupFunc.
func setupDiscovery(s hardware.DiscoverySetup) (hardware.Discovery, error) {
	var p DiscoveryParams
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	if _, err := parseURI(p.URI); err != nil {
		return nil, err
	}
	return NewDiscovery(p.URI, p.Domains, p.Exclude, options(p.ShutdownTimeout, p.MediaDir, s.StateDir, s.Log), s.Log)
}

// NewDiscovery serves the domains of the daemon at uri whose names match
// one of include (all if none) and none of exclude. Errors: a malformed
// pattern.
func NewDiscovery(uri string, include, exclude []string, opts Options, log *slog.Logger) (*Discovery, error) {
	for _, p := range slices.Concat(include, exclude) {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("libvirt: domain pattern %q: %w", p, err)
		}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Discovery{uri: uri, include: include, exclude: exclude, opts: opts, log: log}, nil
}

// matches reports whether the domain named name is served.
func (g *Discovery) matches(name string) bool {
	in := len(g.include) == 0
	for _, p := range g.include {
		if ok, _ := path.Match(p, name); ok {
			in = true
			break
		}
	}
	for _, p := range g.exclude {
		if ok, _ := path.Match(p, name); ok {
			return false
		}
	}
	return in
}

// Run implements hardware.Discovery. It waits up to ConnectTimeout for
// the daemon; an error then means it could not be reached at all.
func (g *Discovery) Run(ctx context.Context, h hardware.DiscoveryHost) error {
	d, err := acquire(g.uri, g.log)
	if err != nil {
		return err
	}
	defer d.release()
	wait := g.opts.ConnectTimeout
	if wait <= 0 {
		wait = connectTimeout
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	err = d.wait(wctx)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	q := &eventQueue{ready: make(chan struct{}, 1)}
	unsub := d.subscribe(nil, q.push)
	defer unsub()
	r := &run{g: g, d: d, h: h, known: map[golibvirt.UUID]string{}, refused: map[golibvirt.UUID]bool{}}
	if err := r.list(ctx); err != nil {
		return err
	}
	h.Listed()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-q.ready:
		}
		for _, ev := range q.take() {
			r.handle(ctx, ev)
		}
	}
}

// run is one Run's state: the domains found, by UUID, with their names,
// and those the fleet refused (their Id is a configured system's): they
// are not offered again, each time their definition changes, until they
// are undefined.
type run struct {
	g       *Discovery
	d       *daemon
	h       hardware.DiscoveryHost
	known   map[golibvirt.UUID]string
	refused map[golibvirt.UUID]bool
}

// list lists the daemon's persistent domains, sorted by name: the
// matching ones not known are found, the known ones no longer there lost.
func (r *run) list(ctx context.Context) error {
	var doms []golibvirt.Domain
	err := r.d.do(ctx, "list domains", func(l *golibvirt.Libvirt) error {
		var err error
		doms, _, err = l.ConnectListAllDomains(1, golibvirt.ConnectListDomainsPersistent)
		return err
	})
	if err != nil {
		return err
	}
	slices.SortFunc(doms, func(a, b golibvirt.Domain) int { return strings.Compare(a.Name, b.Name) })
	there := map[golibvirt.UUID]bool{}
	for _, dom := range doms {
		there[dom.UUID] = true
	}
	for u, name := range r.known {
		if !there[u] {
			r.g.log.Info("libvirt: domain undefined; system removed", "domain", name, "system", uuidText(u))
			r.lost(u)
		}
	}
	for _, dom := range doms {
		if name, ok := r.known[dom.UUID]; ok && name != dom.Name {
			r.lost(dom.UUID) // renamed while the daemon could not be reached
		}
		r.found(ctx, dom)
	}
	return nil
}

// handle follows one event.
func (r *run) handle(ctx context.Context, ev event) {
	switch ev.kind {
	case evConnected:
		if err := r.list(ctx); err != nil {
			r.g.log.Warn("libvirt: domains not listed after reconnecting", "err", err)
		}
	case evLifecycle:
		switch ev.typ {
		case golibvirt.DomainEventDefined:
			if name, ok := r.known[ev.dom.UUID]; ok && name != ev.dom.Name {
				r.lost(ev.dom.UUID) // renamed: found again under its new name
			}
			r.found(ctx, ev.dom)
		case golibvirt.DomainEventUndefined:
			delete(r.refused, ev.dom.UUID)
			if _, ok := r.known[ev.dom.UUID]; ok && ev.detail != int32(golibvirt.DomainEventUndefinedRenamed) {
				r.g.log.Info("libvirt: domain undefined; system removed", "domain", ev.dom.Name, "system", uuidText(ev.dom.UUID))
			}
			r.lost(ev.dom.UUID)
		}
	}
}

// found serves dom if it matches and is not served yet.
func (r *run) found(ctx context.Context, dom golibvirt.Domain) {
	if _, ok := r.known[dom.UUID]; ok || r.refused[dom.UUID] || !r.g.matches(dom.Name) {
		return
	}
	log := r.g.log.With("domain", dom.Name)
	d, err := acquire(r.g.uri, r.g.log)
	if err != nil {
		return
	}
	octx, cancel := context.WithTimeout(ctx, connectTimeout)
	x, err := openDomain(octx, d, dom, r.g.opts, log)
	cancel()
	if err != nil {
		d.release()
		if !isLibvirt(err, golibvirt.ErrNoDomain) { // undefined meanwhile
			log.Warn("libvirt: domain not served", "err", err)
		}
		return
	}
	id := uuidText(dom.UUID)
	if err := r.h.Found(hardware.Found{ID: id, Aliases: []string{dom.Name}, Backend: x}); err != nil {
		log.Warn("libvirt: domain not served", "system", id, "err", err)
		r.refused[dom.UUID] = true
		return
	}
	r.known[dom.UUID] = dom.Name
}

// lost stops serving the domain of UUID u.
func (r *run) lost(u golibvirt.UUID) {
	if _, ok := r.known[u]; !ok {
		return
	}
	delete(r.known, u)
	r.h.Lost(uuidText(u))
}

// eventQueue keeps the daemon's events for Run without holding up the
// daemon's event goroutine (opening a domain takes a few calls).
type eventQueue struct {
	mu    sync.Mutex
	evs   []event
	ready chan struct{}
}

func (q *eventQueue) push(ev event) {
	q.mu.Lock()
	q.evs = append(q.evs, ev)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *eventQueue) take() []event {
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.evs
	q.evs = nil
	return evs
}
