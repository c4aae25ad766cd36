package gadget

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fakeConfigfs is a temporary directory standing in for configfs: it
// records every operation, and refuses what the kernel refuses (rmdir of
// a group still linked or holding groups the user made, binding a
// gadget whose configuration has no function, changing a LUN's cdrom or
// ro while a file is open, an empty UDC written to a bound gadget is
// fine).
type fakeConfigfs struct {
	OSFS
	root string

	mu  sync.Mutex
	ops []string

	noForcedEject bool // an old kernel: no lun.*/forced_eject
	locked        bool // the host holds the medium locked (prevent removal)
	failWrite     string
}

// defaultGroups are the directories the kernel makes by itself.
var defaultGroups = map[string]bool{"functions": true, "configs": true, "strings": true, "os_desc": true, "webusb": true, "lun.0": true}

func newFakeConfigfs(t *testing.T) *fakeConfigfs {
	return &fakeConfigfs{root: t.TempDir()}
}

func (f *fakeConfigfs) rel(p string) string {
	r, err := filepath.Rel(f.root, p)
	if err != nil {
		return p
	}
	return r
}

func (f *fakeConfigfs) record(op string) {
	f.mu.Lock()
	f.ops = append(f.ops, op)
	f.mu.Unlock()
}

func (f *fakeConfigfs) Ops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ops...)
}

func (f *fakeConfigfs) Mkdir(p string) error {
	f.record("mkdir " + f.rel(p))
	return f.OSFS.Mkdir(p)
}

func (f *fakeConfigfs) WriteFile(p string, data []byte) error {
	f.record("write " + f.rel(p) + "=" + strings.TrimSuffix(string(data), "\n"))
	dir, name := filepath.Split(p)
	if f.failWrite != "" && name == f.failWrite {
		return &fs.PathError{Op: "write", Path: p, Err: syscall.EINVAL}
	}
	file := filepath.Join(dir, "file")
	open := func() bool { b, _ := os.ReadFile(file); return strings.TrimSpace(string(b)) != "" }
	switch name {
	case "UDC":
		if strings.TrimSpace(string(data)) != "" {
			links := 0
			es, _ := os.ReadDir(filepath.Join(dir, "configs", "c.1"))
			for _, e := range es {
				if e.Type()&fs.ModeSymlink != 0 {
					links++
				}
			}
			if links == 0 {
				return &fs.PathError{Op: "write", Path: p, Err: syscall.EINVAL}
			}
		}
	case "cdrom", "ro":
		if open() {
			return &fs.PathError{Op: "write", Path: p, Err: syscall.EBUSY}
		}
	case "forced_eject":
		if f.noForcedEject {
			return &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
		}
		return os.WriteFile(file, nil, 0o644) // write-only in configfs: nothing kept
	case "file":
		if f.locked && strings.TrimSpace(string(data)) == "" && open() {
			return &fs.PathError{Op: "write", Path: p, Err: syscall.EBUSY}
		}
	}
	return f.OSFS.WriteFile(p, data)
}

func (f *fakeConfigfs) Symlink(target, link string) error {
	f.record("symlink " + f.rel(link) + " -> " + f.rel(target))
	return f.OSFS.Symlink(target, link)
}

func (f *fakeConfigfs) Remove(p string) error {
	f.record("remove " + f.rel(p))
	st, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return os.Remove(p)
	}
	busy := &fs.PathError{Op: "rmdir", Path: p, Err: syscall.EBUSY}
	// Linked from elsewhere?
	linked := false
	_ = filepath.WalkDir(f.root, func(q string, d fs.DirEntry, _ error) error {
		if d != nil && d.Type()&fs.ModeSymlink != 0 {
			if t, _ := os.Readlink(q); t == p {
				linked = true
			}
		}
		return nil
	})
	if linked {
		return busy
	}
	// Holding links or groups the user made?
	bad := false
	_ = filepath.WalkDir(p, func(q string, d fs.DirEntry, _ error) error {
		if q == p || d == nil {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 || (d.IsDir() && !defaultGroups[d.Name()]) {
			bad = true
		}
		return nil
	})
	if bad {
		return busy
	}
	return os.RemoveAll(p)
}

// tree lists every file under dir: path → content ("-> target" for a
// link, "/" for a directory).
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, p)
		switch {
		case p == dir:
		case d.Type()&fs.ModeSymlink != 0:
			tg, _ := os.Readlink(p)
			tr, _ := filepath.Rel(dir, tg)
			m[r] = "-> " + tr
		case d.IsDir():
			m[r] = "/"
		default:
			b, _ := os.ReadFile(p)
			m[r] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
