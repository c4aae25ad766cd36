package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

// Bounds of $expand (DSP0266 "Use of the $expand query parameter"). One
// answer renders at most maxExpandBytes and fetches at most
// maxExpandResources linked resources; beyond either it is 507
// InsufficientStorage, as DSP0266 asks of a service that cannot return a
// payload for its size, and the work stops there: bytes are counted as
// each expanded resource is rendered into the answer. At most
// maxConcurrentExpands answers are built at once; a request waits up to
// expandWait (or until its client goes) for its turn, then is 503
// ServiceTemporarilyUnavailable with Retry-After (DSP0266 "Status codes":
// the service is temporarily overloaded).
const (
	maxExpandBytes       = 32 << 20
	maxExpandResources   = 20000
	maxConcurrentExpands = 2
	expandWait           = 5 * time.Second
	expandRetryAfter     = 2 // seconds, in the 503's Retry-After
	// expandChunk is the size of each new piece of an answer under
	// construction: it grows by pieces, never copying what it holds.
	expandChunk = 256 << 10
)

// expandLimits are a Service's bounds of $expand (tests lower them).
type expandLimits struct {
	maxBytes, maxResources int
	wait                   time.Duration
	slots                  chan struct{} // one token per answer being built
}

func newExpandLimits() expandLimits {
	return expandLimits{maxBytes: maxExpandBytes, maxResources: maxExpandResources, wait: expandWait,
		slots: make(chan struct{}, maxConcurrentExpands)}
}

// acquire waits for a turn to build an $expand answer and returns its
// release; without a turn within the wait it sets Retry-After and returns
// 503 ServiceTemporarilyUnavailable, and when the client goes first, the
// context's error.
func (l *expandLimits) acquire(w http.ResponseWriter, r *http.Request) (func(), error) {
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return func() { <-l.slots }, nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-t.C:
		secs := strconv.Itoa(expandRetryAfter)
		w.Header().Set("Retry-After", secs)
		return nil, apiErr(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable", secs)
	}
}

// expander renders a GET answer: the resource's document with its
// hyperlinks expanded ($expand) and its properties narrowed ($select), in
// one pass, straight into the answer's bytes. Each linked resource is
// obtained by calling its GET handler through the router, for the
// principal of the request being answered, as that principal's own GET
// would; only the resources on the path being expanded are ever decoded
// at once.
type expander struct {
	s      *Service
	parent *http.Request
	typ    expandType
	// The answer so far: chunks, then the one being written; n is their
	// total length.
	chunks [][]byte
	cur    []byte
	n      int
	// resources counts the linked resources fetched.
	resources int
}

// newExpander starts an answer to r; size is about what the answer's
// first piece will hold (the resource's own rendering).
func (s *Service) newExpander(r *http.Request, typ expandType, size int) *expander {
	return &expander{s: s, parent: r, typ: typ, cur: make([]byte, 0, size)}
}

// render writes doc, the resource at path, expanding each hyperlink the
// $expand option selects by the linked resource, cascading for levels
// levels (0: no expansion), and keeping what sel selects (nil: all). A
// link that does not resolve (absent, forbidden, not a JSON resource) or
// that leads back to a resource being expanded stays a reference.
func (x *expander) render(doc map[string]any, path string, levels int, sel *selectNode) error {
	return x.object(doc, levels, []string{path}, false, sel)
}

// body is the answer, in pieces.
func (x *expander) body() [][]byte { return append(x.chunks, x.cur) }

// write appends b to the answer.
func (x *expander) write(b ...byte) {
	if cap(x.cur)-len(x.cur) < len(b) {
		x.reserve(len(b))
	}
	x.cur = append(x.cur, b...)
	x.n += len(b)
}

// reserve makes room for n more bytes: when the chunk being written has
// no room, it is kept as it is and a new one begins, so the answer grows
// without copying what it holds.
func (x *expander) reserve(n int) {
	if len(x.cur) > 0 {
		x.chunks = append(x.chunks, x.cur)
	}
	x.cur = make([]byte, 0, max(n, expandChunk))
}

// writeJSON appends the JSON encoding of v, a decoded JSON scalar or a
// property name, to the answer.
func (x *expander) writeJSON(v any) error {
	if cap(x.cur)-len(x.cur) < 64 {
		x.reserve(64)
	}
	b, err := appendJSON(x.cur, v)
	if err != nil {
		return internalError(err)
	}
	x.n += len(b) - len(x.cur)
	x.cur = b
	return nil
}

