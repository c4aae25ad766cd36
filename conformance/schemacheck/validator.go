// Package schemacheck validates Redfish payloads against the DMTF Redfish JSON
// Schemas, entirely offline, and crawls a live Redfish service doing so for
// every resource it can reach.
package schemacheck

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ErrSchemaNotFound is returned (wrapped) by Validate when the schema file
// named by a document's @odata.type is not in the schema directory.
var ErrSchemaNotFound = errors.New("schema file not found")

// Validator validates Redfish JSON documents against the schemas of one
// directory. It is safe for concurrent use; schemas are compiled on first use
// and cached.
type Validator struct {
	dir       string
	urls      map[string]string // file name -> URL it is registered under
	errorFile string            // newest redfish-error.v*.json, if any

	mu       sync.Mutex // guards compiler and compiled
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
}

// Load reads every *.json file of dir and registers it under its $id (and
// under http://redfish.dmtf.org/schemas/v1/<file name>) so that references
// between files resolve without network access.
//
// Redfish schemas declare the meta-schema redfish-schema-v1.json, itself a
// draft-07 schema whose extra annotation keywords (readonly,
// longDescription, enumDescriptions, ...) are ignored during validation.
// References to files absent from dir are pruned: see schemaSet.prune.
func Load(dir string) (*Validator, error) {
	set, err := readSchemaSet(dir)
	if err != nil {
		return nil, fmt.Errorf("load schemas: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(offlineLoader{dir})
	c.DefaultDraft(jsonschema.Draft7)
	v := &Validator{
		dir:      dir,
		urls:     make(map[string]string, len(set.docs)),
		compiler: c,
		compiled: make(map[string]*jsonschema.Schema),
	}
	for name := range set.docs {
		set.prune(name)
		for _, u := range []string{set.base[name], redfishBase + name} {
			if set.file[u] == name {
				v.urls[name] = u
				break
			}
		}
		if strings.HasPrefix(name, "redfish-error.v") &&
			(v.errorFile == "" || versionLess(v.errorFile, name)) {
			v.errorFile = name
		}
	}
	for u, name := range set.file {
		if err := c.AddResource(u, set.docs[name]); err != nil {
			return nil, fmt.Errorf("load schemas: register %s as %s: %w", name, u, err)
		}
	}
	if _, ok := set.file[metaSchemaURL]; !ok {
		// The meta-schema only adds annotation keywords to draft-07.
		stub := map[string]any{"$schema": "http://json-schema.org/draft-07/schema#"}
		if err := c.AddResource(metaSchemaURL, stub); err != nil {
			return nil, fmt.Errorf("load schemas: register meta-schema stub: %w", err)
		}
	}
	return v, nil
}

// offlineLoader refuses every URL: all schemas must come from the directory.
type offlineLoader struct{ dir string }

func (l offlineLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("%s is not in %s (network access disabled)", url, l.dir)
}

// Validate checks a Redfish JSON document against the schema definition named
// by its @odata.type ("#ComputerSystem.v1_27_0.ComputerSystem" selects
// ComputerSystem.v1_27_0.json#/definitions/ComputerSystem). A document with no
// @odata.type but a top-level "error" object is checked as a Redfish error
// response. Violations are reported as a *ValidationError.
func (v *Validator) Validate(doc []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("parse document: %w", err)
	}
	return v.validate(inst)
}

func (v *Validator) validate(inst any) error {
	obj, ok := inst.(map[string]any)
	if !ok {
		return errors.New("document is not a JSON object")
	}
	file, ptr, err := v.schemaFor(obj)
	if err != nil {
		return err
	}
	sch, err := v.schema(file, ptr)
	if err != nil {
		return err
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		if ptr != "" {
			file += "#" + ptr
		}
		return newValidationError(file, ve)
	}
	return err
}

// schemaFor maps a document to a schema file name and a JSON pointer in it.
func (v *Validator) schemaFor(obj map[string]any) (file, ptr string, err error) {
	t, ok := obj["@odata.type"].(string)
	if !ok {
		if _, isErr := obj["error"].(map[string]any); isErr {
			if v.errorFile == "" {
				return "", "", fmt.Errorf("%w: no redfish-error.v*.json in %s", ErrSchemaNotFound, v.dir)
			}
			return v.errorFile, "", nil
		}
		return "", "", errors.New("document has no @odata.type")
	}
	ns, typ, ok := splitType(t)
	if !ok {
		return "", "", fmt.Errorf("malformed @odata.type %q", t)
	}
	return ns + ".json", "/definitions/" + typ, nil
}

// splitType splits "#Namespace[.vX_Y_Z].TypeName" into namespace and type name.
func splitType(t string) (ns, typ string, ok bool) {
	t = strings.TrimPrefix(t, "#")
	i := strings.LastIndexByte(t, '.')
	if i <= 0 || i == len(t)-1 || strings.ContainsAny(t, "/#") {
		return "", "", false
	}
	return t[:i], t[i+1:], true
}

// schema returns the compiled schema at ptr in file, compiling it if needed.
func (v *Validator) schema(file, ptr string) (*jsonschema.Schema, error) {
	u, ok := v.urls[file]
	if !ok {
		return nil, fmt.Errorf("%w: %s in %s", ErrSchemaNotFound, file, v.dir)
	}
	loc := u + "#" + ptr
	v.mu.Lock()
	defer v.mu.Unlock()
	if sch, ok := v.compiled[loc]; ok {
		return sch, nil
	}
	sch, err := v.compiler.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile %s#%s: %w", file, ptr, err)
	}
	v.compiled[loc] = sch
	return sch, nil
}

// Violation is one failed schema constraint.
type Violation struct {
	Pointer string // JSON pointer into the document, "" for the root
	Message string
}

// ValidationError lists every violation found in a document.
type ValidationError struct {
	Schema     string // e.g. "ComputerSystem.v1_27_0.json#/definitions/ComputerSystem"
	Violations []Violation
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d violation(s)", e.Schema, len(e.Violations))
	for _, v := range e.Violations {
		p := v.Pointer
		if p == "" {
			p = "(root)"
		}
		fmt.Fprintf(&b, "\n  %s: %s", p, v.Message)
	}
	return b.String()
}

var printer = message.NewPrinter(language.English)

// newValidationError flattens the error tree into its leaves, which carry
// the actual failures (inner nodes only say "anyOf failed" and the like).
func newValidationError(schema string, ve *jsonschema.ValidationError) *ValidationError {
	out := &ValidationError{Schema: schema}
	seen := map[Violation]bool{}
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			v := Violation{Pointer: jsonPointer(e.InstanceLocation), Message: e.ErrorKind.LocalizedString(printer)}
			if !seen[v] {
				seen[v] = true
				out.Violations = append(out.Violations, v)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func jsonPointer(tokens []string) string {
	var b strings.Builder
	esc := strings.NewReplacer("~", "~0", "/", "~1")
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(esc.Replace(t))
	}
	return b.String()
}

// versionLess orders file names such as "X.v1_9_0.json" < "X.v1_10_0.json"
// by the numbers they contain, then lexically.
func versionLess(a, b string) bool {
	na, nb := numbers(a), numbers(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return a < b
}

func numbers(s string) []int {
	var out []int
	n, in := 0, false
	for _, r := range s + "." {
		if r >= '0' && r <= '9' {
			n, in = n*10+int(r-'0'), true
			continue
		}
		if in {
			out = append(out, n)
		}
		n, in = 0, false
	}
	return out
}
