package hardware_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/internal/store"
)

// vm is a backend shaped as libvirt and vSphere are: the boot device is
// written into the VM's definition before it starts (SetNextBoot), and the
// backend sees the VM start, which it reports as a boot. It powers on and
// off at once.
type vm struct {
	mu     sync.Mutex
	host   hardware.Host
	on     bool
	def    hardware.BootPlan // the "domain XML"
	defs   int               // how many times it was written
	closed bool
	fail   error    // SetNextBoot's answer, if set
	booted []string // what each start booted: definition / firmware's choice
}

func (v *vm) Info() hardware.Info { return hardware.Info{Manufacturer: "test", Model: "vm"} }
func (v *vm) Close() error {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	return nil
}
func (v *vm) Attach(h hardware.Host) hardware.Parts {
	v.host = h
	return hardware.Parts{Power: v, Boot: v}
}

func (v *vm) ResetTypes() []hardware.ResetType {
	return []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOff, hardware.ResetForceRestart, hardware.ResetNmi}
}

func (v *vm) PowerState(context.Context) (hardware.PowerState, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.on {
		return hardware.PowerOn, nil
	}
	return hardware.PowerOff, nil
}

func (v *vm) Reset(_ context.Context, r hardware.ResetType) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch r {
	case hardware.ResetOn:
		if !v.on {
			v.on = true
			v.host.PowerChanged(hardware.PowerOff, hardware.PowerOn)
			v.startLocked()
		}
	case hardware.ResetForceOff:
		if v.on {
			v.on = false
			v.host.PowerChanged(hardware.PowerOn, hardware.PowerOff)
		}
	case hardware.ResetForceRestart:
		if !v.on {
			v.on = true
			v.host.PowerChanged(hardware.PowerOff, hardware.PowerOn)
		}
		v.startLocked()
	case hardware.ResetNmi:
		if !v.on {
			return fmt.Errorf("nmi: %w", hardware.ErrPoweredOff)
		}
	}
	return nil
}

// startLocked is the VM starting from its definition, seen by the backend.
func (v *vm) startLocked() {
	res := v.host.Booted()
	v.booted = append(v.booted, fmt.Sprintf("%s/%s", v.def.Source, res.Source))
}

func (v *vm) BootTargets() []hardware.BootSource {
	return []hardware.BootSource{hardware.BootPxe, hardware.BootHdd, hardware.BootCd}
}
func (v *vm) BootModes() []hardware.BootMode     { return []hardware.BootMode{hardware.BootModeUEFI} }
func (v *vm) BootOptions() []hardware.BootOption { return nil }
func (v *vm) SetNextBoot(_ context.Context, p hardware.BootPlan) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		panic("SetNextBoot after Close")
	}
	if v.fail != nil {
		return v.fail
	}
	v.def, v.defs = p, v.defs+1
	return nil
}

// TestBootPlanBackend: a backend that writes the boot device into the VM
// definition gets the one-time override before the power-on, boots it
// once, and gets the persistent order back afterwards.
func TestBootPlanBackend(t *testing.T) {
	backendtest.Run(t, backendtest.Config{New: func(*testing.T) hardware.Backend { return &vm{} }})

	v := &vm{}
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := hardware.NewMachine("vm", v, db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	e := struct{ m *hardware.Machine }{m}
	if err := e.m.ChangeBoot(hardware.BootChange{Target: hardware.BootPxe, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.m.Reset(t.Context(), hardware.ResetForceRestart); err != nil {
			t.Fatal(err)
		}
	}
	poll(t, "the persistent plan handed back", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.def.Source == hardware.BootHdd && !v.def.Once
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.booted) != 2 || v.booted[0] != "Pxe/Pxe" || v.booted[1] != "Hdd/Hdd" {
		t.Errorf("boots (definition/firmware) %v, want [Pxe/Pxe Hdd/Hdd]", v.booted)
	}
}

// TestNoBootControlContract: a backend without boot control (a switch, as
// a board wired to the power pins only) keeps the contract; a boot override is accepted and ignored (the PiKVM no-op).
func TestNoBootControlContract(t *testing.T) {
	backendtest.Run(t, backendtest.Config{New: func(*testing.T) hardware.Backend { return &backendtest.Switch{} }})
}

// TestBootPlanHandedOnce: the same plan is written once, however many
// state changes come; none after Close; a backend failure refuses the
// reset as ErrUnavailable, and the machine stays as it was.
func TestBootPlanHandedOnce(t *testing.T) {
	v := &vm{}
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := hardware.NewMachine("vm", v, db, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defs := func() int { v.mu.Lock(); defer v.mu.Unlock(); return v.defs }
	poll(t, "the first plan", func() bool { return defs() == 1 })
	if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootPxe, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	poll(t, "the override's plan", func() bool { return defs() == 2 })
	// Power on: power state, last reset and power-on cause are written;
	// the boot consumes the override: one more plan, the persistent one.
	if err := m.Reset(t.Context(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "the persistent plan", func() bool { return defs() == 3 })
	if err := m.SetIdentify(hardware.IdentifySetting{Mode: hardware.IdentifyLit}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(t.Context(), hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if got := defs(); got != 3 {
		t.Errorf("%d definitions written, want 3 (one per different plan)", got)
	}

	v.mu.Lock()
	v.fail = fmt.Errorf("libvirt: connection refused")
	v.mu.Unlock()
	if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootCd, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(t.Context(), hardware.ResetOn); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("reset with a failing backend: %v, want ErrUnavailable", err)
	}
	if ps, _ := m.PowerState(t.Context()); ps != hardware.PowerOff {
		t.Errorf("a refused reset left the power %s", ps)
	}
	v.mu.Lock()
	v.fail = nil
	v.mu.Unlock()
	if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootHdd, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // a plan handed late would panic in SetNextBoot
}
