package libvirt_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/libvirt"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

// quiet discards the backend's logs; -v shows them.
func quiet(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.DiscardHandler)
}

// TestContract: a libvirt domain keeps the contract every backend keeps.
// Its firmware finds nothing on the disk and boots GRUB from a second
// CD-ROM, which waits at a menu reading the keyboard (so the Caps Lock
// LED follows the key, through VNC) and ignores the ACPI power button:
// graceful requests are forced after a second.
func TestContract(t *testing.T) {
	uri := libvirttest.Daemon(t)
	iso := bootiso.Path(t, bootiso.Options{})
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "contract", NIC: true, Disk: true, BootISO: iso})
	media := libvirttest.MediaDir(t)
	backendtest.Run(t, backendtest.Config{Timeout: 30 * time.Second, New: func(t *testing.T) hardware.Backend {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		x, err := libvirt.Open(ctx, uri, name, libvirt.Options{ShutdownTimeout: time.Second, MediaDir: media}, quiet(t))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}})
}
