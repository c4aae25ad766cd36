package gadget

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/bmcd/bmcd/hardware"
)

// FS is the part of the file system the gadget writes: configfs (and
// /sys/class/udc to find a controller). OSFS is the real one; tests
// stand a temporary directory in for configfs.
type FS interface {
	// Mkdir makes a directory; one that exists already (a group the
	// kernel made by itself, such as a mass-storage function's lun.0) is
	// not an error.
	Mkdir(path string) error
	// WriteFile writes an attribute's whole value.
	WriteFile(path string, data []byte) error
	ReadFile(path string) ([]byte, error)
	// Symlink makes link point to target (a function linked into a
	// configuration).
	Symlink(target, link string) error
	// Remove removes a link, or a directory (configfs: rmdir, which
	// drops its attributes and default groups with it).
	Remove(path string) error
	ReadDir(path string) ([]string, error)
}

// OSFS is FS on the real file system.
type OSFS struct{}

// Mkdir implements FS.
func (OSFS) Mkdir(p string) error {
	if err := os.Mkdir(p, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// WriteFile implements FS: one write(2) of data, as configfs wants.
func (OSFS) WriteFile(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadFile implements FS.
func (OSFS) ReadFile(p string) ([]byte, error) { return os.ReadFile(p) }

// Symlink implements FS.
func (OSFS) Symlink(target, link string) error { return os.Symlink(target, link) }

// Remove implements FS.
func (OSFS) Remove(p string) error { return os.Remove(p) }

// ReadDir implements FS: the entries' names, sorted.
func (OSFS) ReadDir(p string) ([]string, error) {
	es, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	return names, nil
}

// Function directory names under functions/ (and their links in
// configs/c.1).
const (
	FuncKeyboard = "hid.usb0"
	FuncAbsolute = "hid.usb1"
	FuncRelative = "hid.usb2"
	FuncStorage  = "mass_storage.usb0"
)

// Gadget is the board's USB gadget in configfs: one configuration c.1
// holding the keyboard, the absolute mouse, optionally the relative
// mouse, and the mass-storage function with one LUN. Safe for
// concurrent use.
type Gadget struct {
	cfg Config
	fs  FS
	dir string

	mu    sync.Mutex
	made  bool
	bound string // the UDC bound to; "" unbound
}

// New describes the gadget of cfg (defaults filled, the serial derived
// from id) on fsys (nil: OSFS); nothing is written until Create.
// Errors: ErrInvalid for a bad configuration.
func New(cfg Config, id hardware.Identity, fsys FS) (*Gadget, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults(id)
	if fsys == nil {
		fsys = OSFS{}
	}
	return &Gadget{cfg: cfg, fs: fsys, dir: filepath.Join(cfg.Root, cfg.Name)}, nil
}

// Config is the configuration with its defaults filled.
func (g *Gadget) Config() Config { return g.cfg }

// Dir is the gadget's configfs directory.
func (g *Gadget) Dir() string { return g.dir }

// Functions are the function directories the gadget has, in creation
// order.
func (g *Gadget) Functions() []string {
	fs := []string{FuncKeyboard, FuncAbsolute}
	if g.cfg.RelativeMouse {
		fs = append(fs, FuncRelative)
	}
	if !g.cfg.NoMassStorage {
		fs = append(fs, FuncStorage)
	}
	return fs
}

// LUNDir is the mass-storage function's lun.0 directory.
func (g *Gadget) LUNDir() string { return filepath.Join(g.dir, "functions", FuncStorage, "lun.0") }

type attr struct {
	name string
	val  []byte
}

func s(name, v string) attr { return attr{name, []byte(v + "\n")} }

// Create writes the gadget into configfs and binds it (Bind), in the
// order the kernel requires: the gadget directory and its device
// descriptor, its strings, the configuration, each function with its
// attributes, the functions' links into configs/c.1, then UDC last. A
// gadget of the same name left by an earlier run is torn down first.
// On an error the part written is torn down again. Errors:
// ErrUnavailable (no configfs, libcomposite or usb_f_* module not
// loaded, no controller, a write refused).
func (g *Gadget) Create() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.made {
		return nil
	}
	if _, err := g.fs.ReadDir(g.dir); err == nil {
		g.teardown()
	}
	if err := g.create(); err != nil {
		g.teardown()
		return fmt.Errorf("usb gadget %s: %w: %w", g.dir, hardware.ErrUnavailable, err)
	}
	g.made = true
	if err := g.bind(); err != nil {
		g.teardown()
		g.made = false
		return err
	}
	return nil
}

func (g *Gadget) create() error {
	c := g.cfg
	p := func(parts ...string) string { return filepath.Join(append([]string{g.dir}, parts...)...) }
	if err := g.fs.Mkdir(g.dir); err != nil {
		return err
	}
	if err := g.write(g.dir,
		s("idVendor", fmt.Sprintf("0x%04x", c.VendorID)),
		s("idProduct", fmt.Sprintf("0x%04x", c.ProductID)),
		s("bcdDevice", "0x0100"),
		s("bcdUSB", "0x0200"),
	); err != nil {
		return err
	}
	for _, d := range []string{p("strings"), p("strings", "0x409")} {
		if err := g.fs.Mkdir(d); err != nil {
			return err
		}
	}
	if err := g.write(p("strings", "0x409"),
		s("manufacturer", c.Manufacturer),
		s("product", c.Product),
		s("serialnumber", c.Serial),
	); err != nil {
		return err
	}
	for _, d := range []string{p("configs"), p("configs", "c.1"), p("configs", "c.1", "strings"), p("configs", "c.1", "strings", "0x409")} {
		if err := g.fs.Mkdir(d); err != nil {
			return err
		}
	}
	if err := g.write(p("configs", "c.1"), s("MaxPower", fmt.Sprint(c.MaxPower))); err != nil {
		return err
	}
	if err := g.write(p("configs", "c.1", "strings", "0x409"), s("configuration", "Config 1: HID + mass storage")); err != nil {
		return err
	}
	if err := g.fs.Mkdir(p("functions")); err != nil {
		return err
	}
	for _, f := range g.Functions() {
		if err := g.fs.Mkdir(p("functions", f)); err != nil {
			return err
		}
		if err := g.write(p("functions", f), functionAttrs(f)...); err != nil {
			return err
		}
		if f == FuncStorage {
			if err := g.fs.Mkdir(g.LUNDir()); err != nil {
				return err
			}
			if err := g.write(g.LUNDir(), lunAttrs...); err != nil {
				return err
			}
		}
	}
	for _, f := range g.Functions() {
		if err := g.fs.Symlink(p("functions", f), p("configs", "c.1", f)); err != nil {
			return err
		}
	}
	return nil
}

// functionAttrs are a function's attributes (f_hid: protocol 1 and
// subclass 1 for the boot keyboard, protocol 2 for the mice, the relative
// one a boot mouse; f_mass_storage: no bulk-endpoint halt).
func functionAttrs(f string) []attr {
	hid := func(proto, sub string, n int, desc []byte) []attr {
		return []attr{s("protocol", proto), s("subclass", sub), s("report_length", fmt.Sprint(n)), {"report_desc", desc}}
	}
	switch f {
	case FuncKeyboard:
		return hid("1", "1", KeyboardReportLength, KeyboardReportDescriptor)
	case FuncAbsolute:
		return hid("2", "0", AbsoluteReportLength, AbsoluteReportDescriptor)
	case FuncRelative:
		return hid("2", "1", RelativeReportLength, RelativeReportDescriptor)
	case FuncStorage:
		return []attr{s("stall", "0")}
	}
	return nil
}

// lunAttrs are lun.0's at creation: an empty read-only removable CD-ROM
// without forced unit access (the medium's writes are not flushed one by
// one; it is read-only anyway).
var lunAttrs = []attr{s("cdrom", "1"), s("ro", "1"), s("removable", "1"), s("nofua", "1"), s("file", "")}

func (g *Gadget) write(dir string, as ...attr) error {
	for _, a := range as {
		if err := g.fs.WriteFile(filepath.Join(dir, a.name), a.val); err != nil {
			return err
		}
	}
	return nil
}

// UDCs lists the USB device controllers in UDCClass, sorted.
// Errors: ErrUnavailable when there is none.
func (g *Gadget) UDCs() ([]string, error) {
	names, err := g.fs.ReadDir(g.cfg.UDCClass)
	if err == nil && len(names) == 0 {
		err = errors.New("no controller listed")
	}
	if err != nil {
		return nil, fmt.Errorf("usb device controllers in %s: %w: %w", g.cfg.UDCClass, hardware.ErrUnavailable, err)
	}
	sort.Strings(names)
	return names, nil
}

// Bind attaches the gadget to its controller by writing the controller's
// name to UDC (the configured one, or the first that UDCs lists): the
// host sees the device appear. Bound already is not an error.
// Errors: ErrState before Create; ErrUnavailable (no controller, the
// controller taken by another gadget).
func (g *Gadget) Bind() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bind()
}

func (g *Gadget) bind() error {
	if !g.made {
		return fmt.Errorf("usb gadget not created: %w", hardware.ErrState)
	}
	if g.bound != "" {
		return nil
	}
	udc := g.cfg.UDC
	if udc == "" {
		names, err := g.UDCs()
		if err != nil {
			return err
		}
		udc = names[0]
	}
	if err := g.fs.WriteFile(filepath.Join(g.dir, "UDC"), []byte(udc+"\n")); err != nil {
		return fmt.Errorf("usb gadget: bind to %s: %w: %w", udc, hardware.ErrUnavailable, err)
	}
	g.bound = udc
	return nil
}

// Unbind detaches the gadget (an empty UDC): the host sees the device
// unplugged; every function and the medium stay configured. Unbound
// already is not an error. Errors: ErrUnavailable.
func (g *Gadget) Unbind() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.unbind()
}

