package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/go-chi/chi/v5"
)

// maxExpandBytes bounds the resources one $expand answer embeds. Beyond
// it the answer is 507 InsufficientStorage, as DSP0266 "Use of the $expand
// query parameter" asks of a service that cannot return a payload for its
// size.
const maxExpandBytes = 32 << 20

// expander resolves the hyperlinks of a $expand answer by calling each
// linked resource's GET handler through the router, for the principal of
// the request being answered, as that principal's own GET would.
type expander struct {
	s      *Service
	parent *http.Request
	typ    expandType
	bytes  int
}

// expand replaces, in doc (the resource at path), each hyperlink the
// $expand option selects by the linked resource, cascading for levels
// levels (DSP0266 "Use of the $expand query parameter"). A link that does
// not resolve (absent, forbidden, not a JSON resource) or that leads back
// to a resource being expanded stays a reference.
func (x *expander) expand(doc map[string]any, path string, levels int) error {
	return x.walk(doc, levels, []string{path}, false)
}

func (x *expander) walk(v any, levels int, path []string, inLinks bool) error {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			links := inLinks || k == "Links"
			if x.typ == expandNoLinks && links {
				continue
			}
			nv, err := x.visit(c, levels, path, links)
			if err != nil {
				return err
			}
			if nv != nil {
				t[k] = nv
			}
		}
	case []any:
		for i, c := range t {
			nv, err := x.visit(c, levels, path, inLinks)
			if err != nil {
				return err
			}
			if nv != nil {
				t[i] = nv
			}
		}
	}
	return nil
}

// visit expands v if it is a hyperlink the option selects and walks it
// otherwise; it returns v's replacement, or nil to keep v.
func (x *expander) visit(v any, levels int, path []string, inLinks bool) (any, error) {
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, x.walk(v, levels, path, inLinks)
	}
	id, _ := obj["@odata.id"].(string)
	switch {
	case id != "" && len(obj) == 1: // a hyperlink
		if x.typ == expandLinks && !inLinks {
			return nil, nil
		}
		return x.resolve(id, levels, path)
	case id != "" && !strings.Contains(id, "#"):
		// A resource already inline (a collection's members): its own
		// hyperlinks are a level further down.
		if levels <= 1 {
			return nil, nil
		}
		return nil, x.walk(obj, levels-1, append(path[:len(path):len(path)], id), false)
	}
	return nil, x.walk(obj, levels, path, inLinks)
}

// resolve returns the resource at uri, expanded for levels-1 more levels,
// or nil to leave the reference.
func (x *expander) resolve(uri string, levels int, path []string) (any, error) {
	if err := x.parent.Context().Err(); err != nil {
		return nil, err
	}
	uri = cleanPath(uri)
	if !strings.HasPrefix(uri, "/redfish/") || strings.ContainsAny(uri, "#?") {
		return nil, nil
	}
	for _, p := range path {
		if p == uri {
			return nil, nil // a cycle: System -> Chassis -> System
		}
	}
	c, err := x.s.internalGet(x.parent, uri)
	if err != nil {
		return nil, nil
	}
	x.bytes += len(c.body)
	if x.bytes > x.s.expandBytes {
		return nil, apiErr(http.StatusInsufficientStorage, "InsufficientStorage")
	}
	if levels <= 1 {
		return json.RawMessage(c.body), nil
	}
	child, err := decodeObject(c.body)
	if err != nil {
		return nil, nil
	}
	if err := x.walk(child, levels-1, append(path[:len(path):len(path)], uri), false); err != nil {
		return nil, err
	}
	return child, nil
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
