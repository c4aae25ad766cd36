package qemu

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
)

// TestStartFailure: a QEMU that cannot start is ErrUnavailable with its
// complaint, and the machine stays off.
func TestStartFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		reason string
	}{
		{"no such binary", Config{Binary: "/nonexistent/qemu-system-x86_64"}, "no such file"},
		{"a disk that cannot be created", Config{Disks: []Disk{{Path: "missing.qcow2"}}}, "has no size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.ID, cfg.Dir, cfg.Accel = "vm", t.TempDir(), "tcg"
			b, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			hm := machine(t, b)
			err = hm.Reset(context.Background(), hardware.ResetOn)
			if !errors.Is(err, hardware.ErrUnavailable) || !strings.Contains(err.Error(), tc.reason) {
				t.Fatalf("Reset On: %v, want ErrUnavailable saying %q", err, tc.reason)
			}
			if ps, _ := hm.PowerState(context.Background()); ps != hardware.PowerOff {
				t.Errorf("power %s", ps)
			}
			if err := hm.Keyboard().Key(hardware.KeyA, true); !errors.Is(err, hardware.ErrPoweredOff) {
				t.Errorf("key while off: %v, want ErrPoweredOff", err)
			}
			if err := hm.Reset(context.Background(), hardware.ResetNmi); !errors.Is(err, hardware.ErrPoweredOff) {
				t.Errorf("NMI while off: %v", err)
			}
		})
	}
	// QEMU's own refusal comes with the end of its log.
	requireQEMU(t)
	b, err := New(Config{ID: "vm", Dir: t.TempDir(), Accel: "tcg", ExtraArgs: []string{"-no-such-option"}})
	if err != nil {
		t.Fatal(err)
	}
	hm := machine(t, b)
	if err := hm.Reset(context.Background(), hardware.ResetOn); !errors.Is(err, hardware.ErrUnavailable) || !strings.Contains(err.Error(), "no-such-option") {
		t.Errorf("QEMU refusing its command line: %v", err)
	}
}

// TestKeepRunning: with keep_running a VM outlives its bmcd, and the next
// one takes it up, on, and can turn it off.
func TestKeepRunning(t *testing.T) {
	requireQEMU(t)
	iso := bootiso.Path(t, bootiso.Options{})
	cfg := Config{ID: "vm", Seed: "keep", Dir: t.TempDir(), Accel: "tcg", MemoryMB: 128, KeepRunning: true,
		Disks: []Disk{{Path: iso, Format: "raw", ReadOnly: true}}, Log: testLog(t)}
	b1, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hm1 := machine(t, b1)
	ctx := context.Background()
	if err := hm1.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	b1.mu.Lock()
	pid := b1.proc.pid
	b1.mu.Unlock()
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	hm1.Close() // closes b1: QEMU stays

	b2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := b2.queryStatus(ctx); err != nil || st != "running" {
		t.Fatalf("the next bmcd: QEMU %q, %v", st, err)
	}
	hm2 := machine(t, b2)
	if ps, _ := hm2.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("taken up %s, want On", ps)
	}
	b2.mu.Lock()
	if b2.proc.pid != pid {
		t.Errorf("took up process %d, want %d", b2.proc.pid, pid)
	}
	b2.mu.Unlock()
	if err := hm2.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "off", func() bool { ps, _ := hm2.PowerState(ctx); return ps == hardware.PowerOff })
	if err := hm2.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	b2.cfg.KeepRunning = false // the test's end stops it
}
