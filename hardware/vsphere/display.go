package vsphere

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"sync"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// display is the VM's screen as vCenter's screenshots show it
// (CreateScreenshot_Task: a PNG file in the VM's folder, downloaded and
// deleted): a picture every ScreenshotInterval while someone watches and
// the VM runs, none otherwise. It costs vCenter nothing while no one
// watches. vSphere has no API for keys or pointer (only its console
// protocols), so the machine has neither.
type display struct {
	b        *Backend
	interval time.Duration

	mu       sync.Mutex
	watchers map[chan struct{}]struct{}
	frame    hardware.Frame
	last     []byte // the PNG of frame
	stop     chan struct{}
	done     chan struct{}
	closed   bool
}

// DefaultScreenshotInterval is how often a watched display is captured.
const DefaultScreenshotInterval = time.Second

func newDisplay(b *Backend) *display {
	iv := b.opts.ScreenshotInterval
	if iv <= 0 {
		iv = DefaultScreenshotInterval
	}
	return &display{b: b, interval: iv, watchers: map[chan struct{}]struct{}{}}
}

// Watch implements hardware.Display: the first watcher starts the
// captures, the last one's stop ends them.
func (d *display) Watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.watchers[ch] = struct{}{}
	if d.stop == nil && !d.closed {
		d.stop, d.done = make(chan struct{}), make(chan struct{})
		go d.run(d.stop, d.done)
	}
	return ch, sync.OnceFunc(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		delete(d.watchers, ch)
		if len(d.watchers) == 0 && d.stop != nil {
			close(d.stop)
			d.stop = nil
		}
	})
}

// Frame implements hardware.Display.
func (d *display) Frame() hardware.Frame {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.frame
}

// close ends the captures for good.
func (d *display) close() {
	d.mu.Lock()
	d.closed = true
	stop, done := d.stop, d.done
	d.stop = nil
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (d *display) run(stop, done chan struct{}) {
	defer close(done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		d.capture(ctx)
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// capture takes one screenshot, or clears the picture of a VM that is off.
func (d *display) capture(ctx context.Context) {
	st, err := d.b.usable()
	if err != nil || st.Power != types.VirtualMachinePowerStatePoweredOn {
		d.show(nil, nil)
		return
	}
	var data []byte
	err = d.b.conn.do(ctx, "screenshot of "+d.b.name(), func(vc *vim25.Client) error {
		var err error
		data, err = d.b.screenshot(ctx, vc)
		return err
	})
	switch {
	case isMethodNotFound(err):
		d.b.conn.lacks(methodScreenshot)
		d.b.log.Warn("vsphere: this server takes no screenshots; the display stays dark", "err", err)
		d.mu.Lock()
		d.closed = true
		d.mu.Unlock()
		<-ctx.Done()
		return
	case err != nil:
		if ctx.Err() == nil {
			d.b.log.Debug("vsphere screenshot failed", "err", err)
		}
		return
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		d.b.log.Debug("vsphere screenshot unreadable", "err", err)
		return
	}
	d.show(data, img)
}

// show makes a new frame of img (nil: no picture) unless it is the
// picture shown already, and tells the watchers.
func (d *display) show(data []byte, img image.Image) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if img == nil {
		if d.frame.Image == nil && d.frame.Seq != 0 {
			return
		}
		d.frame = hardware.Frame{Seq: d.frame.Seq + 1, Time: time.Now()}
		d.last = nil
	} else {
		if bytes.Equal(data, d.last) {
			return
		}
		d.frame = hardware.Frame{Seq: d.frame.Seq + 1, Image: img, Time: time.Now()}
		d.last = data
	}
	for ch := range d.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// screenshot has vCenter take a screenshot of the VM and returns the PNG;
// the file it made in the VM's folder is deleted.
func (b *Backend) screenshot(ctx context.Context, vc *vim25.Client) ([]byte, error) {
	res, err := methods.CreateScreenshot_Task(ctx, vc, &types.CreateScreenshot_Task{This: b.ref})
	if err != nil {
		return nil, err
	}
	info, err := object.NewTask(vc, res.Returnval).WaitForResult(ctx, nil)
	if err != nil {
		return nil, err
	}
	file, _ := info.Result.(string)
	var p object.DatastorePath
	if !p.FromString(file) {
		return nil, fmt.Errorf("screenshot at %q: not a datastore path", file)
	}
	ds, err := b.datastore(ctx, vc, p.Datastore)
	if err != nil {
		return nil, fmt.Errorf("screenshot on datastore %s: %w", p.Datastore, err)
	}
	rc, _, err := ds.Download(ctx, p.Path, &soap.DefaultDownload)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	rc.Close()
	if err != nil {
		return nil, err
	}
	if dc, err := find.NewFinder(vc, false).Datacenter(ctx, ds.DatacenterPath); err == nil {
		if t, err := object.NewFileManager(vc).DeleteDatastoreFile(ctx, file, dc); err == nil {
			_ = t.Wait(ctx)
		}
	}
	return data, nil
}
