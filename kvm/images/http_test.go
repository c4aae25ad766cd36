package images

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve mounts the store as the caller does: the API at /images/, the
// media URLs at /media/.
func serve(t *testing.T, s *Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/images/", s.Handler())
	mux.Handle("/images", s.Handler())
	mux.Handle("/media/", s.MediaHandler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type exchange struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader, header ...string) exchange {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if r, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(r.Len())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return exchange{resp.StatusCode, resp.Header, b}
}

func entryOf(t *testing.T, e exchange) Entry {
	t.Helper()
	var v Entry
	if err := json.Unmarshal(e.body, &v); err != nil {
		t.Fatalf("%v: %s", err, e.body)
	}
	return v
}

func TestHTTPUploadListDownload(t *testing.T) {
	var inUse atomic.Bool
	s, _ := newStore(t, Options{MaxSize: 1 << 20, InUse: func(string) bool { return inUse.Load() }})
	srv := serve(t, s)
	iso := isoBytes(64 << 10)

	// PUT the raw body, as curl -T and a browser's fetch do.
	put := do(t, http.MethodPut, srv.URL+"/images/boot.iso", bytes.NewReader(iso))
	if put.status != http.StatusCreated || put.header.Get("Location") != "/images/boot.iso" {
		t.Fatalf("PUT: %d %v %s", put.status, put.header, put.body)
	}
	e := entryOf(t, put)
	if e.Name != "boot.iso" || e.Size != int64(len(iso)) || e.SHA256 != sum(iso) || e.MediaType != MediaISO9660 ||
		!strings.HasPrefix(e.URL, srv.URL+"/media/") || !strings.HasSuffix(e.URL, "/boot.iso") {
		t.Errorf("entry %+v", e)
	}

	// The listing.
	var l Listing
	lr := do(t, http.MethodGet, srv.URL+"/images/", nil)
	if err := json.Unmarshal(lr.body, &l); err != nil || lr.status != http.StatusOK {
		t.Fatalf("list: %d %s", lr.status, lr.body)
	}
	if len(l.Images) != 1 || l.Images[0] != e || l.MaxSize != 1<<20 || l.FreeSpace <= 0 {
		t.Errorf("listing %+v", l)
	}
	if lr2 := do(t, http.MethodGet, srv.URL+"/images", nil); lr2.status != http.StatusOK {
		t.Errorf("list without the slash: %d", lr2.status)
	}

	// Download, whole and by range, from the API and the media URL.
	for _, u := range []string{srv.URL + "/images/boot.iso", e.URL} {
		g := do(t, http.MethodGet, u, nil)
		if g.status != http.StatusOK || !bytes.Equal(g.body, iso) || g.header.Get("ETag") != `"`+e.SHA256+`"` {
			t.Errorf("GET %s: %d, %d bytes, %v", u, g.status, len(g.body), g.header)
		}
		r := do(t, http.MethodGet, u, nil, "Range", "bytes=32769-32773")
		if r.status != http.StatusPartialContent || string(r.body) != "CD001" ||
			r.header.Get("Content-Range") != fmt.Sprintf("bytes 32769-32773/%d", len(iso)) {
			t.Errorf("Range %s: %d %q %v", u, r.status, r.body, r.header)
		}
		h := do(t, http.MethodHead, u, nil)
		if h.status != http.StatusOK || h.header.Get("Content-Length") != fmt.Sprint(len(iso)) {
			t.Errorf("HEAD %s: %d %v", u, h.status, h.header)
		}
	}
	if g := do(t, http.MethodGet, srv.URL+"/images/boot.iso", nil); g.header.Get("Content-Disposition") != `attachment; filename="boot.iso"` {
		t.Errorf("Content-Disposition %q", g.header.Get("Content-Disposition"))
	}

	// The media URL needs its token; it is read-only.
	bad := strings.Replace(e.URL, "/media/", "/media/00", 1)
	for _, u := range []string{bad, srv.URL + "/media/boot.iso", srv.URL + "/media/zz/boot.iso"} {
		if g := do(t, http.MethodGet, u, nil); g.status != http.StatusNotFound {
			t.Errorf("GET %s: %d", u, g.status)
		}
	}
	if g := do(t, http.MethodPut, e.URL, bytes.NewReader([]byte("x"))); g.status != http.StatusMethodNotAllowed || g.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("PUT to the media URL: %d %v", g.status, g.header)
	}

	// Multipart, as an HTML form posts it.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("name", "usb.img")
	fw, _ := mw.CreateFormFile("file", "C:\\Users\\me\\ignored.bin")
	raw := content(3000, 5)
	_, _ = fw.Write(raw)
	_ = mw.Close()
	p := do(t, http.MethodPost, srv.URL+"/images/", bytes.NewReader(form.Bytes()), "Content-Type", mw.FormDataContentType())
	if pe := entryOf(t, p); p.status != http.StatusCreated || pe.Name != "usb.img" || pe.SHA256 != sum(raw) || pe.MediaType != MediaRaw {
		t.Errorf("POST: %d %s", p.status, p.body)
	}
	form.Reset()
	mw = multipart.NewWriter(&form)
	fw, _ = mw.CreateFormFile("file", "named-by-file.iso")
	_, _ = fw.Write(iso)
	_ = mw.Close()
	if p := do(t, http.MethodPost, srv.URL+"/images/", bytes.NewReader(form.Bytes()), "Content-Type", mw.FormDataContentType()); p.status != http.StatusCreated || entryOf(t, p).Name != "named-by-file.iso" {
		t.Errorf("POST by file name: %d %s", p.status, p.body)
	}

	// Replacing answers 200, and the old URL dies.
	r := do(t, http.MethodPut, srv.URL+"/images/boot.iso", bytes.NewReader(raw))
	if r.status != http.StatusOK || entryOf(t, r).URL == e.URL {
		t.Errorf("replace: %d %s", r.status, r.body)
	}
	if g := do(t, http.MethodGet, e.URL, nil); g.status != http.StatusNotFound {
		t.Errorf("old URL: %d", g.status)
	}

	// In use: neither deleted nor replaced.
	inUse.Store(true)
	for _, m := range []string{http.MethodDelete, http.MethodPut} {
		if d := do(t, m, srv.URL+"/images/boot.iso", bytes.NewReader(raw)); d.status != http.StatusConflict {
			t.Errorf("%s in use: %d %s", m, d.status, d.body)
		}
	}
	inUse.Store(false)
	if d := do(t, http.MethodDelete, srv.URL+"/images/boot.iso", nil); d.status != http.StatusNoContent {
		t.Errorf("DELETE: %d %s", d.status, d.body)
	}
	if g := do(t, http.MethodGet, srv.URL+"/images/boot.iso", nil); g.status != http.StatusNotFound {
		t.Errorf("GET deleted: %d", g.status)
	}
}

