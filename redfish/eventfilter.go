package redfish

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// eventRecord is one event as the event service publishes it: an
// EventRecord of the Event schema (Event.v1_13_0), shared read-only by
// every destination's queue once published.
type eventRecord struct {
	Seq          uint64 // service-wide number: the EventId and the SSE id
	Time         time.Time
	EventType    string // "Other" (the type is deprecated) unless a test event names one
	MessageID    string
	Message      string
	Args         []string
	Severity     string // MessageSeverity: OK, Warning, Critical
	Resolution   string
	Origin       string // OriginOfCondition URI; "" when none
	ResourceType string // schema name of Origin, e.g. "ComputerSystem"
	LogEntry     string // the event log entry that records it, if any
	GroupID      *int
	// Account events (ownerAccount != 0) go to SSE clients that may see
	// that account only, as GET on the account would.
	ownerAccount int
}

// payload renders the record as an Event (Event.v1_13_0) for a destination
// whose Context is ctx.
func (r *eventRecord) payload(ctx string) M {
	id := strconv.FormatUint(r.Seq, 10)
	rec := M{
		"MemberId":        "0",
		"EventType":       r.EventType,
		"EventId":         id,
		"EventTimestamp":  r.Time.UTC().Format(timeFormat),
		"MessageId":       r.MessageID,
		"Message":         r.Message,
		"MessageArgs":     r.Args,
		"MessageSeverity": r.Severity,
		"Severity":        r.Severity,
	}
	if r.Args == nil {
		rec["MessageArgs"] = []string{}
	}
	if r.Resolution != "" {
		rec["Resolution"] = r.Resolution
	}
	if r.Origin != "" {
		rec["OriginOfCondition"] = link{r.Origin}
	}
	if r.LogEntry != "" {
		rec["LogEntry"] = link{r.LogEntry}
	}
	if r.GroupID != nil {
		rec["EventGroupId"] = *r.GroupID
	}
	return M{
		"@odata.type":        "#Event.v1_13_0.Event",
		"Id":                 id,
		"Name":               "Event " + id,
		"Context":            ctx,
		"Events":             []M{rec},
		"Events@odata.count": 1,
	}
}

// registryPrefixOf is the registry part of a MessageId ("ResourceEvent" of
// "ResourceEvent.1.4.ResourceCreated").
func registryPrefixOf(id string) string {
	p, _, _ := strings.Cut(id, ".")
	return p
}

// messageIDMatches compares a MessageId a client names with an event's, as
// the EventDestination schema says: registry prefix and message key must
// be equal, versions are ignored, so "ResourceEvent.ResourceCreated" and
// "ResourceEvent.1.0.ResourceCreated" both match
// "ResourceEvent.1.4.ResourceCreated".
func messageIDMatches(want, id string) bool {
	key := func(s string) string { return s[strings.LastIndexByte(s, '.')+1:] }
	return strings.Contains(want, ".") && registryPrefixOf(want) == registryPrefixOf(id) && key(want) == key(id)
}

// originMatches reports whether an event about origin is one about res, or
// below it when subordinate is set. A trailing slash is insignificant.
func originMatches(res, origin string, subordinate bool) bool {
	res, origin = strings.TrimRight(res, "/"), strings.TrimRight(origin, "/")
	if origin == "" || res == "" {
		return false
	}
	return origin == res || (subordinate && strings.HasPrefix(origin, res+"/"))
}

// subscriptionFilter is what an EventDestination selects (EventDestination
// v1_16_0): each non-empty list must admit the event.
type subscriptionFilter struct {
	RegistryPrefixes        []string `json:"registry_prefixes,omitempty"`
	MessageIDs              []string `json:"message_ids,omitempty"`
	ExcludeRegistryPrefixes []string `json:"exclude_registry_prefixes,omitempty"`
	ExcludeMessageIDs       []string `json:"exclude_message_ids,omitempty"`
	ResourceTypes           []string `json:"resource_types,omitempty"`
	OriginResources         []string `json:"origin_resources,omitempty"`
	SubordinateResources    bool     `json:"subordinate_resources,omitempty"`
	Severities              []string `json:"severities,omitempty"`
	EventTypes              []string `json:"event_types,omitempty"` // deprecated property
}

