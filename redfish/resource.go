package redfish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// How long a request body may take to arrive: an ordinary body (64 KiB at
// most), and one of a resource that takes large bodies (a firmware image
// pushed in a multipart request).
// They are variables only so that tests can shorten them.
var (
	bodyReadTimeout      = 30 * time.Second
	largeBodyReadTimeout = 10 * time.Minute
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
	// deleteReply is delete for a resource whose deletion may be deferred
	// (DSP0266 "Operation apply time"): it writes its own success reply,
	// 204 or 202 with a task monitor.
	deleteReply func(w http.ResponseWriter, r *http.Request) error

	// version, when set and complete, says the GET rendering depends only
	// on state that this number tracks, so it can be served from cache.
	version func(r *http.Request) (uint64, bool)

	// Privileges required per method. GET needs Login unless public; a
	// privilege of "" means the handler checks for itself (ConfigureSelf).
	patchPriv, postPriv, deletePriv auth.Privilege
	public                          bool // GET without credentials (ServiceRoot, $metadata)
	publicPost                      bool // POST without credentials (login)
	// maxBody bounds a request body in bytes; 0 means maxRequestBodySize.
	maxBody int64
}

// isCollectionPost reports whether the resource at pattern creates
// members with POST (a resource collection) rather than being an action.
func (res *resource) isCollectionPost(pattern string) bool {
	return res.post != nil && !strings.Contains(pattern, "/Actions/")
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
	if res.delete != nil || res.deleteReply != nil {
		m = append(m, "DELETE")
	}
	return strings.Join(m, ", ")
}

var etagSeed = maphash.MakeSeed()

// etagOf is the strong entity tag of a rendered body, given whole or in
// consecutive pieces (the tag of their concatenation).
func etagOf(body ...[]byte) string {
	if len(body) == 1 {
		return fmt.Sprintf(`"%016x"`, maphash.Bytes(etagSeed, body[0]))
	}
	var h maphash.Hash
	h.SetSeed(etagSeed)
	for _, b := range body {
		_, _ = h.Write(b)
	}
	return fmt.Sprintf(`"%016x"`, h.Sum64())
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
			if res.delete == nil && res.deleteReply == nil {
				writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
				return
			}
		default:
			writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
			return
		}
		q, qerr := parseQuery(r.URL.RawQuery)
		if q.expand != expandNone {
			// Expanding reads resources that need credentials (bmcweb
			// answers an anonymous $expand of the service root likewise).
			public = false
		}
		if qerr != nil && public {
			writeError(w, qerr)
			return
		}
		if !public {
			ar, err := s.gate.Check(r, need)
			if err != nil {
				writeError(w, authError(err))
				return
			}
			r = ar
		}
		if qerr != nil {
			writeError(w, qerr)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !q.empty() {
				// DSP0266 "Query parameters": for GET only.
				writeError(w, apiErr(http.StatusBadRequest, "QueryNotSupportedOnOperation"))
				return
			}
			limit, readFor := int64(maxRequestBodySize), bodyReadTimeout
			if res.maxBody > 0 {
				limit, readFor = res.maxBody, largeBodyReadTimeout
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			// A body that trickles in (a stalled client, a slowloris)
			// must not hold the connection, its memory or a slot such as
			// the one push update: the read gives up at the deadline and
			// the request fails as a truncated body does.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(readFor))
		}
		var err error
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			err = s.serveGet(w, r, res, &q)
		case http.MethodPatch:
			if err = s.checkIfMatch(r, res); err == nil {
				if err = res.patch(r); err == nil {
					w.WriteHeader(http.StatusNoContent)
				}
			}
		case http.MethodPost:
			err = res.post(w, r)
		case http.MethodDelete:
			if res.deleteReply != nil {
				err = res.deleteReply(w, r)
			} else if err = res.delete(r); err == nil {
				w.WriteHeader(http.StatusNoContent)
			}
		}
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = fromHardware(err)
			}
			if ae.status >= 500 && ae.status != http.StatusInsufficientStorage && ae.status != http.StatusServiceUnavailable {
				s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			} else if ae.cause != nil {
				s.log.Info("request refused", "method", r.Method, "path", r.URL.Path, "status", ae.status, "cause", ae.cause)
			}
			writeError(w, ae)
		}
	}
}

// fetch runs res's GET handler for r. A versioned resource comes back
// rendered, from the render cache; anything else as the handler's value.
func (s *Service) fetch(r *http.Request, res *resource) (any, *rendered, error) {
	if res.version != nil {
		if ver, ok := res.version(r); ok {
			c, err := s.cache.get(r.URL.Path, ver, func() (any, error) { return res.get(r) })
			return nil, c, err
		}
	}
	v, err := res.get(r)
	return v, nil, err
}

