package gadget

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestMassStorage(t *testing.T) {
	g, f := newTestGadget(t, Config{})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	ms, err := g.MassStorage()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	iso, img := filepath.Join(dir, "a.iso"), filepath.Join(dir, "b.img")
	os.WriteFile(iso, []byte("iso"), 0o644)
	os.WriteFile(img, []byte("img"), 0o644)
	lun := func() map[string]string {
		tr := tree(t, g.LUNDir())
		return map[string]string{"file": tr["file"], "cdrom": tr["cdrom"], "ro": tr["ro"], "removable": tr["removable"], "nofua": tr["nofua"]}
	}
	if _, ok := ms.Presented(); ok {
		t.Fatal("presented at start")
	}
	if err := ms.Eject(ctx); err != nil {
		t.Errorf("Eject of an empty drive: %v", err)
	}

	steps := []struct {
		name string
		do   func() error
		want map[string]string
		pres *hardware.MassStorageImage
	}{
		{"cdrom", func() error { return ms.Present(ctx, hardware.MassStorageImage{Path: iso, CDROM: true}) },
			map[string]string{"file": iso + "\n", "cdrom": "1\n", "ro": "1\n", "removable": "1\n", "nofua": "1\n"},
			&hardware.MassStorageImage{Path: iso, CDROM: true, ReadOnly: true}},
		// Replacing: forced eject first, then cdrom and ro (refused
		// while a file is open), then the file.
		{"flash rw", func() error { return ms.Present(ctx, hardware.MassStorageImage{Path: img}) },
			map[string]string{"file": img + "\n", "cdrom": "0\n", "ro": "0\n", "removable": "1\n", "nofua": "1\n"},
			&hardware.MassStorageImage{Path: img}},
		{"flash ro", func() error { return ms.Present(ctx, hardware.MassStorageImage{Path: img, ReadOnly: true}) },
			map[string]string{"file": img + "\n", "cdrom": "0\n", "ro": "1\n", "removable": "1\n", "nofua": "1\n"},
			&hardware.MassStorageImage{Path: img, ReadOnly: true}},
		{"eject", func() error { return ms.Eject(ctx) },
			map[string]string{"file": "", "cdrom": "0\n", "ro": "1\n", "removable": "1\n", "nofua": "1\n"}, nil},
	}
	for _, s := range steps {
		n := len(f.Ops())
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := lun(); !equal(got, s.want) {
			t.Errorf("%s: LUN %q, want %q", s.name, got, s.want)
		}
		p, ok := ms.Presented()
		if (s.pres != nil) != ok || (ok && p != *s.pres) {
			t.Errorf("%s: Presented %+v %v, want %+v", s.name, p, ok, s.pres)
		}
		if s.name == "flash ro" { // the same type: no re-enumeration
			for _, op := range f.Ops()[n:] {
				if strings.Contains(op, "UDC") {
					t.Errorf("flash ro: %q", op)
				}
			}
		}
		if s.name == "flash rw" {
			ops := f.Ops()[n:]
			// The drive type changed: the host enumerates the gadget anew.
			want := []string{"/lun.0/forced_eject=1", "/lun.0/cdrom=0", "/lun.0/ro=0", "/lun.0/file=" + img,
				"/UDC=", "/UDC=" + g.Bound()}
			if len(ops) != len(want) {
				t.Fatalf("ops %q", ops)
			}
			for i, w := range want {
				if !strings.HasSuffix(ops[i], w) {
					t.Errorf("op %d %q, want …/%s", i, ops[i], w)
				}
			}
		}
	}

	// The host ejects the CD itself: Presented follows the LUN.
	if err := ms.Present(ctx, hardware.MassStorageImage{Path: iso, CDROM: true}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(g.LUNDir(), "file"), nil, 0o644)
	if _, ok := ms.Presented(); ok {
		t.Error("medium the host ejected still presented")
	}

	for _, tc := range []struct {
		img  hardware.MassStorageImage
		want error
	}{
		{hardware.MassStorageImage{Path: filepath.Join(dir, "missing.iso")}, hardware.ErrNotFound},
		{hardware.MassStorageImage{Path: "rel.iso"}, hardware.ErrInvalid},
		{hardware.MassStorageImage{Path: dir}, hardware.ErrInvalid},
	} {
		if err := ms.Present(ctx, tc.img); !errors.Is(err, tc.want) {
			t.Errorf("Present(%+v): %v, want %v", tc.img, err, tc.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := ms.Present(cctx, hardware.MassStorageImage{Path: iso}); !errors.Is(err, context.Canceled) {
		t.Errorf("Present with a cancelled context: %v", err)
	}
}

func TestMassStorageLockedOldKernel(t *testing.T) {
	g, f := newTestGadget(t, Config{})
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	ms, _ := g.MassStorage()
	ctx := context.Background()
	iso := filepath.Join(t.TempDir(), "a.iso")
	os.WriteFile(iso, []byte("iso"), 0o644)
	if err := ms.Present(ctx, hardware.MassStorageImage{Path: iso, CDROM: true}); err != nil {
		t.Fatal(err)
	}
	f.noForcedEject = true
	f.locked = true
	if err := ms.Eject(ctx); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("Eject of a locked medium without forced_eject: %v", err)
	}
	if err := ms.Present(ctx, hardware.MassStorageImage{Path: iso}); !errors.Is(err, hardware.ErrBusy) {
		t.Errorf("Present over a locked medium: %v", err)
	}
	f.locked = false
	if err := ms.Eject(ctx); err != nil {
		t.Errorf("Eject of an unlocked medium by an empty file: %v", err)
	}
	if _, ok := ms.Presented(); ok {
		t.Error("still presented")
	}
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
