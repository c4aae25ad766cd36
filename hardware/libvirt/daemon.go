package libvirt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// daemon is one libvirt daemon (one URI), shared by every domain bmcd
// serves from it and by its discovery: one connection and one
// registration for domain events, however many domains. It connects in
// the background and reconnects when the connection is lost; meanwhile
// calls answer hardware.ErrUnavailable and subscribers are told
// (evLost, then evConnected, after which they read the state again).
type daemon struct {
	ep  endpoint
	log *slog.Logger

	mu      sync.Mutex
	l       *golibvirt.Libvirt // nil while not connected
	up      chan struct{}      // closed while connected
	lastErr error              // why the last connection attempt failed
	subs    map[*subscription]struct{}
	refs    int
	cancel  context.CancelFunc
	done    chan struct{}
	// caps are the domain capabilities read, by emulator, arch, machine
	// type and virtualization type: many domains share them.
	caps map[string]*libvirtxml.DomainCaps
}

// subscription receives a daemon's events: those of one domain, or of
// all (uuid nil).
type subscription struct {
	uuid *golibvirt.UUID
	fn   func(event)
}

type eventKind int

const (
	evConnected eventKind = iota // (re)connected: read the state again
	evLost                       // the connection is lost
	evLifecycle                  // VIR_DOMAIN_EVENT_ID_LIFECYCLE
	evReboot                     // VIR_DOMAIN_EVENT_ID_REBOOT
)

// event is what a daemon tells its subscribers, in the order libvirt
// sent it.
type event struct {
	kind   eventKind
	dom    golibvirt.Domain
	typ    golibvirt.DomainEventType // lifecycle: DEFINED, STARTED, ...
	detail int32
}

// Reconnection backoff.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 5 * time.Second
)

var (
	daemonsMu sync.Mutex
	daemons   = map[string]*daemon{}
)

// acquire returns the daemon of uri, connecting to it in the background
// the first time; release it when done. Errors: a URI that cannot be
// parsed.
func acquire(uri string, log *slog.Logger) (*daemon, error) {
	ep, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	daemonsMu.Lock()
	defer daemonsMu.Unlock()
	if d, ok := daemons[ep.uri]; ok {
		d.mu.Lock()
		d.refs++
		d.mu.Unlock()
		return d, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{
		ep: ep, log: log.With("libvirt", ep.uri),
		up: make(chan struct{}), subs: map[*subscription]struct{}{},
		refs: 1, cancel: cancel, done: make(chan struct{}), caps: map[string]*libvirtxml.DomainCaps{},
	}
	daemons[ep.uri] = d
	go d.run(ctx)
	return d, nil
}

// release gives up one reference; the last one disconnects.
func (d *daemon) release() {
	daemonsMu.Lock()
	d.mu.Lock()
	d.refs--
	last := d.refs == 0
	d.mu.Unlock()
	if last {
		delete(daemons, d.ep.uri)
	}
	daemonsMu.Unlock()
	if last {
		d.cancel()
		<-d.done
	}
}

// wait waits until the daemon is connected, or ctx ends (then the reason
// it is not: ErrUnavailable with the last connection error).
func (d *daemon) wait(ctx context.Context) error {
	d.mu.Lock()
	up := d.up
	d.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		_, err := d.conn()
		if err == nil {
			return nil
		}
		return err
	}
}

// conn is the connection, or ErrUnavailable.
func (d *daemon) conn() (*golibvirt.Libvirt, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.l != nil {
		return d.l, nil
	}
	if d.lastErr != nil {
		return nil, fmt.Errorf("libvirt %s: not connected (%v): %w", d.ep.uri, d.lastErr, hardware.ErrUnavailable)
	}
	return nil, fmt.Errorf("libvirt %s: not connected: %w", d.ep.uri, hardware.ErrUnavailable)
}

