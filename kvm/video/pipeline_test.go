package video

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/video/videotest"
)

// counted is a pipeline whose encoder calls are counted, with the
// qualities they were asked for.
type counted struct {
	*Pipeline
	calls     atomic.Int64
	mu        sync.Mutex
	qualities []int
}

func newCounted(d hardware.Display, o Options) *counted {
	c := &counted{Pipeline: New(d, o)}
	c.encode = func(img image.Image, q int) ([]byte, error) {
		c.calls.Add(1)
		c.mu.Lock()
		c.qualities = append(c.qualities, q)
		c.mu.Unlock()
		return encodeGo(img, q)
	}
	return c
}

func small(n int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for i := range m.Pix {
		m.Pix[i] = uint8(n*40 + i)
	}
	return m
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestEncodeOnceWithManyViewers(t *testing.T) {
	for _, viewers := range []int{1, 4, 16} {
		d := &videotest.Display{}
		p := newCounted(d, Options{FPS: MaxFPS})
		vs := make([]*Viewer, viewers)
		for i := range vs {
			vs[i] = p.Watch()
		}
		if got := d.Watches.Load(); got != 1 {
			t.Fatalf("%d viewers: Display.Watch called %d times, want 1", viewers, got)
		}
		var seq uint64
		for k := 1; k <= 4; k++ {
			want := d.Show(small(k))
			var wg sync.WaitGroup
			errs := make(chan error, viewers)
			for _, v := range vs {
				wg.Go(func() {
					f, err := v.Next(ctxT(t), seq)
					if err != nil {
						errs <- err
						return
					}
					if f.Seq != want {
						errs <- errors.New("wrong frame")
					}
					b, err := f.JPEG()
					if err != nil || len(b) == 0 {
						errs <- errors.New("no JPEG")
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("%d viewers, frame %d: %v", viewers, k, err)
			}
			seq = want
			if got := p.calls.Load(); got != int64(k) {
				t.Fatalf("%d viewers, %d frames: %d encodes, want %d", viewers, k, got, k)
			}
		}
		// The unchanged frame is not handed out again.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		if f, err := vs[0].Next(ctx, seq); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Next on an unchanged screen = %v, %v; want DeadlineExceeded", f, err)
		}
		cancel()
		for _, v := range vs {
			v.Close()
		}
	}
}

func TestSlowViewerDropsFramesAndGetsTheLatest(t *testing.T) {
	d := &videotest.Display{}
	p := newCounted(d, Options{FPS: MaxFPS})
	fast, slow := p.Watch(), p.Watch()
	defer fast.Close()
	defer slow.Close()
	first := d.Show(small(0))
	f, err := slow.Next(ctxT(t), 0)
	if err != nil || f.Seq != first {
		t.Fatalf("first frame: %v, %v", f, err)
	}
	var last uint64
	for i := 1; i <= 10; i++ {
		last = d.Show(small(i))
		if i == 5 { // the fast viewer takes one in the middle
			if _, err := fast.Next(ctxT(t), first); err != nil {
				t.Fatal(err)
			}
		}
	}
	f, err = slow.Next(ctxT(t), first)
	if err != nil {
		t.Fatal(err)
	}
	if f.Seq != last {
		t.Fatalf("slow viewer got frame %d, want the latest, %d", f.Seq, last)
	}
	if _, err := f.JPEG(); err != nil {
		t.Fatal(err)
	}
	// Only what a viewer was handed and asked to encode was encoded: the
	// latest, not the 9 skipped (the fast viewer did not encode its own).
	if got := p.calls.Load(); got != 1 {
		t.Errorf("%d encodes, want 1", got)
	}
	if p.Stats().SentFPS == 0 {
		t.Error("SentFPS is 0 after frames were sent")
	}
}

func TestNoCaptureWithoutViewers(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{})
	d.Show(small(1))
	if d.Watches.Load() != 0 || d.FrameCalls.Load() != 0 {
		t.Fatalf("New watched the display: %d watches, %d frames", d.Watches.Load(), d.FrameCalls.Load())
	}
	for round := 1; round <= 2; round++ {
		a, b := p.Watch(), p.Watch()
		if d.Watching() != 1 {
			t.Fatalf("round %d: %d display watchers with two viewers, want 1", round, d.Watching())
		}
		a.Close()
		a.Close() // twice does nothing
		if d.Watching() != 1 {
			t.Fatalf("round %d: capture stopped while a viewer remains", round)
		}
		b.Close()
		if d.Watching() != 0 {
			t.Fatalf("round %d: capture runs after the last viewer left", round)
		}
		p.mu.Lock()
		run := p.run
		p.mu.Unlock()
		if run != nil {
			t.Fatalf("round %d: capture goroutine still registered", round)
		}
		// Close waited for the goroutine: nothing reads the display now.
		calls := d.FrameCalls.Load()
		for i := 0; i < 5; i++ {
			d.Show(small(i))
		}
		time.Sleep(20 * time.Millisecond)
		if got := d.FrameCalls.Load(); got != calls {
			t.Fatalf("round %d: display read %d times with no viewer", round, got-calls)
		}
	}
	if got := d.Watches.Load(); got != 2 {
		t.Errorf("Display.Watch called %d times over two rounds, want 2", got)
	}
	// Latest still answers, from the display's last picture, without capture.
	if f := p.Latest(); f.Frame.Image == nil || f.Seq == 0 {
		t.Errorf("Latest with no viewer = %+v", f.Frame)
	}
}

func TestNextEnds(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{})
	v := p.Watch()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := v.Next(ctx, 0); done <- err }()
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Next after cancel = %v, want context.Canceled as is", err)
	}
	go func() { _, err := v.Next(context.Background(), 0); done <- err }()
	v.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Next across Close = %v, want ErrClosed", err)
	}
	if _, err := v.Next(context.Background(), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestSettersAtRunTime(t *testing.T) {
	d := &videotest.Display{}
	p := newCounted(d, Options{})
	if s := p.Stats(); s.Quality != DefaultQuality || s.FPS != DefaultFPS {
		t.Fatalf("defaults: %+v", s)
	}
	for _, c := range []struct {
		name string
		set  func(int) error
		v    int
		ok   bool
	}{
		{"quality 0", p.SetQuality, 0, false},
		{"quality 101", p.SetQuality, 101, false},
		{"quality -5", p.SetQuality, -5, false},
		{"quality 1", p.SetQuality, 1, true},
		{"quality 100", p.SetQuality, 100, true},
		{"fps 0", p.SetFPS, 0, false},
		{"fps 61", p.SetFPS, 61, false},
		{"fps 1", p.SetFPS, 1, true},
		{"fps 60", p.SetFPS, 60, true},
	} {
		err := c.set(c.v)
		if c.ok && err != nil || !c.ok && !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("%s: %v", c.name, err)
		}
	}

	v := p.Watch()
	defer v.Close()
	var seq uint64
	next := func(q int) *Frame {
		t.Helper()
		if err := p.SetQuality(q); err != nil {
			t.Fatal(err)
		}
		d.Show(small(int(seq)))
		f, err := v.Next(ctxT(t), seq)
		if err != nil {
			t.Fatal(err)
		}
		seq = f.Seq
		if _, err := f.JPEG(); err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := next(30)
	next(90)
	_ = p.SetQuality(10)
	if _, err := f.JPEG(); err != nil { // encoded already: not again
		t.Fatal(err)
	}
	p.mu.Lock()
	got := append([]int(nil), p.qualities...)
	p.mu.Unlock()
	if len(got) != 2 || got[0] != 30 || got[1] != 90 {
		t.Errorf("encoded at qualities %v, want [30 90]", got)
	}
	if s := p.Stats(); s.Quality != 10 {
		t.Errorf("Stats.Quality = %d", s.Quality)
	}

	// FPS: frames that come at once are spaced by the interval (a lower
	// bound only: a loaded machine makes it longer, never shorter).
	if err := p.SetFPS(10); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 4; i++ {
		next(50)
	}
	// GCRA with half an interval of tolerance: 4 frames take at least
	// 3 intervals less one tolerance... from a fresh viewer, 2.5 intervals.
	if el := time.Since(start); el < 240*time.Millisecond {
		t.Errorf("4 frames at 10 fps in %v, want at least 250ms", el)
	}
	if s := p.Stats(); s.FPS != 10 {
		t.Errorf("Stats.FPS = %d", s.FPS)
	}
}

func TestJPEGSourcePassesThrough(t *testing.T) {
	var b bytes.Buffer
	img := small(3)
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	src := b.Bytes()
	d := &videotest.Display{}
	p := newCounted(d, Options{})
	v := p.Watch()
	defer v.Close()
	d.ShowJPEG(src)
	f, err := v.Next(ctxT(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.JPEG()
	if err != nil || !bytes.Equal(got, src) || &got[0] != &src[0] {
		t.Fatalf("JPEG() = %d bytes, %v; want the source's bytes untouched", len(got), err)
	}
	if p.calls.Load() != 0 {
		t.Errorf("a JPEG source was encoded again")
	}
	pic, err := f.Picture()
	if err != nil || pic.Bounds().Size() != img.Bounds().Size() {
		t.Fatalf("Picture() = %v, %v", pic, err)
	}
	if again, _ := f.Picture(); again != pic {
		t.Error("Picture decoded twice")
	}
	if s := p.Stats(); !s.Online || s.Width != 64 || s.Height != 48 {
		t.Errorf("Stats of a JPEG source = %+v", s)
	}
}

func TestNoSignal(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{})
	if f := p.Latest(); f.Seq != 0 {
		t.Fatalf("Latest before any picture: %+v", f.Frame)
	}
	d.NoSignal()
	f := p.Latest()
	if b, err := f.JPEG(); b != nil || err != nil {
		t.Errorf("JPEG() without a picture = %d bytes, %v; want nil, nil", len(b), err)
	}
	if img, err := f.Picture(); img != nil || err != nil {
		t.Errorf("Picture() without a picture = %v, %v", img, err)
	}
	if s := p.Stats(); s.Online || s.Width != 0 {
		t.Errorf("Stats without a picture = %+v", s)
	}
	// A disabled display: Latest never blocks and never has a picture.
	if f := New(nil, Options{}).Latest(); f.hasPicture() {
		t.Error("nil display has a picture")
	}
}

func TestOptionsClamp(t *testing.T) {
	for _, c := range []struct {
		o      Options
		q, fps int
	}{
		{Options{}, 80, 30},
		{Options{Quality: 500, FPS: 500}, 100, 60},
		{Options{Quality: -1, FPS: -1}, 1, 1},
		{Options{Quality: 55, FPS: 12}, 55, 12},
	} {
		s := New(hardware.DisabledDisplay{}, c.o).Stats()
		if s.Quality != c.q || s.FPS != c.fps {
			t.Errorf("%+v: quality %d fps %d, want %d %d", c.o, s.Quality, s.FPS, c.q, c.fps)
		}
	}
}

func TestEncoders(t *testing.T) {
	rgba := videotest.Screen(320, 200, 1)
	nrgba := image.NewNRGBA(rgba.Bounds())
	copy(nrgba.Pix, rgba.Pix)
	gray := image.NewGray(rgba.Bounds())
	for i := range gray.Pix {
		gray.Pix[i] = rgba.Pix[i*4+1]
	}
	ycc := func(r image.YCbCrSubsampleRatio) *image.YCbCr {
		m := image.NewYCbCr(rgba.Bounds(), r)
		for y := 0; y < 200; y++ {
			for x := 0; x < 320; x++ {
				c := rgba.RGBAAt(x, y)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				m.Y[m.YOffset(x, y)] = yy
				m.Cb[m.COffset(x, y)] = cb
				m.Cr[m.COffset(x, y)] = cr
			}
		}
		return m
	}
	pal := image.NewPaletted(rgba.Bounds(), color.Palette{color.Black, color.White})
	images := []struct {
		name string
		img  image.Image
	}{
		{"RGBA", rgba},
		{"RGBA sub-image", rgba.SubImage(image.Rect(3, 5, 203, 105))},
		{"NRGBA", nrgba},
		{"Gray", gray},
		{"YCbCr 4:2:0", ycc(image.YCbCrSubsampleRatio420)},
		{"YCbCr 4:4:4", ycc(image.YCbCrSubsampleRatio444)},
		{"YCbCr 4:2:2", ycc(image.YCbCrSubsampleRatio422)},
		{"YCbCr 4:2:0 odd sub-image", ycc(image.YCbCrSubsampleRatio420).SubImage(image.Rect(1, 1, 101, 51))},
		{"Paletted", pal},
	}
	for _, enc := range builtEncoders() {
		for _, im := range images {
			b, err := enc.fn(im.img, 90)
			if err != nil {
				t.Errorf("%s %s: %v", enc.name, im.name, err)
				continue
			}
			out, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s %s: decode: %v", enc.name, im.name, err)
				continue
			}
			if out.Bounds().Size() != im.img.Bounds().Size() {
				t.Errorf("%s %s: size %v, want %v", enc.name, im.name, out.Bounds().Size(), im.img.Bounds().Size())
				continue
			}
			if d := meanDiff(im.img, out); d > 12 {
				t.Errorf("%s %s: mean difference %.1f per channel, want a faithful picture", enc.name, im.name, d)
			}
		}
	}
}

// meanDiff is the mean absolute difference per channel (0..255) of two
// pictures of one size.
func meanDiff(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	var sum, n float64
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
				if d < 0 {
					d = -d
				}
				sum += float64(d)
				n++
			}
		}
	}
	return sum / n
}

