package gadget

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/bmcd/bmcd/hardware"
)

// MassStorage is hardware.MassStorage on the mass-storage function's
// LUN (functions/mass_storage.usb0/lun.0): the medium is the LUN's
// `file`, the drive type its `cdrom`, write protection its `ro`. The
// host sees a removable drive whose medium changes. Presented reads the
// LUN back, so a medium the host ejected itself (a CD's eject) is seen
// gone.
type MassStorage struct {
	fs  FS
	lun string
	mu  sync.Mutex
	// reenumerate has the host enumerate the gadget anew (nil: never):
	// a host learns a LUN's drive type (CD-ROM or disk) only then.
	reenumerate func() error
}

var _ hardware.MassStorage = (*MassStorage)(nil)

// MassStorage is the LUN of g's mass-storage function. Errors:
// ErrNotSupported when the gadget has none (NoMassStorage).
func (g *Gadget) MassStorage() (*MassStorage, error) {
	if g.cfg.NoMassStorage {
		return nil, fmt.Errorf("usb gadget: no mass storage function: %w", hardware.ErrNotSupported)
	}
	ms := NewMassStorage(g.fs, g.LUNDir())
	ms.reenumerate = g.reenumerateBound
	return ms, nil
}

// NewMassStorage drives the LUN directory lun on fsys (nil: OSFS).
func NewMassStorage(fsys FS, lun string) *MassStorage {
	if fsys == nil {
		fsys = OSFS{}
	}
	return &MassStorage{fs: fsys, lun: lun}
}

func bit(b bool) string {
	if b {
		return "1\n"
	}
	return "0\n"
}

// Present implements hardware.MassStorage: what was presented is
// force-ejected, then cdrom and ro are set (the kernel refuses to change
// them while a file is open) and img.Path becomes the LUN's file. A
// CD-ROM is always read-only. When the drive type changes (a CD-ROM
// becomes a flash drive or back), the gadget is enumerated anew, since a
// host reads the type only then: its keyboard and mice go off the bus
// for a moment with it, and come back. Errors: ErrInvalid for a relative path;
// ErrNotFound for a missing file; ErrBusy when the old medium cannot be
// ejected (the host holds it locked and the kernel lacks forced_eject);
// ErrUnavailable for another refused write.
func (m *MassStorage) Present(ctx context.Context, img hardware.MassStorageImage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !filepath.IsAbs(img.Path) || strings.ContainsAny(img.Path, "\n") {
		return fmt.Errorf("mass storage image %q: not an absolute path: %w", img.Path, hardware.ErrInvalid)
	}
	st, err := os.Stat(img.Path)
	if err != nil {
		return fmt.Errorf("mass storage image %s: %w: %w", img.Path, hardware.ErrNotFound, err)
	}
	if st.IsDir() {
		return fmt.Errorf("mass storage image %s: a directory: %w", img.Path, hardware.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.eject(); err != nil {
		return err
	}
	wasCD := m.read("cdrom") == "1"
	ro := img.ReadOnly || img.CDROM
	if err := m.set("cdrom", bit(img.CDROM)); err != nil {
		return err
	}
	if err := m.set("ro", bit(ro)); err != nil {
		return err
	}
	if err := m.set("file", img.Path+"\n"); err != nil {
		return err
	}
	if wasCD != img.CDROM && m.reenumerate != nil {
		if err := m.reenumerate(); err != nil {
			return fmt.Errorf("mass storage: drive type changed, re-enumeration failed: %w", err)
		}
	}
	return nil
}

// read is a LUN attribute, trimmed; "" when unreadable.
func (m *MassStorage) read(name string) string {
	b, _ := m.fs.ReadFile(filepath.Join(m.lun, name))
	return strings.TrimSpace(string(b))
}

// Eject implements hardware.MassStorage: forced_eject, which detaches
// the medium even while the host holds it locked (kernel 4.15 and
// later), or an empty file on older kernels. Empty already is not an
// error. Errors: ErrBusy, ErrUnavailable.
func (m *MassStorage) Eject(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.eject()
}

func (m *MassStorage) eject() error {
	if _, ok := m.presented(); !ok {
		return nil
	}
	err := m.fs.WriteFile(filepath.Join(m.lun, "forced_eject"), []byte("1\n"))
	if errors.Is(err, fs.ErrNotExist) {
		err = m.fs.WriteFile(filepath.Join(m.lun, "file"), []byte("\n"))
	}
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("mass storage: medium locked by the host: %w: %w", hardware.ErrBusy, err)
	}
	if err != nil {
		return fmt.Errorf("mass storage: eject: %w: %w", hardware.ErrUnavailable, err)
	}
	return nil
}

func (m *MassStorage) set(name, v string) error {
	err := m.fs.WriteFile(filepath.Join(m.lun, name), []byte(v))
	if errors.Is(err, syscall.EBUSY) {
		return fmt.Errorf("mass storage: %s: %w: %w", name, hardware.ErrBusy, err)
	}
	if err != nil {
		return fmt.Errorf("mass storage: %s: %w: %w", name, hardware.ErrUnavailable, err)
	}
	return nil
}

// Presented implements hardware.MassStorage, from the LUN's files.
func (m *MassStorage) Presented() (hardware.MassStorageImage, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.presented()
}

func (m *MassStorage) presented() (hardware.MassStorageImage, bool) {
	file := m.read("file")
	if file == "" {
		return hardware.MassStorageImage{}, false
	}
	return hardware.MassStorageImage{Path: file, CDROM: m.read("cdrom") == "1", ReadOnly: m.read("ro") == "1"}, true
}
