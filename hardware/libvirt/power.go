package libvirt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/bmcd/bmcd/hardware"
)

// startResetNVRAM is VIR_DOMAIN_START_RESET_NVRAM (libvirt 8.1), newer
// than go-libvirt's constants: the start recreates the UEFI variable store
// from its template.
const startResetNVRAM = 1 << 5

var resetTypes = []hardware.ResetType{
	hardware.ResetOn, hardware.ResetForceOn, hardware.ResetForceOff, hardware.ResetGracefulShutdown,
	hardware.ResetGracefulRestart, hardware.ResetForceRestart, hardware.ResetPowerCycle, hardware.ResetNmi,
	hardware.ResetPushPowerButton,
}

// ResetTypes implements hardware.Power: every Redfish reset type.
func (x *Domain) ResetTypes() []hardware.ResetType { return resetTypes }

// PowerState implements hardware.Power: the state libvirt's events last
// reported; libvirt is not asked.
func (x *Domain) PowerState(context.Context) (hardware.PowerState, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.power, nil
}

// Reset implements hardware.Power with libvirt's domain operations:
//
//	On, ForceOn        virDomainCreate (start)
//	ForceOff           virDomainDestroy
//	GracefulShutdown   virDomainShutdown (ACPI power button, or the guest agent)
//	ForceRestart       virDomainReset; destroy and start when the boot plan changed since the start
//	GracefulRestart    virDomainReboot; shutdown and start when the boot plan changed
//	PowerCycle         virDomainDestroy, virDomainCreate
//	Nmi                virDomainInjectNMI
//	PushPowerButton    virDomainShutdown when on, virDomainCreate when off
//
// A running domain boots from the definition it started with, so a
// restart that is to boot a changed plan (a boot override, a new boot
// mode) starts the domain again instead of resetting it. Reset returns
// once libvirt reports the new state (or after transitionWait); a graceful
// request returns at once (see Options.ShutdownTimeout). Errors:
// ErrPoweredOff for an NMI to a domain that is off, ErrUnavailable when
// the daemon cannot be reached or refuses.
func (x *Domain) Reset(ctx context.Context, r hardware.ResetType) error {
	x.mu.Lock()
	x.epoch++
	epoch, on := x.epoch, x.power == hardware.PowerOn
	x.mu.Unlock()
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn:
		return x.start(ctx)
	case hardware.ResetForceOff:
		return x.destroy(ctx)
	case hardware.ResetGracefulShutdown:
		if !on {
			return nil
		}
		return x.shutdown(ctx, epoch)
	case hardware.ResetPushPowerButton:
		if on {
			return x.shutdown(ctx, epoch)
		}
		return x.start(ctx)
	case hardware.ResetPowerCycle:
		if err := x.destroy(ctx); err != nil {
			return err
		}
		return x.start(ctx)
	case hardware.ResetForceRestart:
		if !on {
			return x.start(ctx)
		}
		if cold, err := x.needsStart(ctx); err != nil {
			return err
		} else if cold {
			if err := x.destroy(ctx); err != nil {
				return err
			}
			return x.start(ctx)
		}
		return x.reset(ctx)
	case hardware.ResetGracefulRestart:
		if !on {
			return x.start(ctx)
		}
		cold, err := x.needsStart(ctx)
		if err != nil {
			return err
		}
		return x.reboot(ctx, epoch, cold)
	case hardware.ResetNmi:
		if !on {
			return fmt.Errorf("nmi: %w", hardware.ErrPoweredOff)
		}
		err := x.d.do(ctx, "inject NMI into "+x.dom.Name, func(l *golibvirt.Libvirt) error { return l.DomainInjectNmi(x.dom, 0) })
		if errors.Is(err, hardware.ErrState) {
			return fmt.Errorf("nmi: %w: %w", hardware.ErrPoweredOff, err)
		}
		return err
	}
	return fmt.Errorf("reset %s: %w", r, hardware.ErrNotSupported)
}

