package libvirt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// MaxImageSize bounds an image fetched into the media directory (the
// image store's default bound, 16 GiB).
const MaxImageSize = 16 << 30

// Slots implements hardware.VirtualMedia: one CD/DVD drive, the domain's
// first CD-ROM (added to its definition if it has none).
func (x *Domain) Slots() []hardware.SlotSpec { return []hardware.SlotSpec{cdSlot} }

// InsertMedia implements hardware.VirtualMedia. The image is fetched
// whole under the slot's TLS policy into Options.MediaDir (QEMU reads a
// local file: its own http driver could not apply the slot's
// certificates), then the CD-ROM drive is given it: in the running
// domain (virDomainUpdateDeviceFlags: QEMU changes the medium) and in the
// persistent definition. With CheckOnly only the head of the image is
// read. Errors: a *hardware.MediaError when the image cannot be fetched
// (wrapping the *fetch.Error) or written; ErrInvalid for a URL that is
// not http or https; ErrUnavailable when libvirt refuses.
func (x *Domain) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	if slot != SlotCD {
		return 0, "", fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	if img.CheckOnly {
		return hardware.ProbeMedia(ctx, x.fetch, img)
	}
	if dir := unreachable(x.opts.MediaDir); dir != "" {
		// QEMU could not open the image: the next start would fail, and
		// the definition would name a file it cannot read.
		return 0, "", fmt.Errorf("libvirt: media_dir %s: QEMU's user %s cannot search %s (chmod o+x it, or set media_dir): %w",
			x.opts.MediaDir, qemuUserName, dir, hardware.ErrState)
	}
	x.planMu.Lock()
	defer x.planMu.Unlock()
	path, size, format, err := x.download(ctx, img)
	if err != nil {
		return 0, "", err
	}
	if err := x.setMedium(ctx, path, true); err != nil {
		_ = os.Remove(path)
		return 0, "", err
	}
	x.cleanMedia(path)
	x.mu.Lock()
	x.image = img.URL
	x.mu.Unlock()
	return size, format, nil
}

// ResumeMedia implements hardware.MediaResumer: bmcd starts and holds
// url inserted in slot. A VM keeps its media while bmcd is down, so
// nothing is fetched; but someone may have changed the CD-ROM meanwhile
// (virsh change-media --eject), which the slot would not show. The
// domain's CD-ROM is checked, in the background (and again after each
// reconnection to the daemon): when it no longer holds bmcd's image,
// a warning is logged and the image is put back into the persistent
// definition, so the next start boots what Redfish shows inserted. The
// Host has no way to be told of a medium that went (VirtualMedia's
// state is the Machine's); an image file that is gone is only warned of.
func (x *Domain) ResumeMedia(slot, url string) {
	if slot != SlotCD {
		return
	}
	x.mu.Lock()
	x.image = url
	x.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		x.checkMedia(ctx)
	}()
}

// checkMedia puts bmcd's image back into the persistent definition's
// CD-ROM when bmcd holds one inserted and the definition names another
// file or none.
func (x *Domain) checkMedia(ctx context.Context) {
	x.planMu.Lock()
	defer x.planMu.Unlock()
	x.mu.Lock()
	url, closed := x.image, x.closed
	x.mu.Unlock()
	if url == "" || closed || !x.persistent {
		return
	}
	def, err := x.definition(ctx)
	if err != nil {
		x.log.Warn("libvirt: the CD-ROM not checked", "err", err)
		return
	}
	file, _ := cdromFile(def, x.lo)
	ours, _ := filepath.Glob(filepath.Join(x.opts.MediaDir, x.mediaPrefix()+"*"))
	if slices.Contains(ours, file) {
		return
	}
	shown := hardware.RedactURL(url)
	if len(ours) == 0 {
		x.log.Warn("libvirt: the domain's CD-ROM no longer holds bmcd's image, whose file is gone: eject and insert it again",
			"slot", SlotCD, "image", shown, "cdrom", file)
		return
	}
	x.log.Warn("libvirt: the domain's CD-ROM was changed outside bmcd; bmcd's image is put back for its next start",
		"slot", SlotCD, "image", shown, "cdrom", file)
	if err := x.setMedium(ctx, ours[0], false); err != nil {
		x.log.Warn("libvirt: bmcd's image not put back into the CD-ROM", "err", err)
	}
}