// full reports the answer over its byte bound.
func (x *expander) full(more int) error {
	if x.n+more > x.s.expand.maxBytes {
		return apiErr(http.StatusInsufficientStorage, "InsufficientStorage")
	}
	return nil
}

// object writes a JSON object, its members in name order (as
// encoding/json writes maps). With a selection, it keeps the reserved
// properties, the selected ones and their annotations (Members@odata.count
// with Members), narrowing objects and arrays of objects by their
// sub-paths; when obj is a collection whose members are expanded and the
// selection does not name Members, the selection applies to each member
// instead, as DSP0266's "GET /redfish/v1/Systems?$select=UUID&$expand=."
// does.
func (x *expander) object(obj map[string]any, levels int, path []string, inLinks bool, sel *selectNode) error {
	perMember := false
	if sel != nil {
		if _, named := sel.children["Members"]; !named {
			perMember = x.expandedMembers(obj, levels, path, inLinks)
		}
	}
	ks := make([]string, 0, len(obj))
	for k := range obj {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	x.write('{')
	first := true
	for _, k := range ks {
		var sub *selectNode // the selection within obj[k]; nil: all
		if sel != nil && !reservedProperties[k] {
			switch c, ok := sel.children[k]; {
			case perMember:
				if k != "Members" && !strings.HasPrefix(k, "Members@") {
					continue
				}
				if k == "Members" {
					sub = sel
				}
			case !ok:
				if base, _, annotation := strings.Cut(k, "@"); !annotation || base == "" || sel.children[base] == nil {
					continue
				}
			case !c.whole:
				sub = c
			}
		}
		if !first {
			x.write(',')
		}
		first = false
		if err := x.writeJSON(k); err != nil {
			return err
		}
		x.write(':')
		links := inLinks || k == "Links"
		l := levels
		if x.typ == expandNoLinks && links {
			l = 0
		}
		if err := x.value(obj[k], l, path, links, sub); err != nil {
			return err
		}
	}
	x.write('}')
	return nil
}

// value writes v, expanding it if it is a hyperlink the option selects.
func (x *expander) value(v any, levels int, path []string, inLinks bool, sel *selectNode) error {
	switch t := v.(type) {
	case map[string]any:
		id, _ := t["@odata.id"].(string)
		switch {
		case id == "":
		case len(t) == 1: // a hyperlink
			if levels >= 1 && (x.typ != expandLinks || inLinks) {
				if done, err := x.expandLink(id, levels, path, sel); done || err != nil {
					return err
				}
			}
		case !strings.Contains(id, "#"):
			// A resource already inline (a collection's members): its own
			// hyperlinks are a level further down.
			if levels <= 1 {
				return x.object(t, 0, path, false, sel)
			}
			return x.object(t, levels-1, append(path[:len(path):len(path)], id), false, sel)
		}
		return x.object(t, levels, path, inLinks, sel)
	case []any:
		x.write('[')
		for i, e := range t {
			if i > 0 {
				x.write(',')
			}
			if err := x.value(e, levels, path, inLinks, sel); err != nil {
				return err
			}
		}
		x.write(']')
		return nil
	}
	return x.writeJSON(v)
}

// expandLink writes the resource at uri in place of its hyperlink,
// expanded for levels-1 more levels, and reports whether it did; a link it
// cannot expand is left to the caller to write as it is.
func (x *expander) expandLink(uri string, levels int, path []string, sel *selectNode) (bool, error) {
	if !expandable(uri, path) {
		return false, nil
	}
	if err := x.parent.Context().Err(); err != nil {
		return false, err
	}
	if x.resources++; x.resources > x.s.expand.maxResources {
		return false, apiErr(http.StatusInsufficientStorage, "InsufficientStorage")
	}
	uri = cleanPath(uri)
	c, err := x.s.internalGet(x.parent, uri)
	if err != nil {
		return false, nil
	}
	if err := x.full(len(c.body)); err != nil {
		return false, err
	}
	if levels <= 1 && sel == nil {
		x.write(c.body...) // its own rendering, as its GET answers it
		return true, nil
	}
	child, err := decodeObject(c.body)
	if err != nil {
		return false, nil
	}
	if err := x.object(child, levels-1, append(path[:len(path):len(path)], uri), false, sel); err != nil {
		return false, err
	}
	return true, x.full(0)
}

// expandable reports whether a hyperlink to uri may be expanded below
// path: a resource of this service, not one being expanded (a cycle:
// System -> Chassis -> System).
func expandable(uri string, path []string) bool {
	uri = cleanPath(uri)
	if !strings.HasPrefix(uri, "/redfish/") || strings.ContainsAny(uri, "#?") {
		return false
	}
	for _, p := range path {
		if p == uri {
			return false
		}
	}
	return true
}

// expandedMembers reports whether obj is a collection whose Members are,
// in the answer, resources rather than bare references: its first member
// is inline, or a hyperlink this expansion expands.
func (x *expander) expandedMembers(obj map[string]any, levels int, path []string, inLinks bool) bool {
	ms, ok := obj["Members"].([]any)
	if !ok || len(ms) == 0 {
		return false
	}
	m, ok := ms[0].(map[string]any)
	if !ok {
		return false
	}
	if len(m) > 1 {
		return true
	}
	id, _ := m["@odata.id"].(string)
	if id == "" || levels < 1 || x.typ == expandLinks || (x.typ == expandNoLinks && inLinks) || !expandable(id, path) {
		return false
	}
	res, _ := x.s.lookup(cleanPath(id))
	return res != nil && res.get != nil
}

// cleanPath drops a trailing slash, as ServeHTTP does for requests.
func cleanPath(p string) string {
	if len(p) > 1 && strings.HasSuffix(p, "/") {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	return p
}

// errNotEmbeddable is a GET result that is not a JSON resource (a task
// monitor's status, $metadata).
var errNotEmbeddable = errors.New("not a JSON resource")

// internalGet answers a GET of path for the principal of parent, as the
// router and the resource's handler would, without HTTP: the rendered
// document (from the render cache when the resource is versioned), paged
// when it is a large collection.
func (s *Service) internalGet(parent *http.Request, path string) (*rendered, error) {
	res, rctx := s.lookup(path)
	if res == nil || res.get == nil {
		return nil, apiErr(http.StatusNotFound, "ResourceMissingAtURI", path)
	}
	if _, ok := principalFrom(parent); !ok && !res.public {
		return nil, unauthorized("NoValidSession")
	}
	ctx := context.WithValue(parent.Context(), chi.RouteCtxKey, rctx)
	r := (&http.Request{
		Method: http.MethodGet, URL: &url.URL{Path: path}, RequestURI: path,
		Proto: parent.Proto, ProtoMajor: parent.ProtoMajor, ProtoMinor: parent.ProtoMinor,
		Header: http.Header{}, Body: http.NoBody, Host: parent.Host, RemoteAddr: parent.RemoteAddr,
	}).WithContext(ctx)
	v, c, err := s.fetch(r, res)
	if err != nil || c != nil {
		return c, err
	}
	switch d := v.(type) {
	case statusDocument:
		return nil, errNotEmbeddable
	case rawDocument:
		if !strings.HasPrefix(d.contentType, "application/json") || !bytes.HasPrefix(d.body, []byte("{")) {
			return nil, errNotEmbeddable
		}
		t := topLevelString(d.body, "@odata.type")
		return &rendered{body: d.body, etag: etagOf(d.body), odataType: t, link: describedBy(t)}, nil
	}
	if m, members, ok := collectionMembers(v); ok {
		v = page(m, members, path, &query{skip: -1, top: -1}, s.pageSize)
	}
	return renderDoc(v)
}

// decodeJSON decodes one JSON value, keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// decodeObject decodes a JSON object, keeping numbers as written.
func decodeObject(b []byte) (map[string]any, error) {
	v, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errNotEmbeddable
	}
	return m, nil
}

// topLevelString returns the string value of key in the JSON object b,
// looking only at its top level, or "".
func topLevelString(b []byte, key string) string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		if k, _ := t.(string); k == key {
			var s string
			if dec.Decode(&s) != nil {
				return ""
			}
			return s
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return ""
		}
	}
	return ""
}

// appendJSON encodes a decoded document: maps with their keys sorted, as
// encoding/json writes them, and the raw renderings an expansion embedded
// appended as they are (they are this service's own compact JSON, so
// re-validating megabytes of them would only cost time).
func appendJSON(b []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case json.RawMessage:
		return append(b, t...), nil
	case json.Number:
		return append(b, t...), nil
	case map[string]any:
		ks := make([]string, 0, len(t))
		for k := range t {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		b = append(b, '{')
		for i, k := range ks {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, k); err != nil {
				return nil, err
			}
			b = append(b, ':')
			if b, err = appendJSON(b, t[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range t {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	s, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, s...), nil
}
