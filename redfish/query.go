package redfish

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Query parameters (DSP0266 1.20 "Query parameters"). They are parsed
// once for every request and applied once, in the shared GET path
// (serveGet), so every resource has them.
const (
	// maxExpandLevels is the largest $levels served (ProtocolFeaturesSupported
	// ExpandQuery.MaxLevels).
	maxExpandLevels = 6
	// collectionPageSize is the most members one collection response holds;
	// beyond it the response carries Members@odata.nextLink.
	collectionPageSize = 1000
	// maxSelectProperties and maxSelectLength bound a $select expression.
	maxSelectProperties = 64
	maxSelectLength     = 128
)

// expandType is the $expand option: which hyperlinks are expanded.
type expandType uint8

const (
	expandNone    expandType = iota
	expandAll                // "*": every hyperlink
	expandNoLinks            // ".": hyperlinks not under a Links property
	expandLinks              // "~": hyperlinks under a Links property only
)

// query is a parsed query string. The zero value asks for nothing.
type query struct {
	only    bool
	excerpt bool
	expand  expandType
	levels  int // 1..maxExpandLevels when expand != expandNone
	skip    int // -1: absent
	top     int // -1: absent
	sel     *selectNode
	// keep holds the raw key=value pairs of every parameter but $skip and
	// $top, in their order, for Members@odata.nextLink.
	keep []string
}

// empty reports whether q changes nothing about a GET.
func (q *query) empty() bool {
	return !q.only && !q.excerpt && q.expand == expandNone && q.skip < 0 && q.top < 0 && q.sel == nil
}

// shapesBody reports whether q needs the rendered document decoded
// ($expand, excerpt or $select).
func (q *query) shapesBody() bool {
	return q.excerpt || q.expand != expandNone || q.sel != nil
}

// selectNode is one level of a $select expression: the properties chosen
// at this level, each either selected whole or narrowed by its children.
type selectNode struct {
	children map[string]*selectNode
	whole    bool // the property is selected with everything under it
}

func (n *selectNode) child(name string) *selectNode {
	if n.children == nil {
		n.children = map[string]*selectNode{}
	}
	c, ok := n.children[name]
	if !ok {
		c = &selectNode{}
		n.children[name] = c
	}
	return c
}

// parseQuery parses a request's raw query string (DSP0266 "Query parameters").
// Parameters not starting with "$" other than only and excerpt are
// ignored. Errors are the Base registry's:
//
//   - 501 QueryParameterUnsupported for a "$" parameter bmcd does not
//     serve ($filter included);
//   - 400 QueryParameterValueFormatError for a malformed $expand or
//     $select, for a value given to only or excerpt, or for a query string
//     that does not decode;
//   - 400 QueryParameterValueTypeError for a $skip, $top or $levels that is
//     not an integer;
//   - 400 QueryParameterOutOfRange for a negative $skip or $top, or $levels
//     outside 1..maxExpandLevels;
//   - 400 QueryCombinationInvalid for a parameter given twice with
//     different values, or only with any other parameter.
func parseQuery(raw string) (query, *apiError) {
	q := query{skip: -1, top: -1}
	if raw == "" {
		return q, nil
	}
	seen := map[string]string{}
	// "?" separates parameters too: clients such as gofish append their own
	// "?$expand=..." to a Members@odata.nextLink that has a query already.
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == '?' }) {
		rk, rv, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(rk)
		if err != nil {
			key = rk // not a name bmcd serves, whatever it decodes to
		}
		switch key {
		case "only", "excerpt", "$expand", "$select", "$skip", "$top":
		default:
			if strings.HasPrefix(key, "$") || strings.HasPrefix(strings.ToLower(key), "%24") {
				return q, apiErr(http.StatusNotImplemented, "QueryParameterUnsupported", key)
			}
			continue // DSP0266: other unknown parameters are ignored
		}
		val, err := url.QueryUnescape(rv)
		if err != nil {
			return q, apiErr(http.StatusBadRequest, "QueryParameterValueFormatError", rv, key)
		}
		if prev, dup := seen[key]; dup {
			if prev != rv {
				return q, apiErr(http.StatusBadRequest, "QueryCombinationInvalid")
			}
			continue // the same parameter twice asks for it once
		}
		seen[key] = rv
		var e *apiError
		switch key {
		case "only":
			q.only, e = true, noValue(key, val)
		case "excerpt":
			q.excerpt, e = true, noValue(key, val)
		case "$expand":
			e = q.parseExpand(val)
		case "$select":
			e = q.parseSelect(val)
		case "$skip":
			q.skip, e = nonNegative(key, val)
		case "$top":
			q.top, e = nonNegative(key, val)
		}
		if e != nil {
			return q, e
		}
		if key != "$skip" && key != "$top" {
			q.keep = append(q.keep, part)
		}
	}
	if q.only && len(seen) > 1 {
		return q, apiErr(http.StatusBadRequest, "QueryCombinationInvalid")
	}
	return q, nil
}

// noValue checks a parameter that takes no value (only, excerpt).
func noValue(key, val string) *apiError {
	if val != "" {
		return apiErr(http.StatusBadRequest, "QueryParameterValueFormatError", val, key)
	}
	return nil
}