func (g *Gadget) unbind() error {
	if g.bound == "" {
		return nil
	}
	if err := g.fs.WriteFile(filepath.Join(g.dir, "UDC"), []byte("\n")); err != nil {
		return fmt.Errorf("usb gadget: unbind: %w: %w", hardware.ErrUnavailable, err)
	}
	g.bound = ""
	return nil
}

// Reenumerate unbinds and binds again, so the host enumerates the device
// anew (a host that lost it, a changed medium type) without losing any
// function or the presented medium. Errors: as Unbind and Bind.
func (g *Gadget) Reenumerate() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.unbind(); err != nil {
		return err
	}
	return g.bind()
}

// reenumerateBound is Reenumerate for a bound gadget; an unbound one
// (its owner unbound it) stays unbound.
func (g *Gadget) reenumerateBound() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bound == "" {
		return nil
	}
	if err := g.unbind(); err != nil {
		return err
	}
	return g.bind()
}

// Bound is the controller the gadget is bound to; "" when unbound.
func (g *Gadget) Bound() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.bound
}

// Destroy unbinds the gadget and removes it from configfs in the reverse
// order of Create: UDC emptied, the links out of configs/c.1, the
// configuration's strings and itself, the functions, the gadget's
// strings, the gadget. Missing pieces are skipped; the first other error
// is returned (ErrUnavailable) after trying the rest.
func (g *Gadget) Destroy() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	err := g.teardown()
	g.made, g.bound = false, ""
	if err != nil {
		return fmt.Errorf("usb gadget %s: teardown: %w: %w", g.dir, hardware.ErrUnavailable, err)
	}
	return nil
}

