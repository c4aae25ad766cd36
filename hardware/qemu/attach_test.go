package qemu

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmcd/bmcd/conformance/bootiso"
	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// startExternal starts a QEMU as someone else would for bmcd to attach
// to: paused, with -no-shutdown, QMP, COM1 and VNC on sockets, the test
// ISO as its disk and an empty CD-ROM "cdx".
func startExternal(t *testing.T, iso string) Attached {
	t.Helper()
	dir := t.TempDir()
	a := Attached{QMP: "unix:" + filepath.Join(dir, "qmp.sock"), VNC: filepath.Join(dir, "vnc.sock"),
		Serial: filepath.Join(dir, "serial.sock"), Debug: filepath.Join(dir, "debug.sock"), CDROM: "cdx"}
	cmd := exec.Command(DefaultBinary, "-nodefaults", "-machine", "q35", "-accel", "tcg", "-m", "128", "-S", "-no-shutdown",
		"-qmp", a.QMP+",server=on,wait=off", "-vnc", "unix:"+a.VNC,
		"-chardev", "socket,id=s0,path="+a.Serial+",server=on,wait=off", "-serial", "chardev:s0",
		"-chardev", "socket,id=d0,path="+a.Debug+",server=on,wait=off", "-device", "isa-debugcon,iobase=0x402,chardev=d0",
		"-device", "VGA", "-device", "qemu-xhci,id=xhci", "-device", "usb-tablet,bus=xhci.0",
		"-drive", "if=none,id=d0,format=raw,readonly=on,file="+iso, "-device", "virtio-blk-pci,drive=d0,bootindex=1",
		"-device", "ide-cd,id=cdx,bus=ide.0,bootindex=2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return a
}

// TestAttachContract: the contract, on QEMUs bmcd attaches to.
func TestAttachContract(t *testing.T) {
	requireQEMU(t)
	iso := bootiso.Path(t, bootiso.Options{})
	backendtest.Run(t, backendtest.Config{Timeout: 30 * time.Second, New: func(t *testing.T) hardware.Backend {
		a := startExternal(t, iso)
		m, err := New(Config{ID: "attached", Seed: "backendtest", Dir: t.TempDir(), Attach: &a,
			ShutdownTimeout: 300 * time.Millisecond, Log: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		// The machine is usable once bmcd is attached.
		eventually(t, 10*time.Second, "attached", func() bool {
			m.mu.Lock()
			defer m.mu.Unlock()
			return m.proc != nil
		})
		return m
	}})
}
