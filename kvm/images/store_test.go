package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// isoBytes is n bytes that start like an ISO 9660 image ("CD001" at 32769).
func isoBytes(n int) []byte {
	b := content(n, 1)
	copy(b[32769:], "CD001")
	return b
}

// content is n bytes that differ with seed.
func content(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>9) ^ seed
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newStore(t *testing.T, o Options) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func whole(name string, b []byte) Upload {
	return Upload{Name: name, Body: bytes.NewReader(b), Length: int64(len(b)), Total: int64(len(b))}
}

// visible lists the files a crashed or failed upload must not leave
// outside .upload/.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestPutAndRead(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	s, _ := newStore(t, Options{Now: func() time.Time { return now }})
	iso, raw := isoBytes(40<<10), content(1000, 2)
	for _, tc := range []struct {
		name, mediaType string
		b               []byte
		u               Upload
	}{
		{"boot.iso", MediaISO9660, iso, whole("boot.iso", iso)},
		{"disk.img", MediaRaw, raw, whole("disk.img", raw)},
		{"short", MediaRaw, []byte("x"), whole("short", []byte("x"))},
		// A body of unknown length (multipart, chunked).
		{"stream.iso", MediaISO9660, iso, Upload{Name: "stream.iso", Body: bytes.NewReader(iso), Length: -1, Total: -1}},
	} {
		p, err := s.Put(context.Background(), tc.u)
		if err != nil || !p.Done || p.Replaced {
			t.Fatalf("%s: %+v, %v", tc.name, p, err)
		}
		want := Image{Name: tc.name, Size: int64(len(tc.b)), SHA256: sum(tc.b), Uploaded: now.Truncate(time.Second), MediaType: tc.mediaType}
		if p.Image != want {
			t.Errorf("%s: %+v, want %+v", tc.name, p.Image, want)
		}
		if got, err := s.Get(tc.name); err != nil || got != want {
			t.Errorf("Get(%s) = %+v, %v", tc.name, got, err)
		}
		f, img, err := s.Open(tc.name)
		if err != nil || img != want {
			t.Fatalf("Open(%s): %+v %v", tc.name, img, err)
		}
		got, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Equal(got, tc.b) {
			t.Errorf("%s: content differs", tc.name)
		}
		if p, err := s.Path(tc.name); err != nil || filepath.Dir(p) != filepath.Join(s.dir, ".data") {
			t.Errorf("Path(%s) = %s, %v", tc.name, p, err)
		}
	}
	var names []string
	for _, img := range s.List() {
		names = append(names, img.Name)
	}
	if want := []string{"boot.iso", "disk.img", "short", "stream.iso"}; !equal(names, want) {
		t.Errorf("List %v, want %v", names, want)
	}
	// Replacing is one step: the new content, a new token.
	oldURL, _ := s.URL("https://bmc", "disk.img")
	p, err := s.Put(context.Background(), whole("disk.img", iso))
	if err != nil || !p.Replaced || p.Image.SHA256 != sum(iso) || p.Image.MediaType != MediaISO9660 {
		t.Fatalf("replace: %+v, %v", p, err)
	}
	if newURL, _ := s.URL("https://bmc", "disk.img"); newURL == oldURL {
		t.Errorf("the URL survived a replacement: %s", newURL)
	}
	if n := len(files(t, filepath.Join(s.dir, ".data"))); n != 4 {
		t.Errorf("%d data files for 4 images", n)
	}
	for _, name := range []string{"nope", "../x"} {
		if _, err := s.Get(name); err == nil {
			t.Errorf("Get(%q) found something", name)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPutRefused(t *testing.T) {
	free := int64(1 << 20)
	s, dir := newStore(t, Options{MaxSize: 4096, FreeSpace: func() (int64, error) { return free, nil }})
	big := content(5000, 3)
	for _, tc := range []struct {
		what string
		u    Upload
		want error
	}{
		{"declared over the limit", whole("big", big), ErrTooLarge},
		{"streamed over the limit", Upload{Name: "big", Body: bytes.NewReader(big), Length: -1, Total: -1}, ErrTooLarge},
		{"empty", whole("empty", nil), ErrInvalid},
		{"empty stream", Upload{Name: "empty", Body: bytes.NewReader(nil), Length: -1, Total: -1}, ErrInvalid},
		{"bad name", whole("../etc/passwd", []byte("x")), ErrInvalid},
		{"hidden name", whole(".meta", []byte("x")), ErrInvalid},
		{"piece without a total", Upload{Name: "p", Body: bytes.NewReader([]byte("x")), Start: 1, Length: 1, Total: -1}, ErrInvalid},
		{"piece beyond the total", Upload{Name: "p", Body: bytes.NewReader([]byte("xy")), Start: 9, Length: 2, Total: 10}, ErrInvalid},
		{"body longer than declared", Upload{Name: "long", Body: bytes.NewReader([]byte("xyz")), Length: 2, Total: 10}, ErrInvalid},
	} {
		if _, err := s.Put(context.Background(), tc.u); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
	}
	// Less free space than the upload declares.
	free = 100
	if _, err := s.Put(context.Background(), whole("a", content(101, 0))); !errors.Is(err, ErrNoSpace) {
		t.Errorf("no space: %v", err)
	}
	if _, err := s.Put(context.Background(), Upload{Name: "a", Body: bytes.NewReader(content(10, 0)), Length: -1, Total: -1, SizeHint: 200}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("no space for the size hint: %v", err)
	}
	if _, err := s.Put(context.Background(), whole("a", content(100, 0))); err != nil {
		t.Errorf("exactly the free space: %v", err)
	}
	if got := files(t, dir); !equal(got, []string{".data/" + mustBlob(t, s, "a"), ".meta/a.json"}) {
		t.Errorf("refused uploads left %v", got)
	}
}

func mustBlob(t *testing.T, s *Store, name string) string {
	t.Helper()
	p, err := s.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p)
}

// brokenBody gives n bytes of b, then fails, as a client's connection
// that drops does.
type brokenBody struct {
	r io.Reader
}

var errDropped = errors.New("connection reset by peer")

func (b *brokenBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, errDropped
	}
	return n, err
}

