package hardware_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

// fakeConfig is a backend block: Decode hands out err.
type fakeConfig struct{ err error }

func (c fakeConfig) Decode(any) error { return c.err }

func init() {
	hardware.Register("regtest_ok", func(s hardware.Setup) (hardware.Backend, error) {
		if err := s.Config.Decode(nil); err != nil {
			return nil, err
		}
		if s.Log == nil {
			return nil, errors.New("no logger")
		}
		return sim.New(sim.Config{ID: s.ID, Seed: s.Seed}), nil
	})
	hardware.Register("regtest_nil", func(hardware.Setup) (hardware.Backend, error) { return nil, nil })
}

func TestBackends(t *testing.T) {
	got := hardware.Backends()
	if !slices.IsSorted(got) {
		t.Errorf("not sorted: %v", got)
	}
	for _, want := range []string{"regtest_nil", "regtest_ok", "sim"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s missing from %v", want, got)
		}
	}
}

func TestNewBackend(t *testing.T) {
	b, err := hardware.NewBackend("regtest_ok", hardware.Setup{ID: "rack1", Seed: "s", Config: fakeConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Info().HostName != "sim-rack1" {
		t.Errorf("built %+v", b.Info())
	}
	// A Setup without a block decodes as an empty one.
	b2, err := hardware.NewBackend("regtest_ok", hardware.Setup{ID: "rack2"})
	if err != nil {
		t.Fatal(err)
	}
	b2.Close()
}

func TestNewBackendErrors(t *testing.T) {
	known := strings.Join(hardware.Backends(), ", ")
	for _, c := range []struct {
		name string
		cfg  hardware.BackendConfig
		want string
	}{
		{"qemu", nil, fmt.Sprintf(`system rack1: unknown backend "qemu" (known: %s)`, known)},
		{"", nil, fmt.Sprintf(`system rack1: unknown backend "" (known: %s)`, known)},
		{"regtest_ok", fakeConfig{errors.New("regtest_ok.delay: time: invalid duration \"x\"")}, `system rack1: regtest_ok.delay: time: invalid duration "x"`},
		{"regtest_nil", nil, `system rack1: backend "regtest_nil" built nothing`},
	} {
		b, err := hardware.NewBackend(c.name, hardware.Setup{ID: "rack1", Config: c.cfg})
		if err == nil || err.Error() != c.want || b != nil {
			t.Errorf("%q: %v, %v; want %s", c.name, b, err, c.want)
		}
	}
}

func TestRegisterPanics(t *testing.T) {
	setup := func(hardware.Setup) (hardware.Backend, error) { return nil, nil }
	for name, call := range map[string]func(){
		"twice":       func() { hardware.Register("sim", setup) },
		"empty name":  func() { hardware.Register("", setup) },
		"upper case":  func() { hardware.Register("QEMU", setup) },
		"dot":         func() { hardware.Register("sim.x", setup) },
		"digit first": func() { hardware.Register("9p", setup) },
		"nil setup":   func() { hardware.Register("regtest_nilsetup", nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			call()
		}()
	}
	if slices.Contains(hardware.Backends(), "regtest_nilsetup") {
		t.Error("a refused backend was registered")
	}
}
