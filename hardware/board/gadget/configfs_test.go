package gadget

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// newTestGadget is a gadget on a fake configfs with one controller
// "dummy_udc.0" (and a second, later in order) listed.
func newTestGadget(t *testing.T, cfg Config) (*Gadget, *fakeConfigfs) {
	t.Helper()
	f := newFakeConfigfs(t)
	udc := filepath.Join(f.root, "class-udc")
	for _, n := range []string{"dummy_udc.1", "dummy_udc.0"} {
		if err := os.MkdirAll(filepath.Join(udc, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Root = filepath.Join(f.root, "usb_gadget")
	cfg.UDCClass = udc
	if err := os.Mkdir(cfg.Root, 0o755); err != nil {
		t.Fatal(err)
	}
	g, err := New(cfg, hardware.DeriveIdentity("seed", "1"), f)
	if err != nil {
		t.Fatal(err)
	}
	return g, f
}

func TestCreateTree(t *testing.T) {
	g, f := newTestGadget(t, Config{RelativeMouse: true})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	serial := g.Config().Serial
	if len(serial) != 16 || serial != strings.ToUpper(serial) {
		t.Errorf("serial %q: want 16 upper-case hex digits", serial)
	}
	g2, _ := New(Config{}, hardware.DeriveIdentity("seed", "1"), nil)
	g3, _ := New(Config{}, hardware.DeriveIdentity("seed", "2"), nil)
	if g2.Config().Serial != serial || g3.Config().Serial == serial {
		t.Errorf("serial not derived from the identity alone: %s %s %s", serial, g2.Config().Serial, g3.Config().Serial)
	}
	hid := func(p, sub, n string, d []byte) map[string]string {
		return map[string]string{"protocol": p + "\n", "subclass": sub + "\n", "report_length": n + "\n", "report_desc": string(d)}
	}
	want := map[string]string{
		"UDC": "dummy_udc.0\n", "idVendor": "0x1d6b\n", "idProduct": "0x0104\n", "bcdDevice": "0x0100\n", "bcdUSB": "0x0200\n",
		"strings": "/", "strings/0x409": "/",
		"strings/0x409/manufacturer": "bmcd\n", "strings/0x409/product": "bmcd Composite Device\n", "strings/0x409/serialnumber": serial + "\n",
		"configs": "/", "configs/c.1": "/", "configs/c.1/MaxPower": "250\n",
		"configs/c.1/strings": "/", "configs/c.1/strings/0x409": "/",
		"configs/c.1/strings/0x409/configuration": "Config 1: HID + mass storage\n",
		"configs/c.1/hid.usb0":                    "-> functions/hid.usb0",
		"configs/c.1/hid.usb1":                    "-> functions/hid.usb1",
		"configs/c.1/hid.usb2":                    "-> functions/hid.usb2",
		"configs/c.1/mass_storage.usb0":           "-> functions/mass_storage.usb0",
		"functions":                               "/",
		"functions/mass_storage.usb0":             "/", "functions/mass_storage.usb0/stall": "0\n",
		"functions/mass_storage.usb0/lun.0":       "/",
		"functions/mass_storage.usb0/lun.0/cdrom": "1\n", "functions/mass_storage.usb0/lun.0/ro": "1\n",
		"functions/mass_storage.usb0/lun.0/removable": "1\n", "functions/mass_storage.usb0/lun.0/nofua": "1\n",
		"functions/mass_storage.usb0/lun.0/file": "\n",
	}
	for fn, attrs := range map[string]map[string]string{
		"hid.usb0": hid("1", "1", "8", KeyboardReportDescriptor),
		"hid.usb1": hid("2", "0", "7", AbsoluteReportDescriptor),
		"hid.usb2": hid("2", "1", "5", RelativeReportDescriptor),
	} {
		want["functions/"+fn] = "/"
		for k, v := range attrs {
			want["functions/"+fn+"/"+k] = v
		}
	}
	got := tree(t, g.Dir())
	if !reflect.DeepEqual(got, want) {
		for k := range union(got, want) {
			if got[k] != want[k] {
				t.Errorf("%s: got %q, want %q", k, got[k], want[k])
			}
		}
	}

	// Order: functions made before they are linked, strings before the
	// configuration, the configuration's links before UDC, UDC last.
	ops := f.Ops()
	idx := func(op string) int {
		for i, o := range ops {
			if strings.HasPrefix(o, op) {
				return i
			}
		}
		t.Fatalf("no %q in %q", op, ops)
		return -1
	}
	if last := ops[len(ops)-1]; last != "write usb_gadget/bmcd/UDC=dummy_udc.0" {
		t.Errorf("last op %q, want the UDC write", last)
	}
	for _, fn := range g.Functions() {
		if idx("write usb_gadget/bmcd/functions/"+fn) > idx("symlink usb_gadget/bmcd/configs/c.1/"+fn) {
			t.Errorf("%s linked before its attributes were written", fn)
		}
	}
	if idx("write usb_gadget/bmcd/strings/0x409/serialnumber") > idx("mkdir usb_gadget/bmcd/configs/c.1") {
		t.Error("configuration made before the gadget's strings")
	}
	if idx("write usb_gadget/bmcd/idVendor") > idx("mkdir usb_gadget/bmcd/strings") {
		t.Error("strings before the device descriptor")
	}

	// Teardown leaves nothing, in reverse order: UDC first.
	n := len(ops)
	if err := g.Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(g.Dir()); !os.IsNotExist(err) {
		t.Errorf("gadget dir left: %v %v", err, tree(t, g.Dir()))
	}
	down := f.Ops()[n:]
	if down[0] != "write usb_gadget/bmcd/UDC=" {
		t.Errorf("teardown starts with %q, want UDC emptied", down[0])
	}
	if down[len(down)-1] != "remove usb_gadget/bmcd" {
		t.Errorf("teardown ends with %q", down[len(down)-1])
	}
	if g.Bound() != "" {
		t.Error("bound after Destroy")
	}
	if err := g.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

func union(a, b map[string]string) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func TestCreateOptions(t *testing.T) {
	g, _ := newTestGadget(t, Config{Name: "kvm", UDC: "dummy_udc.1", VendorID: 0x1209, ProductID: 0x0001,
		Manufacturer: "ACME", Product: "Box", Serial: "S1", MaxPower: 100, NoMassStorage: true})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	got := tree(t, g.Dir())
	for k, v := range map[string]string{"UDC": "dummy_udc.1\n", "idVendor": "0x1209\n", "idProduct": "0x0001\n",
		"strings/0x409/manufacturer": "ACME\n", "strings/0x409/product": "Box\n", "strings/0x409/serialnumber": "S1\n",
		"configs/c.1/MaxPower": "100\n"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	var fns []string
	for k := range got {
		if strings.HasPrefix(k, "configs/c.1/") && strings.HasPrefix(got[k], "->") {
			fns = append(fns, strings.TrimPrefix(k, "configs/c.1/"))
		}
	}
	sort.Strings(fns)
	if !reflect.DeepEqual(fns, []string{"hid.usb0", "hid.usb1"}) {
		t.Errorf("functions %v", fns)
	}
	if _, err := g.MassStorage(); !errors.Is(err, hardware.ErrNotSupported) {
		t.Errorf("MassStorage without the function: %v", err)
	}
}

func TestRebindKeepsFunctions(t *testing.T) {
	g, f := newTestGadget(t, Config{})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	ms, _ := g.MassStorage()
	img := filepath.Join(t.TempDir(), "a.iso")
	os.WriteFile(img, []byte("iso"), 0o644)
	if err := ms.Present(t.Context(), hardware.MassStorageImage{Path: img, CDROM: true}); err != nil {
		t.Fatal(err)
	}
	before := tree(t, g.Dir())
	n := len(f.Ops())
	if err := g.Reenumerate(); err != nil {
		t.Fatal(err)
	}
	if ops := f.Ops()[n:]; !reflect.DeepEqual(ops, []string{"write usb_gadget/bmcd/UDC=", "write usb_gadget/bmcd/UDC=dummy_udc.0"}) {
		t.Errorf("re-enumeration ops %q", ops)
	}
	if after := tree(t, g.Dir()); !reflect.DeepEqual(before, after) {
		t.Errorf("tree changed by re-enumeration:\n%v\n%v", before, after)
	}
	if err := g.Unbind(); err != nil || g.Bound() != "" {
		t.Fatal(err, g.Bound())
	}
	if err := g.Unbind(); err != nil {
		t.Errorf("second Unbind: %v", err)
	}
	if got := tree(t, g.Dir())["UDC"]; got != "\n" {
		t.Errorf("UDC after Unbind %q", got)
	}
	if err := g.Bind(); err != nil || g.Bound() != "dummy_udc.0" {
		t.Fatal(err, g.Bound())
	}
	if p, ok := ms.Presented(); !ok || p.Path != img {
		t.Errorf("medium lost: %v %v", p, ok)
	}
}

func TestCreateReplacesLeftover(t *testing.T) {
	g, _ := newTestGadget(t, Config{RelativeMouse: true})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	// A new bmcd with fewer functions finds the old gadget bound.
	g2, err := New(Config{Root: g.cfg.Root, UDCClass: g.cfg.UDCClass}, hardware.DeriveIdentity("seed", "1"), g.fs)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Create(); err != nil {
		t.Fatal(err)
	}
	if _, ok := tree(t, g.Dir())["functions/hid.usb2"]; ok {
		t.Error("leftover relative mouse kept")
	}
}

func TestCreateErrors(t *testing.T) {
	t.Run("no controller", func(t *testing.T) {
		g, _ := newTestGadget(t, Config{})
		os.RemoveAll(g.cfg.UDCClass)
		os.Mkdir(g.cfg.UDCClass, 0o755)
		if err := g.Create(); !errors.Is(err, hardware.ErrUnavailable) {
			t.Fatalf("Create: %v", err)
		}
		if _, err := os.Lstat(g.Dir()); !os.IsNotExist(err) {
			t.Errorf("partial gadget left: %v", tree(t, g.Dir()))
		}
	})
	t.Run("write refused", func(t *testing.T) {
		g, f := newTestGadget(t, Config{})
		f.failWrite = "report_desc"
		if err := g.Create(); !errors.Is(err, hardware.ErrUnavailable) {
			t.Fatalf("Create: %v", err)
		}
		if _, err := os.Lstat(g.Dir()); !os.IsNotExist(err) {
			t.Errorf("partial gadget left: %v", tree(t, g.Dir()))
		}
	})
	t.Run("no configfs", func(t *testing.T) {
		g, err := New(Config{Root: filepath.Join(t.TempDir(), "missing")}, hardware.Identity{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Create(); !errors.Is(err, hardware.ErrUnavailable) {
			t.Fatalf("Create: %v", err)
		}
	})
	t.Run("bind before create", func(t *testing.T) {
		g, _ := newTestGadget(t, Config{})
		if err := g.Bind(); !errors.Is(err, hardware.ErrState) {
			t.Fatalf("Bind: %v", err)
		}
	})
	for _, c := range []Config{{Name: "a/b"}, {UDC: "x y"}, {MaxPower: 600}} {
		if _, err := New(c, hardware.Identity{}, nil); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("New(%+v): %v", c, err)
		}
	}
}
