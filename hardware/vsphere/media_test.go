package vsphere

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// isoImage is 64 KiB with the ISO 9660 signature.
var isoImage = func() []byte {
	img := make([]byte, 64<<10)
	for i := range img {
		img[i] = byte(i * 13)
	}
	copy(img[32769:], "CD001")
	return img
}()

// cdrom is the VM's CD-ROM as vCenter has it: its ISO file ("" for
// another backing) and whether it connects at power-on.
func cdrom(t *testing.T, v *vcenter, name string) (iso string, start bool, found bool) {
	t.Helper()
	cd, err := object.VirtualDeviceList(v.vm(t, name).Config.Hardware.Device).FindCdrom("")
	if err != nil {
		return "", false, false
	}
	if b, ok := cd.Backing.(*types.VirtualCdromIsoBackingInfo); ok {
		iso = b.FileName
	}
	return iso, cd.Connectable != nil && cd.Connectable.StartConnected, true
}

// TestMedia: an http image is uploaded once to the media datastore
// (named by its checksum) and connected to each VM it is inserted into;
// a datastore URL is used where it is; a check-only insert uploads and
// connects nothing; eject gives the CD-ROM back its empty backing; an
// image that is not there is a MediaError of class not-found.
func TestMedia(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 3, false)
	var gets atomic.Int32
	img := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/boot.iso" {
			http.NotFound(w, r)
			return
		}
		gets.Add(1)
		http.ServeContent(w, r, "boot.iso", time.Time{}, bytes.NewReader(isoImage))
	}))
	defer img.Close()
	var puts atomic.Int32
	v.m.Service.ServeMux.HandleFunc("PUT /folder/", func(w http.ResponseWriter, r *http.Request) {
		puts.Add(1)
		v.m.Service.ServeDatastore(w, r)
	})
	sum := sha256.Sum256(isoImage)
	want := "[LocalDS_0] bmcd-media/" + hex.EncodeToString(sum[:]) + ".iso"
	ctx := context.Background()
	b0 := v.backend(t, vmName(0)).(*Backend)
	b1 := v.backend(t, vmName(1)).(*Backend)

	size, format, err := b0.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: img.URL + "/boot.iso", CheckOnly: true})
	if err != nil || size != int64(len(isoImage)) || format != "iso9660" {
		t.Fatalf("check only: %d %q %v", size, format, err)
	}
	if iso, _, _ := cdrom(t, v, vmName(0)); iso != "" || puts.Load() != 0 {
		t.Errorf("a check-only insert left %q in the CD-ROM, %d uploads", iso, puts.Load())
	}

	for _, b := range []*Backend{b0, b1} {
		size, format, err := b.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: img.URL + "/boot.iso"})
		if err != nil || size != int64(len(isoImage)) || format != "iso9660" {
			t.Fatalf("insert: %d %q %v", size, format, err)
		}
	}
	for _, name := range []string{vmName(0), vmName(1)} {
		if iso, start, _ := cdrom(t, v, name); iso != want || !start {
			t.Errorf("%s: CD-ROM %q, connected at power-on %v; want %s", name, iso, start, want)
		}
	}
	if n := puts.Load(); n != 1 {
		t.Errorf("the same image was uploaded %d times", n)
	}
	local := filepath.Join(datastoreDir(t, v), "bmcd-media", hex.EncodeToString(sum[:])+".iso")
	if got, err := os.ReadFile(local); err != nil || !bytes.Equal(got, isoImage) {
		t.Errorf("the datastore holds %d bytes (%v), want the image", len(got), err)
	}

	if err := b0.EjectMedia(ctx, cdSlot); err != nil {
		t.Fatal(err)
	}
	if iso, start, _ := cdrom(t, v, vmName(0)); iso != "" || start {
		t.Errorf("after eject: CD-ROM %q, connected at power-on %v", iso, start)
	}

	// The uploaded file, by its datastore URL: used where it is.
	dsURL := fmt.Sprintf("https://%s/folder/bmcd-media/%s.iso?dcPath=DC0&dsName=LocalDS_0", v.addr, hex.EncodeToString(sum[:]))
	b2 := v.backend(t, vmName(2)).(*Backend)
	gets.Store(0)
	size, format, err = b2.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: dsURL})
	if err != nil || size != int64(len(isoImage)) || format != "iso9660" {
		t.Fatalf("insert %s: %d %q %v", dsURL, size, format, err)
	}
	if iso, _, _ := cdrom(t, v, vmName(2)); iso != want || gets.Load() != 0 || puts.Load() != 1 {
		t.Errorf("datastore URL: CD-ROM %q, %d fetches, %d uploads", iso, gets.Load(), puts.Load())
	}

	for _, bad := range []string{img.URL + "/missing.iso",
		fmt.Sprintf("https://%s/folder/none.iso?dcPath=DC0&dsName=LocalDS_0", v.addr),
		fmt.Sprintf("https://%s/folder/x.iso?dcPath=DC0&dsName=NoSuchDS", v.addr)} {
		_, _, err := b1.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: bad})
		var me *hardware.MediaError
		if !errors.As(err, &me) || !errors.Is(err, fetch.ErrNotFound) {
			t.Errorf("%s: %v, want a MediaError of class not-found", bad, err)
		}
	}
	if _, _, err := b1.InsertMedia(ctx, "USB", hardware.MediaImage{URL: dsURL}); !errors.Is(err, hardware.ErrNotFound) {
		t.Errorf("another slot: %v, want ErrNotFound", err)
	}
}

// TestMediaNoCdrom: a VM without a CD-ROM gets one on its IDE controller
// while it is off; while it runs, the insert is refused.
func TestMediaNoCdrom(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 1, false)
	ctx := context.Background()
	vm, err := find.NewFinder(v.client(t)).VirtualMachine(ctx, vmName(0))
	if err != nil {
		t.Fatal(err)
	}
	devs, err := vm.Device(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cd, _ := devs.FindCdrom("")
	if err := vm.RemoveDevice(ctx, false, cd); err != nil {
		t.Fatal(err)
	}
	b := v.backend(t, vmName(0)).(*Backend)
	dir := datastoreDir(t, v)
	if err := os.WriteFile(filepath.Join(dir, "boot.iso"), isoImage, 0o600); err != nil {
		t.Fatal(err)
	}
	dsURL := fmt.Sprintf("https://%s/folder/boot.iso?dcPath=DC0&dsName=LocalDS_0", v.addr)
	if err := b.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: dsURL}); !errors.Is(err, hardware.ErrState) {
		t.Errorf("insert into a running VM without a CD-ROM: %v, want ErrState", err)
	}
	if err := b.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.InsertMedia(ctx, cdSlot, hardware.MediaImage{URL: dsURL}); err != nil {
		t.Fatal(err)
	}
	if iso, _, found := cdrom(t, v, vmName(0)); !found || iso != "[LocalDS_0] boot.iso" {
		t.Errorf("CD-ROM %v holding %q, want one with [LocalDS_0] boot.iso", found, iso)
	}
}

// datastoreDir is the local folder of the simulator's datastore.
func datastoreDir(t *testing.T, v *vcenter) string {
	t.Helper()
	for _, e := range v.m.Map().All("Datastore") {
		return e.(*simulator.Datastore).Info.GetDatastoreInfo().Url
	}
	t.Fatal("no datastore")
	return ""
}
