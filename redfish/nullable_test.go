package redfish

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// bodySchemas names the schema definition each decodeBody call site
// decodes against, keyed by "file:function" of the call (the function
// declaration that holds it, closures included). Action bodies name the
// action's definition and take its "parameters"; resource bodies take
// "properties".
var bodySchemas = map[string]bodySchema{
	"accountservice.go:createAccount":        {"ManagerAccount", "ManagerAccount", false},
	"accountservice.go:patchAccount":         {"ManagerAccount", "ManagerAccount", false},
	"bios.go:patchBiosSettings":              {"Bios", "Bios", false},
	"bios.go:patchSecureBoot":                {"SecureBoot", "SecureBoot", false},
	"bootoptions.go:patchBootOption":         {"BootOption", "BootOption", false},
	"certificates.go:addCertificate":         {"Certificate", "Certificate", false},
	"chassis.go:chassisRoutes":               {"Chassis", "Chassis", false},
	"eventdestination.go:createSubscription": {"EventDestination", "EventDestination", false},
	"eventdestination.go:patchSubscription":  {"EventDestination", "EventDestination", false},
	"eventdestination.go:suspendAction":      {"EventDestination", "ResumeSubscription", true},
	"eventservice.go:patchService":           {"EventService", "EventService", false},
	"eventservice.go:submitTestEvent":        {"EventService", "SubmitTestEvent", true},
	"managers.go:resetManager":               {"Manager", "Reset", true},
	"sessionservice.go:sessionRoutes":        {"SessionService", "SessionService", false},
	"sessionservice.go:login":                {"Session", "Session", false},
	"systems.go:patchSystem":                 {"ComputerSystem", "ComputerSystem", false},
	"systems.go:resetSystem":                 {"ComputerSystem", "Reset", true},
	"updatepush.go:push":                     {"UpdateService", "UpdateParameters", false},
	"updateservice.go:patch":                 {"UpdateService", "UpdateService", false},
	"updateservice.go:simpleUpdate":          {"UpdateService", "SimpleUpdate", true},
	"virtualmedia.go:insertMedia":            {"VirtualMedia", "InsertMedia", true},
	"virtualmedia.go:patchMedia":             {"VirtualMedia", "VirtualMedia", false},
	"volumes.go:createVolume":                {"Volume", "Volume", false},
}

// notInSchema are members bmcd takes that the schema does not define,
// with the reason.
var notInSchema = map[string]string{
	"VirtualMedia.InsertMedia/MediaType": "gofish's VirtualMediaInsertMediaParameters sends it",
}

type bodySchema struct {
	file, def string
	action    bool
}

// TestNullableTagsAgreeWithSchemas finds every decodeBody call in the
// package's source, the struct it decodes into (named or anonymous), and
// checks each field at every depth against the DMTF schema in schemas/:
// the member exists there, and a field that takes null (nullable:"true")
// is nullable in the schema. A schema-nullable property without the tag
// refuses null on purpose: null would mean nothing bmcd can do.
func TestNullableTagsAgreeWithSchemas(t *testing.T) {
	sites := decodeSites(t)
	seen := map[string]bool{}
	sc := newSchemaSet("../schemas")
	for _, site := range sites {
		if site.body == nil {
			continue // &struct{}{}: nothing to check
		}
		bs, ok := bodySchemas[site.key]
		if !ok {
			t.Errorf("%s: decodeBody call (%s) not in bodySchemas; name its schema definition", site.pos, site.key)
			continue
		}
		seen[site.key] = true
		file, def := sc.definition(t, bs.file, bs.def)
		members := "properties"
		if bs.action {
			members = "parameters"
		}
		checkStruct(t, sc, site.pkg, site.body, def, members, bs.file+"."+bs.def, file)
	}
	for k := range bodySchemas {
		if !seen[k] {
			t.Errorf("bodySchemas has %s, which calls decodeBody no more", k)
		}
	}
}

