package video

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/kvm/video/videotest"
)

func serve(t *testing.T, p *Pipeline) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream.mjpeg", p.MJPEG)
	mux.HandleFunc("GET /snapshot.jpg", p.Snapshot)
	mux.HandleFunc("GET /snapshot.png", p.Snapshot)
	mux.HandleFunc("GET /state", p.State)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestMJPEGStream(t *testing.T) {
	d := &videotest.Display{}
	p := newCounted(d, Options{FPS: MaxFPS})
	s := serve(t, p.Pipeline)
	d.Show(videotest.Screen(320, 200, 0))

	// Two clients share every encode.
	const clients = 2
	readers := make([]*multipart.Reader, clients)
	for i := range readers {
		resp, err := http.Get(s.URL + "/stream.mjpeg")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] != Boundary {
			t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Errorf("Cache-Control %q", cc)
		}
		readers[i] = multipart.NewReader(resp.Body, params["boundary"])
	}
	waitFor(t, "two viewers", func() bool { return p.Stats().Viewers == clients })

	for n := 1; n <= 3; n++ {
		var shown time.Time
		if n > 1 {
			d.Show(videotest.Screen(320, 200, n))
		}
		shown = d.Frame().Time
		for i, mr := range readers {
			part, err := mr.NextPart()
			if err != nil {
				t.Fatalf("client %d part %d: %v", i, n, err)
			}
			if ct := part.Header.Get("Content-Type"); ct != "image/jpeg" {
				t.Errorf("part Content-Type %q", ct)
			}
			body, err := io.ReadAll(part)
			if err != nil {
				t.Fatal(err)
			}
			if cl := part.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s, body %d bytes", cl, len(body))
			}
			ts, err := ParseTimestamp(part.Header.Get("X-Timestamp"))
			if err != nil || !ts.Equal(shown.Truncate(time.Microsecond)) {
				t.Errorf("X-Timestamp %q (%v), want the frame's production time %v", part.Header.Get("X-Timestamp"), err, shown)
			}
			img, err := jpeg.Decode(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("client %d part %d: %v", i, n, err)
			}
			if img.Bounds().Size() != image.Pt(320, 200) {
				t.Errorf("part size %v", img.Bounds().Size())
			}
		}
	}
	if got := p.calls.Load(); got != 3 {
		t.Errorf("%d encodes for 3 frames and %d clients, want 3", got, clients)
	}
	s.CloseClientConnections()
	waitFor(t, "the viewers to leave with their clients", func() bool { return p.Stats().Viewers == 0 })
	if d.Watching() != 0 {
		t.Error("capture runs after the clients left")
	}
}

func TestMJPEGNoSignalAndFPS(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{})
	s := serve(t, p)
	for _, q := range []string{"0", "61", "x", "-1"} {
		resp, err := http.Get(s.URL + "/stream.mjpeg?fps=" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("fps=%s: %s, want 400", q, resp.Status)
		}
	}
	d.NoSignal()
	resp, err := http.Get(s.URL + "/stream.mjpeg?fps=5")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mr := multipart.NewReader(resp.Body, Boundary)
	part, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(part)
	if err != nil || img.Bounds().Size() != noSignalSize {
		t.Fatalf("no-signal picture: %v, %v", img, err)
	}
	// ?fps=5 is this client's: two frames come at least 100 ms apart
	// (a 200 ms interval less the half-interval tolerance).
	d.Show(small(1))
	t0 := time.Now()
	if _, err := mr.NextPart(); err != nil {
		t.Fatal(err)
	}
	d.Show(small(2))
	if _, err := mr.NextPart(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el < 90*time.Millisecond {
		t.Errorf("two frames %v apart at ?fps=5", el)
	}
	if p.Stats().FPS != DefaultFPS {
		t.Error("a client's fps changed the pipeline's")
	}
}

func TestSnapshot(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{})
	s := serve(t, p)
	get := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	// No picture: 503 with a short text.
	d.NoSignal()
	for _, path := range []string{"/snapshot.jpg", "/snapshot.png"} {
		resp, b := get(path)
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || len(b) == 0 || len(b) > 200 {
			t.Errorf("%s without picture: %s %q %q", path, resp.Status, resp.Header.Get("Content-Type"), b)
		}
	}

	want := videotest.Screen(320, 200, 7)
	d.Show(want)
	for _, c := range []struct {
		path, ctype string
		decode      func(io.Reader) (image.Image, error)
		maxDiff     float64
	}{
		{"/snapshot.jpg", "image/jpeg", jpeg.Decode, 12},
		{"/snapshot.png", "image/png", png.Decode, 0},
	} {
		resp, b := get(c.path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != c.ctype {
			t.Fatalf("%s: %s %q", c.path, resp.Status, resp.Header.Get("Content-Type"))
		}
		if _, err := ParseTimestamp(resp.Header.Get("X-Timestamp")); err != nil {
			t.Errorf("%s: X-Timestamp %q", c.path, resp.Header.Get("X-Timestamp"))
		}
		img, err := c.decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if diff := meanDiff(want, img); img.Bounds() != want.Bounds() || diff > c.maxDiff {
			t.Errorf("%s: %v, difference %.1f", c.path, img.Bounds(), diff)
		}
	}
	if d.Watching() != 0 {
		t.Error("a snapshot left capture running")
	}
}