// teardown removes whatever of the gadget is there, including functions
// this configuration does not name (left by another run).
func (g *Gadget) teardown() error {
	var first error
	note := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) && first == nil {
			first = err
		}
	}
	p := func(parts ...string) string { return filepath.Join(append([]string{g.dir}, parts...)...) }
	if _, err := g.fs.ReadDir(g.dir); err != nil {
		return nil
	}
	if b, err := g.fs.ReadFile(p("UDC")); err == nil && strings.TrimSpace(string(b)) != "" {
		note(g.fs.WriteFile(p("UDC"), []byte("\n")))
	}
	configs, _ := g.fs.ReadDir(p("configs"))
	for _, c := range configs {
		entries, _ := g.fs.ReadDir(p("configs", c))
		for _, e := range entries {
			if e != "strings" && isFunction(e) {
				note(g.fs.Remove(p("configs", c, e)))
			}
		}
		langs, _ := g.fs.ReadDir(p("configs", c, "strings"))
		for _, l := range langs {
			note(g.fs.Remove(p("configs", c, "strings", l)))
		}
		note(g.fs.Remove(p("configs", c)))
	}
	funcs, _ := g.fs.ReadDir(p("functions"))
	for i := len(funcs) - 1; i >= 0; i-- {
		note(g.fs.Remove(p("functions", funcs[i])))
	}
	langs, _ := g.fs.ReadDir(p("strings"))
	for _, l := range langs {
		note(g.fs.Remove(p("strings", l)))
	}
	note(g.fs.Remove(g.dir))
	return first
}

// isFunction reports whether a name in a configuration directory is a
// function's link ("<driver>.<instance>"), not one of its attributes.
func isFunction(name string) bool {
	return strings.Contains(name, ".") && name != "strings"
}