func (f *subscriptionFilter) matches(r *eventRecord) bool {
	prefix := registryPrefixOf(r.MessageID)
	idIn := func(ids []string) bool {
		return slices.ContainsFunc(ids, func(w string) bool { return messageIDMatches(w, r.MessageID) })
	}
	switch {
	case slices.Contains(f.ExcludeRegistryPrefixes, prefix), idIn(f.ExcludeMessageIDs):
		return false
	// RegistryPrefixes and MessageIds admit an event together: either may.
	case len(f.RegistryPrefixes)+len(f.MessageIDs) > 0 && !slices.Contains(f.RegistryPrefixes, prefix) && !idIn(f.MessageIDs):
		return false
	case len(f.ResourceTypes) > 0 && !slices.Contains(f.ResourceTypes, r.ResourceType):
		return false
	case len(f.OriginResources) > 0 && !slices.ContainsFunc(f.OriginResources, func(o string) bool {
		return originMatches(o, r.Origin, f.SubordinateResources)
	}):
		return false
	case len(f.Severities) > 0 && !slices.Contains(f.Severities, r.Severity):
		return false
	// Events of type Other are sent by RegistryPrefixes and ResourceTypes,
	// whatever the deprecated EventTypes say (Event schema, EventType).
	case len(f.EventTypes) > 0 && r.EventType != "Other" && !slices.Contains(f.EventTypes, r.EventType):
		return false
	}
	return true
}

// The $filter of the Server-Sent Events stream (DSP0266, "Server-sent
// events"): comparisons of the properties in sseFilterProperties with eq or
// ne, combined with and, or, not and parentheses; values are 'quoted'
// (” for a quote) or bare words. SubordinateResources eq true makes every
// OriginResource comparison admit subordinate resources too.
var sseFilterProperties = []string{"EventFormatType", "EventType", "MessageId", "OriginResource", "RegistryPrefix", "ResourceType", "SubordinateResources"}

// Bounds on a $filter, so a query string cannot cost more than it should.
const (
	maxFilterLength = 4096
	maxFilterDepth  = 32
)

// sseFilter is a parsed $filter; nil admits everything.
type sseFilter struct {
	root        filterNode
	subordinate bool
}

func (f *sseFilter) matches(r *eventRecord) bool { return f == nil || f.root.eval(r, f) }

// String is the filter in canonical form: fully parenthesised, values quoted.
func (f *sseFilter) String() string {
	if f == nil {
		return ""
	}
	return f.root.String()
}

type filterNode interface {
	eval(r *eventRecord, f *sseFilter) bool
	String() string
}

type (
	orNode  []filterNode
	andNode []filterNode
	notNode struct{ x filterNode }
	cmpNode struct {
		prop, value string
		ne          bool
	}
)

func (n orNode) eval(r *eventRecord, f *sseFilter) bool {
	return slices.ContainsFunc(n, func(x filterNode) bool { return x.eval(r, f) })
}

func (n andNode) eval(r *eventRecord, f *sseFilter) bool {
	return !slices.ContainsFunc(n, func(x filterNode) bool { return !x.eval(r, f) })
}

func (n notNode) eval(r *eventRecord, f *sseFilter) bool { return !n.x.eval(r, f) }

func (n cmpNode) eval(r *eventRecord, f *sseFilter) bool {
	var eq bool
	switch n.prop {
	case "EventFormatType":
		eq = n.value == "Event"
	case "EventType":
		eq = r.EventType == n.value
	case "MessageId":
		eq = messageIDMatches(n.value, r.MessageID)
	case "OriginResource":
		eq = originMatches(n.value, r.Origin, f.subordinate)
	case "RegistryPrefix":
		eq = registryPrefixOf(r.MessageID) == n.value
	case "ResourceType":
		eq = r.ResourceType != "" && schemaName(n.value) == r.ResourceType
	case "SubordinateResources":
		return true // a modifier, not a condition
	}
	return eq != n.ne
}

