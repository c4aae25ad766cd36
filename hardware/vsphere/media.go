package vsphere

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// Virtual media is the VM's CD-ROM with an ISO backing. An image is
// either
//
//   - a file on a datastore of the same vCenter, named by its datastore
//     URL as vSphere's datastore browser gives it:
//     https://VCENTER/folder/PATH?dcPath=DATACENTER&dsName=DATASTORE is
//     "[DATASTORE] PATH", used where it is (bmcd checks it exists), or
//   - any other http(s) URL: bmcd fetches it (internal/fetch, under the
//     slot's TLS policy), names it by its SHA-256 and uploads it to
//     "[DATASTORE] bmcd-media/SHA256.iso" on the media datastore (the
//     VM's first one unless media_datastore says otherwise), unless a file
//     of that name and size is there already.
//
// Inserting points the CD-ROM's backing at the file and connects it (and
// connects it at power-on); ejecting gives it the client-device backing,
// disconnected. A VM without a CD-ROM gets one on its IDE controller,
// which vSphere adds only while the VM is off.

// cdSlot is the VM's one media slot.
const cdSlot = "CD"

// mediaDir is the datastore folder images are uploaded to.
const mediaDir = "bmcd-media"

// Slots implements hardware.VirtualMedia.
func (b *Backend) Slots() []hardware.SlotSpec {
	return []hardware.SlotSpec{{ID: cdSlot, Name: "Virtual CD/DVD", Types: []hardware.MediaType{hardware.MediaCD, hardware.MediaDVD}, Boot: hardware.BootCd}}
}

// InsertMedia implements hardware.VirtualMedia (see above). With
// img.CheckOnly a datastore file is looked up and any other image's head
// fetched; nothing is uploaded or connected. Errors: a *MediaError when
// the image cannot be fetched or the datastore file does not exist
// (wrapping fetch.ErrNotFound); ErrState for a VM without a CD-ROM that
// runs; ErrUnavailable when vCenter cannot be reached.
func (b *Backend) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	if slot != cdSlot {
		return 0, "", fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	if _, err := b.usable(); err != nil {
		return 0, "", err
	}
	var (
		file   string
		size   int64
		format string
		err    error
	)
	if ds, p, ok := b.datastoreFile(img.URL); ok {
		file, format = fmt.Sprintf("[%s] %s", ds, p), formatOf(p)
		size, err = b.stat(ctx, img.URL, ds, p)
	} else if img.CheckOnly {
		size, format, err = hardware.ProbeMedia(ctx, b.fetcher(), img)
	} else {
		file, size, format, err = b.upload(ctx, img)
	}
	if err != nil || img.CheckOnly {
		return size, format, err
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	if err := b.setCdrom(ctx, file); err != nil {
		return 0, "", err
	}
	return size, format, nil
}

// EjectMedia implements hardware.VirtualMedia: the CD-ROM gets the
// client-device backing, disconnected.
func (b *Backend) EjectMedia(ctx context.Context, slot string) error {
	if slot != cdSlot {
		return fmt.Errorf("slot %q: %w", slot, hardware.ErrNotFound)
	}
	b.opMu.Lock()
	defer b.opMu.Unlock()
	return b.setCdrom(ctx, "")
}

// setCdrom points the CD-ROM at file, connected, or empties it ("").
func (b *Backend) setCdrom(ctx context.Context, file string) error {
	st, err := b.usable()
	if err != nil {
		return err
	}
	devs := st.devices()
	on := st.Power == types.VirtualMachinePowerStatePoweredOn
	op := types.VirtualDeviceConfigSpecOperationEdit
	var cd types.VirtualCdrom
	if found, err := devs.FindCdrom(""); err == nil {
		cd = *found // a copy: the state's devices are not changed in place
	} else {
		if file == "" {
			return nil
		}
		if on {
			return fmt.Errorf("vsphere VM %s has no CD-ROM, and vSphere adds one only while the VM is off: %w", st.Name, hardware.ErrState)
		}
		ide, err := devs.FindIDEController("")
		if err != nil {
			return fmt.Errorf("vsphere VM %s has no CD-ROM and no free IDE slot for one: %w", st.Name, hardware.ErrState)
		}
		made, _ := devs.CreateCdrom(ide)
		cd, op = *made, types.VirtualDeviceConfigSpecOperationAdd
	}
	if file == "" {
		cd.Backing = &types.VirtualCdromRemotePassthroughBackingInfo{}
		cd.Connectable = &types.VirtualDeviceConnectInfo{AllowGuestControl: true}
	} else {
		cd.Backing = &types.VirtualCdromIsoBackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file}}
		cd.Connectable = &types.VirtualDeviceConnectInfo{AllowGuestControl: true, StartConnected: true, Connected: on}
	}
	spec := types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: op, Device: &cd}}}
	what := "eject the CD of " + b.name()
	if file != "" {
		what = "insert " + file + " into " + b.name()
	}
	err = b.conn.change(ctx, what, func(vc *vim25.Client) error {
		t, err := b.vm(vc).Reconfigure(ctx, spec)
		if err != nil {
			return err
		}
		return t.Wait(ctx)
	})
	if err != nil {
		return err
	}
	b.waitFor(ctx, observeTimeout, func() bool { return isoOf(b.st) == file })
	return nil
}

// isoOf is the ISO file the VM's first CD-ROM holds, "" for none.
func isoOf(st vmState) string {
	cd, err := st.devices().FindCdrom("")
	if err != nil {
		return ""
	}
	if iso, ok := cd.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
		return iso.FileName
	}
	return ""
}

