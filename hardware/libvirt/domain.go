// Package libvirt is the backend of libvirt domains
// (https://libvirt.org): each domain of a libvirt daemon is a machine
// whose power, boot device and firmware, virtual CD-ROM and serial console
// bmcd drives through the daemon's RPC protocol (the pure-Go
// github.com/digitalocean/go-libvirt), as sushy-tools and VirtualBMC do
// together, and whose VNC graphics are its screen, keyboard and pointer. One connection per daemon serves all its domains; the
// domains' state comes from libvirt's domain events, never from a query
// made on a Redfish GET or an IPMI request.
//
// It registers the backend "libvirt" (one configured domain per system)
// and the discovery "libvirt" (every domain of a daemon, or those whose
// names match patterns, as they are defined and undefined).
package libvirt

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/vnc"
	"github.com/bmcd/bmcd/internal/fetch"
)

// Options are a domain's settings beyond which domain it is.
type Options struct {
	// ShutdownTimeout forces what the guest did not do: a GracefulShutdown
	// or PushPowerButton (ACPI power button) it has not acted on within it
	// becomes a ForceOff (destroy), a GracefulRestart a ForceRestart, as a
	// power button held down does. 0 never forces: a guest without ACPI
	// support (a firmware waiting for a boot device) stays on, as on a real
	// server.
	ShutdownTimeout time.Duration
	// MediaDir is where virtual media images are kept while inserted. QEMU
	// opens them as the daemon's QEMU user (libvirt-qemu), so the directory
	// and its parents must be searchable by it; bmcd warns otherwise.
	MediaDir string
	// Fetcher fetches media images; nil uses internal/fetch's defaults.
	Fetcher *fetch.Fetcher
	// ConnectTimeout bounds the wait for the daemon when a discovery
	// starts; 0 means 15 seconds.
	ConnectTimeout time.Duration
}

// Domain is one libvirt domain as a machine. It implements
// hardware.Backend and the parts Power, Boot and Firmware (a persistent
// domain), Media, Serial (a serial port on a pty) and, when the domain has
// VNC graphics, Display, Keyboard and Pointer (hardware/vnc).
type Domain struct {
	d     *daemon
	dom   golibvirt.Domain
	opts  Options
	log   *slog.Logger
	info  hardware.Info
	lo    *layout
	fetch *fetch.Fetcher
	unsub func()
	con   *console // nil without a pty serial port
	// screen is the VNC graphics: display, keyboard, pointer; nil
	// without.
	screen *vnc.Client
	// persistent: the domain has a definition to write the boot plan
	// into; a transient one has no boot control.
	persistent bool

	// planMu orders definition writes (SetNextBoot, media).
	planMu sync.Mutex
	// plan is the last plan handed (nil before the first): written again
	// after a reconnection, as one handed while the daemon could not be
	// reached was not written. image is the URL of the image bmcd holds
	// inserted ("" none): the CD-ROM is checked against it when bmcd
	// starts (ResumeMedia) and after a reconnection. Both under mu.
	plan  *hardware.BootPlan
	image string

	mu     sync.Mutex
	host   hardware.Host
	closed bool
	// active is libvirt's view: the domain runs (from STARTED to STOPPED).
	active bool
	// power is what is reported: Off already when the guest has shut down
	// (the SHUTDOWN event), before libvirt reaps QEMU (STOPPED).
	power hardware.PowerState
	// lastBoot is when the last boot was reported, lastReset when the
	// last reboot event came; resetAsked: bmcd reset the domain, so the
	// next reboot event is a boot (see rebooted).
	lastBoot, lastReset time.Time
	resetAsked          bool
	// boots counts the boots reported to the Host, once it returned.
	boots uint64
	// rebooting: an ACPI reboot was asked (virDomainReboot), during which
	// libvirt reports the guest's shutdown before it resets it.
	rebooting bool
	// restart: start the domain again when it stops (a graceful restart
	// that needs a new definition).
	restart bool
	// resetNVRAM: the firmware or Secure Boot changed; the next start
	// recreates the UEFI variable store from its template.
	resetNVRAM bool
	// epoch counts resets; a forced follow-up of a graceful request
	// (ShutdownTimeout) only happens if no reset came after it.
	epoch   uint64
	changed chan struct{} // closed and renewed at every change of state
}

// bootDebounce: reboot events closer than this to the last boot or the
// last reboot event are the same boot (SeaBIOS resets the machine again,
// twice, when it starts after a warm reset; each reset is a reboot
// event), unless bmcd asked for the reset.
const bootDebounce = 2 * time.Second

// transitionWait bounds how long Reset waits for the event that shows
// what it did (the domain started, or stopped).
const transitionWait = 20 * time.Second