type namedEncoder struct {
	name string
	fn   func(image.Image, int) ([]byte, error)
}

// builtEncoders: image/jpeg always, and the build's own when it differs.
func builtEncoders() []namedEncoder {
	e := []namedEncoder{{"image-jpeg", encodeGo}}
	if encoderName != "image/jpeg" {
		e = append(e, namedEncoder{encoderName, encodeJPEG})
	}
	return e
}

// BenchmarkEncode1080p encodes one 1920×1080 console-like RGBA screen at
// quality 80 with each encoder of the build (go test -tags turbojpeg for
// both).
func BenchmarkEncode1080p(b *testing.B) {
	img := videotest.Screen(1920, 1080, 1)
	for _, enc := range builtEncoders() {
		b.Run(enc.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				out, err := enc.fn(img, DefaultQuality)
				if err != nil {
					b.Fatal(err)
				}
				size = len(out)
			}
			b.ReportMetric(float64(size), "bytes/frame")
		})
	}
}

// A viewer that comes while another's encode runs takes that frame rather
// than encoding a newer one beside it: viewers fall in step.
func TestViewersShareAnEncodeInProgress(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{FPS: MaxFPS})
	started, release := make(chan struct{}, 4), make(chan struct{})
	var calls atomic.Int64
	p.encode = func(img image.Image, q int) ([]byte, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return encodeGo(img, q)
	}
	a, b := p.Watch(), p.Watch()
	defer a.Close()
	defer b.Close()
	first := d.Show(small(1))
	fromA := make(chan *Frame, 1)
	go func() {
		f, _, err := a.nextJPEG(ctxT(t), 0)
		if err != nil {
			t.Error(err)
		}
		fromA <- f
	}()
	<-started // A is encoding frame 1
	second := d.Show(small(2))
	p.Latest() // the pipeline has frame 2 (without waiting for capture)
	f, err := b.Next(ctxT(t), 0)
	if err != nil || f.Seq != second {
		t.Fatalf("Next = %v, %v; want the latest, frame %d", f, err, second)
	}
	for _, c := range []struct {
		after uint64
		want  uint64
	}{
		{0, first},       // frame 1 is newer than what B has, and under way
		{first, second},  // B has frame 1 already: the latest
		{second, second}, // (not asked by Next; f itself)
	} {
		if got := p.inStep(f, c.after); got.Seq != c.want {
			t.Errorf("inStep(frame %d, after %d) = frame %d, want %d", f.Seq, c.after, got.Seq, c.want)
		}
	}
	close(release)
	fa := <-fromA
	if g := p.inStep(f, 0); g != f {
		t.Errorf("inStep with no encode under way = frame %d, want the latest", g.Seq)
	}
	if fa.Seq != first {
		t.Errorf("A got frame %d", fa.Seq)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d encodes, want 1", n)
	}
}
