package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Through a hardware.Machine, as the console will use it: the machine
// finds the simulation's display, keyboard and pointer; the screen lights
// up at power on, and keys typed reach the serial console.
func TestMachineDisplayAndHID(t *testing.T) {
	d := 5 * time.Millisecond
	sm := New(Config{ID: "e", Seed: "display", PowerOnDelay: d, PowerOffDelay: d, ShutdownDelay: d})
	hm, err := hardware.NewMachine("e", sm, newMemStore(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	ctx := context.Background()
	if _, ok := hm.Display().(hardware.DisabledDisplay); ok {
		t.Fatal("the machine did not find the simulation's display")
	}
	if f := hm.Display().Frame(); f.Image != nil {
		t.Fatalf("a picture while off: %+v", f)
	}
	if err := hm.Keyboard().Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrPoweredOff) {
		t.Errorf("typing while off: %v", err)
	}
	changed, stop := hm.Display().Watch()
	defer stop()
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
	case <-time.After(deadline):
		t.Fatal("no picture change after power on")
	}
	if f := hm.Display().Frame(); f.Image == nil || f.Seq == 0 {
		t.Fatalf("no picture after power on: %+v", f)
	}
	viewer := hm.Console().Watch(true)
	defer viewer.Close()
	scrollback := func(want string) {
		t.Helper()
		end := time.Now().Add(deadline)
		for !strings.Contains(string(hm.Console().Scrollback()), want) {
			if time.Now().After(end) {
				t.Fatalf("serial console never showed %q:\n%s", want, hm.Console().Scrollback())
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	scrollback("sim-e login: ")
	waitText(t, sm, " Booting from Hdd (Boot0001: UEFI NVMe: Simulated NVMe SSD 960GB), UEFI mode")
	typeText(t, hm.Keyboard(), "admin\recho typed\r")
	scrollback("admin@sim-e:~# echo typed\r\ntyped\r\n")
	waitText(t, sm, "admin@sim-e:~# echo typed\ntyped\n")
	if err := hm.Pointer().Point(hardware.PointerEvent{Absolute: true, X: 100, Y: 100}); err != nil {
		t.Error(err)
	}
	_ = hm.Keyboard().Key(hardware.KeyCapsLock, true)
	if !hm.Keyboard().LEDs().CapsLock {
		t.Error("Caps Lock LED off after Caps Lock")
	}
}
