package hardware_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

// TestApply: a Change takes effect whole or not at all.
func TestApply(t *testing.T) {
	lit := &hardware.IdentifySetting{Mode: hardware.IdentifyLit}
	pxe := hardware.BootChange{Target: hardware.BootPxe, Enabled: hardware.BootOnce}
	for _, tc := range []struct {
		name     string
		change   hardware.Change
		err      error
		identify hardware.IdentifyMode
		target   hardware.BootSource
	}{
		{"LED and a target the machine lacks", hardware.Change{Identify: lit, Boot: &hardware.BootChange{Target: hardware.BootFloppy}}, hardware.ErrInvalid, "Off", "None"},
		{"LED and an unknown duration", hardware.Change{Identify: lit, Boot: &hardware.BootChange{Target: hardware.BootPxe, Enabled: "Always"}}, hardware.ErrInvalid, "Off", "None"},
		{"target and an unknown LED mode", hardware.Change{Identify: &hardware.IdentifySetting{Mode: "Dim"}, Boot: &pxe}, hardware.ErrInvalid, "Off", "None"},
		{"target and a negative duration", hardware.Change{Identify: &hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: -time.Second}, Boot: &pxe}, hardware.ErrInvalid, "Off", "None"},
		{"both good", hardware.Change{Identify: lit, Boot: &pxe}, nil, "Lit", "Pxe"},
		{"nothing", hardware.Change{}, nil, "Off", "None"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newEnv(t).m
			g, evs := m.Generation(), len(m.Events())
			err := m.Apply(tc.change)
			if tc.err == nil && err != nil || tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("Apply: %v, want %v", err, tc.err)
			}
			if got := m.Identify().Mode; got != tc.identify {
				t.Errorf("identify %s, want %s", got, tc.identify)
			}
			if got := m.BootOverride().Target; got != tc.target {
				t.Errorf("override target %s, want %s", got, tc.target)
			}
			if tc.err != nil && (m.Generation() != g || len(m.Events()) != evs) {
				t.Error("a refused Change moved Generation or logged an event")
			}
		})
	}
}

// failingStore refuses writes to the machines bucket while fail is set.
type failingStore struct {
	*memStore
	fail atomic.Bool
}

var errDisk = errors.New("disk full")

func (s *failingStore) Put(bucket, key string, v any) error {
	if bucket == "machines" && s.fail.Load() {
		return errDisk
	}
	return s.memStore.Put(bucket, key, v)
}

// A Change whose persistent part cannot be stored changes nothing else.
func TestApplyStoreFailure(t *testing.T) {
	st := &failingStore{memStore: newMemStore()}
	m, err := hardware.NewMachine("s", sim.New(sim.Config{ID: "s"}), st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st.fail.Store(true)
	err = m.Apply(hardware.Change{
		Identify: &hardware.IdentifySetting{Mode: hardware.IdentifyBlinking},
		Boot:     &hardware.BootChange{Target: hardware.BootCd},
	})
	if !errors.Is(err, errDisk) {
		t.Fatalf("Apply: %v", err)
	}
	if m.Identify().On() || m.BootOverride().Target != hardware.BootNone {
		t.Errorf("after a failed Apply: identify %+v, override %+v", m.Identify(), m.BootOverride())
	}
	// The identify indication alone is volatile: nothing to store.
	if err := m.Apply(hardware.Change{Identify: &hardware.IdentifySetting{Mode: hardware.IdentifyLit}}); err != nil || m.Identify().Mode != hardware.IdentifyLit {
		t.Errorf("identify alone: %v, %+v", err, m.Identify())
	}
}

// TestIdentify: what is set reads back; setting it again changes nothing;
// a temporary indication ends by itself and moves Generation when it does.
func TestIdentify(t *testing.T) {
	m := newEnv(t).m
	if s := m.Identify(); s != (hardware.IdentifyState{Mode: hardware.IdentifyOff}) || s.On() || s.Indefinite() {
		t.Fatalf("initial %+v", s)
	}
	for _, mode := range []hardware.IdentifyMode{hardware.IdentifyLit, hardware.IdentifyBlinking, hardware.IdentifyOff} {
		if err := m.SetIdentify(hardware.IdentifySetting{Mode: mode}); err != nil {
			t.Fatal(err)
		}
		s := m.Identify()
		if s.Mode != mode || s.On() != (mode != hardware.IdentifyOff) || s.Indefinite() != s.On() {
			t.Errorf("after %s: %+v", mode, s)
		}
		g := m.Generation()
		if err := m.SetIdentify(hardware.IdentifySetting{Mode: mode}); err != nil || m.Generation() != g {
			t.Errorf("setting %s again moved Generation (%v)", mode, err)
		}
	}
	// Off ignores a duration; a temporary indication is on, not indefinite.
	if err := m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyOff, For: time.Hour}); err != nil || m.Identify().On() {
		t.Errorf("Off for an hour: %v %+v", err, m.Identify())
	}
	g := m.Generation()
	if err := m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: 40 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if s := m.Identify(); !s.On() || s.Indefinite() || s.Until.IsZero() {
		t.Errorf("temporary: %+v", s)
	}
	poll(t, "the temporary indication to end", func() bool { return !m.Identify().On() })
	poll(t, "Generation to move when it ends", func() bool { return m.Generation() >= g+2 })
	// A temporary indication replaced by an indefinite one does not end.
	_ = m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: 20 * time.Millisecond})
	_ = m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyBlinking})
	time.Sleep(60 * time.Millisecond)
	if s := m.Identify(); !s.Indefinite() {
		t.Errorf("an indefinite indication ended: %+v", s)
	}
	for _, bad := range []hardware.IdentifySetting{{Mode: "Dim"}, {Mode: ""}, {Mode: hardware.IdentifyLit, For: -1}} {
		if err := m.SetIdentify(bad); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	if s := m.Identify(); !s.Indefinite() || s.Mode != hardware.IdentifyBlinking {
		t.Errorf("refused settings changed the indication: %+v", s)
	}
}
