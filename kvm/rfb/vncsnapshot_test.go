package rfb

import (
	"context"
	"image/jpeg"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestVNCSnapshot drives the server with a real client: vncsnapshot
// (Debian's, TightVNC 1.2 based: RFB 3.3 and VNC Authentication) takes a
// snapshot that must show the source's picture, in each of the encodings
// it can ask for: Raw (its first choice on the local host), Tight with
// JPEG (the pipeline's) and Tight lossless.
func TestVNCSnapshot(t *testing.T) {
	bin, err := exec.LookPath("vncsnapshot")
	if err != nil {
		msg := "vncsnapshot is not installed; run `make deps`"
		if testing.Short() {
			t.Skip(msg)
		}
		t.Fatal(msg)
	}
	e := newEnv(t, nil)
	src := screen(640, 400, 7)
	e.display.show(src)
	_, p, _ := net.SplitHostPort(e.addr)
	port, _ := strconv.Atoi(p)
	if port < 5900 {
		t.Skipf("port %d: vncsnapshot names a server by display, port 5900+N", port)
	}
	display := "127.0.0.1:" + strconv.Itoa(port-5900)
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, ObfuscatePassword(vncControl), 0o600); err != nil {
		t.Fatal(err)
	}
	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(wrong, ObfuscatePassword("nothing"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(pw string, args ...string) (string, []byte, error) {
		out := filepath.Join(dir, "snap.jpg")
		os.Remove(out)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		argv := append([]string{"-passwd", pw, "-quality", "95"}, args...)
		log, err := exec.CommandContext(ctx, bin, append(argv, display, out)...).CombinedOutput()
		return out, log, err
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default encodings", nil},
		{"Tight JPEG", []string{"-encodings", "tight", "-jpeg", "-vncQuality", "8"}},
		{"Tight lossless", []string{"-encodings", "tight", "-nojpeg"}},
		{"Raw", []string{"-encodings", "raw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, log, err := run(passwd, tc.args...)
			if err != nil {
				t.Fatalf("vncsnapshot: %v\n%s", err, log)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := jpeg.Decode(f)
			if err != nil {
				t.Fatalf("the snapshot is no JPEG: %v", err)
			}
			if img.Bounds() != src.Bounds() {
				t.Fatalf("snapshot of %v, want %v", img.Bounds(), src.Bounds())
			}
			var sum, n int
			for y := 0; y < 400; y++ {
				for x := 0; x < 640; x++ {
					r, g, b, _ := img.At(x, y).RGBA()
					w := src.RGBAAt(x, y)
					for _, d := range []int{int(r>>8) - int(w.R), int(g>>8) - int(w.G), int(b>>8) - int(w.B)} {
						sum += max(d, -d)
						n++
					}
				}
			}
			if mean := float64(sum) / float64(n); mean > 6 {
				t.Errorf("mean error %.2f per channel", mean)
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		if _, log, err := run(wrong); err == nil {
			t.Fatalf("vncsnapshot got in with a wrong password:\n%s", log)
		}
	})
}