// start starts the domain, unless it runs; it waits for libvirt to have
// reaped a domain whose guest just shut down first.
func (x *Domain) start(ctx context.Context) error {
	x.waitFor(ctx, transitionWait, func() bool { return !x.active || x.power == hardware.PowerOn })
	x.mu.Lock()
	if x.power == hardware.PowerOn {
		x.mu.Unlock()
		return nil
	}
	var flags uint32
	if x.resetNVRAM {
		flags |= startResetNVRAM
	}
	boots := x.boots
	x.mu.Unlock()
	var err error
	for try := 0; ; try++ {
		err = x.d.do(ctx, "start "+x.dom.Name, func(l *golibvirt.Libvirt) error {
			_, err := l.DomainCreateWithFlags(x.dom, flags)
			return err
		})
		// QEMU gone while libvirt was starting it ("domain is no longer
		// running"), as happens right after a destroy on a loaded host:
		// that start is tried again, not refused for good.
		if !startRaced(err) || try == 2 || ctx.Err() != nil {
			break
		}
		x.d.log.Debug("libvirt: start raced with the domain's teardown; trying again", "domain", x.dom.Name, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	switch {
	case errors.Is(err, hardware.ErrState):
		// "domain is already running": started meanwhile.
	case refusedStart(err) != nil:
		// Not ErrUnavailable: a retry would fail alike.
		return fmt.Errorf("libvirt: domain %s cannot start as defined: %w: %w", x.dom.Name, hardware.ErrState, refusedStart(err))
	case err != nil:
		return err
	default:
		x.mu.Lock()
		if flags&startResetNVRAM != 0 {
			x.resetNVRAM = false
		}
		x.mu.Unlock()
	}
	// Back once the boot is reported too: the one-time override is
	// consumed by then.
	if x.waitFor(ctx, transitionWait, func() bool { return x.power == hardware.PowerOn }) {
		x.waitFor(ctx, 2*time.Second, func() bool { return x.host == nil || x.boots > boots })
	}
	return nil
}

// destroy stops the domain at once (pulls the plug), unless it is off.
func (x *Domain) destroy(ctx context.Context) error {
	x.mu.Lock()
	x.restart = false
	active := x.active
	x.mu.Unlock()
	if !active {
		return nil
	}
	err := x.d.do(ctx, "destroy "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		return l.DomainDestroyFlags(x.dom, golibvirt.DomainDestroyDefault)
	})
	if err != nil && !errors.Is(err, hardware.ErrState) { // "domain is not running"
		return err
	}
	x.waitFor(ctx, transitionWait, func() bool { return !x.active })
	return nil
}

// shutdown asks the guest to shut down (libvirt's default: the guest
// agent if the domain has one, else the ACPI power button), forced after
// ShutdownTimeout.
func (x *Domain) shutdown(ctx context.Context, epoch uint64) error {
	err := x.d.do(ctx, "shut down "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		return l.DomainShutdownFlags(x.dom, golibvirt.DomainShutdownDefault)
	})
	if errors.Is(err, hardware.ErrState) {
		return nil // not running
	}
	if err != nil {
		return err
	}
	x.force(epoch, "shut down", func(x *Domain) bool { return !x.active || x.power == hardware.PowerOff }, func(ctx context.Context) error {
		return x.destroy(ctx)
	})
	return nil
}