func broken(b []byte, n int) io.Reader { return &brokenBody{bytes.NewReader(b[:n])} }

func TestBrokenBodyLeavesNothingVisible(t *testing.T) {
	s, dir := newStore(t, Options{})
	old := content(3000, 1)
	if _, err := s.Put(context.Background(), whole("img", old)); err != nil {
		t.Fatal(err)
	}
	oldImg, _ := s.Get("img")
	oldURL, _ := s.URL("https://bmc", "img")
	b := content(5000, 9)
	for _, tc := range []struct {
		what string
		u    Upload
		kept int64 // bytes kept for resuming
	}{
		{"known length", Upload{Name: "img", Body: broken(b, 1234), Length: 5000, Total: 5000}, 1234},
		{"a body shorter than declared", Upload{Name: "img", Body: bytes.NewReader(b[:77]), Length: 5000, Total: 5000}, 77},
		{"unknown length", Upload{Name: "img", Body: broken(b, 1234), Length: -1, Total: -1}, -1},
		{"new name", Upload{Name: "new", Body: broken(b, 10), Length: 5000, Total: 5000}, 10},
	} {
		p, err := s.Put(context.Background(), tc.u)
		if !errors.Is(err, ErrIncomplete) || p.Done {
			t.Errorf("%s: %+v, %v", tc.what, p, err)
		}
		if img, err := s.Get("img"); err != nil || img != oldImg {
			t.Errorf("%s: the image is now %+v, %v", tc.what, img, err)
		}
		if u, _ := s.URL("https://bmc", "img"); u != oldURL {
			t.Errorf("%s: URL changed", tc.what)
		}
		if _, err := s.Get("new"); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: the new image is visible: %v", tc.what, err)
		}
		off, _, ok := s.Pending(tc.u.Name)
		if (tc.kept >= 0) != ok || (ok && off != tc.kept) {
			t.Errorf("%s: pending %d %v, want %d", tc.what, off, ok, tc.kept)
		}
	}
	f, _, _ := s.Open("img")
	got, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(got, old) {
		t.Error("the old image's content changed")
	}
	if n := len(files(t, filepath.Join(dir, ".data"))); n != 1 {
		t.Errorf("%d data files", n)
	}
	// A cancelled request is an interrupted one.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, whole("img", b)); !errors.Is(err, ErrIncomplete) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestResume(t *testing.T) {
	s, dir := newStore(t, Options{})
	b := isoBytes(100 << 10)
	total := int64(len(b))
	piece := func(start, end int64) Upload {
		return Upload{Name: "r.iso", Body: bytes.NewReader(b[start:end]), Start: start, Length: end - start, Total: total}
	}
	p, err := s.Put(context.Background(), piece(0, 30000))
	if err != nil || p.Done || p.Offset != 30000 || p.Total != total {
		t.Fatalf("first piece: %+v, %v", p, err)
	}
	if _, err := s.Get("r.iso"); !errors.Is(err, ErrNotFound) {
		t.Errorf("an incomplete upload is visible: %v", err)
	}
	// A piece that does not continue it, or of another total.
	var oe *OffsetError
	if _, err := s.Put(context.Background(), piece(40000, 50000)); !errors.As(err, &oe) || oe.Offset != 30000 {
		t.Errorf("a gap: %v", err)
	}
	other := Upload{Name: "r.iso", Body: bytes.NewReader(b[30000:31000]), Start: 30000, Length: 1000, Total: total + 1}
	if _, err := s.Put(context.Background(), other); !errors.As(err, &oe) || oe.Want != total {
		t.Errorf("another total: %v", err)
	}
	if _, err := s.Put(context.Background(), Upload{Name: "none", Body: bytes.NewReader(b[:10]), Start: 5, Length: 10, Total: 100}); !errors.As(err, &oe) || oe.Offset != 0 {
		t.Errorf("no upload to continue: %v", err)
	}

	// A piece that breaks keeps what came, across a restart of bmcd.
	u := piece(30000, total)
	u.Body = broken(b[30000:], 20000)
	if p, err := s.Put(context.Background(), u); !errors.Is(err, ErrIncomplete) || p.Offset != 50000 {
		t.Fatalf("broken piece: %+v, %v", p, err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if off, tot, ok := s.Pending("r.iso"); !ok || off != 50000 || tot != total {
		t.Fatalf("after reopening: %d/%d %v", off, tot, ok)
	}
	p, err = s.Put(context.Background(), Upload{Name: "r.iso", Body: bytes.NewReader(b[50000:]), Start: 50000, Length: -1, Total: total})
	if err != nil || !p.Done || p.Image.SHA256 != sum(b) || p.Image.Size != total || p.Image.MediaType != MediaISO9660 {
		t.Fatalf("last piece: %+v, %v", p, err)
	}
	if _, _, ok := s.Pending("r.iso"); ok {
		t.Error("the upload is still pending")
	}
	if got := files(t, filepath.Join(dir, ".upload")); len(got) != 0 {
		t.Errorf("left in .upload: %v", got)
	}
	// Starting again at 0 drops an interrupted upload.
	if _, err := s.Put(context.Background(), Upload{Name: "x", Body: broken(b, 100), Length: total, Total: total}); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	if p, err := s.Put(context.Background(), whole("x", b[:10])); err != nil || !p.Done || p.Image.SHA256 != sum(b[:10]) {
		t.Errorf("restart: %+v, %v", p, err)
	}
	// Delete drops an interrupted upload too.
	if _, err := s.Put(context.Background(), Upload{Name: "y", Body: broken(b, 100), Length: total, Total: total}); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	if err := s.Delete("y"); err != nil {
		t.Errorf("delete pending: %v", err)
	}
	if _, _, ok := s.Pending("y"); ok {
		t.Error("still pending")
	}
}

func TestOpenRemovesLeftovers(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, dir := newStore(t, Options{Now: clock})
	b := content(500, 4)
	if _, err := s.Put(context.Background(), whole("keep", b)); err != nil {
		t.Fatal(err)
	}
	u1, _ := s.URL("https://bmc", "keep")
	if _, err := s.Put(context.Background(), Upload{Name: "late", Body: broken(b, 10), Length: 500, Total: 500}); !errors.Is(err, ErrIncomplete) {
		t.Fatal(err)
	}
	// What crashes leave: a temporary metadata file, data no image
	// names, metadata whose data is gone, half of a pending upload.
	write := func(rel string) {
		if err := os.WriteFile(filepath.Join(dir, rel), []byte("junk"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".meta/.tmp-0011")
	write(".data/00112233")
	write(".meta/ghost.json")
	write(".upload/half.part")
	write(".upload/other.state")
	s, err := Open(dir, Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if u2, _ := s.URL("https://bmc", "keep"); u2 != u1 {
		t.Errorf("URL %s became %s", u1, u2)
	}
	if got, want := files(t, dir), []string{".data/" + mustBlob(t, s, "keep"), ".meta/keep.json", ".upload/late.part", ".upload/late.state"}; !equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	// An interrupted upload is kept for PendingTTL.
	now = now.Add(DefaultPendingTTL + time.Hour)
	if s, err = Open(dir, Options{Now: clock}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Pending("late"); ok {
		t.Error("an expired upload is still pending")
	}
	if len(s.List()) != 1 {
		t.Errorf("List %v", s.List())
	}
}

func TestDeleteInUse(t *testing.T) {
	inUse := map[string]bool{}
	var mu sync.Mutex
	s, _ := newStore(t, Options{InUse: func(n string) bool { mu.Lock(); defer mu.Unlock(); return inUse[n] }})
	if _, err := s.Put(context.Background(), whole("cd.iso", isoBytes(40<<10))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	inUse["cd.iso"] = true
	mu.Unlock()
	if err := s.Delete("cd.iso"); !errors.Is(err, ErrBusy) {
		t.Errorf("delete in use: %v", err)
	}
	if _, err := s.Put(context.Background(), whole("cd.iso", []byte("new"))); !errors.Is(err, ErrBusy) {
		t.Errorf("replace in use: %v", err)
	}
	mu.Lock()
	inUse["cd.iso"] = false
	mu.Unlock()
	if err := s.Delete("cd.iso"); err != nil {
		t.Errorf("delete: %v", err)
	}
	for _, name := range []string{"cd.iso", "never"} {
		if err := s.Delete(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("delete %s: %v", name, err)
		}
	}
	if err := s.Delete("../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("delete ../x: %v", err)
	}
	if len(s.List()) != 0 {
		t.Errorf("List %v", s.List())
	}
}

func TestConcurrentUploadsOfOneName(t *testing.T) {
	s, dir := newStore(t, Options{})
	// One upload in progress holds the name.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	first := content(2<<20, 1)
	go func() {
		_, err := s.Put(context.Background(), Upload{Name: "same", Body: pr, Length: int64(len(first)), Total: int64(len(first))})
		done <- err
	}()
	if _, err := pw.Write(first[:1<<20]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), whole("same", []byte("second"))); !errors.Is(err, ErrBusy) {
		t.Errorf("second upload: %v", err)
	}
	if err := s.Delete("same"); !errors.Is(err, ErrBusy) {
		t.Errorf("delete during the upload: %v", err)
	}
	if _, _, ok := s.Pending("same"); ok {
		t.Error("an upload in progress shows as pending")
	}
	if _, err := pw.Write(first[1<<20:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if img, _ := s.Get("same"); img.SHA256 != sum(first) {
		t.Errorf("after the first: %+v", img)
	}

	// Many at once: each completes or is refused as busy; the image is
	// whole and one of them.
	sums := map[string]bool{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 8 {
		b := content(256<<10+i, byte(i))
		sums[sum(b)] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Put(context.Background(), whole("race", b))
			if err != nil && !errors.Is(err, ErrBusy) {
				mu.Lock()
				t.Errorf("upload %d: %v", i, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	img, err := s.Get("race")
	if err != nil || !sums[img.SHA256] {
		t.Fatalf("race: %+v %v", img, err)
	}
	f, _, _ := s.Open("race")
	got, _ := io.ReadAll(f)
	f.Close()
	if sum(got) != img.SHA256 || int64(len(got)) != img.Size {
		t.Error("the content is not the image's")
	}
	if n := len(files(t, filepath.Join(dir, ".data"))); n != 2 {
		t.Errorf("%d data files for 2 images", n)
	}
}

func TestNameOf(t *testing.T) {
	s, _ := newStore(t, Options{})
	if _, err := s.Put(context.Background(), whole("a.iso", []byte("abc"))); err != nil {
		t.Fatal(err)
	}
	u, err := s.URL("https://10.0.0.1:8443", "a.iso")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, name string
	}{
		{u, "a.iso"},
		{"http://bmc.example/media/00ff/b.img", "b.img"},
		{"https://h/media/00ff/../x", ""},
		{"https://h/media//a.iso", ""},
		{"https://h/images/a.iso", ""},
		{"https://h/media/00ff/a/b", ""},
		{"::", ""},
	} {
		got, ok := s.NameOf(tc.url)
		if got != tc.name || ok != (tc.name != "") {
			t.Errorf("NameOf(%s) = %q %v, want %q", tc.url, got, ok, tc.name)
		}
	}
}
