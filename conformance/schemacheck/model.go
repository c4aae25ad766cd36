package schemacheck

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Model reads what the DMTF Redfish JSON Schemas say about resources and
// properties beyond what JSON Schema validation enforces: the URIs a
// resource may be served at (and which of them are deprecated), the methods
// it allows, deprecated properties and enumeration values, read-only and
// write-only properties, the resource type a link must point to, and action
// definitions. These are the facts the DMTF Redfish Service Validator takes
// from the CSDL (Redfish.Uris, Redfish.DeprecatedUris, Capabilities,
// Redfish.Revisions, OData.Permissions, navigation property types); the
// JSON Schemas carry the same facts as uris, urisDeprecated, insertable,
// updatable, deletable, deprecated, versionDeprecated, enumDeprecated,
// enumVersionAdded, readonly, writeOnly, excerptCopy(Only) and $ref.
//
// A Model is read-only after LoadModel and safe for concurrent use.
type Model struct {
	set *schemaSet
}

// LoadModel reads every *.json schema in dir (as Load does, with the same
// pruning of references to files dir lacks).
func LoadModel(dir string) (*Model, error) {
	set, err := readSchemaSet(dir)
	if err != nil {
		return nil, fmt.Errorf("load schema model: %w", err)
	}
	for name := range set.docs {
		set.prune(name)
	}
	return &Model{set: set}, nil
}

// ResourceInfo is what the schemas say about one resource type.
type ResourceInfo struct {
	Namespace string // unversioned, e.g. "ComputerSystem"
	Version   string // of the @odata.type, e.g. "v1_27_0"; "" for unversioned types (collections)
	Name      string // type name, e.g. "ComputerSystem"

	URIs           []string // URI templates, e.g. "/redfish/v1/Systems/{ComputerSystemId}"
	DeprecatedURIs []string // the subset of URIs that is deprecated

	Insertable, Updatable, Deletable bool // POST, PATCH/PUT and DELETE allowed

	Deprecated        string // why the schema is deprecated; "" if it is not
	VersionDeprecated string
}

// Resource returns the facts about the type an @odata.type names
// ("#ComputerSystem.v1_27_0.ComputerSystem"). The error says when no schema
// of the directory defines it.
func (m *Model) Resource(odataType string) (ResourceInfo, error) {
	ns, typ, ok := splitType(odataType)
	if !ok {
		return ResourceInfo{}, fmt.Errorf("malformed @odata.type %q", odataType)
	}
	unversioned, version, _ := strings.Cut(ns, ".")
	info := ResourceInfo{Namespace: unversioned, Version: version, Name: typ}
	def, _ := m.definition(ns+".json", typ)
	if def == nil {
		return info, fmt.Errorf("%w: no definition %s in %s.json", ErrSchemaNotFound, typ, ns)
	}
	// The unversioned definition carries the URIs and capabilities; the
	// versioned one the deprecation of the schema itself.
	udef, _ := m.definition(unversioned+".json", typ)
	if udef == nil {
		udef = def
	}
	info.URIs = strings_(udef["uris"])
	info.DeprecatedURIs = strings_(udef["urisDeprecated"])
	info.Insertable, _ = udef["insertable"].(bool)
	info.Updatable, _ = udef["updatable"].(bool)
	info.Deletable, _ = udef["deletable"].(bool)
	for _, d := range []map[string]any{def, udef} {
		if s, ok := d["deprecated"].(string); ok && info.Deprecated == "" {
			info.Deprecated = s
			info.VersionDeprecated, _ = d["versionDeprecated"].(string)
		}
	}
	return info, nil
}

// MatchURI returns the first of templates that uri matches, each {Name}
// segment standing for one non-empty path segment (and an optional trailing
// slash allowed, as the Service Validator allows it), or "" if none does.
func MatchURI(templates []string, uri string) string {
	for _, t := range templates {
		if uriPattern(t).MatchString(uri) {
			return t
		}
	}
	return ""
}

var templateVar = regexp.MustCompile(`\{[A-Za-z0-9]+\}`)

