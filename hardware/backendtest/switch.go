package backendtest

import (
	"context"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// Switch is the smallest backend: a machine whose power the BMC switches
// on and off, and nothing else (a smart plug, a board wired only to the
// power pins): no boot control, media, sensors or console. Tests of other
// packages use it for such a machine, embedding it to change Info. The
// zero value is ready, powered off.
type Switch struct {
	// Inventory is what Info returns; a generic one when zero.
	Inventory hardware.Info

	mu   sync.Mutex
	on   bool
	host hardware.Host
}

// Info implements hardware.Backend.
func (s *Switch) Info() hardware.Info {
	if s.Inventory.Model == "" {
		return hardware.Info{Manufacturer: "test", Model: "power switch"}
	}
	return s.Inventory
}

// Attach implements hardware.Backend: power is the only part.
func (s *Switch) Attach(h hardware.Host) hardware.Parts {
	s.mu.Lock()
	s.host = h
	s.mu.Unlock()
	return hardware.Parts{Power: s}
}

// Close implements hardware.Backend.
func (s *Switch) Close() error { return nil }

// ResetTypes implements hardware.Power: On and ForceOff.
func (s *Switch) ResetTypes() []hardware.ResetType {
	return []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOff}
}

// PowerState implements hardware.Power.
func (s *Switch) PowerState(context.Context) (hardware.PowerState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.on {
		return hardware.PowerOn, nil
	}
	return hardware.PowerOff, nil
}

// Reset implements hardware.Power: the power switches at once. A switch
// cannot see the host boot, so it reports no boots.
func (s *Switch) Reset(_ context.Context, r hardware.ResetType) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var on bool
	switch r {
	case hardware.ResetOn:
		on = true
	case hardware.ResetForceOff:
	default:
		return hardware.ErrNotSupported
	}
	if on == s.on {
		return nil
	}
	s.on = on
	if s.host == nil {
		return nil
	}
	if on {
		s.host.PowerChanged(hardware.PowerOff, hardware.PowerOn)
	} else {
		s.host.PowerChanged(hardware.PowerOn, hardware.PowerOff)
	}
	return nil
}
