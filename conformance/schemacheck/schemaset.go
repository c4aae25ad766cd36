package schemacheck

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// redfishBase is the URL prefix under which DMTF publishes Redfish schemas.
const redfishBase = "http://redfish.dmtf.org/schemas/v1/"

// metaSchemaURL is the $schema every Redfish JSON Schema declares.
const metaSchemaURL = redfishBase + "redfish-schema-v1.json"

// schemaSet is a directory of JSON Schema documents indexed by URL.
type schemaSet struct {
	docs map[string]any    // file name -> parsed document
	base map[string]string // file name -> URL that $refs inside it resolve against
	file map[string]string // URL (without fragment) -> file name
}

// readSchemaSet parses every *.json file in dir. Each file is reachable under
// its $id and under redfishBase+name: DMTF refers to odata-v4.json (whose $id
// is odata.v4_0_5.json, also a file of its own) and to the meta-schema
// redfish-schema-v1.json (whose $id is that of redfish-schema.v1_10_1.json)
// by file name. When several files claim a URL, the $id of a file whose name
// matches it wins, then any $id, then the file name.
func readSchemaSet(dir string) (*schemaSet, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no *.json schema files in %s", dir)
	}
	sort.Strings(paths)
	s := &schemaSet{
		docs: make(map[string]any, len(paths)),
		base: make(map[string]string, len(paths)),
		file: make(map[string]string, 2*len(paths)),
	}
	var ownIDs, otherIDs, aliases [][2]string // {URL, file name}
	for _, p := range paths {
		name := filepath.Base(p)
		doc, err := readJSON(p)
		if err != nil {
			return nil, err
		}
		alias := redfishBase + name
		s.docs[name] = doc
		s.base[name] = alias
		if obj, ok := doc.(map[string]any); ok {
			if id, ok := obj["$id"].(string); ok && id != "" {
				id, _, _ = strings.Cut(id, "#")
				s.base[name] = id
				if strings.TrimSuffix(path.Base(id), ".json") == strings.TrimSuffix(name, ".json") {
					ownIDs = append(ownIDs, [2]string{id, name})
				} else {
					otherIDs = append(otherIDs, [2]string{id, name})
				}
			}
		}
		aliases = append(aliases, [2]string{alias, name})
	}
	for _, claims := range [][][2]string{ownIDs, otherIDs, aliases} {
		for _, c := range claims {
			if _, taken := s.file[c[0]]; !taken {
				s.file[c[0]] = c[1]
			}
		}
	}
	return s, nil
}

func readJSON(path string) (any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return doc, nil
}

// resolve returns the absolute URL, without fragment, that ref refers to from
// a document whose base URL is base. Same-document references yield base.
func resolve(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	u := b.ResolveReference(r)
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// lookup reports which file of the set ref (relative to base) points into.
func (s *schemaSet) lookup(base, ref string) (string, bool) {
	u, err := resolve(base, ref)
	if err != nil {
		return "", false
	}
	name, ok := s.file[u]
	return name, ok
}

// isStandardMeta reports whether ref points at a json-schema.org meta-schema,
// which the jsonschema library embeds.
func isStandardMeta(ref string) bool {
	return strings.HasPrefix(ref, "http://json-schema.org/") || strings.HasPrefix(ref, "https://json-schema.org/")
}

// refs calls fn with every $ref and $schema value in v.
func refs(v any, fn func(ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if s, ok := e.(string); ok && (k == "$ref" || k == "$schema") {
				fn(s)
				continue
			}
			refs(e, fn)
		}
	case []any:
		for _, e := range v {
			refs(e, fn)
		}
	}
}

// prune rewrites doc (owned by file name) so that it compiles although it
// references files missing from the set. The DMTF bundle holds only the newest
// version of each versioned schema, while an unversioned schema such as
// ComputerSystem.json lists every version in an anyOf. A missing alternative
// of an anyOf/oneOf is dropped when a present sibling refers to the same
// definition (the newest version stands in for the older ones); any other
// reference to a missing file (e.g. a Swordfish schema) is removed, which
// leaves an unconstrained schema.
func (s *schemaSet) prune(name string) {
	base := s.base[name]
	// target returns the fragment of v's $ref and whether that ref is dangling.
	target := func(v any) (frag string, isRef, missing bool) {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false, false
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return "", false, false
		}
		_, frag, _ = strings.Cut(ref, "#")
		_, found := s.lookup(base, ref)
		return frag, true, !found && !isStandardMeta(ref)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, kw := range []string{"anyOf", "oneOf"} {
				alts, ok := v[kw].([]any)
				if !ok {
					continue
				}
				present := map[string]bool{}
				for _, a := range alts {
					if frag, isRef, missing := target(a); isRef && !missing {
						present[frag] = true
					}
				}
				kept := alts[:0]
				for _, a := range alts {
					if frag, _, missing := target(a); missing && present[frag] {
						continue
					}
					kept = append(kept, a)
				}
				v[kw] = kept
			}
			if _, _, missing := target(v); missing {
				delete(v, "$ref")
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(s.docs[name])
}
