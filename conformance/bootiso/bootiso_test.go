package bootiso

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestGrubCfg(t *testing.T) {
	halt := Options{Halt: 3 * time.Second}.grubCfg()
	for _, want := range []string{"serial --unit=0 --speed=115200", "terminal_output console serial", `echo "` + Marker + `"`, "sleep 3\n", `echo "` + HaltMarker + `"`, "halt\n"} {
		if !strings.Contains(halt, want) {
			t.Errorf("halting grub.cfg lacks %q:\n%s", want, halt)
		}
	}
	wait := Options{}.grubCfg()
	if strings.Contains(wait, "halt") || !strings.Contains(wait, "set timeout=-1") || !strings.Contains(wait, "menuentry") {
		t.Errorf("waiting grub.cfg:\n%s", wait)
	}
	if got := (Options{Halt: 100 * time.Millisecond}).grubCfg(); !strings.Contains(got, "sleep 1\n") {
		t.Errorf("a halt under a second does not wait one second:\n%s", got)
	}
}

// TestBuildAndBoot builds the halting image, checks it is ISO 9660, and
// boots it under QEMU with SeaBIOS: the marker comes out of COM1 and the
// guest powers itself off.
func TestBuildAndBoot(t *testing.T) {
	p := Path(t, Options{Halt: time.Second})
	if again := Path(t, Options{Halt: time.Second}); again != p {
		t.Errorf("built twice: %s, %s", p, again)
	}
	img, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(img) < 32774 || string(img[32769:32774]) != "CD001" {
		t.Fatal("not an ISO 9660 image")
	}
	if img[510] != 0x55 || img[511] != 0xAA {
		t.Error("no MBR boot signature: the image does not boot as a disk")
	}
	if testing.Short() {
		t.Skip("booting it takes seconds: skipped with -short")
	}
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed (Debian qemu-system-x86): the image is not booted")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, qemu, "-accel", "tcg", "-m", "128", "-nodefaults", "-display", "none",
		"-serial", "stdio", "-drive", "file="+p+",media=cdrom,readonly=on", "-boot", "d", "-no-reboot")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("qemu: %v (the guest did not power off?)\n%s", err, out.String())
	}
	for _, want := range []string{Marker, HaltMarker} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serial output lacks %q:\n%q", want, out.String())
		}
	}
}
