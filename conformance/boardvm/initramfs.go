package boardvm

import (
	"bytes"
	"compress/gzip"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// Initramfs is the files of an initial RAM file system, written as the
// kernel reads it: a gzip'd cpio archive in the "newc" format.
type Initramfs struct {
	files map[string]file
}

type file struct {
	data []byte
	src  string
	mode cpio.FileMode
	link string
}

// Add puts the host file src at dst (a path inside, "bin/bmcd"), with
// mode's permission bits.
func (r *Initramfs) Add(dst, src string, mode os.FileMode) {
	r.put(dst, file{src: src, mode: cpio.TypeReg | cpio.FileMode(mode.Perm())})
}

// AddBytes puts data at dst.
func (r *Initramfs) AddBytes(dst string, data []byte, mode os.FileMode) {
	r.put(dst, file{data: data, mode: cpio.TypeReg | cpio.FileMode(mode.Perm())})
}

// AddDir makes an empty directory dst (a mount point).
func (r *Initramfs) AddDir(dst string) {
	r.put(dst, file{mode: cpio.TypeDir | 0o755})
}

// AddSymlink makes dst a symbolic link to target.
func (r *Initramfs) AddSymlink(dst, target string) {
	r.put(dst, file{link: target, mode: cpio.TypeSymlink | 0o777})
}

func (r *Initramfs) put(dst string, f file) {
	if r.files == nil {
		r.files = map[string]file{}
	}
	dst = strings.TrimPrefix(path.Clean("/"+dst), "/")
	r.files[dst] = f
	for d := path.Dir(dst); d != "."; d = path.Dir(d) {
		if _, ok := r.files[d]; !ok {
			r.files[d] = file{mode: cpio.TypeDir | 0o755}
		}
	}
}

// Write writes the archive to p: directories before what they hold.
func (r *Initramfs) Write(p string) error {
	names := make([]string, 0, len(r.files))
	for n := range r.files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w := cpio.NewWriter(gz)
	for i, n := range names {
		f := r.files[n]
		data := f.data
		if f.src != "" {
			var err error
			if data, err = os.ReadFile(f.src); err != nil {
				return err
			}
		}
		h := &cpio.Header{Name: n, Mode: f.mode, Links: 1, Inode: int64(i + 1)}
		switch {
		case f.mode&cpio.TypeSymlink == cpio.TypeSymlink:
			h.Linkname = f.link
			h.Size = int64(len(f.link))
			data = []byte(f.link)
		case f.mode&cpio.TypeDir == cpio.TypeDir:
			h.Links = 2
			data = nil
		default:
			h.Size = int64(len(data))
		}
		if err := w.WriteHeader(h); err != nil {
			return err
		}
		if len(data) > 0 {
			if _, err := w.Write(data); err != nil {
				return err
			}
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	return os.WriteFile(p, buf.Bytes(), 0o644)
}
