// Package backendconfig decodes a backend's block of bmcd's YAML
// configuration file (`sim:` for the sim backend) into the backend's own
// parameter struct, strictly and with go-playground validator rules, so
// that every backend reports bad parameters the same way:
// "<backend>.<field>: <what is wrong>".
//
// It is apart from package hardware so that the machine model does not
// carry a configuration format: hardware only knows the
// hardware.BackendConfig interface, which Params implements.
package backendconfig

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"
)

// Params is one system's backend block, undecoded. The zero value, or a
// nil or null node, is an empty block.
type Params struct {
	backend string
	node    *yaml.Node
}

// New keeps node, the value of the block keyed by backend, for the
// backend to decode. node may be nil (no block).
func New(backend string, node *yaml.Node) Params {
	return Params{backend: backend, node: node}
}

// validate reads `validate` rules and names fields by their yaml keys.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string { return keyOf(f) })
	return v
}()

var durationType = reflect.TypeOf(time.Duration(0))

// Decode implements hardware.BackendConfig. v must be a non-nil pointer to
// a struct; each exported field is the key its `yaml` tag names (else its
// lower-cased name; "-" skips it). Keys are decoded one by one, so an
// error names its key: an unknown key, one given twice, a value of the
// wrong type (nested mappings are decoded with unknown fields refused) or
// a time.Duration field that time.ParseDuration refuses. A null value
// leaves the field as it is. Then v's `validate` rules are checked; every
// broken rule is reported, joined by "; ". Every error reads
// "<backend>.<key>: ...".
func (p Params) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("%s: backendconfig: Decode needs a non-nil pointer to a struct, not %T", p.backend, v)
	}
	st := rv.Elem()
	fields := map[string]int{}
	var keys []string
	for i := range st.NumField() {
		f := st.Type().Field(i)
		if k := keyOf(f); f.IsExported() && k != "-" {
			fields[k] = i
			keys = append(keys, k)
		}
	}
	if n := resolve(p.node); n != nil && !isNull(n) {
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s: want a mapping of parameters, not %s", p.backend, describeNode(n))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i].Value, resolve(n.Content[i+1])
			idx, ok := fields[key]
			if !ok {
				known := "none"
				if len(keys) > 0 {
					known = strings.Join(keys, ", ")
				}
				return fmt.Errorf("%s.%s: unknown parameter (known: %s)", p.backend, key, known)
			}
			if seen[key] {
				return fmt.Errorf("%s.%s: given twice", p.backend, key)
			}
			seen[key] = true
			if isNull(val) {
				continue
			}
			if err := decodeValue(val, st.Field(idx)); err != nil {
				return fmt.Errorf("%s.%s: %w", p.backend, key, err)
			}
		}
	}
	var ve validator.ValidationErrors
	if err := validate.Struct(v); errors.As(err, &ve) {
		msgs := make([]string, len(ve))
		for i, fe := range ve {
			path := fe.Namespace()
			if _, rest, ok := strings.Cut(path, "."); ok {
				path = rest // drop the struct's type name
			}
			msgs[i] = fmt.Sprintf("%s.%s: %s", p.backend, path, rule(fe))
		}
		return errors.New(strings.Join(msgs, "; "))
	} else if err != nil {
		return fmt.Errorf("%s: %w", p.backend, err)
	}
	return nil
}

// decodeValue decodes one key's value into field.
func decodeValue(val *yaml.Node, field reflect.Value) error {
	if field.Type() == durationType {
		// yaml.v3 decodes "2s" too, but says only "cannot unmarshal".
		var s string
		if err := val.Decode(&s); err != nil {
			return yamlError(err)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
		return nil
	}
	// A yaml.Node decodes without unknown-field checking: decode a copy
	// of the text with it.
	raw, err := yaml.Marshal(val)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	return yamlError(dec.Decode(field.Addr().Interface()))
}

// yamlError drops the line numbers of a *yaml.TypeError (they count in
// the copy decodeValue made) and the "yaml:" prefix; the caller names
// the key.
func yamlError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if rest, ok := strings.CutPrefix(m, "line "); ok {
			if _, after, ok := strings.Cut(rest, ": "); ok {
				m = after
			}
		}
		// "field bogus not found in type atx.Config": Go's type means
		// nothing to whoever wrote the file.
		m = unknownField.ReplaceAllString(m, `unknown key "$1"`)
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

var unknownField = regexp.MustCompile(`field (\S+) not found in type \S+`)

// rule says which validate rule a field breaks.
func rule(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "required"
	case "min", "gte":
		return fmt.Sprintf("%v is below the minimum %s", fe.Value(), fe.Param())
	case "max", "lte":
		return fmt.Sprintf("%v is above the maximum %s", fe.Value(), fe.Param())
	case "oneof":
		return fmt.Sprintf("%v is not one of %s", fe.Value(), fe.Param())
	}
	if fe.Param() != "" {
		return fmt.Sprintf("%v breaks the rule %s=%s", fe.Value(), fe.Tag(), fe.Param())
	}
	return fmt.Sprintf("%v breaks the rule %s", fe.Value(), fe.Tag())
}

// keyOf is a field's configuration key, as yaml.v3 names it.
func keyOf(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.DocumentNode && len(n.Content) == 1 || n.Kind == yaml.AliasNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else {
			n = n.Content[0]
		}
	}
	return n
}

// isNull: no value, or an empty document.
func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "this"
}
