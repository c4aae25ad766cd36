package wol

import (
	"context"
	"fmt"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// Sender sends a server's magic packet (Waker; a fake in tests).
type Sender interface {
	Wake(ctx context.Context) error
}

// Power is power control by Wake-on-LAN, hardware.Power, in one of two
// forms:
//
//   - alone (NewPower(s, nil)): the resets are On and ForceOn, which send
//     the magic packet; nothing can switch the server off or restart it
//     (those resets are not offered, so the Machine refuses them as not
//     supported). Nothing senses the server's power either: PowerState is
//     the state assumed from the last reset, Off until a packet is sent
//     and On from then on (as OpenStack Ironic's Wake-on-LAN power
//     interface does), kept across restarts of bmcd (PowerResumer).
//   - over a sensing power control (NewPower(s, atx)): On and ForceOn send
//     the packet when the base says Off (and do nothing when it says On);
//     every other reset, the reset types and the power state are the
//     base's (its power LED).
type Power struct {
	s    Sender
	base hardware.Power

	mu    sync.Mutex
	host  hardware.Host
	state hardware.PowerState // assumed, without a base
}

var (
	_ hardware.Power        = (*Power)(nil)
	_ hardware.PowerResumer = (*Power)(nil)
)

// NewPower is Wake-on-LAN through s, alone (base nil) or over base.
func NewPower(s Sender, base hardware.Power) *Power {
	return &Power{s: s, base: base, state: hardware.PowerOff}
}

// Attach makes p report the assumed power changes to h (alone; a base
// reports its own).
func (p *Power) Attach(h hardware.Host) {
	p.mu.Lock()
	p.host = h
	p.mu.Unlock()
}

// ResetTypes implements hardware.Power: On and ForceOn alone, the base's
// otherwise.
func (p *Power) ResetTypes() []hardware.ResetType {
	if p.base != nil {
		return p.base.ResetTypes()
	}
	return []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOn}
}

// PowerState implements hardware.Power: the base's, or the assumed state
// (see Power).
func (p *Power) PowerState(ctx context.Context) (hardware.PowerState, error) {
	if p.base != nil {
		return p.base.PowerState(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state, nil
}

// Reset implements hardware.Power: On and ForceOn send the magic packet
// (alone: always, since the state is not sensed; over a base: when it
// says Off); other types go to the base. Errors: ErrNotSupported for a
// type not in ResetTypes; ErrUnavailable when the packet cannot be sent;
// the base's.
func (p *Power) Reset(ctx context.Context, r hardware.ResetType) error {
	if r != hardware.ResetOn && r != hardware.ResetForceOn {
		if p.base != nil {
			return p.base.Reset(ctx, r)
		}
		return fmt.Errorf("wol: reset %s (Wake-on-LAN only powers on): %w", r, hardware.ErrNotSupported)
	}
	if p.base != nil {
		ps, err := p.base.PowerState(ctx)
		if err != nil {
			return err
		}
		if ps != hardware.PowerOff {
			return nil
		}
		return p.s.Wake(ctx)
	}
	if err := p.s.Wake(ctx); err != nil {
		return err
	}
	p.mu.Lock()
	from, h := p.state, p.host
	p.state = hardware.PowerOn
	p.mu.Unlock()
	if h != nil && from != hardware.PowerOn {
		h.PowerChanged(from, hardware.PowerOn)
	}
	return nil
}

// ResumePower implements hardware.PowerResumer: alone, the state recorded
// before bmcd stopped is assumed again (a transition as where it was
// going). Over a base it does nothing: the base senses the state.
func (p *Power) ResumePower(s hardware.PowerState, _ bool) error {
	if p.base != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch s {
	case hardware.PowerOn, hardware.PowerPoweringOn:
		p.state = hardware.PowerOn
	default:
		p.state = hardware.PowerOff
	}
	return nil
}