func uriPattern(t string) *regexp.Regexp {
	parts := templateVar.Split(t, -1)
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^" + strings.Join(parts, "[^/]+") + "/?$")
}

func strings_(v any) []string {
	a, _ := v.([]any)
	out := make([]string, 0, len(a))
	for _, e := range a {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// definition returns #/definitions/typ of file and the base URL that $refs
// inside it resolve against.
func (m *Model) definition(file, typ string) (map[string]any, string) {
	doc, ok := m.set.docs[file].(map[string]any)
	if !ok {
		return nil, ""
	}
	defs, _ := doc["definitions"].(map[string]any)
	def, _ := defs[typ].(map[string]any)
	return def, m.set.base[file]
}

// Prop is one property value of a document, with the schema entry that
// declares it.
type Prop struct {
	Pointer string         // JSON pointer of the value, e.g. "/Boot/BootSourceOverrideTarget", "/Fans/0"
	Name    string         // the property's name; for an array element the array's name
	Index   int            // the element's index for an array element, else -1
	Value   any            // the value (for an array property: the whole array)
	Parent  map[string]any // the object that holds the property
	Owner   string         // file of the definition declaring the property, e.g. "ComputerSystem.v1_27_0.json"

	// Schema is the property's entry in its object's definition: its
	// annotations (readonly, deprecated, versionDeprecated, writeOnly,
	// excerptCopyOnly, versionAdded, ...) apply to the property.
	Schema map[string]any
	// Enum is the enumeration definition (enum, enumDeprecated,
	// enumVersionDeprecated, ...) when the property's type is one.
	Enum map[string]any
	// Link is the resource type a reference must point to, "Namespace.Type"
	// unversioned (e.g. "ComputerSystem.ComputerSystem"), when the property
	// is a navigation property; "Resource.Item" and the like for any.
	Link string
	// Action is the action definition (with its parameters) for an
	// "#Namespace.Action" property of an Actions object.
	Action map[string]any
	// InExcerpt says the property is inside an excerpt copy of a resource.
	InExcerpt bool
}

// Deprecated returns why the property is deprecated ("" and false if not).
func (p Prop) Deprecated() (string, bool) {
	if s, ok := p.Schema["deprecated"].(string); ok {
		return s, true
	}
	if s, ok := p.Schema["versionDeprecated"].(string); ok {
		return "deprecated in " + s, true
	}
	return "", false
}

// ReadOnly reports the property's readonly annotation.
func (p Prop) ReadOnly() bool { b, _ := p.Schema["readonly"].(bool); return b }

// WriteOnly reports the property's writeOnly annotation (the value must be
// null in responses).
func (p Prop) WriteOnly() bool { b, _ := p.Schema["writeOnly"].(bool); return b }

// ValueDeprecated returns why the (enumeration) value is deprecated.
func (p Prop) ValueDeprecated() (string, bool) {
	s, ok := p.Value.(string)
	if !ok || p.Enum == nil {
		return "", false
	}
	if d, _ := p.Enum["enumDeprecated"].(map[string]any); d != nil {
		if why, ok := d[s].(string); ok {
			return why, true
		}
	}
	if d, _ := p.Enum["enumVersionDeprecated"].(map[string]any); d != nil {
		if v, ok := d[s].(string); ok {
			return "deprecated in " + v, true
		}
	}
	return "", false
}

// annotationKey matches payload annotations ("@odata.id" is declared as a
// property; "Members@odata.count" too, where it applies).
var annotationKey = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)?@(odata|Redfish|Message)\.[a-zA-Z_][a-zA-Z0-9_]*$`)

// Props calls fn for every property of doc that its schema declares, depth
// first in key order: array properties once as a whole and once per
// element. doc's @odata.type selects its definition; an embedded object
// with an @odata.type of its own (an OEM extension, an expanded resource)
// is walked with its own definition when the directory has one, and
// skipped otherwise. Annotations that the definition does not declare as
// properties, and properties it does not declare at all (schema validation
// reports those), are skipped. The error says when doc's own type has no
// definition.
func (m *Model) Props(doc map[string]any, fn func(Prop)) error {
	t, _ := doc["@odata.type"].(string)
	ns, typ, ok := splitType(t)
	if !ok {
		return fmt.Errorf("document has no usable @odata.type (%q)", t)
	}
	def, base := m.definition(ns+".json", typ)
	if def == nil {
		return fmt.Errorf("%w: no definition %s in %s.json", ErrSchemaNotFound, typ, ns)
	}
	w := propWalker{m: m, fn: fn}
	w.object(doc, def, base, "", false)
	return nil
}

type propWalker struct {
	m  *Model
	fn func(Prop)
}

// object walks obj as an instance of def (found in the file of base).
func (w *propWalker) object(obj map[string]any, def map[string]any, base, ptr string, excerpt bool) {
	def, base = w.m.objectDef(def, base)
	if def == nil {
		return
	}
	props, _ := def["properties"].(map[string]any)
	patterns, _ := def["patternProperties"].(map[string]any)
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps, ok := props[k].(map[string]any)
		if !ok {
			if strings.Contains(k, "@") {
				continue
			}
			for pat, s := range patterns {
				if annotationKey.String() == pat {
					continue
				}
				if re, err := regexp.Compile(pat); err == nil && re.MatchString(k) {
					ps, ok = s.(map[string]any)
					break
				}
			}
			if !ok {
				continue
			}
		}
		w.property(obj, k, ps, base, ptr+"/"+escapePointer(k), excerpt)
	}
}

// property reports one property and descends into its value.
func (w *propWalker) property(parent map[string]any, name string, ps map[string]any, base, ptr string, excerpt bool) {
	val := parent[name]
	owner := w.m.fileOf(base)
	if arr, ok := val.([]any); ok {
		items, _ := ps["items"].(map[string]any)
		w.fn(Prop{Pointer: ptr, Name: name, Index: -1, Value: val, Parent: parent, Owner: owner, Schema: ps, InExcerpt: excerpt})
		if items == nil {
			return
		}
		for i, e := range arr {
			w.value(parent, name, i, e, ps, items, base, ptr+"/"+strconv.Itoa(i), excerpt)
		}
		return
	}
	w.value(parent, name, -1, val, ps, ps, base, ptr, excerpt)
}

// value reports one value of a property (the property itself, or one
// element of an array property) typed by typ, and descends into it.
func (w *propWalker) value(parent map[string]any, name string, idx int, val any, ps, typ map[string]any, base, ptr string, excerpt bool) {
	if _, ok := ps["excerptCopy"]; ok {
		excerpt = true
	}
	p := Prop{Pointer: ptr, Name: name, Index: idx, Value: val, Parent: parent, Owner: w.m.fileOf(base), Schema: ps, InExcerpt: excerpt}
	kind := w.m.classify(typ, base)
	p.Link = kind.link
	p.Enum = kind.enum
	if strings.HasPrefix(name, "#") && kind.object != nil {
		p.Action = kind.object
	}
	w.fn(p)
	obj, ok := val.(map[string]any)
	if !ok {
		return
	}
	if t, ok := obj["@odata.type"].(string); ok {
		// A typed object: an OEM extension or an expanded resource.
		if ns, tn, ok := splitType(t); ok {
			if def, b := w.m.definition(ns+".json", tn); def != nil {
				w.object(obj, def, b, ptr, excerpt)
			}
		}
		return
	}
	switch {
	case kind.object != nil:
		w.object(obj, kind.object, kind.base, ptr, excerpt)
	case kind.link != "" && len(obj) > 1:
		// An excerpt copy (or an expansion without @odata.type): walk the
		// newest full definition the reference allows.
		if kind.full != nil {
			w.object(obj, kind.full, kind.fullBase, ptr, excerpt)
		}
	}
}

// kind is what a property's type resolves to.
type kind struct {
	object   map[string]any // an object definition (embedded complex type, action)
	enum     map[string]any // an enumeration definition
	base     string         // of the file holding object or enum
	link     string         // for a navigation property: the target's "Namespace.Type"
	full     map[string]any // for a navigation property: the newest full definition
	fullBase string
}

// classify resolves a property's type: it follows $ref, and anyOf
// alternatives other than null, until it reaches an object definition, an
// enumeration, or the anyOf of an idRef and the versions of a resource (a
// navigation property).
func (m *Model) classify(s map[string]any, base string) kind {
	name := ""
	for range 16 {
		if ref, ok := s["$ref"].(string); ok {
			target, tbase, tname := m.deref(base, ref)
			if target == nil {
				return kind{}
			}
			s, base, name = target, tbase, tname
			continue
		}
		if alts, ok := s["anyOf"].([]any); ok {
			var keep []map[string]any
			idRef := false
			for _, a := range alts {
				am, _ := a.(map[string]any)
				if am == nil || am["type"] == "null" {
					continue
				}
				if ref, _ := am["$ref"].(string); strings.HasSuffix(ref, "odata-v4.json#/definitions/idRef") {
					idRef = true
					continue
				}
				keep = append(keep, am)
			}
			if idRef {
				k := kind{link: strings.TrimSuffix(m.fileOf(base), ".json") + "." + name}
				if len(keep) > 0 {
					k.full, k.fullBase = m.objectDef(keep[len(keep)-1], base)
				}
				return k
			}
			if len(keep) == 0 {
				return kind{}
			}
			// The newest version stands for them all.
			s = keep[len(keep)-1]
			continue
		}
		if _, ok := s["enum"]; ok {
			return kind{enum: s, base: base}
		}
		if _, ok := s["properties"]; ok {
			return kind{object: s, base: base}
		}
		if _, ok := s["patternProperties"]; ok {
			return kind{object: s, base: base}
		}
		return kind{}
	}
	return kind{}
}

// objectDef resolves def to an object definition (following $ref and the
// newest anyOf alternative other than an idRef).
func (m *Model) objectDef(def map[string]any, base string) (map[string]any, string) {
	for range 16 {
		if _, ok := def["properties"]; ok {
			return def, base
		}
		if ref, ok := def["$ref"].(string); ok {
			t, b, _ := m.deref(base, ref)
			if t == nil {
				return nil, ""
			}
			def, base = t, b
			continue
		}
		alts, ok := def["anyOf"].([]any)
		if !ok {
			return def, base
		}
		var last map[string]any
		for _, a := range alts {
			am, _ := a.(map[string]any)
			if am == nil || am["type"] == "null" {
				continue
			}
			if ref, _ := am["$ref"].(string); strings.HasSuffix(ref, "odata-v4.json#/definitions/idRef") {
				continue
			}
			last = am
		}
		if last == nil {
			return nil, ""
		}
		def = last
	}
	return nil, ""
}

// deref resolves a $ref from a file whose base URL is base, returning the
// definition it points at, the base URL of its file and the definition's
// name.
func (m *Model) deref(base, ref string) (map[string]any, string, string) {
	file, ok := m.set.lookup(base, ref)
	if !ok {
		return nil, "", ""
	}
	_, frag, _ := strings.Cut(ref, "#")
	var cur any = m.set.docs[file]
	name := ""
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if tok == "" {
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, "", ""
		}
		name = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		cur = obj[name]
	}
	def, _ := cur.(map[string]any)
	return def, m.set.base[file], name
}

// fileOf returns the file name whose base URL is base.
func (m *Model) fileOf(base string) string {
	if f, ok := m.set.file[base]; ok {
		return f
	}
	return base
}

func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// VersionLess compares schema versions written "v1_2_3" or "1.2.3"; a
// malformed version sorts first.
func VersionLess(a, b string) bool {
	na, nb := versionNumbers(a), versionNumbers(b)
	for i := range 3 {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	return false
}

func versionNumbers(v string) [3]int {
	var out [3]int
	v = strings.TrimPrefix(v, "v")
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == '_' || r == '.' })
	for i := 0; i < 3 && i < len(parts); i++ {
		out[i], _ = strconv.Atoi(parts[i])
	}
	return out
}
