// Package bootiso builds, for the tests of the virtual-machine backends,
// a tiny bootable ISO: a hybrid image (El Torito for BIOS and UEFI, and
// an MBR so it boots as a disk too) made by grub-mkrescue, whose
// grub.cfg prints Marker on the serial port (COM1, 115200 baud) and on
// the screen, then either waits a few seconds and halts, so that the
// guest powers itself off, or waits at a menu reading the keyboard.
//
// The image is built once into a cache directory (the user's cache, or
// the temporary directory) keyed by its grub.cfg, so every test binary of
// a run, and later runs, share it. Building it needs Debian's grub-common,
// grub-pc-bin, grub-efi-amd64-bin, xorriso and mtools; Path skips the
// test with a message naming them when they are missing.
package bootiso

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Marker is the line the ISO prints on the serial port and the screen
// once GRUB runs its configuration.
const Marker = "BMCD-BOOT-MARKER grub-from-bootiso"

// HaltMarker is the line printed just before the halt, when Options.Halt
// is set: the guest powers itself off right after it.
const HaltMarker = "BMCD-BOOT-HALT"

// Packages are the Debian packages that build the image.
var Packages = []string{"grub-common", "grub-pc-bin", "grub-efi-amd64-bin", "xorriso", "mtools"}

// ErrMissingTools is returned by Build when a tool or GRUB platform is
// not installed.
var ErrMissingTools = errors.New("bootiso: tools missing")

// Options choose what the ISO does after printing Marker.
type Options struct {
	// Halt is how long GRUB waits after Marker before it prints
	// HaltMarker and halts (whole seconds, at least one). Zero: it never
	// halts, and waits at a menu, reading the keyboard (so a BIOS updates
	// the keyboard LEDs).
	Halt time.Duration
}

// grubCfg is the configuration for o.
func (o Options) grubCfg() string {
	var b strings.Builder
	b.WriteString("serial --unit=0 --speed=115200\n")
	b.WriteString("terminal_input console serial\n")
	b.WriteString("terminal_output console serial\n")
	fmt.Fprintf(&b, "echo %q\n", Marker)
	if o.Halt > 0 {
		fmt.Fprintf(&b, "sleep %d\n", max(1, int(o.Halt.Round(time.Second)/time.Second)))
		fmt.Fprintf(&b, "echo %q\n", HaltMarker)
		b.WriteString("halt\n")
		return b.String()
	}
	b.WriteString("set timeout=-1\n")
	fmt.Fprintf(&b, "menuentry %q {\n\techo %q\n}\n", "bmcd boot test", Marker)
	return b.String()
}

var (
	mu    sync.Mutex
	built = map[string]string{} // grub.cfg -> path, in this process
)

// Build returns the path of the ISO for o, building it if the cache does
// not hold it. Errors: ErrMissingTools (wrapped, naming what is missing),
// or grub-mkrescue's failure with its output.
func Build(o Options) (string, error) {
	cfg := o.grubCfg()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[cfg]; ok {
		return p, nil
	}
	if err := checkTools(); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(cfg))
	dir := cacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "boot-"+hex.EncodeToString(sum[:6])+".iso")
	if fi, err := os.Stat(out); err == nil && fi.Size() > 0 {
		built[cfg] = out
		return out, nil
	}
	work, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	if err := os.MkdirAll(filepath.Join(root, "boot", "grub"), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "boot", "grub", "grub.cfg"), []byte(cfg), 0o644); err != nil {
		return "", err
	}
	tmp := filepath.Join(work, "boot.iso")
	// No fonts, locales or themes: the image is text-only and 9 MB
	// instead of 20.
	cmd := exec.Command("grub-mkrescue", "--fonts=", "--locales=", "--themes=", "-o", tmp, root)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bootiso: grub-mkrescue: %v\n%s", err, b)
	}
	// The rename is atomic: test binaries building at once each write a
	// whole image, and the last one wins.
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	built[cfg] = out
	return out, nil
}

// Path returns the ISO for o (see Build); it skips tb, saying what to
// install, when the tools are missing, and fails it on another error.
func Path(tb testing.TB, o Options) string {
	tb.Helper()
	p, err := Build(o)
	if errors.Is(err, ErrMissingTools) {
		tb.Skipf("%v (install the Debian packages %s, or run `make deps`)", err, strings.Join(Packages, " "))
	}
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// checkTools reports the tools and GRUB platforms that are missing.
func checkTools() error {
	var missing []string
	for _, tool := range []string{"grub-mkrescue", "xorriso", "mformat"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	for _, dir := range []string{"/usr/lib/grub/i386-pc", "/usr/lib/grub/x86_64-efi"} {
		if _, err := os.Stat(filepath.Join(dir, "modinfo.sh")); err != nil {
			missing = append(missing, dir)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingTools, strings.Join(missing, ", "))
	}
	return nil
}

func cacheDir() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "bmcd", "bootiso")
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("bmcd-bootiso-%d", os.Getuid()))
}
