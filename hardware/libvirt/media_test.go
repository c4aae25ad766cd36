package libvirt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// TestOpenMediaDir: the default media directory inside a 0700 state
// directory is made reachable by QEMU's user: 0755 itself, the search
// bit alone for others on the way up to the state directory, nothing
// above it touched.
func TestOpenMediaDir(t *testing.T) {
	above := t.TempDir()
	if err := os.Chmod(above, 0o700); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(above, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	media := filepath.Join(state, "libvirt", "media")
	if err := openMediaDir(media, state); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir  string
		want os.FileMode
	}{
		{media, 0o755},
		{filepath.Join(state, "libvirt"), 0o701}, // MkdirAll's 0755 under umask; at least o+x
		{state, 0o701},
		{above, 0o700},
	} {
		fi, err := os.Stat(tc.dir)
		if err != nil {
			t.Fatal(err)
		}
		got := fi.Mode().Perm()
		switch {
		case tc.dir == above && got != 0o700:
			t.Errorf("%s: mode %o, want it untouched (700)", tc.dir, got)
		case tc.dir == state && got != 0o701:
			t.Errorf("%s: mode %o, want 701 (search only for others)", tc.dir, got)
		case tc.dir != above && got&0o001 == 0:
			t.Errorf("%s: mode %o, want o+x", tc.dir, got)
		case tc.dir != above && got&0o004 != 0 && tc.dir == state:
			t.Errorf("%s: mode %o, others may list it", tc.dir, got)
		}
	}
}

// TestUnreachable: a directory on the way QEMU's user cannot search is
// named, by the bit that applies to that user (owner, group, others).
func TestUnreachable(t *testing.T) {
	old := qemuUser
	t.Cleanup(func() { qemuUser = old })
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	for _, tc := range []struct {
		name     string
		user     func() (uint32, []uint32, bool)
		mode     os.FileMode
		wantHole bool
	}{
		{"others, o+x", func() (uint32, []uint32, bool) { return 4242, nil, true }, 0o711, false},
		{"others, 0700", func() (uint32, []uint32, bool) { return 4242, nil, true }, 0o700, true},
		{"group member, g+x", func() (uint32, []uint32, bool) { return 4242, []uint32{gid}, true }, 0o710, false},
		{"group member, 0701", func() (uint32, []uint32, bool) { return 4242, []uint32{gid}, true }, 0o701, true},
		{"owner", func() (uint32, []uint32, bool) { return uid + 1, nil, true }, 0o700, true},
		{"no such user", func() (uint32, []uint32, bool) { return 0, nil, false }, 0o700, false},
		{"root", func() (uint32, []uint32, bool) { return 0, nil, true }, 0o700, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qemuUser = tc.user
			base := t.TempDir()
			// The test's own ancestors are made searchable, as MediaDir does.
			for p := base; p != "/"; p = filepath.Dir(p) {
				fi, _ := os.Stat(p)
				_ = os.Chmod(p, fi.Mode().Perm()|0o111)
			}
			hole := filepath.Join(base, "hole")
			if err := os.MkdirAll(filepath.Join(hole, "media"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(hole, tc.mode); err != nil {
				t.Fatal(err)
			}
			got := unreachable(filepath.Join(hole, "media"))
			if tc.wantHole && got != hole || !tc.wantHole && got != "" {
				t.Errorf("unreachable = %q, want hole %t (%s)", got, tc.wantHole, hole)
			}
		})
	}
}

// TestRefusedStart: a start the daemon refuses for good (QEMU cannot open
// an image) is told from one to retry (no connection, a lock held).
func TestRefusedStart(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", golibvirt.Error{Code: uint32(golibvirt.ErrInternalError), Message: "internal error: process exited while connecting to monitor: Could not open '/s/media/x.iso': Permission denied"}), true},
		{golibvirt.Error{Code: uint32(golibvirt.ErrSystemError), Message: "cannot access storage file"}, true},
		{golibvirt.Error{Code: uint32(golibvirt.ErrConfigUnsupported), Message: "unsupported configuration"}, true},
		{golibvirt.Error{Code: uint32(golibvirt.ErrOperationTimeout), Message: "cannot acquire state change lock"}, false},
		{golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "domain is already running"}, false},
		{errors.New("connection reset by peer"), false},
	} {
		if got := refusedStart(tc.err) != nil; got != tc.want {
			t.Errorf("refusedStart(%v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}
