package schemacheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Profile is a Redfish interoperability profile (DMTF DSP0272), in the
// subset of the profile language Check implements: Protocol and Registries
// MinVersion; per resource ReadRequirement, URIs, MinVersion,
// PropertyRequirements and ActionRequirements; per property ReadRequirement,
// WriteRequirement, MinCount, MinSupportValues, Values with the Comparison
// AnyOf, AllOf, Equal, NotEqual or LinkToResource, ReplacesProperty,
// ReplacedByProperty and nested PropertyRequirements; per action
// ReadRequirement and Parameters (ReadRequirement, ParameterValues,
// RecommendedValues). LoadProfile refuses a profile that uses anything else
// (ConditionalRequirements, UseCases, ...), so that a requirement is never
// silently ignored.
type Profile struct {
	SchemaDefinition string
	ProfileName      string
	ProfileVersion   string
	Purpose          string
	OwningEntity     string
	ContactInfo      string
	License          string
	Protocol         struct{ MinVersion string }
	Registries       map[string]*RegistryRequirement
	Resources        map[string]*ResourceRequirement
}

// RegistryRequirement requires a message registry (by prefix) and messages.
type RegistryRequirement struct {
	Purpose    string
	MinVersion string
	Messages   map[string]struct{ Purpose, ReadRequirement string }
}

// ResourceRequirement is what a profile asks of one resource type.
type ResourceRequirement struct {
	Purpose              string
	ReadRequirement      string // Mandatory (default), Recommended, IfImplemented
	MinVersion           string // e.g. "1.9.0"
	URIs                 []string
	CreateResource       bool // not checked (as the DMTF Interop Validator does not)
	PropertyRequirements map[string]*PropertyRequirement
	ActionRequirements   map[string]*ActionRequirement
}

// PropertyRequirement is what a profile asks of one property.
type PropertyRequirement struct {
	Purpose              string
	ReadRequirement      string // Mandatory (default), Recommended, IfImplemented, IfPopulated
	WriteRequirement     string // Mandatory, Supported, Recommended
	MinCount             *int
	MinSupportValues     []string
	Comparison           string // AnyOf (default), AllOf, Equal, NotEqual, LinkToResource
	Values               []any
	ReplacesProperty     string
	ReplacedByProperty   string
	PropertyRequirements map[string]*PropertyRequirement
}

// ActionRequirement is what a profile asks of one action.
type ActionRequirement struct {
	Purpose         string
	ReadRequirement string
	Parameters      map[string]*ParameterRequirement
}

// ParameterRequirement is what a profile asks of one action parameter.
type ParameterRequirement struct {
	Purpose           string
	ReadRequirement   string
	ParameterValues   []string
	RecommendedValues []string
}

// LoadProfile reads a profile file; an error names what it cannot check.
func LoadProfile(file string) (*Profile, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var p Profile
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("profile %s: %w (a term the checker does not implement?)", file, err)
	}
	for name, r := range p.Resources {
		if err := checkLevels(name, r.ReadRequirement, "Mandatory", "Recommended", "IfImplemented"); err != nil {
			return nil, err
		}
		if err := checkPropertyTerms(name, r.PropertyRequirements); err != nil {
			return nil, err
		}
		for an, a := range r.ActionRequirements {
			if err := checkLevels(name+"."+an, a.ReadRequirement, "Mandatory", "Recommended", "IfImplemented"); err != nil {
				return nil, err
			}
			for pn, pr := range a.Parameters {
				if err := checkLevels(name+"."+an+"."+pn, pr.ReadRequirement, "Mandatory", "Recommended", "IfImplemented"); err != nil {
					return nil, err
				}
			}
		}
	}
	return &p, nil
}

func checkPropertyTerms(where string, reqs map[string]*PropertyRequirement) error {
	for name, r := range reqs {
		at := where + "." + name
		if err := checkLevels(at, r.ReadRequirement, "Mandatory", "Recommended", "IfImplemented", "IfPopulated"); err != nil {
			return err
		}
		if err := checkLevels(at, r.WriteRequirement, "Mandatory", "Supported", "Recommended", "None"); err != nil {
			return err
		}
		if err := checkLevels(at, r.Comparison, "AnyOf", "AllOf", "Equal", "NotEqual", "LinkToResource"); err != nil {
			return err
		}
		if err := checkPropertyTerms(at, r.PropertyRequirements); err != nil {
			return err
		}
	}
	return nil
}

func checkLevels(where, v string, allowed ...string) error {
	if v != "" && !slices.Contains(allowed, v) {
		return fmt.Errorf("profile: %s: %q is not implemented (only %v)", where, v, allowed)
	}
	return nil
}