func joinNodes[T ~[]filterNode](n T, op string) string {
	parts := make([]string, len(n))
	for i, x := range n {
		parts[i] = x.String()
	}
	return "(" + strings.Join(parts, " "+op+" ") + ")"
}

func (n orNode) String() string  { return joinNodes(n, "or") }
func (n andNode) String() string { return joinNodes(n, "and") }
func (n notNode) String() string { return "(not " + n.x.String() + ")" }
func (n cmpNode) String() string {
	op := "eq"
	if n.ne {
		op = "ne"
	}
	return "(" + n.prop + " " + op + " '" + strings.ReplaceAll(n.value, "'", "''") + "')"
}

// filterError is the 400 for a $filter bmcd cannot use; why is the
// logged cause (Resolution is the registry's text).
func filterError(filter, why string) *apiError {
	return withCause(apiErr(http.StatusBadRequest, "QueryParameterValueFormatError", filter, "$filter"), errors.New(why))
}

// parseSSEFilter parses a $filter value; "" is no filter.
func parseSSEFilter(s string) (*sseFilter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > maxFilterLength {
		return nil, filterError(s[:64]+"...", fmt.Sprintf("it is longer than %d bytes", maxFilterLength))
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, filterError(s, err.Error())
	}
	p := &filterParser{toks: toks, f: &sseFilter{}}
	root, err := p.or(0)
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return nil, filterError(s, err.Error())
	}
	p.f.root = root
	return p.f, nil
}

type filterToken struct {
	text   string
	quoted bool
}

func lexFilter(s string) ([]filterToken, error) {
	var toks []filterToken
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, filterToken{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated quoted value")
				}
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()'", rune(s[j])) {
				j++
			}
			toks = append(toks, filterToken{text: s[i:j]})
			i = j
		}
	}
	return toks, nil
}

type filterParser struct {
	toks []filterToken
	pos  int
	f    *sseFilter
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && !p.toks[p.pos].quoted && p.toks[p.pos].text == w
}

func (p *filterParser) or(depth int) (filterNode, error) {
	var terms orNode
	for {
		t, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if !p.peekWord("or") {
			break
		}
		p.pos++
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) and(depth int) (filterNode, error) {
	var terms andNode
	for {
		t, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
		if !p.peekWord("and") {
			break
		}
		p.pos++
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *filterParser) unary(depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, fmt.Errorf("it nests deeper than %d", maxFilterDepth)
	}
	switch {
	case p.pos >= len(p.toks):
		return nil, fmt.Errorf("it ends where a comparison should follow")
	case p.peekWord("not"):
		p.pos++
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return notNode{x}, nil
	case p.peekWord("("):
		p.pos++
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if !p.peekWord(")") {
			return nil, fmt.Errorf("a parenthesis is not closed")
		}
		p.pos++
		return x, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (filterNode, error) {
	if p.pos+3 > len(p.toks) {
		return nil, fmt.Errorf("an incomplete comparison")
	}
	prop, op, val := p.toks[p.pos], p.toks[p.pos+1], p.toks[p.pos+2]
	if prop.quoted || !slices.Contains(sseFilterProperties, prop.text) {
		return nil, fmt.Errorf("%q is not a property the stream can be filtered by", prop.text)
	}
	if op.quoted || (op.text != "eq" && op.text != "ne") {
		return nil, fmt.Errorf("%q is not eq or ne", op.text)
	}
	if !val.quoted && (val.text == "(" || val.text == ")") {
		return nil, fmt.Errorf("%s %s has no value", prop.text, op.text)
	}
	p.pos += 3
	n := cmpNode{prop: prop.text, value: val.text, ne: op.text == "ne"}
	if n.prop == "SubordinateResources" {
		v, err := strconv.ParseBool(n.value)
		if err != nil || (n.value != "true" && n.value != "false") {
			return nil, fmt.Errorf("SubordinateResources takes true or false, not %q", n.value)
		}
		if v != n.ne {
			p.f.subordinate = true
		}
	}
	return n, nil
}
