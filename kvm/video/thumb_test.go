package video

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"testing"

	"github.com/bmcd/bmcd/kvm/video/videotest"
)

// TestSnapshotWidth: snapshot.jpg?width=N is the picture scaled to N
// pixels wide, encoded once per frame and width whatever the number of
// clients; a width at least the picture's is the picture; a bad width is
// 400.
func TestSnapshotWidth(t *testing.T) {
	d := &videotest.Display{}
	p := newCounted(d, Options{})
	s := serve(t, p.Pipeline)
	d.Show(videotest.Screen(640, 400, 3))
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
	for range 3 {
		resp, b := get("/snapshot.jpg?width=160")
		img, err := jpeg.Decode(bytes.NewReader(b))
		if resp.StatusCode != http.StatusOK || err != nil || img.Bounds().Size() != image.Pt(160, 100) {
			t.Fatalf("width=160: %s, %v, %v", resp.Status, err, img)
		}
	}
	if n := p.calls.Load(); n != 1 {
		t.Errorf("%d encodes for 3 requests of one frame and width, want 1", n)
	}
	resp, b := get("/snapshot.png?width=320")
	if img, err := png.Decode(bytes.NewReader(b)); resp.StatusCode != http.StatusOK || err != nil || img.Bounds().Size() != image.Pt(320, 200) {
		t.Errorf("png width=320: %s, %v", resp.Status, err)
	}
	resp, b = get("/snapshot.jpg?width=2000")
	if img, err := jpeg.Decode(bytes.NewReader(b)); resp.StatusCode != http.StatusOK || err != nil || img.Bounds().Size() != image.Pt(640, 400) {
		t.Errorf("width beyond the picture's: %s, %v", resp.Status, err)
	}
	for _, bad := range []string{"0", "-5", "x", "4097"} {
		if resp, _ := get("/snapshot.jpg?width=" + bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("width=%s: %s, want 400", bad, resp.Status)
		}
	}
	// Each frame its own thumbnail.
	before := p.calls.Load()
	d.Show(videotest.Screen(640, 400, 4))
	waitFor(t, "the new frame", func() bool { return p.Latest().Seq == 2 })
	get("/snapshot.jpg?width=160")
	if n := p.calls.Load(); n != before+1 {
		t.Errorf("%d encodes for a new frame's thumbnail, want 1", n-before)
	}
}
