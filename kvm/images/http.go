package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// UploadOffsetHeader carries how many bytes of an interrupted upload the
// store holds (the name of draft-ietf-httpbis-resumable-upload's header).
const UploadOffsetHeader = "Upload-Offset"

// Entry is an image as the HTTP API shows it: Image and the URL that
// reads it without credentials (Store.URL), for Redfish InsertMedia.
type Entry struct {
	Image
	URL string `json:"url"`
}

// Listing is the answer to GET of the API's root.
type Listing struct {
	Images []Entry `json:"images"`
	// MaxSize is the largest image the store takes, in bytes.
	MaxSize int64 `json:"maxSize"`
	// FreeSpace is the bytes free on the store's disk; -1 when unknown.
	FreeSpace int64 `json:"freeSpace"`
}

// Handler is the store's HTTP API, for the caller to mount at
// Options.Path behind its authentication (auth.Gate; the privileges are
// the caller's to choose, by method). Under that path:
//
//	GET    /          Listing (JSON)
//	POST   /          multipart/form-data upload: the first file part is
//	                  the image, named by a preceding "name" field or
//	                  else by the part's file name → 201 (200 when it
//	                  replaced an image) with the Entry, Location
//	PUT    /{name}    the body is the image (curl -T, a browser's fetch
//	                  with a File body) → 201/200 with the Entry; with
//	                  Content-Range "bytes S-E/T" the body is bytes S..E
//	                  of a T-byte image (a partial PUT, RFC 9110 §14.5):
//	                  204 with Upload-Offset until the last piece, which
//	                  answers as a whole upload does; with Content-Range
//	                  "bytes */T" and no body it asks where an
//	                  interrupted upload of T bytes stands: 204 with
//	                  Upload-Offset (0: start again)
//	GET    /{name}    the image (http.ServeContent: Range, If-Range,
//	                  ETag "<sha256>"); HEAD too
//	DELETE /{name}    204; the image and any interrupted upload
//
// Errors are JSON {"error": "..."}: 400 (ErrInvalid, ErrIncomplete, a bad
// Content-Range), 404, 405 (with Allow), 409 (ErrBusy; an *OffsetError,
// with Upload-Offset), 413 (ErrTooLarge), 415 (POST without multipart),
// 507 (ErrNoSpace). Requests that change something are refused (403) when
// a browser sends them from another origin (http.CrossOriginProtection),
// since a session cookie authenticates them.
func (s *Store) Handler() http.Handler {
	return http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.serveAPI))
}

func (s *Store) serveAPI(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, s.o.Path)
	if !ok {
		if r.URL.Path != strings.TrimSuffix(s.o.Path, "/") {
			writeError(w, http.StatusNotFound, "no such resource")
			return
		}
		rest = "" // the root without its slash
	}
	switch {
	case rest == "":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.serveList(w, r)
		case http.MethodPost:
			s.servePost(w, r)
		default:
			methodNotAllowed(w, "GET, HEAD, POST")
		}
	case strings.Contains(rest, "/"):
		writeError(w, http.StatusNotFound, "no such resource")
	default:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.serveDownload(w, r, rest)
		case http.MethodPut:
			s.servePut(w, r, rest)
		case http.MethodDelete:
			if err := s.Delete(rest); err != nil {
				s.writeStoreError(w, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			methodNotAllowed(w, "GET, HEAD, PUT, DELETE")
		}
	}
}

// MediaHandler serves images read-only and without credentials, for the
// caller to mount at Options.MediaPath outside any authentication:
// GET and HEAD of /{token}/{name} (Store.URL), with Range, as a backend
// fetching an InsertMedia image needs. A wrong token is 404, as a missing
// image is; a replaced or deleted image's old URL is 404 too.
func (s *Store) MediaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, _ := strings.CutPrefix(r.URL.Path, s.o.MediaPath)
		token, name, ok := strings.Cut(rest, "/")
		if !ok || !isHex(token) {
			writeError(w, http.StatusNotFound, "no such image")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		f, m, err := s.openToken(token, name)
		if err != nil {
			s.writeStoreError(w, err)
			return
		}
		defer f.Close()
		h := w.Header()
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Referrer-Policy", "no-referrer") // the URL is the capability
		serveImage(w, r, m.Image, f)
	})
}

// RequestOrigin is scheme://host of bmcd as the client of r reached it:
// the origin for Store.URL when a client asks for image URLs.
func RequestOrigin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func serveImage(w http.ResponseWriter, r *http.Request, img Image, content io.ReadSeeker) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+img.SHA256+`"`)
	http.ServeContent(w, r, "", img.Uploaded, content)
}

func (s *Store) entry(r *http.Request, img Image) Entry {
	u, _ := s.URL(RequestOrigin(r), img.Name) // "" if it was deleted meanwhile
	return Entry{Image: img, URL: u}
}