// do runs fn on the connection, bounded by ctx, and classifies its error
// (classify). what names the call in the error.
func (d *daemon) do(ctx context.Context, what string, fn func(l *golibvirt.Libvirt) error) error {
	l, err := d.conn()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	done := make(chan error, 1)
	go func() { done <- fn(l) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	return classify(d.ep.uri, what, err)
}

// domainCaps are the capabilities of the hypervisor for def's emulator,
// architecture, machine type and virtualization type
// (virConnectGetDomainCapabilities), read once for all domains alike.
func (d *daemon) domainCaps(ctx context.Context, def *libvirtxml.Domain) (*libvirtxml.DomainCaps, error) {
	machine, arch := machineType(def)
	key := strings.Join([]string{def.Devices.Emulator, arch, machine, def.Type}, "|")
	d.mu.Lock()
	caps, ok := d.caps[key]
	d.mu.Unlock()
	if ok {
		return caps, nil
	}
	err := d.do(ctx, "domain capabilities", func(l *golibvirt.Libvirt) error {
		s, err := l.ConnectGetDomainCapabilities(opt(def.Devices.Emulator), opt(arch), opt(machine), opt(def.Type), 0)
		if err != nil {
			return err
		}
		caps = &libvirtxml.DomainCaps{}
		return caps.Unmarshal(s)
	})
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.caps[key] = caps
	d.mu.Unlock()
	return caps, nil
}

// classify maps a libvirt error to the machine model's: an operation that
// does not apply to the domain's state (VIR_ERR_OPERATION_INVALID: "domain
// is not running") is ErrState; anything else (a lost connection, a
// daemon that failed the call, a domain no longer defined) is
// ErrUnavailable. The message keeps libvirt's.
func classify(uri, what string, err error) error {
	if err == nil {
		return nil
	}
	var le golibvirt.Error
	if errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationInvalid {
		return fmt.Errorf("libvirt %s: %s: %w: %w", uri, what, hardware.ErrState, err)
	}
	return fmt.Errorf("libvirt %s: %s: %w: %w", uri, what, hardware.ErrUnavailable, err)
}

// isLibvirt reports whether err carries libvirt error code code.
func isLibvirt(err error, code golibvirt.ErrorNumber) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == code
}

// subscribe delivers the events of the domain uuid (all domains if nil)
// to fn, on the daemon's one event goroutine, in order, until cancel. fn
// may call the daemon (do, subscribe, release) but should return soon.
func (d *daemon) subscribe(uuid *golibvirt.UUID, fn func(event)) (cancel func()) {
	s := &subscription{uuid: uuid, fn: fn}
	d.mu.Lock()
	d.subs[s] = struct{}{}
	d.mu.Unlock()
	return func() {
		d.mu.Lock()
		delete(d.subs, s)
		d.mu.Unlock()
	}
}

// broadcast delivers ev to the subscribers it concerns. Called on the
// event goroutine only.
func (d *daemon) broadcast(ev event) {
	d.mu.Lock()
	var fns []func(event)
	for s := range d.subs {
		if s.uuid == nil || ev.kind == evConnected || ev.kind == evLost || *s.uuid == ev.dom.UUID {
			fns = append(fns, s.fn)
		}
	}
	d.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// run connects, serves events until the connection is lost, and
// reconnects, until ctx ends.
func (d *daemon) run(ctx context.Context) {
	defer close(d.done)
	wait := retryMin
	var logged string
	for {
		l := golibvirt.NewWithDialer(d.ep.dialer)
		err := l.ConnectToURI(d.ep.remote)
		if err == nil {
			d.log.Info("libvirt connected")
			logged, wait = "", retryMin
			err = d.serve(ctx, l)
		}
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		d.lastErr = err
		d.mu.Unlock()
		if msg := err.Error(); msg != logged {
			d.log.Warn("libvirt not connected; retrying", "err", err)
			logged = msg
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// serve registers for domain events on l and hands them to the
// subscribers until the connection is lost (an error) or ctx ends (nil).
//
// go-libvirt's event goroutines shut their stream down before they
// deregister it, and an event arriving in between blocks the connection's
// reader for good: so the connection is closed first, and the event
// streams stopped after, and drained until they close.
func (d *daemon) serve(ctx context.Context, l *golibvirt.Libvirt) (err error) {
	evctx, stop := context.WithCancel(context.Background())
	var lc <-chan golibvirt.DomainEventLifecycleMsg
	var rb <-chan any
	defer func() {
		_ = l.Disconnect()
		stop()
		go drain(lc)
		go drain(rb)
	}()
	lc, err = l.LifecycleEvents(evctx)
	if err != nil {
		return fmt.Errorf("register for lifecycle events: %w", err)
	}
	rb, err = l.SubscribeEvents(evctx, golibvirt.DomainEventIDReboot, golibvirt.OptDomain{})
	if err != nil {
		return fmt.Errorf("register for reboot events: %w", err)
	}
	d.mu.Lock()
	d.l, d.lastErr = l, nil
	close(d.up)
	d.mu.Unlock()
	d.broadcast(event{kind: evConnected})
	defer func() {
		d.mu.Lock()
		d.l, d.up = nil, make(chan struct{})
		d.mu.Unlock()
		d.broadcast(event{kind: evLost})
	}()
	lost := errors.New("connection lost")
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.Disconnected():
			return lost
		case m, ok := <-lc:
			if !ok {
				return lost
			}
			d.broadcast(event{kind: evLifecycle, dom: m.Dom, typ: golibvirt.DomainEventType(m.Event), detail: m.Detail})
		case m, ok := <-rb:
			if !ok {
				return lost
			}
			if r, isReboot := m.(*golibvirt.DomainEventCallbackRebootMsg); isReboot {
				d.broadcast(event{kind: evReboot, dom: r.Msg.Dom})
			}
		}
	}
}

// drain reads ch until it is closed.
func drain[T any](ch <-chan T) {
	if ch == nil {
		return
	}
	for range ch {
	}
}