// reboot asks the guest to reboot: an ACPI reboot (libvirt powers the
// guest down and resets it), or, cold, a shutdown and a start, forced
// after ShutdownTimeout.
func (x *Domain) reboot(ctx context.Context, epoch uint64, cold bool) error {
	x.mu.Lock()
	booted := x.lastBoot
	if cold {
		x.restart = true
	} else {
		x.rebooting, x.resetAsked = true, true
	}
	x.mu.Unlock()
	var err error
	if cold {
		err = x.d.do(ctx, "shut down "+x.dom.Name, func(l *golibvirt.Libvirt) error {
			return l.DomainShutdownFlags(x.dom, golibvirt.DomainShutdownDefault)
		})
	} else {
		err = x.d.do(ctx, "reboot "+x.dom.Name, func(l *golibvirt.Libvirt) error {
			return l.DomainReboot(x.dom, golibvirt.DomainRebootDefault)
		})
	}
	if err != nil {
		x.mu.Lock()
		x.restart, x.rebooting, x.resetAsked = false, false, false
		x.mu.Unlock()
		if errors.Is(err, hardware.ErrState) {
			return x.start(ctx) // it stopped meanwhile
		}
		return err
	}
	x.force(epoch, "reboot", func(x *Domain) bool { return x.lastBoot.After(booted) }, func(ctx context.Context) error {
		if cold {
			x.mu.Lock()
			x.restart = false
			x.mu.Unlock()
			if err := x.destroy(ctx); err != nil {
				return err
			}
			return x.start(ctx)
		}
		x.mu.Lock()
		x.rebooting = false
		x.mu.Unlock()
		return x.reset(ctx)
	})
	return nil
}

// reset resets the running domain (the reset button).
func (x *Domain) reset(ctx context.Context) error {
	x.mu.Lock()
	x.resetAsked = true
	booted, boots := x.lastBoot, x.boots
	x.mu.Unlock()
	err := x.d.do(ctx, "reset "+x.dom.Name, func(l *golibvirt.Libvirt) error { return l.DomainReset(x.dom, 0) })
	if errors.Is(err, hardware.ErrState) {
		x.mu.Lock()
		x.resetAsked = false
		x.mu.Unlock()
		return x.start(ctx) // it stopped meanwhile
	}
	if err != nil {
		return err
	}
	x.waitFor(ctx, transitionWait, func() bool {
		return x.boots > boots || x.host == nil && x.lastBoot.After(booted) || !x.active
	})
	return nil
}

// force runs what after ShutdownTimeout unless done (called with x.mu
// held) holds by then, or another reset came meanwhile.
func (x *Domain) force(epoch uint64, what string, done func(*Domain) bool, do func(context.Context) error) {
	if x.opts.ShutdownTimeout <= 0 {
		return
	}
	go func() {
		ok := x.waitFor(context.Background(), x.opts.ShutdownTimeout, func() bool { return done(x) || x.epoch != epoch })
		x.mu.Lock()
		stale := x.epoch != epoch || x.closed
		x.mu.Unlock()
		if ok || stale {
			return
		}
		x.log.Info("libvirt: the guest did not "+what+" within the shutdown timeout; forcing it", "timeout", x.opts.ShutdownTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), 2*transitionWait)
		defer cancel()
		if err := do(ctx); err != nil {
			x.log.Warn("libvirt: forcing the guest failed", "err", err)
		}
	}()
}

// needsStart reports whether the running domain must be started again,
// not reset, to boot its persistent definition: the firmware, Secure Boot
// or boot order differ from those it runs with.
func (x *Domain) needsStart(ctx context.Context) (bool, error) {
	persistent, err := x.definition(ctx)
	if err != nil {
		return false, err
	}
	live, err := x.live(ctx)
	if err != nil {
		return false, err
	}
	return bootKey(persistent) != bootKey(live), nil
}

// refusedStart tells whether the daemon answered a start with an error
// that starting again will not cure: the definition cannot run as it
// is (QEMU cannot open an image, a firmware or device it names is
// missing). Not so: no answer (the connection), or a daemon busy with
// the domain (a state change lock held, an agent not answering).
// It returns libvirt's error then (its message says why), else nil.
// startRaced reports whether a start failed because QEMU went away while
// libvirt was starting it: VIR_ERR_OPERATION_FAILED "domain is no longer
// running".
func startRaced(err error) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationFailed &&
		strings.Contains(le.Message, "no longer running")
}

func refusedStart(err error) error {
	var le golibvirt.Error
	if !errors.As(err, &le) {
		return nil
	}
	switch golibvirt.ErrorNumber(le.Code) {
	case golibvirt.ErrOperationTimeout, golibvirt.ErrNoConnect, golibvirt.ErrRPC,
		golibvirt.ErrAgentUnresponsive, golibvirt.ErrOperationInvalid:
		return nil
	}
	return le
}