// openDomain makes the machine of dom on daemon d: it reads the domain's
// persistent definition and the firmware its hypervisor offers, and
// subscribes to its events. Errors: ErrUnavailable when the daemon cannot
// be reached, or the domain read.
func openDomain(ctx context.Context, d *daemon, dom golibvirt.Domain, opts Options, log *slog.Logger) (*Domain, error) {
	x := &Domain{d: d, dom: dom, opts: opts, log: log, fetch: opts.Fetcher, power: hardware.PowerOff, changed: make(chan struct{})}
	if x.fetch == nil {
		x.fetch = &fetch.Fetcher{}
	}
	def, err := x.definition(ctx)
	if err != nil {
		return nil, err
	}
	err = d.do(ctx, "read domain "+dom.Name, func(l *golibvirt.Libvirt) error {
		p, err := l.DomainIsPersistent(dom)
		x.persistent = p == 1
		return err
	})
	if err != nil {
		return nil, err
	}
	caps, err := d.domainCaps(ctx, def)
	if err != nil {
		log.Warn("libvirt: no domain capabilities; UEFI is offered only if the domain boots it", "err", err)
	}
	x.lo = newLayout(def, firmwareOf(caps))
	x.info = infoOf(def, func(target string) int64 {
		var size uint64
		_ = d.do(ctx, "block info", func(l *golibvirt.Libvirt) error {
			var err error
			_, size, _, err = l.DomainGetBlockInfo(dom, target, 0)
			return err
		})
		return int64(size)
	})
	if serialPTY(def) {
		x.con = newConsole(x)
	}
	x.screen = x.newScreen(def)
	x.unsub = d.subscribe(&dom.UUID, x.onEvent)
	if err := x.resync(ctx); err != nil {
		x.unsub()
		return nil, err
	}
	return x, nil
}

// opt is an optional string argument of libvirt's RPC.
func opt(s string) golibvirt.OptString {
	if s == "" {
		return nil
	}
	return golibvirt.OptString{s}
}

// definition reads the domain's persistent definition (its passwords
// included, so that writing it back keeps them).
func (x *Domain) definition(ctx context.Context) (*libvirtxml.Domain, error) {
	return x.readDef(ctx, golibvirt.DomainXMLInactive|golibvirt.DomainXMLSecure)
}

// live reads the definition the domain runs with.
func (x *Domain) live(ctx context.Context) (*libvirtxml.Domain, error) {
	return x.readDef(ctx, 0)
}

func (x *Domain) readDef(ctx context.Context, flags golibvirt.DomainXMLFlags) (*libvirtxml.Domain, error) {
	var doc string
	err := x.d.do(ctx, "read domain "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		var err error
		doc, err = l.DomainGetXMLDesc(x.dom, flags)
		return err
	})
	if err != nil {
		return nil, err
	}
	def, err := parseDef(doc)
	if err != nil {
		return nil, fmt.Errorf("libvirt %s: domain %s: %w: %w", x.d.ep.uri, x.dom.Name, hardware.ErrUnavailable, err)
	}
	return def, nil
}

// Name is the domain's name; UUID its UUID in text.
func (x *Domain) Name() string { return x.dom.Name }

// UUID is the domain's UUID, lower-case RFC 4122 text.
func (x *Domain) UUID() string { return x.info.UUID }

// Info implements hardware.Backend: the domain's inventory as read when
// it was opened.
func (x *Domain) Info() hardware.Info { return x.info }

// Attach implements hardware.Backend.
func (x *Domain) Attach(h hardware.Host) hardware.Parts {
	x.mu.Lock()
	x.host = h
	active := x.active
	x.mu.Unlock()
	p := hardware.Parts{Power: x, Media: x}
	if x.persistent {
		p.Boot, p.Firmware = x, x
	}
	if x.screen != nil {
		p.Display, p.Keyboard, p.Pointer = x.screen, x.screen, x.screen
	}
	if x.con != nil {
		p.Serial = x.con
		if active {
			x.con.open()
		}
	}
	return p
}

// Close implements hardware.Backend: it stops following the domain; the
// domain itself is left as it is.
func (x *Domain) Close() error {
	x.mu.Lock()
	if x.closed {
		x.mu.Unlock()
		return nil
	}
	x.closed = true
	x.epoch++
	x.bumpLocked()
	x.mu.Unlock()
	x.unsub()
	if x.con != nil {
		x.con.close()
	}
	if x.screen != nil {
		_ = x.screen.Close()
	}
	x.planMu.Lock() // a definition being written finishes first
	x.planMu.Unlock()
	x.d.release()
	return nil
}

// bumpLocked wakes the goroutines waiting for a change of state.
func (x *Domain) bumpLocked() {
	close(x.changed)
	x.changed = make(chan struct{})
}

// waitFor waits until cond (called with x.mu held) holds, ctx ends or max
// passes; it reports whether cond held.
func (x *Domain) waitFor(ctx context.Context, max time.Duration, cond func() bool) bool {
	t := time.NewTimer(max)
	defer t.Stop()
	for {
		x.mu.Lock()
		ok, ch, closed := cond(), x.changed, x.closed
		x.mu.Unlock()
		if ok || closed {
			return ok
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		case <-t.C:
			return false
		}
	}
}