func (s *Store) serveList(w http.ResponseWriter, r *http.Request) {
	l := Listing{Images: []Entry{}, MaxSize: s.MaxSize(), FreeSpace: s.FreeSpace()}
	for _, img := range s.List() {
		l.Images = append(l.Images, s.entry(r, img))
	}
	writeJSON(w, http.StatusOK, l)
}

func (s *Store) serveDownload(w http.ResponseWriter, r *http.Request, name string) {
	f, img, err := s.Open(name)
	if err != nil {
		s.writeStoreError(w, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Disposition", `attachment; filename="`+img.Name+`"`) // names need no quoting
	serveImage(w, r, img, f)
}

func (s *Store) servePut(w http.ResponseWriter, r *http.Request, name string) {
	if err := CheckName(name); err != nil {
		s.writeStoreError(w, err)
		return
	}
	u := Upload{Name: name, Body: r.Body, Length: r.ContentLength, Total: r.ContentLength}
	if cr := r.Header.Get("Content-Range"); cr != "" {
		start, end, total, err := parseContentRange(cr)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if start < 0 { // "bytes */T": where does the upload stand?
			off, t, ok := s.Pending(name)
			if !ok || t != total {
				off = 0
			}
			w.Header().Set(UploadOffsetHeader, strconv.FormatInt(off, 10))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		u.Start, u.Length, u.Total = start, end-start+1, total
		if r.ContentLength >= 0 && r.ContentLength != u.Length {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Content-Length %d is not the %d bytes of Content-Range %s", r.ContentLength, u.Length, cr))
			return
		}
	}
	p, err := s.Put(r.Context(), u)
	if err != nil {
		if errors.Is(err, ErrIncomplete) && p.Total > 0 {
			w.Header().Set(UploadOffsetHeader, strconv.FormatInt(p.Offset, 10))
		}
		s.writeStoreError(w, err)
		return
	}
	if !p.Done {
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(p.Offset, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.writeCreated(w, r, p)
}

// maxNameField bounds the multipart "name" field read into memory.
const maxNameField = 1 << 10

func (s *Store) servePost(w http.ResponseWriter, r *http.Request) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, "POST takes multipart/form-data (or PUT the image to "+s.o.Path+"{name}): "+err.Error())
		return
	}
	name := ""
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			writeError(w, http.StatusBadRequest, "the form has no file part")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "multipart body: "+err.Error())
			return
		}
		if part.FileName() == "" {
			if part.FormName() == "name" {
				raw, err := io.ReadAll(io.LimitReader(part, maxNameField))
				if err != nil {
					writeError(w, http.StatusBadRequest, "multipart body: "+err.Error())
					return
				}
				name = string(raw)
			}
			continue
		}
		if name == "" {
			name = part.FileName()
		}
		p, err := s.Put(r.Context(), Upload{Name: name, Body: part, Length: -1, Total: -1, SizeHint: r.ContentLength})
		if err != nil {
			s.writeStoreError(w, err)
			return
		}
		s.writeCreated(w, r, p)
		return
	}
}

func (s *Store) writeCreated(w http.ResponseWriter, r *http.Request, p Progress) {
	w.Header().Set("Location", s.o.Path+p.Image.Name)
	status := http.StatusCreated
	if p.Replaced {
		status = http.StatusOK
	}
	writeJSON(w, status, s.entry(r, p.Image))
}

// parseContentRange parses "bytes S-E/T" (RFC 9110 §14.4), T known; start
// is -1 for "bytes */T".
func parseContentRange(h string) (start, end, total int64, err error) {
	bad := fmt.Errorf("Content-Range %q is not \"bytes FIRST-LAST/TOTAL\" or \"bytes */TOTAL\"", h)
	rest, ok := strings.CutPrefix(h, "bytes ")
	if !ok {
		return 0, 0, 0, bad
	}
	rng, tot, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, 0, bad
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil || total <= 0 {
		return 0, 0, 0, bad
	}
	if rng == "*" {
		return -1, -1, total, nil
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return 0, 0, 0, bad
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start || end >= total {
		return 0, 0, 0, bad
	}
	return start, end, total, nil
}

// writeStoreError answers with the status of err's class; the text of
// errors of no class (the disk's) is logged, not sent.
func (s *Store) writeStoreError(w http.ResponseWriter, err error) {
	var oe *OffsetError
	status := http.StatusInternalServerError
	switch {
	case errors.As(err, &oe):
		status = http.StatusConflict
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(oe.Offset, 10))
	case errors.Is(err, ErrInvalid), errors.Is(err, ErrIncomplete):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNoSpace):
		status = http.StatusInsufficientStorage
	case errors.Is(err, ErrBusy):
		status = http.StatusConflict
	}
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.o.Log.Error("image store", "err", err)
		msg = "internal error"
	}
	writeError(w, status, msg)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed; allowed: "+allow)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