// checkStruct checks the fields of st against the members of def.
func checkStruct(t *testing.T, sc *schemaSet, pkg map[string]*ast.StructType, st *ast.StructType, def map[string]any, members, where, file string) {
	props, _ := def[members].(map[string]any)
	for _, f := range st.Fields.List {
		if f.Tag == nil || len(f.Names) == 0 {
			continue
		}
		tag := reflect.StructTag(mustUnquote(t, f.Tag.Value))
		name, _, _ := strings.Cut(tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		nullable, hasTag := tag.Lookup("nullable")
		if hasTag && nullable != "true" {
			t.Errorf("%s/%s: tag nullable:%q; the only value is \"true\"", where, name, nullable)
		}
		p, ok := props[name].(map[string]any)
		if !ok {
			if _, known := notInSchema[where+"/"+name]; !known {
				t.Errorf("%s/%s: not in the schema", where, name)
			}
			continue
		}
		if hasTag && !schemaNullable(p) {
			t.Errorf("%s/%s: tagged nullable, but the schema does not allow null", where, name)
		}
		// Nested structs: the property's object definition.
		typ := f.Type
		for {
			switch x := typ.(type) {
			case *ast.StarExpr:
				typ = x.X
				continue
			case *ast.ArrayType:
				typ = x.Elt
				if it, ok := p["items"].(map[string]any); ok {
					p = it
				}
				continue
			}
			break
		}
		var nested *ast.StructType
		switch x := typ.(type) {
		case *ast.StructType:
			nested = x
		case *ast.Ident:
			nested = pkg[x.Name]
		}
		if nested == nil {
			continue
		}
		nf, ndef, nname := sc.objectOf(t, file, p)
		if ndef == nil {
			t.Errorf("%s/%s: a struct, but the schema's property is not an object", where, name)
			continue
		}
		checkStruct(t, sc, pkg, nested, ndef, "properties", where+"/"+name+"("+nname+")", nf)
	}
}

func mustUnquote(t *testing.T, s string) string {
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// schemaNullable reports whether a property's schema allows null: a type
// list with "null", or an anyOf with {"type": "null"}.
func schemaNullable(p map[string]any) bool {
	switch ty := p["type"].(type) {
	case string:
		if ty == "null" {
			return true
		}
	case []any:
		for _, x := range ty {
			if x == "null" {
				return true
			}
		}
	}
	if alts, ok := p["anyOf"].([]any); ok {
		for _, a := range alts {
			if m, ok := a.(map[string]any); ok && m["type"] == "null" {
				return true
			}
		}
	}
	return false
}

// decodeSite is one decodeBody call: where it is and the struct it
// decodes into (nil for an empty struct).
type decodeSite struct {
	key, pos string
	body     *ast.StructType
	pkg      map[string]*ast.StructType // the package's named struct types
}

// decodeSites parses the package's source (not its tests) for decodeBody
// calls and resolves the type of each call's destination.
func decodeSites(t *testing.T) []decodeSite {
	t.Helper()
	fset := gotoken.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	pkg := map[string]*ast.StructType{}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == gotoken.TYPE {
				for _, s := range g.Specs {
					ts := s.(*ast.TypeSpec)
					if st, ok := ts.Type.(*ast.StructType); ok {
						pkg[ts.Name.Name] = st
					}
				}
			}
		}
	}
	var sites []decodeSite
	for _, f := range parsed {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || fd.Name.Name == "decodeBody" {
				continue
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "decodeBody" || len(call.Args) != 3 {
					return true
				}
				pos := fset.Position(call.Pos()).String()
				st := destStruct(t, pos, call.Args[1], pkg)
				if st != nil && len(st.Fields.List) == 0 {
					st = nil
				}
				sites = append(sites, decodeSite{key: file + ":" + fd.Name.Name, pos: pos, body: st, pkg: pkg})
				return true
			})
		}
	}
	if len(sites) < 20 {
		t.Fatalf("found %d decodeBody calls; the source walk is broken", len(sites))
	}
	return sites
}

// destStruct resolves &x (x declared "var x T" or "x := T{}") or
// &struct{...}{} to its struct type.
func destStruct(t *testing.T, pos string, arg ast.Expr, pkg map[string]*ast.StructType) *ast.StructType {
	u, ok := arg.(*ast.UnaryExpr)
	if !ok || u.Op != gotoken.AND {
		t.Fatalf("%s: decodeBody's destination is not &x", pos)
	}
	var typ ast.Expr
	switch x := u.X.(type) {
	case *ast.CompositeLit:
		typ = x.Type
	case *ast.Ident:
		if x.Obj == nil {
			t.Fatalf("%s: cannot resolve %s", pos, x.Name)
		}
		switch d := x.Obj.Decl.(type) {
		case *ast.ValueSpec:
			typ = d.Type
		case *ast.AssignStmt:
			if cl, ok := d.Rhs[0].(*ast.CompositeLit); ok {
				typ = cl.Type
			}
		}
	}
	switch x := typ.(type) {
	case *ast.StructType:
		return x
	case *ast.Ident:
		if st, ok := pkg[x.Name]; ok {
			return st
		}
	}
	t.Fatalf("%s: cannot resolve decodeBody's destination to a struct type", pos)
	return nil
}

