package qemu

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// resetTypes are every Redfish reset type: QEMU can do each.
var resetTypes = []hardware.ResetType{
	hardware.ResetOn, hardware.ResetForceOn, hardware.ResetForceOff, hardware.ResetGracefulShutdown,
	hardware.ResetGracefulRestart, hardware.ResetForceRestart, hardware.ResetPowerCycle,
	hardware.ResetPushPowerButton, hardware.ResetNmi,
}

// ResetTypes implements hardware.Power.
func (m *Machine) ResetTypes() []hardware.ResetType { return slices.Clone(resetTypes) }

// PowerState implements hardware.Power: what the process and QMP's events
// said last; QEMU is not asked.
func (m *Machine) PowerState(context.Context) (hardware.PowerState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.power, nil
}

// InPOST implements hardware.POSTReporter: with SeaBIOS, from the start
// or a reset of the VM until the firmware names the device it boots.
func (m *Machine) InPOST() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.post
}

// Reset implements hardware.Power:
//
//   - On, ForceOn: start QEMU (an attached one: system_reset and cont);
//   - ForceOff: QMP quit, then SIGKILL (an attached one: stop);
//   - GracefulShutdown, PushPowerButton (when on): QMP system_powerdown,
//     the ACPI power button; while the firmware POSTs, or after
//     ShutdownTimeout without the guest acting on it, the power is cut;
//   - GracefulRestart: the same, then on again once the guest is off;
//   - ForceRestart: QMP system_reset (a warm reset);
//   - PowerCycle: off, then on;
//   - Nmi: QMP inject-nmi (ErrPoweredOff when off).
//
// A start returns once the VM runs (its boot is reported when the
// firmware picks its device); a graceful shutdown returns at once.
// Errors: ErrUnavailable when QEMU cannot be started or reached.
func (m *Machine) Reset(ctx context.Context, r hardware.ResetType) error {
	if !slices.Contains(resetTypes, r) {
		return fmt.Errorf("reset type %q: %w", r, hardware.ErrNotSupported)
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.mu.Lock()
	p, s, post, closed := m.proc, m.power, m.post, m.closed
	if closed {
		m.mu.Unlock()
		return fmt.Errorf("qemu: machine closed: %w", hardware.ErrState)
	}
	running := p != nil && s != hardware.PowerOff
	m.mu.Unlock()
	switch r {
	case hardware.ResetOn, hardware.ResetForceOn:
		if running {
			return nil
		}
		return m.powerOn(ctx)
	case hardware.ResetForceOff:
		m.cancelRestart()
		if !running {
			return nil
		}
		return m.powerOff(p)
	case hardware.ResetGracefulShutdown, hardware.ResetPushPowerButton:
		if !running {
			m.cancelRestart()
			if r == hardware.ResetPushPowerButton {
				return m.powerOn(ctx)
			}
			return nil
		}
		return m.powerButton(ctx, p, post, false)
	case hardware.ResetGracefulRestart:
		if !running {
			return m.powerOn(ctx)
		}
		return m.powerButton(ctx, p, post, true)
	case hardware.ResetForceRestart:
		if !running {
			return m.powerOn(ctx)
		}
		m.cancelRestart()
		if err := m.applyBoot(ctx, p); err != nil {
			return err
		}
		if err := p.qmp.Execute(ctx, "system_reset", nil, nil); err != nil {
			return unavailable("system_reset", err)
		}
		return nil
	case hardware.ResetPowerCycle:
		if running {
			m.cancelRestart()
			if err := m.powerOff(p); err != nil {
				return err
			}
		}
		return m.powerOn(ctx)
	case hardware.ResetNmi:
		if !running {
			return fmt.Errorf("NMI: %w", hardware.ErrPoweredOff)
		}
		if err := p.qmp.Execute(ctx, "inject-nmi", nil, nil); err != nil {
			return unavailable("inject-nmi", err)
		}
		return nil
	}
	return fmt.Errorf("reset type %q: %w", r, hardware.ErrNotSupported)
}

func (m *Machine) cancelRestart() {
	m.mu.Lock()
	m.restart = false
	m.epoch++
	m.mu.Unlock()
}

// powerOn starts the VM: a new QEMU process, or for an attached QEMU a
// reset and cont. The caller holds opMu.
func (m *Machine) powerOn(ctx context.Context) error {
	if m.cfg.Attach == nil {
		return m.start(ctx)
	}
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return fmt.Errorf("qemu: the attached QEMU at %s does not answer: %w", m.cfg.Attach.QMP, hardware.ErrUnavailable)
	}
	if err := m.applyBoot(ctx, p); err != nil {
		return err
	}
	if err := p.qmp.Execute(ctx, "system_reset", nil, nil); err != nil {
		return unavailable("system_reset", err)
	}
	m.mu.Lock()
	if m.firmwareSays() && m.proc == p && m.power == hardware.PowerOff {
		m.post = true
		m.setLocked(hardware.PowerPoweringOn)
		m.bootWatchdogLocked(p)
	}
	m.mu.Unlock()
	if err := p.qmp.Execute(ctx, "cont", nil, nil); err != nil {
		return unavailable("cont", err)
	}
	m.mu.Lock()
	if m.proc == p && m.power == hardware.PowerOff { // else RESUME said so
		m.setLocked(hardware.PowerOn)
		m.bootedLocked()
	}
	m.mu.Unlock()
	if m.vnc != nil {
		m.vnc.Kick()
	}
	return nil
}