// nonNegative parses $skip or $top: a decimal integer, 0 or more.
func nonNegative(key, val string) (int, *apiError) {
	if !isInteger(val) {
		return 0, apiErr(http.StatusBadRequest, "QueryParameterValueTypeError", val, key)
	}
	n, err := strconv.Atoi(val)
	if err != nil || n < 0 {
		return 0, apiErr(http.StatusBadRequest, "QueryParameterOutOfRange", val, key, "0-"+strconv.Itoa(maxInt))
	}
	return n, nil
}

const maxInt = int(^uint(0) >> 1)

// isInteger reports whether s is an optionally negative run of decimal
// digits.
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseExpand parses "*", "." or "~", optionally followed by
// "($levels=N)".
func (q *query) parseExpand(val string) *apiError {
	bad := apiErr(http.StatusBadRequest, "QueryParameterValueFormatError", val, "$expand")
	if val == "" {
		return bad
	}
	switch val[0] {
	case '*':
		q.expand = expandAll
	case '.':
		q.expand = expandNoLinks
	case '~':
		q.expand = expandLinks
	default:
		return bad
	}
	q.levels = 1
	rest := val[1:]
	if rest == "" {
		return nil
	}
	n, ok := strings.CutPrefix(rest, "($levels=")
	if !ok {
		return bad
	}
	n, ok = strings.CutSuffix(n, ")")
	if !ok {
		return bad
	}
	if !isInteger(n) {
		return apiErr(http.StatusBadRequest, "QueryParameterValueTypeError", n, "$levels")
	}
	lv, err := strconv.Atoi(n)
	if err != nil || lv < 1 || lv > maxExpandLevels {
		return apiErr(http.StatusBadRequest, "QueryParameterOutOfRange", n, "$levels", "1-"+strconv.Itoa(maxExpandLevels))
	}
	q.levels = lv
	return nil
}

// parseSelect parses a comma-separated list of property paths, each a
// slash-separated list of property names.
func (q *query) parseSelect(val string) *apiError {
	bad := apiErr(http.StatusBadRequest, "QueryParameterValueFormatError", val, "$select")
	props := strings.Split(val, ",")
	if len(props) > maxSelectProperties {
		return bad
	}
	root := &selectNode{}
	for _, p := range props {
		n := root
		for _, name := range strings.Split(p, "/") {
			if !isPropertyName(name) {
				return bad
			}
			n = n.child(name)
		}
		n.whole = true
	}
	q.sel = root
	return nil
}

// isPropertyName accepts the characters of Redfish property names and
// their annotations (DSP0266 "Properties"): letters, digits,
// "_", and "@", "." and "#" for annotations and action names.
func isPropertyName(s string) bool {
	if s == "" || len(s) > maxSelectLength {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '@', c == '.', c == '#':
		default:
			return false
		}
	}
	return true
}

// hasCollectionParams reports whether q uses a parameter that applies
// only to resource collections.
func (q *query) hasCollectionParams() bool { return q.only || q.skip >= 0 || q.top >= 0 }

// nextLink is the URI of the members after the first `shown` of this page
// (which started at skip), keeping every other parameter of the request.
func (q *query) nextLink(path string, skip, shown int) string {
	params := append([]string(nil), q.keep...)
	params = append(params, "$skip="+strconv.Itoa(skip+shown))
	if q.top >= 0 {
		params = append(params, "$top="+strconv.Itoa(q.top-shown))
	}
	return path + "?" + strings.Join(params, "&")
}

// collectionMembers returns v's Members slice when v is a resource
// collection rendered as an M.
func collectionMembers(v any) (M, reflect.Value, bool) {
	m, ok := v.(M)
	if !ok {
		return nil, reflect.Value{}, false
	}
	rv := reflect.ValueOf(m["Members"])
	if rv.Kind() != reflect.Slice {
		return nil, reflect.Value{}, false
	}
	return m, rv, true
}

// page applies $skip, $top and the page size to a collection (DSP0266
// "Query parameters": $skip and $top before server-side paging). It
// returns a shallow copy of m whose Members are the page, with
// Members@odata.nextLink when members remain; Members@odata.count keeps
// the total.
func page(m M, members reflect.Value, path string, q *query, pageSize int) M {
	total := members.Len()
	skip := max(q.skip, 0)
	end := total
	if q.top >= 0 && skip+q.top < end {
		end = skip + q.top
	}
	skip = min(skip, total)
	end = max(end, skip)
	shown := min(end-skip, pageSize)
	if skip == 0 && shown == total {
		return m
	}
	out := make(M, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	out["Members"] = members.Slice(skip, skip+shown).Interface()
	if skip+shown < end {
		out["Members@odata.nextLink"] = q.nextLink(path, skip, shown)
	}
	return out
}

// reservedProperties are kept whatever $select or excerpt say (DSP0266
// "Use of the $select query parameter": @odata.id, @odata.type,
// @odata.context and @odata.etag are in the response as if $select was
// not given).
var reservedProperties = map[string]bool{
	"@odata.id": true, "@odata.type": true, "@odata.context": true, "@odata.etag": true,
}
