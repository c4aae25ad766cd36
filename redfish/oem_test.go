package redfish

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"testing"
)

// csdlTypes reads the OEM CSDL: each ComplexType of the versioned
// namespace, its base type and its properties' Edm types.
func csdlTypes(t *testing.T, raw []byte) map[string]struct {
	base  string
	props map[string]string
} {
	t.Helper()
	var doc struct {
		Schemas []struct {
			Namespace string `xml:"Namespace,attr"`
			Types     []struct {
				Name  string `xml:"Name,attr"`
				Base  string `xml:"BaseType,attr"`
				Props []struct {
					Name string `xml:"Name,attr"`
					Type string `xml:"Type,attr"`
				} `xml:"Property"`
			} `xml:"ComplexType"`
		} `xml:"DataServices>Schema"`
	}
	if err := xml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("OEM CSDL: %v", err)
	}
	out := map[string]struct {
		base  string
		props map[string]string
	}{}
	for _, s := range doc.Schemas {
		for _, ct := range s.Types {
			props := map[string]string{}
			for _, p := range ct.Props {
				props[p.Name] = p.Type
			}
			out[s.Namespace+"."+ct.Name] = struct {
				base  string
				props map[string]string
			}{ct.Base, props}
		}
	}
	return out
}

// TestOemTypes crawls the service and checks every Oem object bmcd serves:
// each carries an @odata.type defined in the OEM CSDL (as a
// Resource.OemObject), with only the properties the CSDL declares, of the
// declared types; and $metadata references that CSDL, served publicly.
func TestOemTypes(t *testing.T) {
	e := newEnv(t, withBackend("pkvm", &noBootBackend{}), withStoredImages(func(r *http.Request) []StoredImage {
		return []StoredImage{{Name: "a.iso", URL: "https://" + r.Host + "/media/00/a.iso", ISO9660: true, Size: 1, SHA256: strings.Repeat("0", 64)}}
	}))
	types := csdlTypes(t, oemSchema)
	if len(types) == 0 {
		t.Fatal("the OEM CSDL defines no types")
	}
	meta := e.get("/redfish/v1/$metadata", anonymous()).want(http.StatusOK).Body
	if !bytes.Contains(meta, []byte(`<edmx:Reference Uri="`+oemSchemaURI+`">`)) ||
		!bytes.Contains(meta, []byte(`<edmx:Include Namespace="bmcd.v1_0_0"/>`)) {
		t.Errorf("$metadata does not reference %s", oemSchemaURI)
	}
	csdl := e.get(oemSchemaURI, anonymous()).want(http.StatusOK)
	if !bytes.Equal(csdl.Body, oemSchema) || !strings.HasPrefix(csdl.Header.Get("Content-Type"), "application/xml") {
		t.Errorf("GET %s: %s", oemSchemaURI, csdl.Header.Get("Content-Type"))
	}

	edm := map[string]func(any) bool{
		"Edm.Boolean": func(v any) bool { _, ok := v.(bool); return ok },
		"Edm.String":  func(v any) bool { _, ok := v.(string); return ok },
		"Edm.Int64":   func(v any) bool { _, ok := v.(float64); return ok },
		// Enumerations of DMTF schemas the OEM CSDL references.
		"VirtualMedia.MediaType": func(v any) bool { _, ok := v.(string); return ok },
	}
	// valid checks a value against a declared type: an Edm or referenced
	// type, or a collection of the OEM CSDL's complex types.
	var valid func(typ string, v any) bool
	valid = func(typ string, v any) bool {
		if f, ok := edm[typ]; ok {
			return f(v)
		}
		if elem, ok := strings.CutPrefix(typ, "Collection("); ok {
			list, ok := v.([]any)
			for _, x := range list {
				ok = ok && valid(strings.TrimSuffix(elem, ")"), x)
			}
			return ok
		}
		def, ok := types[typ]
		obj, isObj := v.(map[string]any)
		if !ok || !isObj {
			return false
		}
		for k, pv := range obj {
			if et, ok := def.props[k]; !ok || !valid(et, pv) {
				return false
			}
		}
		return true
	}
	found := 0
	var check func(path string, v any)
	check = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if o, ok := x["Oem"].(map[string]any); ok {
				for vendor, ext := range o {
					obj, _ := ext.(map[string]any)
					typ, _ := obj["@odata.type"].(string)
					def, ok := types[strings.TrimPrefix(typ, "#")]
					if vendor != oemName || !ok || def.base != "Resource.OemObject" {
						t.Errorf("%s: Oem.%s has @odata.type %q, not a bmcd OEM type", path, vendor, typ)
						continue
					}
					found++
					for k, pv := range obj {
						if k == "@odata.type" {
							continue
						}
						if et, ok := def.props[k]; !ok || !valid(et, pv) {
							t.Errorf("%s: Oem.bmcd.%s = %v is not declared as %q in %s", path, k, pv, et, typ)
						}
					}
				}
			}
			for _, c := range x {
				check(path, c)
			}
		case []any:
			for _, c := range x {
				check(path, c)
			}
		}
	}
	queue, seen := []string{"/redfish/v1"}, map[string]bool{"/redfish/v1": true}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		r := e.get(p)
		if r.Code != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			continue
		}
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		check(p, v)
		collectLinks(v, func(l string) {
			l, _, _ = strings.Cut(l, "#")
			if !seen[l] {
				seen[l] = true
				queue = append(queue, l)
			}
		})
	}
	if found < 3 { // the two sim systems and the power-only one
		t.Errorf("found only %d Oem objects in %d documents", found, len(seen))
	}
	if got := at(e.get(sys0).obj(), "Oem", "bmcd", "@odata.type"); got != "#bmcd.v1_0_0.ComputerSystem" {
		t.Errorf("ComputerSystem Oem.bmcd @odata.type %v", got)
	}
}