// schemaSet reads schemas/ files on demand.
type schemaSet struct {
	dir   string
	files map[string]map[string]any
}

func newSchemaSet(dir string) *schemaSet {
	return &schemaSet{dir: dir, files: map[string]map[string]any{}}
}

var versionRE = regexp.MustCompile(`\.v(\d+)_(\d+)_(\d+)\.json$`)

// newest is the file name of a schema's newest version in dir
// ("ComputerSystem" → "ComputerSystem.v1_27_0.json"), or of its
// unversioned file when it has no versions.
func (s *schemaSet) newest(name string) string {
	matches, _ := filepath.Glob(filepath.Join(s.dir, name+".v*.json"))
	if len(matches) == 0 {
		return name + ".json"
	}
	sort.Slice(matches, func(i, j int) bool { return versionKey(matches[i]) < versionKey(matches[j]) })
	return filepath.Base(matches[len(matches)-1])
}

// read reads (once) the schema file of that exact name.
func (s *schemaSet) read(t *testing.T, file string) map[string]any {
	t.Helper()
	if doc, ok := s.files[file]; ok {
		return doc
	}
	raw, err := os.ReadFile(filepath.Join(s.dir, file))
	if err != nil {
		t.Fatalf("schema: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("schema %s: %v", file, err)
	}
	s.files[file] = doc
	return doc
}

func versionKey(f string) string {
	m := versionRE.FindStringSubmatch(f)
	if m == nil {
		return ""
	}
	n := func(s string) int { i, _ := strconv.Atoi(s); return i }
	return fmt.Sprintf("%04d.%04d.%04d", n(m[1]), n(m[2]), n(m[3]))
}

// definition returns the file of the newest version of schema name and
// its definitions[def].
func (s *schemaSet) definition(t *testing.T, name, def string) (string, map[string]any) {
	t.Helper()
	file := s.newest(name)
	defs, _ := s.read(t, file)["definitions"].(map[string]any)
	d, ok := defs[def].(map[string]any)
	if !ok {
		t.Fatalf("schema %s has no definition %s", file, def)
	}
	return file, d
}

// objectOf resolves a property's schema, in file, to the object
// definition it refers to: through $ref, or the last (newest) $ref of an
// anyOf, until a definition with properties; an unversioned file's
// definition is an anyOf of its versions. It returns the file the
// definition is in, the definition (nil if the property is no object)
// and its name.
func (s *schemaSet) objectOf(t *testing.T, file string, p map[string]any) (string, map[string]any, string) {
	t.Helper()
	for range 8 {
		if _, ok := p["properties"]; ok {
			return file, p, "inline"
		}
		ref, _ := p["$ref"].(string)
		if alts, ok := p["anyOf"].([]any); ok && ref == "" {
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok && m["$ref"] != nil {
					ref = m["$ref"].(string)
				}
			}
		}
		if ref == "" {
			return file, nil, ""
		}
		target, ptr, _ := strings.Cut(ref, "#")
		if target != "" {
			file = filepath.Base(target)
		}
		def := strings.TrimPrefix(ptr, "/definitions/")
		defs, _ := s.read(t, file)["definitions"].(map[string]any)
		next, ok := defs[def].(map[string]any)
		if !ok {
			t.Fatalf("%s: no definition %s", file, def)
		}
		if _, ok := next["properties"]; ok {
			return file, next, def
		}
		p = next
	}
	t.Fatalf("%s: $ref chain too long", file)
	return "", nil, ""
}