// ProfileDocument is one resource of the service, as Check sees it.
type ProfileDocument struct {
	Path   string
	Header http.Header // for Allow
	Doc    map[string]any
}

// ProfileFinding is one requirement of the profile a service does not meet.
type ProfileFinding struct {
	Level    string // "Mandatory" (a failure) or "Recommended" (a miss)
	Resource string // resource type of the profile, or "Protocol", "Registries"
	Path     string // the document, if any
	Property string // e.g. "Boot.BootSourceOverrideTarget", "Actions.Reset.ResetType"
	Message  string
}

func (f ProfileFinding) String() string {
	return fmt.Sprintf("%s %s %s %s: %s", f.Level, f.Resource, f.Path, f.Property, f.Message)
}

// Check evaluates the profile over docs, every resource of a service (the
// service root included); get fetches a linked resource for LinkToResource
// and ActionInfo (nil, false if it does not answer). Findings come sorted.
//
// A requirement with no ReadRequirement is Mandatory, as DSP0272 says; a
// property that is present is read even when null (a sensor without a
// reading), as the Interop Validator counts it, but null has no value to
// compare; properties are required only inside a resource (or an object)
// that is present; an array property's nested requirements apply to each
// element.
// Where the DMTF Interop Validator 2.3.6 differs, Check follows DSP0272:
// an action's default ReadRequirement is Mandatory (the validator checks
// none), MinSupportValues of an array property without
// @Redfish.AllowableValues is met by the array's own values (the validator
// looks up "<name>#0@Redfish.AllowableValues", which cannot exist), and a
// parameter is described when ActionInfo lists it, even if it can have no
// AllowableValues (a free-form Image URI).
func (p *Profile) Check(docs []ProfileDocument, get func(path string) (map[string]any, bool)) []ProfileFinding {
	c := &checker{get: get, anyOf: map[string]*aggregate{}}
	var root map[string]any
	for _, d := range docs {
		if typeOf(d.Doc) == "ServiceRoot" {
			root = d.Doc
		}
	}
	if p.Protocol.MinVersion != "" {
		if v, _ := root["RedfishVersion"].(string); VersionLess(v, p.Protocol.MinVersion) {
			c.add("Mandatory", "Protocol", "/redfish/v1", "RedfishVersion", "%q, want at least %s", v, p.Protocol.MinVersion)
		}
	}
	for prefix, reg := range p.Registries {
		c.registry(prefix, reg, docs)
	}
	names := make([]string, 0, len(p.Resources))
	for n := range p.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		req := p.Resources[name]
		n := 0
		for _, d := range docs {
			if typeOf(d.Doc) != name || (len(req.URIs) > 0 && MatchURI(req.URIs, d.Path) == "") {
				continue
			}
			n++
			c.resource(name, req, d)
		}
		if n == 0 {
			c.missing(level(req.ReadRequirement), name, "", "", "no %s resource is served", name)
		}
	}
	c.aggregates()
	sort.Slice(c.out, func(i, j int) bool { return c.out[i].String() < c.out[j].String() })
	return c.out
}

type checker struct {
	get   func(string) (map[string]any, bool)
	out   []ProfileFinding
	anyOf map[string]*aggregate // AnyOf/AllOf comparisons, across resources
}

type aggregate struct {
	level, resource, property, comparison string
	want                                  []any
	seen                                  []any
}

func (c *checker) add(lvl, res, path, prop, format string, args ...any) {
	c.out = append(c.out, ProfileFinding{lvl, res, path, prop, fmt.Sprintf(format, args...)})
}

// missing records an absent item at its requirement level.
func (c *checker) missing(lvl, res, path, prop, format string, args ...any) {
	if lvl == "Mandatory" || lvl == "Recommended" {
		c.add(lvl, res, path, prop, format, args...)
	}
}

func level(req string) string {
	if req == "" || req == "Supported" {
		return "Mandatory"
	}
	return req
}

func typeOf(doc map[string]any) string {
	t, _ := doc["@odata.type"].(string)
	return t[strings.LastIndexByte(t, '.')+1:]
}

func (c *checker) registry(prefix string, req *RegistryRequirement, docs []ProfileDocument) {
	for _, d := range docs {
		if typeOf(d.Doc) != "MessageRegistry" || d.Doc["RegistryPrefix"] != prefix {
			continue
		}
		v, _ := d.Doc["RegistryVersion"].(string)
		if VersionLess(v, req.MinVersion) {
			continue
		}
		msgs, _ := d.Doc["Messages"].(map[string]any)
		for key, m := range req.Messages {
			if _, ok := msgs[key]; !ok {
				c.missing(level(m.ReadRequirement), "Registries", d.Path, prefix+"."+key, "message not in the registry")
			}
		}
		return
	}
	c.add("Mandatory", "Registries", "", prefix, "no %s message registry of version %s or later is served", prefix, req.MinVersion)
}

