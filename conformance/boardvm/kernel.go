// Package boardvm boots Debian's own kernel under QEMU with a small
// initramfs, so the board backend's gadget and capture code run against
// the real kernel interfaces a build machine lacks: configfs with
// libcomposite, dummy_hcd (a USB device controller whose host side is in
// the same kernel), usb_f_hid, usb_f_mass_storage, and vivid (a virtual
// V4L2 capture device). The kernel comes from the linux-image-amd64
// package, which `make deps` downloads into bin/kernel (never installed).
package boardvm

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Kernel is an unpacked Debian kernel package.
type Kernel struct {
	Root    string            // the package's files
	Version string            // its release, as uname -r says: 6.1.0-57-amd64
	Image   string            // the bzImage to boot
	modules map[string]string // module name (underscores) -> .ko path
}

// ErrNoKernel is returned by FindKernel when no kernel package was
// downloaded.
var ErrNoKernel = errors.New("boardvm: no linux-image .deb in the kernel directory (make deps downloads it)")

// FindKernel unpacks the newest kernel image package in dir
// (linux-image-<release>_<version>_<arch>.deb, newest by dpkg's version
// order) into dir/root-<name> (once: a later call finds it there) and
// indexes its modules.
func FindKernel(dir string) (*Kernel, error) {
	debs, _ := filepath.Glob(filepath.Join(dir, "linux-image-[0-9]*.deb"))
	if len(debs) == 0 {
		return nil, ErrNoKernel
	}
	version := func(deb string) string {
		parts := strings.Split(filepath.Base(deb), "_")
		if len(parts) < 2 {
			return "0"
		}
		return parts[1]
	}
	sort.SliceStable(debs, func(i, j int) bool {
		return exec.Command("dpkg", "--compare-versions", version(debs[i]), "lt", version(debs[j])).Run() == nil
	})
	deb := debs[len(debs)-1]
	root := filepath.Join(dir, "root-"+strings.TrimSuffix(filepath.Base(deb), ".deb"))
	if _, err := os.Stat(root); err != nil {
		tmp, err := os.MkdirTemp(dir, ".unpack-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("boardvm: dpkg-deb -x %s: %v: %s", deb, err, out)
		}
		if err := os.Rename(tmp, root); err != nil && !os.IsExist(err) {
			return nil, err
		}
	}
	images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return nil, fmt.Errorf("boardvm: %d kernel images in %s", len(images), root)
	}
	k := &Kernel{Root: root, Image: images[0], Version: strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-"),
		modules: map[string]string{}}
	err := filepath.WalkDir(filepath.Join(root, "lib", "modules", k.Version), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, ext := range []string{".ko", ".ko.xz", ".ko.zst"} {
			if strings.HasSuffix(p, ext) {
				k.modules[modName(strings.TrimSuffix(filepath.Base(p), ext))] = p
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// modName is a module's name as the kernel knows it: dashes are
// underscores.
func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// Modules is the module files that loading names needs (.ko, or .ko.xz
// and .ko.zst as Debian 13 ships them: see ModuleData), each after the
// modules it depends on (from their .modinfo depends= lists), each once.
func (k *Kernel) Modules(names ...string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		n = modName(n)
		switch state[n] {
		case 1:
			return fmt.Errorf("boardvm: module dependency cycle at %s", n)
		case 2:
			return nil
		}
		p, ok := k.modules[n]
		if !ok {
			return fmt.Errorf("boardvm: no module %s in %s", n, k.Version)
		}
		state[n] = 1
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// ModuleData is a module file's ELF object, decompressed (xz or zstd,
// by the tools of those names) when the package ships it compressed, and
// the name it goes by in an initramfs (.ko).
func ModuleData(path string) (data []byte, name string, err error) {
	var tool string
	switch {
	case strings.HasSuffix(path, ".ko.xz"):
		tool = "xz"
	case strings.HasSuffix(path, ".ko.zst"):
		tool = "zstd"
	default:
		data, err = os.ReadFile(path)
		return data, filepath.Base(path), err
	}
	data, err = exec.Command(tool, "-dc", path).Output()
	if err != nil {
		return nil, "", fmt.Errorf("boardvm: %s -dc %s: %w", tool, path, err)
	}
	return data, strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".xz"), ".zst"), nil
}

// moduleDepends reads a module's depends= from its .modinfo section.
func moduleDepends(path string) ([]string, error) {
	data, _, err := ModuleData(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("boardvm: %s: %w", path, err)
	}
	defer f.Close()
	s := f.Section(".modinfo")
	if s == nil {
		return nil, nil
	}
	info, err := s.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range strings.Split(string(info), "\x00") {
		if v, ok := strings.CutPrefix(kv, "depends="); ok {
			if v == "" {
				return nil, nil
			}
			return strings.Split(v, ","), nil
		}
	}
	return nil, nil
}
