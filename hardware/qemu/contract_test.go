package qemu

import (
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// requireQEMU skips a test that runs virtual machines with -short, or
// when QEMU is not installed.
func requireQEMU(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs QEMU virtual machines (seconds each under TCG): skipped with -short")
	}
	if _, err := exec.LookPath(DefaultBinary); err != nil {
		t.Skipf("%s is not installed (Debian qemu-system-x86, or `make deps`): %v", DefaultBinary, err)
	}
}

func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("QEMU_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// TestContract runs the backend contract on real QEMU VMs under TCG,
// with SeaBIOS booting the test ISO as a disk: GRUB waits at its menu,
// reading the keyboard, so the LEDs follow Caps Lock.
func TestContract(t *testing.T) {
	requireQEMU(t)
	iso := bootiso.Path(t, bootiso.Options{})
	backendtest.Run(t, backendtest.Config{Timeout: 30 * time.Second, New: func(t *testing.T) hardware.Backend {
		m, err := New(Config{ID: "contract", Seed: "backendtest", Dir: t.TempDir(), Accel: "tcg", MemoryMB: 128,
			Disks:           []Disk{{Path: iso, Format: "raw", ReadOnly: true}},
			ShutdownTimeout: 300 * time.Millisecond, Log: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}})
}
