package schemacheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const (
	serviceRoot  = "/redfish/v1"
	maxDocuments = 5000     // crawl bound
	maxBody      = 16 << 20 // bytes read per document
)

// Result is the outcome of fetching and validating one resource.
type Result struct {
	Path   string // e.g. "/redfish/v1/Systems/1"
	Status int    // HTTP status code; 0 if the request failed
	Type   string // the document's @odata.type, if any
	Err    error  // HTTP, parse or validation failure; nil if the document is valid
}

// Walk crawls the Redfish service at baseURL (e.g. "https://bmc:8443"),
// starting at /redfish/v1 and following every @odata.id (and
// @Redfish.ActionInfo) link under /redfish/v1 found anywhere in a document,
// fetching each path once and validating what it gets. $metadata and the
// OData service document are not fetched. prepare, if not nil, is called on
// every request, e.g. to add authentication headers; c nil means
// http.DefaultClient.
//
// Per-resource failures, including non-200 responses, are reported in the
// results. The error is non-nil only if baseURL is unusable, ctx ends, or
// the crawl stops at its bound of 5000 documents.
func (v *Validator) Walk(ctx context.Context, c *http.Client, baseURL string, prepare func(*http.Request)) ([]Result, error) {
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("walk: base URL: %w", err)
	}
	if base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("walk: base URL %q is not absolute", baseURL)
	}
	if c == nil {
		c = http.DefaultClient
	}
	var results []Result
	seen := map[string]bool{serviceRoot: true}
	queue := []string{serviceRoot}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return results, fmt.Errorf("walk: %w", err)
		}
		if len(results) == maxDocuments {
			return results, fmt.Errorf("walk: stopped after %d documents, %d paths left", maxDocuments, len(queue))
		}
		p := queue[0]
		queue = queue[1:]
		res, doc := v.visit(ctx, c, base.String()+p, prepare)
		res.Path = p
		results = append(results, res)
		links(doc, func(ref string) {
			if lp, ok := linkPath(base, ref); ok && !seen[lp] {
				seen[lp] = true
				queue = append(queue, lp)
			}
		})
	}
	return results, nil
}

// visit fetches and validates one document, returning it decoded if it is JSON.
func (v *Validator) visit(ctx context.Context, c *http.Client, u string, prepare func(*http.Request)) (Result, any) {
	var res Result
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		res.Err = err
		return res, nil
	}
	req.Header.Set("Accept", "application/json")
	if prepare != nil {
		prepare(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		res.Err = err
		return res, nil
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		res.Err = fmt.Errorf("GET %s: read body: %w", u, err)
		return res, nil
	}
	// A resource standing for an operation in progress (a running Task)
	// answers 202 with its representation, which is validated as any.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		res.Err = fmt.Errorf("GET %s: %s", u, resp.Status)
		return res, nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		res.Err = fmt.Errorf("GET %s: parse body: %w", u, err)
		return res, nil
	}
	if obj, ok := doc.(map[string]any); ok {
		res.Type, _ = obj["@odata.type"].(string)
	}
	res.Err = v.validate(doc)
	return res, doc
}

// links calls fn with every @odata.id and @Redfish.ActionInfo string in v.
func links(v any, fn func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && (k == "@odata.id" || k == "@Redfish.ActionInfo") {
				fn(s)
				continue
			}
			links(e, fn)
		}
	case []any:
		for _, e := range v {
			links(e, fn)
		}
	}
}

// linkPath turns a link into a clean path to crawl, dropping any fragment
// (links into a resource, e.g. "/redfish/v1/Chassis/1/Power#/Voltages/0")
// and rejecting links off the service or to non-resource documents.
func linkPath(base *url.URL, ref string) (string, bool) {
	ref, _, _ = strings.Cut(ref, "#")
	u, err := url.Parse(ref)
	if err != nil || (u.Host != "" && u.Host != base.Host) {
		return "", false
	}
	p := u.EscapedPath()
	if p == "" {
		return "", false
	}
	p = path.Clean(p)
	if p != serviceRoot && !strings.HasPrefix(p, serviceRoot+"/") {
		return "", false
	}
	switch p {
	case serviceRoot + "/$metadata", serviceRoot + "/odata":
		return "", false
	}
	return p, true
}