// serveGet answers GET and HEAD: the handler's document with the query
// parameters applied in DSP0266's order ($skip, $top, paging, $expand,
// excerpt, $select), its ETag, and a Link header naming its schema.
func (s *Service) serveGet(w http.ResponseWriter, r *http.Request, res *resource, q *query) error {
	v, c, err := s.fetch(r, res)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if d, ok := v.(inProgress); ok {
		for k, vs := range d.header {
			w.Header()[k] = vs
		}
		v, status = d.body, http.StatusAccepted
	}
	switch d := v.(type) {
	case statusDocument:
		for k, vs := range d.header {
			w.Header()[k] = vs
		}
		if d.body == nil {
			w.WriteHeader(d.status)
			return nil
		}
		writeJSON(w, d.status, d.body)
		return nil
	case rawDocument:
		// Documents served as stored ($metadata, the OData service
		// document, registry files) take no query.
		w.Header().Set("Content-Type", d.contentType)
		if t := topLevelString(d.body, "@odata.type"); t != "" {
			w.Header()["Link"] = describedBy(t)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(d.body)
		}
		return nil
	}
	if q.empty() {
		if c == nil {
			if m, members, ok := collectionMembers(v); ok {
				v = page(m, members, r.URL.Path, q, s.pageSize)
			}
			if c, err = renderDoc(v); err != nil {
				return err
			}
		}
		return writeRenderedStatus(w, r, status, c.etag, c.link, c.body)
	}
	if c != nil && q.hasCollectionParams() {
		// A cached rendering: the collection parameters need the value.
		if v, err = decodeObject(c.body); err != nil {
			return internalError(err)
		}
		delete(v.(M), "@odata.etag")
		c = nil
	}
	if c == nil {
		if m, members, ok := collectionMembers(v); ok {
			if q.only && members.Len() == 1 {
				return s.serveOnly(w, r, members.Index(0).Interface())
			}
			v = page(m, members, r.URL.Path, q, s.pageSize)
		} else if q.hasCollectionParams() {
			return apiErr(http.StatusBadRequest, "QueryNotSupportedOnResource")
		}
		if c, err = renderDoc(v); err != nil {
			return err
		}
	}
	// An excerpt of a resource whose schema marks no excerpt property is
	// the resource itself, byte for byte.
	wholeExcerpt := q.excerpt && len(excerptProperties[schemaName(c.odataType)]) == 0
	if !q.shapesBody() || (wholeExcerpt && q.expand == expandNone && q.sel == nil) {
		return writeRenderedStatus(w, r, status, c.etag, c.link, c.body)
	}
	doc, err := decodeObject(c.body)
	if err != nil {
		return internalError(err)
	}
	// excerpt keeps top-level properties only: applied first, it spares
	// expanding what it drops, with the same answer.
	if q.excerpt {
		applyExcerpt(doc, c.odataType)
	}
	levels := 0
	if q.expand != expandNone {
		release, err := s.expand.acquire(w, r)
		if err != nil {
			return err
		}
		defer release()
		levels = q.levels
	}
	x := s.newExpander(r, q.expand, len(c.body)+512)
	if err := x.render(doc, r.URL.Path, levels, q.sel); err != nil {
		return err
	}
	body := x.body()
	etag := c.etag
	if q.expand != expandNone {
		// The answer holds other resources: its tag is its own. $select
		// and excerpt derive from this resource alone and keep its tag.
		etag = etagOf(body...)
	}
	return writeRenderedStatus(w, r, status, etag, c.link, body...)
}

// serveOnly answers the only query parameter on a one-member collection
// with the member itself (DSP0266 "Query parameters").
func (s *Service) serveOnly(w http.ResponseWriter, r *http.Request, member any) error {
	id := ""
	switch m := member.(type) {
	case link:
		id = m.ID
	case M:
		id, _ = m["@odata.id"].(string)
	}
	if id == "" {
		return internalError(fmt.Errorf("collection member without @odata.id: %T", member))
	}
	c, err := s.internalGet(r, cleanPath(id))
	if err != nil {
		return err
	}
	return writeRendered(w, r, c.etag, c.link, c.body)
}

// renderDoc renders a GET result with its @odata.etag and notes its type.
func renderDoc(v any) (*rendered, error) {
	body, etag, err := render(v)
	if err != nil {
		return nil, internalError(err)
	}
	t := ""
	if m, ok := v.(M); ok {
		t, _ = m["@odata.type"].(string)
	} else {
		t = topLevelString(body, "@odata.type")
	}
	return &rendered{body: body, etag: etag, odataType: t, link: describedBy(t)}, nil
}

// describedBy is the Link header naming the JSON schema of a resource of
// type odataType (DSP0266 "Link header"): the versioned DMTF schema file
// for a versioned type, as @odata.type names it, so the Protocol
// Validator's version check holds; nil without a type. Renderings keep it,
// so a cached GET sets it without allocating.
func describedBy(odataType string) []string {
	if odataType == "" {
		return nil
	}
	t := strings.TrimPrefix(odataType, "#")
	if i := strings.LastIndexByte(t, '.'); i > 0 {
		t = t[:i]
	}
	return []string{"<" + schemaBaseURI + t + ".json>; rel=describedby"}
}

// schemaBaseURI is where DMTF publishes the schemas, as $metadata says.
const schemaBaseURI = "http://redfish.dmtf.org/schemas/v1/"

// writeRendered answers a GET or HEAD with a rendered body, given whole
// or in consecutive pieces: 304 when If-None-Match names its tag.
func writeRendered(w http.ResponseWriter, r *http.Request, etag string, link []string, body ...[]byte) error {
	return writeRenderedStatus(w, r, http.StatusOK, etag, link, body...)
}

// writeRenderedStatus is writeRendered with another success status (202
// for an inProgress document).
func writeRenderedStatus(w http.ResponseWriter, r *http.Request, status int, etag string, link []string, body ...[]byte) error {
	h := w.Header()
	h.Set("ETag", etag)
	if link != nil {
		h["Link"] = link
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if r.Method == http.MethodGet {
		for _, b := range body {
			if _, err := w.Write(b); err != nil {
				break
			}
		}
	}
	return nil
}

// inProgress is a GET result for a resource that stands for an operation
// still under way (a running Task): it is served as any other GET (ETag,
// Link, query parameters) but answers 202 Accepted, with header added
// (Retry-After), as real services answer for a running Task and as the
// task monitor does (DSP0266 "Asynchronous operations"). Embedded by
// $expand it is just its body.
type inProgress struct {
	body   M
	header http.Header
}

// MarshalJSON renders the body.
func (d inProgress) MarshalJSON() ([]byte, error) { return json.Marshal(d.body) }

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
