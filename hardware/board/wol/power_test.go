package wol

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

type fakeSender struct {
	n   int
	err error
}

func (f *fakeSender) Wake(context.Context) error { f.n++; return f.err }

type recHost struct{ changes [][2]hardware.PowerState }

func (h *recHost) PowerChanged(from, to hardware.PowerState) {
	h.changes = append(h.changes, [2]hardware.PowerState{from, to})
}
func (h *recHost) Booted() hardware.BootResult { return hardware.BootResult{} }
func (h *recHost) LogEvent(hardware.Event)     {}

// base is a sensing power control (the ATX part's stand-in).
type base struct {
	state  hardware.PowerState
	resets []hardware.ResetType
}

func (b *base) ResetTypes() []hardware.ResetType {
	return []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOff, hardware.ResetPowerCycle}
}
func (b *base) PowerState(context.Context) (hardware.PowerState, error) { return b.state, nil }
func (b *base) Reset(_ context.Context, r hardware.ResetType) error {
	b.resets = append(b.resets, r)
	return nil
}

func TestPowerAlone(t *testing.T) {
	ctx := context.Background()
	s, h := &fakeSender{}, &recHost{}
	p := NewPower(s, nil)
	p.Attach(h)
	if got := p.ResetTypes(); !slices.Equal(got, []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOn}) {
		t.Errorf("ResetTypes %v", got)
	}
	if ps, _ := p.PowerState(ctx); ps != hardware.PowerOff {
		t.Errorf("initial state %s, want Off (assumed)", ps)
	}
	for _, r := range []hardware.ResetType{hardware.ResetForceOff, hardware.ResetGracefulRestart, hardware.ResetPowerCycle} {
		if err := p.Reset(ctx, r); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("%s: %v, want ErrNotSupported", r, err)
		}
	}
	if err := p.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := p.Reset(ctx, hardware.ResetForceOn); err != nil {
		t.Fatal(err)
	}
	if s.n != 2 {
		t.Errorf("%d packets, want 2 (the state is not sensed: every On sends)", s.n)
	}
	if ps, _ := p.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("state %s after On", ps)
	}
	if len(h.changes) != 1 || h.changes[0] != [2]hardware.PowerState{hardware.PowerOff, hardware.PowerOn} {
		t.Errorf("changes %v, want one Off->On", h.changes)
	}

	// A failed send changes nothing.
	s2 := &fakeSender{err: hardware.ErrUnavailable}
	p2 := NewPower(s2, nil)
	if err := p2.Reset(ctx, hardware.ResetOn); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("failed send: %v", err)
	}
	if ps, _ := p2.PowerState(ctx); ps != hardware.PowerOff {
		t.Errorf("state %s after a failed send", ps)
	}
	// The recorded state is taken up again after a restart of bmcd.
	_ = p2.ResumePower(hardware.PowerPoweringOn, true)
	if ps, _ := p2.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("resumed %s", ps)
	}
	_ = p2.ResumePower(hardware.PowerOff, false)
	if ps, _ := p2.PowerState(ctx); ps != hardware.PowerOff {
		t.Errorf("resumed %s", ps)
	}
}

func TestPowerOverBase(t *testing.T) {
	ctx := context.Background()
	s, b := &fakeSender{}, &base{state: hardware.PowerOff}
	p := NewPower(s, b)
	if !slices.Equal(p.ResetTypes(), b.ResetTypes()) {
		t.Errorf("ResetTypes %v, want the base's", p.ResetTypes())
	}
	if err := p.Reset(ctx, hardware.ResetOn); err != nil || s.n != 1 || len(b.resets) != 0 {
		t.Errorf("On from Off: err %v, %d packets, base resets %v; want a packet and no press", err, s.n, b.resets)
	}
	b.state = hardware.PowerOn
	if err := p.Reset(ctx, hardware.ResetForceOn); err != nil || s.n != 1 {
		t.Errorf("ForceOn while On: err %v, %d packets, want none sent", err, s.n)
	}
	if err := p.Reset(ctx, hardware.ResetForceOff); err != nil || !slices.Equal(b.resets, []hardware.ResetType{hardware.ResetForceOff}) {
		t.Errorf("ForceOff: %v, base resets %v", err, b.resets)
	}
	if ps, _ := p.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("state %s, want the base's", ps)
	}
	_ = p.ResumePower(hardware.PowerOff, false)
	if ps, _ := p.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("resume changed a sensed state to %s", ps)
	}
}