// EjectMedia implements hardware.VirtualMedia: the drive is emptied, in
// the running domain and its definition, and the image file removed.
func (x *Domain) EjectMedia(ctx context.Context, slot string) error {
	if slot != SlotCD {
		return fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	x.planMu.Lock()
	defer x.planMu.Unlock()
	if err := x.setMedium(ctx, "", true); err != nil {
		return err
	}
	x.cleanMedia("")
	x.mu.Lock()
	x.image = ""
	x.mu.Unlock()
	return nil
}

// mediaPrefix names this domain's image files in MediaDir.
func (x *Domain) mediaPrefix() string { return x.info.UUID + "-" + SlotCD + "-" }

// cleanMedia removes this domain's image files but keep.
func (x *Domain) cleanMedia(keep string) {
	old, _ := filepath.Glob(filepath.Join(x.opts.MediaDir, x.mediaPrefix()+"*"))
	for _, f := range old {
		if f != keep {
			_ = os.Remove(f)
		}
	}
}

// setMedium puts the image file path (none if "") into the CD-ROM drive:
// of the running domain when it has that drive, and of the persistent
// definition (adding the drive if the domain had none: the running domain
// sees it after its next start). With live false the running domain is
// left as it is.
func (x *Domain) setMedium(ctx context.Context, path string, live bool) error {
	def, err := x.definition(ctx)
	if err != nil {
		return err
	}
	x.mu.Lock()
	active := x.active && live
	x.mu.Unlock()
	if active {
		live, err := x.live(ctx)
		if err != nil {
			return err
		}
		if _, ok := cdromFile(live, x.lo); ok {
			doc, err := cdromXML(live, x.lo, path)
			if err != nil {
				return err
			}
			err = x.d.do(ctx, "change the CD-ROM of "+x.dom.Name, func(l *golibvirt.Libvirt) error {
				return l.DomainUpdateDeviceFlags(x.dom, doc, golibvirt.DomainDeviceModifyLive)
			})
			if err != nil && !errors.Is(err, hardware.ErrState) { // not running any more
				return err
			}
		}
	}
	if !x.persistent {
		return nil
	}
	if _, ok := cdromFile(def, x.lo); !ok {
		return x.editDefinition(ctx, func(def *libvirtxml.Domain) {
			ensureCdrom(def, x.lo)
			for i, d := range def.Devices.Disks {
				if d.Device == "cdrom" && d.Target != nil && d.Target.Dev == x.lo.cdrom {
					def.Devices.Disks[i].Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}}
				}
			}
		})
	}
	doc, err := cdromXML(def, x.lo, path)
	if err != nil {
		return err
	}
	return x.d.do(ctx, "change the CD-ROM of "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		return l.DomainUpdateDeviceFlags(x.dom, doc, golibvirt.DomainDeviceModifyConfig)
	})
}

// download fetches the image into a new file of MediaDir, readable by
// QEMU, and tells its size and format ("iso9660" or "raw").
func (x *Domain) download(ctx context.Context, img hardware.MediaImage) (path string, size int64, format string, err error) {
	resp, err := x.fetch.Get(ctx, img.URL, img.TLS, nil)
	if err != nil {
		return "", 0, "", hardware.MediaFetchError(img.URL, err)
	}
	defer resp.Body.Close()
	if err := os.MkdirAll(x.opts.MediaDir, 0o755); err != nil {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	f, err := os.CreateTemp(x.opts.MediaDir, x.mediaPrefix()+"*.iso")
	if err != nil {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	head := &headWriter{max: hardware.ProbeBytes}
	n, err := io.Copy(io.MultiWriter(f, head), io.LimitReader(resp.Body, MaxImageSize+1))
	if err != nil {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: fmt.Errorf("read: %w", err)}
	}
	if n > MaxImageSize {
		err = fmt.Errorf("image larger than %d bytes", int64(MaxImageSize))
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	if n == 0 {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: errors.New("image is empty")}
	}
	if err = f.Chmod(0o644); err == nil {
		err = f.Close()
	}
	if err != nil {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	return f.Name(), n, hardware.MediaFormat(head.buf), nil
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	max int
	buf []byte
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// qemuUserName is the user libvirt runs QEMU as on Debian (qemu.conf's
// user); qemuUser looks it up.
const qemuUserName = "libvirt-qemu"

// qemuUser is the uid and groups of QEMU's user; ok false when the
// system has no such user (QEMU runs as another, maybe root).
var qemuUser = func() (uid uint32, gids []uint32, ok bool) {
	u, err := user.Lookup(qemuUserName)
	if err != nil {
		return 0, nil, false
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, nil, false
	}
	ids, _ := u.GroupIds()
	for _, g := range append(ids, u.Gid) {
		if v, err := strconv.ParseUint(g, 10, 32); err == nil {
			gids = append(gids, uint32(v))
		}
	}
	return uint32(n), gids, true
}

// unreachable is the first directory on the way to dir (dir included)
// that QEMU's user cannot search, by its owner, group and mode bits; ""
// when it can reach dir, or when there is no such user to ask for (the
// start would tell).
func unreachable(dir string) string {
	uid, gids, ok := qemuUser()
	if !ok || uid == 0 {
		return ""
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err == nil {
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				bit := fs.FileMode(0o001)
				switch {
				case st.Uid == uid:
					bit = 0o100
				case slices.Contains(gids, st.Gid):
					bit = 0o010
				}
				if fi.Mode().Perm()&bit == 0 {
					return p
				}
			}
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}

// searchable reports the first directory on the way to dir (dir
// included) that users other than its owner cannot search (mode o+x
// missing), "" if none: QEMU, running as its own user, could not open
// the images there.
func searchable(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for p := abs; ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			return p
		}
		if p == filepath.Dir(p) {
			return ""
		}
	}
}

// openMediaDir makes the default media directory dir, inside the state
// directory stateDir (which bmcd creates 0700), reachable by QEMU's user:
// dir is created 0755, and the directories from its parent up to
// stateDir included get the search bit for others (o+x) and nothing
// else, so QEMU can open an image by its path but nobody can list the
// state directory (its files are 0600 themselves).
func openMediaDir(dir, stateDir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	top, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	p, err := filepath.Abs(filepath.Dir(dir))
	if err != nil {
		return err
	}
	for ; ; p = filepath.Dir(p) {
		if rel, err := filepath.Rel(top, p); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil // above the state directory: not bmcd's
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return err
			}
		}
		if p == top || p == filepath.Dir(p) {
			return nil
		}
	}
}