// A capture device that has a picture only once watched: the snapshot
// starts capture to get one.
func TestSnapshotStartsCapture(t *testing.T) {
	d := &videotest.Display{OnFirstWatch: func(d *videotest.Display) {
		go d.Show(small(1))
	}}
	p := New(d, Options{})
	s := serve(t, p)
	resp, err := http.Get(s.URL + "/snapshot.png")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("snapshot of a source that starts on watch: %s", resp.Status)
	}
	if _, err := png.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "capture to stop", func() bool { return d.Watching() == 0 })
}

// staleDisplay is a source whose picture is current only while watched
// (hardware.LiveDisplay), as a VM's VNC screen is.
type staleDisplay struct {
	*videotest.Display
	live atomic.Bool
}

func (d *staleDisplay) Live() bool { return d.live.Load() }

// TestSnapshotOfStaleSource: a snapshot of a source that is not current
// watches it for a new picture instead of sending the old one; a current
// one is sent as it is.
func TestSnapshotOfStaleSource(t *testing.T) {
	d := &staleDisplay{}
	d.Display = &videotest.Display{OnFirstWatch: func(v *videotest.Display) {
		go func() { v.Show(small(2)); d.live.Store(true) }()
	}}
	d.Show(small(1)) // an old picture, kept from a connection gone
	p := New(d, Options{})
	s := serve(t, p)
	get := func() {
		resp, err := http.Get(s.URL + "/snapshot.png")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get()
	if w := d.Watches.Load(); w != 1 {
		t.Fatalf("a stale source was watched %d times for a snapshot, want 1", w)
	}
	if got := p.Latest().Seq; got != 2 {
		t.Errorf("snapshot sent frame %d, want the new one (2)", got)
	}
	waitFor(t, "capture to stop", func() bool { return d.Watching() == 0 })
	get() // the source says it is current: no watch
	if w := d.Watches.Load(); w != 1 {
		t.Errorf("a current source was watched again (%d)", w)
	}
}

func TestStateJSON(t *testing.T) {
	d := &videotest.Display{}
	p := New(d, Options{Quality: 70, FPS: 25})
	s := serve(t, p)
	d.Show(videotest.Screen(320, 200, 0))
	v := p.Watch()
	defer v.Close()
	if _, err := v.Next(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL + "/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc map[string]map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	src, stream := doc["source"], doc["stream"]
	res, _ := src["resolution"].(map[string]any)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"source.online", src["online"], true},
		{"source.resolution.width", res["width"], 320.0},
		{"source.resolution.height", res["height"], 200.0},
		{"stream.viewers", stream["viewers"], 1.0},
		{"stream.quality", stream["quality"], 70.0},
		{"stream.fps", stream["fps"], 25.0},
		{"stream.encoder", stream["encoder"], encoderName},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, rate := range []any{src["captured_fps"], stream["sent_fps"]} {
		if f, ok := rate.(float64); !ok || f <= 0 {
			t.Errorf("rates: captured_fps %v, sent_fps %v; want numbers above 0", src["captured_fps"], stream["sent_fps"])
		}
	}
}

func TestTimestamp(t *testing.T) {
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.UnixMicro(1700000000123456), "1700000000.123456"},
		{time.UnixMicro(1700000000000001), "1700000000.000001"},
		{time.Unix(5, 0), "5.000000"},
	} {
		if got := timestamp(c.t); got != c.want {
			t.Errorf("timestamp(%v) = %q, want %q", c.t, got, c.want)
		}
		if back, err := ParseTimestamp(c.want); err != nil || !back.Equal(c.t) {
			t.Errorf("ParseTimestamp(%q) = %v, %v", c.want, back, err)
		}
	}
	for _, bad := range []string{"", "x", "1.x", ".5"} {
		if _, err := ParseTimestamp(bad); err == nil {
			t.Errorf("ParseTimestamp(%q) accepted", bad)
		}
	}
	if got, _ := ParseTimestamp("12.5"); !got.Equal(time.UnixMilli(12500)) {
		t.Errorf("ParseTimestamp(12.5) = %v", got)
	}
}

func TestSnapshotOfOtherSources(t *testing.T) {
	// A machine without a screen: 503 at once, nothing to wait for.
	s := serve(t, New(nil, Options{}))
	resp, err := http.Get(s.URL + "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("snapshot of a machine without a screen: %s", resp.Status)
	}

	// A JPEG source: snapshot.jpg is its bytes, snapshot.png their picture.
	var src bytes.Buffer
	want := videotest.Screen(160, 120, 2)
	if err := jpeg.Encode(&src, want, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	d := &videotest.Display{}
	d.ShowJPEG(src.Bytes())
	s = serve(t, New(d, Options{}))
	resp, err = http.Get(s.URL + "/snapshot.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, src.Bytes()) {
		t.Errorf("snapshot.jpg of a JPEG source: %d bytes, not the source's %d", len(got), src.Len())
	}
	resp, err = http.Get(s.URL + "/snapshot.png")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	img, err := png.Decode(resp.Body)
	if err != nil || img.Bounds() != want.Bounds() || meanDiff(want, img) > 8 {
		t.Errorf("snapshot.png of a JPEG source: %v, %v", img, err)
	}
}
