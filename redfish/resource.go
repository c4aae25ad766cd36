package redfish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/internal/auth"
)

// resource is one URI's handlers. The wrapper built by serve does, once for
// every resource, what the Redfish specification asks of each: the Allow
// header, 405 with an error body, authentication, the privilege check,
// OData headers, ETag and If-None-Match on GET, If-Match on PATCH.
type resource struct {
	get    func(r *http.Request) (any, error)
	patch  func(r *http.Request) error
	post   func(w http.ResponseWriter, r *http.Request) error // writes its own success reply
	delete func(r *http.Request) error

	// version, when set and complete, says the GET rendering depends only
	// on state that this number tracks, so it can be served from cache.
	version func(r *http.Request) (uint64, bool)

	// Privileges required per method. GET needs Login unless public; a
	// privilege of "" means the handler checks for itself (ConfigureSelf).
	patchPriv, postPriv, deletePriv auth.Privilege
	public                          bool // GET without credentials (ServiceRoot, $metadata)
	publicPost                      bool // POST without credentials (login)
}

func (res *resource) allow() string {
	m := []string{}
	if res.get != nil {
		m = append(m, "GET", "HEAD")
	}
	if res.patch != nil {
		m = append(m, "PATCH")
	}
	if res.post != nil {
		m = append(m, "POST")
	}
	if res.delete != nil {
		m = append(m, "DELETE")
	}
	return strings.Join(m, ", ")
}

var etagSeed = maphash.MakeSeed()

// etagOf is the strong entity tag of a rendered body.
func etagOf(body []byte) string {
	return fmt.Sprintf(`"%016x"`, maphash.Bytes(etagSeed, body))
}

// etagMatch compares entity tags as Redfish clients send them: weak and
// strong forms of the same tag match; "*" matches anything.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// render marshals a GET result and splices its @odata.etag in, returning
// the body and the tag.
func render(v any) ([]byte, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, "", err
	}
	etag := etagOf(b)
	if len(b) > 2 && b[0] == '{' {
		var buf bytes.Buffer
		buf.Grow(len(b) + 48)
		buf.WriteString(`{"@odata.etag":`)
		q, _ := json.Marshal(etag)
		buf.Write(q)
		buf.WriteByte(',')
		buf.Write(b[1:])
		b = buf.Bytes()
	}
	return b, etag, nil
}

func (s *Service) serve(res *resource) http.HandlerFunc {
	allow := res.allow()
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("OData-Version", "4.0")
		h.Set("Allow", allow)
		h.Set("Cache-Control", "no-cache")
		var (
			need   auth.Privilege
			public bool
		)
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			if res.get == nil {
				writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
				return
			}
			need, public = auth.PrivLogin, res.public
		case http.MethodPatch:
			need = res.patchPriv
			if res.patch == nil {
				writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
				return
			}
		case http.MethodPost:
			need, public = res.postPriv, res.publicPost
			if res.post == nil {
				writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
				return
			}
		case http.MethodDelete:
			need = res.deletePriv
			if res.delete == nil {
				writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
				return
			}
		default:
			writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
			return
		}
		if !public {
			p, err := s.authenticate(w, r)
			if err != nil {
				writeError(w, err)
				return
			}
			if need != "" && !p.Account.Role.Has(need) {
				writeError(w, apiErr(http.StatusForbidden, "InsufficientPrivilege"))
				return
			}
			r = r.WithContext(withPrincipal(r.Context(), p))
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxRequestBodySize)
		}
		var err error
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			err = s.serveGet(w, r, res)
		case http.MethodPatch:
			if err = s.checkIfMatch(r, res); err == nil {
				if err = res.patch(r); err == nil {
					w.WriteHeader(http.StatusNoContent)
				}
			}
		case http.MethodPost:
			err = res.post(w, r)
		case http.MethodDelete:
			if err = res.delete(r); err == nil {
				w.WriteHeader(http.StatusNoContent)
			}
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = fromHardware(err)
			}
			if ae.status >= 500 {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			} else if ae.cause != nil {
				s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", ae.status, "cause", ae.cause)
			}
			writeError(w, ae)
		}
	}
}

func (s *Service) serveGet(w http.ResponseWriter, r *http.Request, res *resource) error {
	if res.version != nil {
		if ver, ok := res.version(r); ok {
			c, err := s.cache.get(r.URL.Path, ver, func() (any, error) { return res.get(r) })
			if err != nil {
				return err
			}
			return writeRendered(w, r, c.body, c.etag)
		}
	}
	v, err := res.get(r)
	if err != nil {
		return err
	}
	if sd, ok := v.(statusDocument); ok {
		for k, vs := range sd.header {
			w.Header()[k] = vs
		}
		if sd.body == nil {
			w.WriteHeader(sd.status)
			return nil
		}
		writeJSON(w, sd.status, sd.body)
		return nil
	}
	if raw, ok := v.(rawDocument); ok {
		w.Header().Set("Content-Type", raw.contentType)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(raw.body)
		}
		return nil
	}
	body, etag, err := render(v)
	if err != nil {
		return internalError(err)
	}
	return writeRendered(w, r, body, etag)
}

func writeRendered(w http.ResponseWriter, r *http.Request, body []byte, etag string) error {
	h := w.Header()
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
	return nil
}

// checkIfMatch enforces If-Match on a PATCH against the resource's current
// representation.
func (s *Service) checkIfMatch(r *http.Request, res *resource) error {
	im := r.Header.Get("If-Match")
	if im == "" || res.get == nil {
		return nil
	}
	v, err := res.get(r)
	if err != nil {
		return err
	}
	_, etag, err := render(v)
	if err != nil {
		return internalError(err)
	}
	if !etagMatch(im, etag) {
		return apiErr(http.StatusPreconditionFailed, "PreconditionFailed")
	}
	return nil
}

// rawDocument is a GET result served as is ($metadata, registries).
type rawDocument struct {
	contentType string
	body        []byte
}

// link is a reference to another resource.
type link struct {
	ID string `json:"@odata.id"`
}

// M is a JSON object under construction.
type M = map[string]any

func collection(typ, name, path string, members []string) M {
	ms := make([]link, len(members))
	for i, m := range members {
		ms[i] = link{m}
	}
	return M{
		"@odata.type":         "#" + typ + "." + typ,
		"@odata.id":           path,
		"Name":                name,
		"Members":             ms,
		"Members@odata.count": len(ms),
	}
}