// TestNullRefused: an explicit null is not an absent member. Where null
// means nothing bmcd can do it is 400 PropertyValueTypeError (or, for an
// action, ActionParameterValueTypeError) naming it at its depth, and the
// resource is unchanged; where the schema makes it meaningful it is
// taken.
func TestNullRefused(t *testing.T) {
	e := newEnv(t)
	const cd = "/redfish/v1/Managers/0/VirtualMedia/CD"
	const account = "/redfish/v1/AccountService/Accounts/3"
	for _, tc := range []struct {
		name, method, path string
		body               string
		key                string   // "" for success
		args               []string // the MessageArgs
	}{
		{"IndicatorLED", "PATCH", sys0, `{"IndicatorLED":null}`, "PropertyValueTypeError", []string{"null", "/IndicatorLED"}},
		{"Boot", "PATCH", sys0, `{"Boot":null}`, "PropertyValueTypeError", []string{"null", "/Boot"}},
		{"Boot member", "PATCH", sys0, `{"Boot":{"BootSourceOverrideEnabled":null}}`, "PropertyValueTypeError", []string{"null", "/Boot/BootSourceOverrideEnabled"}},
		{"beside a valid member", "PATCH", sys0, `{"IndicatorLED":"Lit","LocationIndicatorActive":null}`, "PropertyValueTypeError", []string{"null", "/LocationIndicatorActive"}},
		{"array element", "PATCH", sys0, `{"Boot":{"BootOrder":["Boot0001",null]}}`, "PropertyValueTypeError", []string{"null", "/Boot/BootOrder/1"}},
		{"BootOrder", "PATCH", sys0, `{"Boot":{"BootOrder":null}}`, "PropertyValueTypeError", []string{"null", "/Boot/BootOrder"}},
		{"Inserted", "PATCH", cd, `{"Inserted":null}`, "PropertyValueTypeError", []string{"null", "/Inserted"}},
		{"VerifyCertificate", "PATCH", cd, `{"VerifyCertificate":null}`, "PropertyValueTypeError", []string{"null", "/VerifyCertificate"}},
		{"Chassis IndicatorLED", "PATCH", "/redfish/v1/Chassis/0", `{"IndicatorLED":null}`, "PropertyValueTypeError", []string{"null", "/IndicatorLED"}},
		{"SessionTimeout", "PATCH", "/redfish/v1/SessionService", `{"SessionTimeout":null}`, "PropertyValueTypeError", []string{"null", "/SessionTimeout"}},
		{"Account UserName", "PATCH", account, `{"UserName":null}`, "PropertyValueTypeError", []string{"null", "/UserName"}},
		{"Subscription Context", "POST", subscriptionsPath, `{"Destination":"https://127.0.0.1:9/e","Protocol":"Redfish","Context":null}`, "PropertyValueTypeError", []string{"null", "/Context"}},
		{"ResetType", "POST", reset0, `{"ResetType":null}`, "ActionParameterValueTypeError", []string{"null", "ResetType", "ComputerSystem.Reset"}},
		{"InsertMedia Inserted", "POST", cd + "/Actions/VirtualMedia.InsertMedia", `{"Image":"http://127.0.0.1:9/x.iso","Inserted":null}`, "ActionParameterValueTypeError", []string{"null", "Inserted", "VirtualMedia.InsertMedia"}},
		{"action array element", "POST", eventServicePath + "/Actions/EventService.SubmitTestEvent", `{"MessageId":"Contoso.1.0.Hello","MessageArgs":["a",null]}`, "ActionParameterValueTypeError", []string{"null", "MessageArgs.1", "EventService.SubmitTestEvent"}},
		// Nulls the schema makes meaningful.
		{"BootNext clears", "PATCH", sys0, `{"Boot":{"BootNext":null}}`, "", nil},
		{"Image ejects", "PATCH", cd, `{"Image":null}`, "", nil},
		{"Password, read as null, is unchanged", "PATCH", account, `{"Password":null}`, "", nil},
		// Annotations are dropped before, whatever their value.
		{"null annotation", "PATCH", sys0, `{"IndicatorLED":"Off","IndicatorLED@Redfish.AllowableValues":null}`, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			get := tc.path
			if tc.method == "POST" {
				get = sys0
			}
			before := e.get(get).obj()
			r := e.with(t).do(tc.method, tc.path, tc.body)
			if tc.key == "" {
				r.want(http.StatusNoContent)
				return
			}
			r.wantError(http.StatusBadRequest, tc.key)
			if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
				t.Errorf("MessageArgs %q, want %q", got, tc.args)
			}
			if after := e.get(get).obj(); !reflect.DeepEqual(before, after) {
				t.Errorf("a refused request changed %s:\nbefore %v\nafter  %v", get, before, after)
			}
		})
	}
}