func (c *checker) resource(name string, req *ResourceRequirement, d ProfileDocument) {
	if req.MinVersion != "" {
		t, _ := d.Doc["@odata.type"].(string)
		parts := strings.Split(strings.TrimPrefix(t, "#"), ".")
		if len(parts) != 3 || VersionLess(parts[1], req.MinVersion) {
			c.add("Mandatory", name, d.Path, "@odata.type", "%s, want version %s or later", t, req.MinVersion)
		}
	}
	props := make([]string, 0, len(req.PropertyRequirements))
	for n := range req.PropertyRequirements {
		props = append(props, n)
	}
	sort.Strings(props)
	for _, n := range props {
		c.property(name, d, d.Doc, n, n, req.PropertyRequirements[n])
	}
	actions, _ := d.Doc["Actions"].(map[string]any)
	ns, _, _ := strings.Cut(strings.TrimPrefix(fmt.Sprint(d.Doc["@odata.type"]), "#"), ".")
	for an, areq := range req.ActionRequirements {
		c.action(name, d, actions, ns, an, areq)
	}
}

// property checks one property requirement of container (the resource or
// an object in it); path is the property's dotted path for findings.
func (c *checker) property(res string, d ProfileDocument, container map[string]any, name, path string, req *PropertyRequirement) {
	if r := req.ReplacedByProperty; r != "" && hasKey(d.Doc, container, r) {
		return // the replacement is served and stands for this one
	}
	val, present := container[name]
	lvl := level(req.ReadRequirement)
	if lvl == "IfPopulated" {
		lvl = "Mandatory"
		if st, _ := container["Status"].(map[string]any); st["State"] == "Absent" {
			lvl = "Recommended"
		}
	}
	if !present {
		if r := req.ReplacesProperty; r != "" && hasKey(d.Doc, container, r) {
			c.add("Recommended", res, d.Path, path, "absent; only the property it replaces, %s, is served", r)
			return
		}
		c.missing(lvl, res, d.Path, path, "absent")
		return
	}
	if arr, ok := val.([]any); ok {
		if req.MinCount != nil {
			n := len(arr)
			if cnt, ok := container[name+"@odata.count"].(float64); ok && int(cnt) > n {
				n = int(cnt)
			}
			if n < *req.MinCount {
				c.add("Mandatory", res, d.Path, path, "%d members, want at least %d", n, *req.MinCount)
			}
		}
		if len(req.MinSupportValues) > 0 {
			supported, ok := container[name+"@Redfish.AllowableValues"].([]any)
			if !ok {
				supported = arr
			}
			c.supports(res, d.Path, path, supported, req.MinSupportValues)
		}
		for i, e := range arr {
			c.value(res, d, container, name, fmt.Sprintf("%s[%d]", path, i), e, req, lvl)
		}
		return
	}
	c.write(res, d, container, name, path, req)
	if len(req.MinSupportValues) > 0 {
		supported, _ := container[name+"@Redfish.AllowableValues"].([]any)
		c.supports(res, d.Path, path, supported, req.MinSupportValues)
	}
	c.value(res, d, container, name, path, val, req, lvl)
}

// value checks Values and nested requirements against one value (the
// property's, or one element of an array property).
func (c *checker) value(res string, d ProfileDocument, container map[string]any, name, path string, val any, req *PropertyRequirement, lvl string) {
	if len(req.Values) > 0 && val != nil {
		switch cmp := req.Comparison; cmp {
		case "", "AnyOf", "AllOf":
			if cmp == "" {
				cmp = "AnyOf"
			}
			key := res + "." + arrayIndex.ReplaceAllString(path, "")
			a := c.anyOf[key]
			if a == nil {
				a = &aggregate{level: lvl, resource: res, property: key[len(res)+1:], comparison: cmp, want: req.Values}
				c.anyOf[key] = a
			}
			a.seen = append(a.seen, val)
		case "Equal", "NotEqual":
			if slices.Contains(req.Values, val) != (cmp == "Equal") {
				c.add("Mandatory", res, d.Path, path, "%v, want %s %v", val, cmp, req.Values)
			}
		case "LinkToResource":
			ref, _ := val.(map[string]any)
			id, _ := ref["@odata.id"].(string)
			target, ok := c.get(id)
			if !ok {
				c.add("Mandatory", res, d.Path, path, "the link %q does not resolve", id)
			} else if !slices.Contains(req.Values, any(typeOf(target))) {
				c.add("Mandatory", res, d.Path, path, "links to a %s, want one of %v", typeOf(target), req.Values)
			}
		}
	}
	obj, ok := val.(map[string]any)
	if !ok {
		return
	}
	names := make([]string, 0, len(req.PropertyRequirements))
	for n := range req.PropertyRequirements {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.property(res, d, obj, n, path+"."+n, req.PropertyRequirements[n])
	}
}