// powerOff cuts the power: the process ends (an attached QEMU is paused).
// The caller holds opMu.
func (m *Machine) powerOff(p *proc) error {
	if m.cfg.Attach == nil {
		return m.kill(p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
	defer cancel()
	if err := p.qmp.Execute(ctx, "stop", nil, nil); err != nil {
		return unavailable("stop", err)
	}
	m.mu.Lock()
	if m.proc == p {
		m.epoch++
		m.post = false
		m.setLocked(hardware.PowerOff)
	}
	m.mu.Unlock()
	return nil
}

// powerButton presses the ACPI power button (QMP system_powerdown); with
// restart, the VM starts again once the guest is off. No OS listens while
// the firmware POSTs: the firmware turns the power off at once, as a PC's
// does. After ShutdownTimeout the power is cut. The caller holds opMu.
func (m *Machine) powerButton(ctx context.Context, p *proc, post, restart bool) error {
	if post {
		if err := m.powerOff(p); err != nil {
			return err
		}
		if restart {
			return m.powerOn(ctx)
		}
		return nil
	}
	if err := p.qmp.Execute(ctx, "system_powerdown", nil, nil); err != nil {
		return unavailable("system_powerdown", err)
	}
	m.mu.Lock()
	m.restart = restart
	m.epoch++
	epoch := m.epoch
	m.mu.Unlock()
	if t := m.cfg.ShutdownTimeout; t > 0 {
		time.AfterFunc(t, func() { m.shutdownTimedOut(p, epoch) })
	}
	return nil
}

// shutdownTimedOut cuts the power of a guest that did not act on the
// power button, and restarts it if a restart was asked for.
func (m *Machine) shutdownTimedOut(p *proc, epoch uint64) {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	m.mu.Lock()
	if m.proc != p || m.epoch != epoch || m.power == hardware.PowerOff || m.closed {
		m.mu.Unlock()
		return
	}
	restart := m.restart
	m.restart = false
	m.mu.Unlock()
	m.log.Info("qemu: the guest did not shut down in time: power cut", "timeout", m.cfg.ShutdownTimeout)
	if err := m.powerOff(p); err != nil {
		m.log.Error("qemu: power off after the shutdown timeout", "err", err)
		return
	}
	if restart {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		if err := m.powerOn(ctx); err != nil {
			m.log.Error("qemu: restart after the shutdown timeout", "err", err)
		}
	}
}