func TestHTTPErrors(t *testing.T) {
	s, dir := newStore(t, Options{MaxSize: 1000, FreeSpace: func() (int64, error) { return 500, nil }})
	srv := serve(t, s)
	for _, tc := range []struct {
		what, method, path string
		body               io.Reader
		header             []string
		status             int
	}{
		{"over the limit", http.MethodPut, "/images/a", bytes.NewReader(content(1001, 0)), nil, http.StatusRequestEntityTooLarge},
		{"over the free space", http.MethodPut, "/images/a", bytes.NewReader(content(501, 0)), nil, http.StatusInsufficientStorage},
		{"empty", http.MethodPut, "/images/a", bytes.NewReader(nil), nil, http.StatusBadRequest},
		{"bad name", http.MethodPut, "/images/a%20b", bytes.NewReader([]byte("x")), nil, http.StatusBadRequest},
		{"hidden name", http.MethodPut, "/images/.meta", bytes.NewReader([]byte("x")), nil, http.StatusBadRequest},
		{"a path", http.MethodPut, "/images/a%2Fb", bytes.NewReader([]byte("x")), nil, http.StatusNotFound},
		{"two segments", http.MethodGet, "/images/a/b", nil, nil, http.StatusNotFound},
		{"missing", http.MethodGet, "/images/none", nil, nil, http.StatusNotFound},
		{"delete missing", http.MethodDelete, "/images/none", nil, nil, http.StatusNotFound},
		{"bad Content-Range", http.MethodPut, "/images/a", bytes.NewReader([]byte("x")), []string{"Content-Range", "bytes 0-0"}, http.StatusBadRequest},
		{"Content-Range past its total", http.MethodPut, "/images/a", bytes.NewReader([]byte("x")), []string{"Content-Range", "bytes 5-5/5"}, http.StatusBadRequest},
		{"Content-Range and Content-Length disagree", http.MethodPut, "/images/a", bytes.NewReader([]byte("xy")), []string{"Content-Range", "bytes 0-0/5"}, http.StatusBadRequest},
		{"POST without multipart", http.MethodPost, "/images/", bytes.NewReader([]byte("x")), []string{"Content-Type", "application/octet-stream"}, http.StatusUnsupportedMediaType},
		{"PATCH", http.MethodPatch, "/images/a", nil, nil, http.StatusMethodNotAllowed},
		{"DELETE the root", http.MethodDelete, "/images/", nil, nil, http.StatusMethodNotAllowed},
		// A browser sending a change from another site (the session
		// cookie would authenticate it).
		{"cross-origin PUT", http.MethodPut, "/images/a", bytes.NewReader([]byte("x")), []string{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}, http.StatusForbidden},
		{"cross-origin POST", http.MethodPost, "/images/", bytes.NewReader([]byte("x")), []string{"Origin", "https://evil.example", "Content-Type", "multipart/form-data; boundary=x"}, http.StatusForbidden},
	} {
		e := do(t, tc.method, srv.URL+tc.path, tc.body, tc.header...)
		if e.status != tc.status || e.header.Get("Content-Type") != "application/json" && e.status != http.StatusForbidden {
			t.Errorf("%s: %d %v %s, want %d", tc.what, e.status, e.header, e.body, tc.status)
		}
	}
	if e := do(t, http.MethodPatch, srv.URL+"/images/a", nil); e.header.Get("Allow") != "GET, HEAD, PUT, DELETE" {
		t.Errorf("Allow %q", e.header.Get("Allow"))
	}
	// A same-origin browser request goes through.
	if e := do(t, http.MethodPut, srv.URL+"/images/a", bytes.NewReader([]byte("x")), "Sec-Fetch-Site", "same-origin", "Origin", srv.URL); e.status != http.StatusCreated {
		t.Errorf("same-origin PUT: %d %s", e.status, e.body)
	}
	if got := files(t, dir); len(got) != 2 {
		t.Errorf("files %v", got)
	}
}