// datastoreFile recognises the URL of a file on a datastore of the
// backend's vCenter: https://VCENTER/folder/PATH?dcPath=DC&dsName=DS.
func (b *Backend) datastoreFile(raw string) (ds, p string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil || !strings.HasPrefix(u.Path, "/folder/") || u.Query().Get("dsName") == "" {
		return "", "", false
	}
	if !strings.EqualFold(u.Hostname(), b.conn.cfg.URL.Hostname()) || port(u) != port(b.conn.cfg.URL) {
		return "", "", false
	}
	return u.Query().Get("dsName"), strings.TrimPrefix(u.Path, "/folder/"), true
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "http" {
		return "80"
	}
	return "443"
}

// stat checks that file p exists on datastore ds, and returns its size.
func (b *Backend) stat(ctx context.Context, raw, ds, p string) (int64, error) {
	var size int64
	var missing error
	err := b.conn.do(ctx, "look up "+p, func(vc *vim25.Client) error {
		d, err := b.datastore(ctx, vc, ds)
		if err != nil {
			var nf *find.NotFoundError
			if errors.As(err, &nf) {
				missing = err
				return nil
			}
			return err
		}
		fi, err := d.Stat(ctx, p)
		switch {
		case errors.As(err, new(object.DatastoreNoSuchFileError)), errors.As(err, new(object.DatastoreNoSuchDirectoryError)):
			missing = err
			return nil
		case err != nil:
			return err
		}
		size = fi.GetFileInfo().FileSize
		return nil
	})
	if err != nil {
		return 0, err
	}
	if missing != nil {
		return 0, &hardware.MediaError{URL: raw, HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("%w: %w", fetch.ErrNotFound, missing)}
	}
	return size, nil
}

// datastore finds datastore name in the backend's datacenter; "" is the
// VM's first datastore.
func (b *Backend) datastore(ctx context.Context, vc *vim25.Client, name string) (*object.Datastore, error) {
	if name == "" {
		b.mu.Lock()
		dss := b.st.Datastores
		b.mu.Unlock()
		if len(dss) == 0 {
			return nil, fmt.Errorf("vsphere VM %s has no datastore to upload media to (set media_datastore): %w", b.ref.Value, hardware.ErrState)
		}
		d := object.NewDatastore(vc, dss[0])
		if err := d.FindInventoryPath(ctx); err != nil {
			return nil, err
		}
		return d, nil
	}
	f := find.NewFinder(vc, false)
	dc, err := f.DatacenterOrDefault(ctx, b.opts.Datacenter)
	if err != nil {
		return nil, err
	}
	f.SetDatacenter(dc)
	return f.Datastore(ctx, name)
}

// upload fetches img, and puts it on the media datastore unless a copy is
// there; it returns the datastore path, the size and the format.
func (b *Backend) upload(ctx context.Context, img hardware.MediaImage) (string, int64, string, error) {
	resp, err := b.fetcher().Get(ctx, img.URL, img.TLS, nil)
	if err != nil {
		return "", 0, "", hardware.MediaFetchError(img.URL, err)
	}
	defer resp.Body.Close()
	f, err := os.CreateTemp(b.opts.TempDir, "image-*.iso")
	if err != nil {
		return "", 0, "", fmt.Errorf("vsphere: image file: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	if n == 0 {
		return "", 0, "", &hardware.MediaError{URL: img.URL, Err: errors.New("image is empty")}
	}
	head := make([]byte, hardware.ISOHeadSize)
	hn, _ := f.ReadAt(head, 0)
	format := hardware.MediaFormat(head[:hn])
	name := path.Join(mediaDir, hex.EncodeToString(h.Sum(nil))+".iso")
	var file string
	err = b.conn.do(ctx, "upload "+fetch.RedactURL(img.URL), func(vc *vim25.Client) error {
		ds, err := b.datastore(ctx, vc, b.opts.MediaDatastore)
		if err != nil {
			return err
		}
		file = ds.Path(name)
		return b.conn.once(file, func() error {
			if fi, err := ds.Stat(ctx, name); err == nil && fi.GetFileInfo().FileSize == n {
				return nil // uploaded before
			}
			dc, err := find.NewFinder(vc, false).Datacenter(ctx, ds.DatacenterPath)
			if err != nil {
				return err
			}
			err = object.NewFileManager(vc).MakeDirectory(ctx, ds.Path(mediaDir), dc, true)
			if err != nil && !isFileExists(err) {
				return err
			}
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			p := soap.DefaultUpload
			p.ContentLength = n
			return ds.Upload(ctx, f, name, &p)
		})
	})
	if err != nil {
		return "", 0, "", err
	}
	return file, n, format, nil
}

// upload is one upload in flight.
type upload struct {
	done chan struct{}
	err  error
}

// once runs fn for file unless an upload of it is in flight, which it
// waits for instead (two VMs inserting the same image).
func (c *conn) once(file string, fn func() error) error {
	c.uploadMu.Lock()
	if u := c.uploads[file]; u != nil {
		c.uploadMu.Unlock()
		<-u.done
		return u.err
	}
	u := &upload{done: make(chan struct{})}
	c.uploads[file] = u
	c.uploadMu.Unlock()
	u.err = fn()
	c.uploadMu.Lock()
	delete(c.uploads, file)
	c.uploadMu.Unlock()
	close(u.done)
	return u.err
}

func isFileExists(err error) bool {
	switch vimFault(err).(type) {
	case *types.FileAlreadyExists:
		return true
	}
	return false
}

// formatOf guesses a datastore file's format from its name.
func formatOf(p string) string {
	if strings.EqualFold(path.Ext(p), ".iso") {
		return "iso9660"
	}
	return "raw"
}

func (b *Backend) fetcher() *fetch.Fetcher {
	if b.opts.Fetch != nil {
		return b.opts.Fetch
	}
	return &fetch.Fetcher{}
}
