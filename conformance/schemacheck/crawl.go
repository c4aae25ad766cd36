package schemacheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Page is one document a Crawl fetched.
type Page struct {
	Path   string         // as linked, e.g. "/redfish/v1/Systems/0"; with its query for a Members@odata.nextLink
	Status int            // HTTP status; 0 if the request failed
	Header http.Header    // response headers
	Doc    map[string]any // the body, when it is a JSON object
	Err    error          // request, status (not 200) or parse failure

	// FromAnnotation says a link to the document was found inside a
	// SettingsObject or CapabilitiesObject annotation: the Service
	// Validator does not hold such a document (a Bios's pending settings)
	// to its schema's URIs.
	FromAnnotation bool
}

// crawlKeys are the properties whose string values the DMTF Service
// Validator follows as links (system_under_test.py find_uris).
var crawlKeys = map[string]bool{
	"@odata.id": true, "Uri": true, "Members@odata.nextLink": true, "@Redfish.ActionInfo": true,
	"DataSourceUri": true, "TargetComponentURI": true,
}

// Crawl fetches every document reachable from /redfish/v1 of baseURL the
// way the DMTF Redfish Service Validator finds them: it follows the
// service-relative string values of @odata.id, @Redfish.ActionInfo,
// Members@odata.nextLink, Uri (so the message and attribute registries a
// MessageRegistryFile locates are fetched too), DataSourceUri and
// TargetComponentURI, but no link with a fragment, nothing inside an
// OriginOfCondition, and nothing linked from a JsonSchemaFile. $metadata and
// the OData service document are not fetched. prepare, if not nil, is called
// on every request (e.g. to authenticate); c nil means http.DefaultClient.
//
// Per-document failures are in the pages. The error is non-nil only if
// baseURL is unusable, ctx ends, or the crawl reaches its bound of 5000
// documents.
func Crawl(ctx context.Context, c *http.Client, baseURL string, prepare func(*http.Request)) ([]Page, error) {
	base, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("crawl: base URL %q is not absolute", baseURL)
	}
	if c == nil {
		c = http.DefaultClient
	}
	var pages []Page
	seen := map[string]bool{serviceRoot: true}
	fromAnnotation := map[string]bool{}
	queue := []string{serviceRoot}
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return pages, fmt.Errorf("crawl: %w", err)
		}
		if len(pages) == maxDocuments {
			return pages, fmt.Errorf("crawl: stopped after %d documents, %d paths left", maxDocuments, len(queue))
		}
		p := queue[0]
		queue = queue[1:]
		pg := fetchPage(ctx, c, base.String()+p, prepare)
		pg.Path = p
		pages = append(pages, pg)
		if t, _ := pg.Doc["@odata.type"].(string); strings.HasPrefix(t, "#JsonSchemaFile.") {
			continue
		}
		crawlLinks(pg.Doc, false, func(key, ref string, inAnnotation bool) {
			if !strings.HasPrefix(ref, "/") || strings.Contains(ref, "#") {
				return
			}
			lp, ok := linkPath(base, ref)
			if !ok {
				return
			}
			if key == "Members@odata.nextLink" {
				if u, err := url.Parse(ref); err == nil && u.RawQuery != "" {
					lp += "?" + u.RawQuery
				}
			}
			if inAnnotation {
				fromAnnotation[lp] = true
			}
			if !seen[lp] {
				seen[lp] = true
				queue = append(queue, lp)
			}
		})
	}
	for i := range pages {
		pages[i].FromAnnotation = fromAnnotation[pages[i].Path]
	}
	return pages, nil
}

func fetchPage(ctx context.Context, c *http.Client, u string, prepare func(*http.Request)) Page {
	var pg Page
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		pg.Err = err
		return pg
	}
	req.Header.Set("Accept", "application/json")
	if prepare != nil {
		prepare(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		pg.Err = err
		return pg
	}
	defer resp.Body.Close()
	pg.Status, pg.Header = resp.StatusCode, resp.Header
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		pg.Err = fmt.Errorf("GET %s: read body: %w", u, err)
		return pg
	}
	if resp.StatusCode != http.StatusOK {
		pg.Err = fmt.Errorf("GET %s: %s", u, resp.Status)
		return pg
	}
	if err := json.Unmarshal(body, &pg.Doc); err != nil {
		pg.Err = fmt.Errorf("GET %s: body is not a JSON object: %w", u, err)
	}
	return pg
}

// crawlLinks calls fn with the key and value of every link Crawl follows,
// and whether it is inside a SettingsObject or CapabilitiesObject.
func crawlLinks(v any, inAnnotation bool, fn func(key, ref string, inAnnotation bool)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if k == "OriginOfCondition" {
				continue
			}
			if s, ok := e.(string); ok && crawlKeys[k] {
				fn(k, s, inAnnotation)
				continue
			}
			crawlLinks(e, inAnnotation || k == "SettingsObject" || k == "CapabilitiesObject", fn)
		}
	case []any:
		for _, e := range v {
			crawlLinks(e, inAnnotation, fn)
		}
	}
}