// arrayIndex matches the "[3]" of an array element's path.
var arrayIndex = regexp.MustCompile(`\[[0-9]+\]`)

// write checks a WriteRequirement: the resource allows PATCH and the
// object holding the property lists it in @Redfish.WriteableProperties.
func (c *checker) write(res string, d ProfileDocument, container map[string]any, name, path string, req *PropertyRequirement) {
	if req.WriteRequirement == "" || req.WriteRequirement == "None" {
		return
	}
	lvl := level(req.WriteRequirement)
	allow := d.Header.Get("Allow")
	if !slices.Contains(strings.Split(strings.ReplaceAll(allow, " ", ""), ","), "PATCH") {
		c.add(lvl, res, d.Path, path, "not writable: Allow is %q", allow)
		return
	}
	w, _ := container["@Redfish.WriteableProperties"].([]any)
	if !slices.Contains(w, any(name)) {
		c.add(lvl, res, d.Path, path, "not in the @Redfish.WriteableProperties of its object (%v)", w)
	}
}

func (c *checker) supports(res, docPath, path string, supported []any, want []string) {
	for _, v := range want {
		if !slices.Contains(supported, any(v)) {
			c.add("Mandatory", res, docPath, path, "supports %v, want at least %v", supported, want)
			return
		}
	}
}

func (c *checker) action(res string, d ProfileDocument, actions map[string]any, ns, name string, req *ActionRequirement) {
	path := "Actions." + name
	act, ok := actions["#"+ns+"."+name].(map[string]any)
	if !ok {
		c.missing(level(req.ReadRequirement), res, d.Path, path, "action #%s.%s absent", ns, name)
		return
	}
	var info []any
	if u, ok := act["@Redfish.ActionInfo"].(string); ok {
		ai, ok := c.get(u)
		if !ok {
			c.add("Mandatory", res, d.Path, path, "its @Redfish.ActionInfo %s does not resolve", u)
		}
		info, _ = ai["Parameters"].([]any)
	}
	for pn, preq := range req.Parameters {
		ppath := path + "." + pn
		var allowable []any
		described := false
		for _, e := range info {
			if m, _ := e.(map[string]any); m["Name"] == pn {
				described = true
				allowable, _ = m["AllowableValues"].([]any)
			}
		}
		if av, ok := act[pn+"@Redfish.AllowableValues"].([]any); ok {
			described = true
			if allowable == nil {
				allowable = av
			}
		}
		if !described {
			c.missing(level(preq.ReadRequirement), res, d.Path, ppath, "neither ActionInfo nor @Redfish.AllowableValues describes the parameter")
			continue
		}
		for _, v := range preq.ParameterValues {
			if !slices.Contains(allowable, any(v)) {
				c.add("Mandatory", res, d.Path, ppath, "allows %v, want at least %v", allowable, preq.ParameterValues)
				break
			}
		}
		for _, v := range preq.RecommendedValues {
			if !slices.Contains(allowable, any(v)) {
				c.add("Recommended", res, d.Path, ppath, "allows %v, recommended %v", allowable, preq.RecommendedValues)
				break
			}
		}
	}
}

// aggregates evaluates the AnyOf and AllOf comparisons over every value
// seen, across resources.
func (c *checker) aggregates() {
	for _, a := range c.anyOf {
		ok := false
		switch a.comparison {
		case "AnyOf":
			for _, w := range a.want {
				ok = ok || slices.Contains(a.seen, w)
			}
		case "AllOf":
			ok = true
			for _, w := range a.want {
				ok = ok && slices.Contains(a.seen, w)
			}
		}
		if !ok {
			lvl := a.level
			if lvl != "Recommended" {
				lvl = "Mandatory"
			}
			c.add(lvl, a.resource, "", a.property, "values %v, want %s %v", a.seen, a.comparison, a.want)
		}
	}
}

// hasKey reports whether a property named by a profile (a name in the same
// object, or a JSON pointer from the resource) is present and not null.
func hasKey(doc, container map[string]any, ref string) bool {
	if !strings.HasPrefix(ref, "/") {
		return container[ref] != nil
	}
	var cur any = doc
	for _, tok := range strings.Split(ref[1:], "/") {
		m, ok := cur.(map[string]any)
		if !ok || m[tok] == nil {
			return false
		}
		cur = m[tok]
	}
	return true
}