// resync reads the domain's state: when it is opened, and again each time
// the daemon reconnects (what happened meanwhile is reported as any
// change would be, a start as a boot).
func (x *Domain) resync(ctx context.Context) error {
	var state int32
	err := x.d.do(ctx, "state of domain "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		var err error
		state, _, err = l.DomainGetState(x.dom, 0)
		return err
	})
	if err != nil {
		return err
	}
	running := golibvirt.DomainState(state) != golibvirt.DomainShutoff && golibvirt.DomainState(state) != golibvirt.DomainNostate
	if running {
		x.started(false, true)
	} else {
		x.stopped()
	}
	return nil
}

// onEvent is the daemon's event for this domain, on the daemon's event
// goroutine: events are handled one at a time, in order.
func (x *Domain) onEvent(ev event) {
	switch ev.kind {
	case evConnected:
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := x.resync(ctx); err != nil {
			x.log.Warn("libvirt: domain state not read after reconnecting", "err", err)
		}
		go x.rewrite()
	case evLifecycle:
		switch ev.typ {
		case golibvirt.DomainEventStarted:
			x.started(ev.detail == int32(golibvirt.DomainEventStartedBooted), false)
		case golibvirt.DomainEventStopped:
			x.stopped()
		case golibvirt.DomainEventShutdown:
			x.guestShutdown()
		}
	case evReboot:
		x.rebooted()
	}
}

// started: the domain runs. boot: it booted (a new start, not a restore
// from a saved state); resync: found running when reading its state.
func (x *Domain) started(boot, resync bool) {
	x.mu.Lock()
	from := x.power
	x.active, x.power, x.rebooting, x.restart, x.resetAsked = true, hardware.PowerOn, false, false, false
	if resync && from == hardware.PowerOff && x.host != nil {
		boot = true // a start missed while the daemon could not be reached
	}
	if boot {
		x.lastBoot = time.Now()
	}
	x.bumpLocked()
	h := x.host
	x.mu.Unlock()
	if h != nil && from != hardware.PowerOn {
		h.PowerChanged(from, hardware.PowerOn)
	}
	if h != nil && boot {
		h.Booted()
		x.countBoot()
	}
	if x.con != nil && h != nil {
		x.con.open()
	}
	if x.screen != nil {
		x.screen.Kick()
	}
}

// countBoot counts a boot the Host was told of, and wakes the waiters.
func (x *Domain) countBoot() {
	x.mu.Lock()
	x.boots++
	x.bumpLocked()
	x.mu.Unlock()
}

// stopped: the domain no longer runs.
func (x *Domain) stopped() {
	x.mu.Lock()
	from := x.power
	restart := x.restart && !x.closed
	x.active, x.power, x.rebooting, x.restart, x.resetAsked = false, hardware.PowerOff, false, false, false
	x.bumpLocked()
	h := x.host
	x.mu.Unlock()
	if h != nil && from != hardware.PowerOff {
		h.PowerChanged(from, hardware.PowerOff)
	}
	if restart {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), transitionWait)
			defer cancel()
			if err := x.start(ctx); err != nil {
				x.log.Warn("libvirt: domain not started again after its shutdown", "err", err)
			}
		}()
	}
}

// guestShutdown: the guest shut down (ACPI power off, or QEMU told to
// quit). Unless an ACPI reboot is under way, or the domain is defined to
// do something else at power off, the power is off now: libvirt reaps
// QEMU (STOPPED) a second or two later.
func (x *Domain) guestShutdown() {
	x.mu.Lock()
	from := x.power
	if x.rebooting || !x.lo.powerOf || from == hardware.PowerOff {
		x.mu.Unlock()
		return
	}
	x.power = hardware.PowerOff
	x.bumpLocked()
	h := x.host
	x.mu.Unlock()
	if h != nil {
		h.PowerChanged(from, hardware.PowerOff)
	}
}

// rebooted: the guest was reset (QEMU's RESET: a warm reset, the guest
// rebooting, or the reset of an ACPI reboot). The first after a reset
// bmcd asked for is a boot; others within bootDebounce of a boot or of
// another reset are part of that boot.
func (x *Domain) rebooted() {
	x.mu.Lock()
	if !x.active {
		x.mu.Unlock()
		return
	}
	from := x.power
	x.power, x.rebooting = hardware.PowerOn, false
	now := time.Now()
	boot := x.resetAsked || now.Sub(x.lastBoot) >= bootDebounce && now.Sub(x.lastReset) >= bootDebounce
	x.resetAsked, x.lastReset = false, now
	if boot {
		x.lastBoot = now
	}
	x.bumpLocked()
	h := x.host
	x.mu.Unlock()
	if h != nil && from != hardware.PowerOn {
		h.PowerChanged(from, hardware.PowerOn)
	}
	if h != nil && boot {
		h.Booted()
		x.countBoot()
	}
}