func TestHTTPResume(t *testing.T) {
	s, _ := newStore(t, Options{})
	srv := serve(t, s)
	b := isoBytes(50 << 10)
	n := len(b)
	u := srv.URL + "/images/big.iso"
	cr := func(a, z int) string { return fmt.Sprintf("bytes %d-%d/%d", a, z, n) }

	// Nothing yet: start at 0.
	q := do(t, http.MethodPut, u, nil, "Content-Range", fmt.Sprintf("bytes */%d", n))
	if q.status != http.StatusNoContent || q.header.Get(UploadOffsetHeader) != "0" {
		t.Fatalf("query: %d %v", q.status, q.header)
	}
	// The first piece (curl -C sends "bytes OFFSET-LAST/TOTAL").
	p := do(t, http.MethodPut, u, bytes.NewReader(b[:20000]), "Content-Range", cr(0, 19999))
	if p.status != http.StatusNoContent || p.header.Get(UploadOffsetHeader) != "20000" {
		t.Fatalf("piece: %d %v %s", p.status, p.header, p.body)
	}
	if g := do(t, http.MethodGet, u, nil); g.status != http.StatusNotFound {
		t.Errorf("incomplete image: %d", g.status)
	}
	q = do(t, http.MethodPut, u, nil, "Content-Range", fmt.Sprintf("bytes */%d", n))
	if q.header.Get(UploadOffsetHeader) != "20000" {
		t.Errorf("query: %v", q.header)
	}
	if q := do(t, http.MethodPut, u, nil, "Content-Range", fmt.Sprintf("bytes */%d", n+1)); q.header.Get(UploadOffsetHeader) != "0" {
		t.Errorf("query with another total: %v", q.header)
	}
	// A piece that does not continue: 409 and where it stands.
	c := do(t, http.MethodPut, u, bytes.NewReader(b[30000:]), "Content-Range", cr(30000, n-1))
	if c.status != http.StatusConflict || c.header.Get(UploadOffsetHeader) != "20000" {
		t.Errorf("gap: %d %v", c.status, c.header)
	}
	// The rest completes it.
	d := do(t, http.MethodPut, u, bytes.NewReader(b[20000:]), "Content-Range", cr(20000, n-1))
	if d.status != http.StatusCreated || entryOf(t, d).SHA256 != sum(b) {
		t.Fatalf("last piece: %d %s", d.status, d.body)
	}
	g := do(t, http.MethodGet, u, nil)
	if !bytes.Equal(g.body, b) {
		t.Error("content differs")
	}
}

// A client whose connection drops mid-upload: nothing visible, and the
// bytes that came are there to resume from.
func TestHTTPDroppedConnection(t *testing.T) {
	s, _ := newStore(t, Options{})
	srv := serve(t, s)
	b := content(3<<20, 7)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/images/drop.img", pr)
	req.ContentLength = int64(len(b))
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	if _, err := pw.Write(b[:1<<20]); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(errDropped) // the client aborts: the connection closes
	<-errc
	var off int64
	for range 200 { // the server notices the closed connection
		if o, _, ok := s.Pending("drop.img"); ok {
			off = o
			break
		}
		waitABit()
	}
	if off <= 0 || off > 1<<20 {
		t.Fatalf("offset %d", off)
	}
	if _, err := s.Get("drop.img"); err == nil {
		t.Error("the image is visible")
	}
	d := do(t, http.MethodPut, srv.URL+"/images/drop.img", bytes.NewReader(b[off:]), "Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, len(b)-1, len(b)))
	if d.status != http.StatusCreated || entryOf(t, d).SHA256 != sum(b) {
		t.Errorf("resume: %d %s", d.status, d.body)
	}
}

func waitABit() { time.Sleep(10 * time.Millisecond) }
