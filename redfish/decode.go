package redfish

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
)

// bodyKind says whether a body is a resource (PATCH, POST to a collection)
// or action parameters: the Base registry has different messages for each.
type bodyKind struct {
	action string // action name, e.g. "ComputerSystem.Reset"; "" for resources
	// writable is consulted for unknown properties: names the resource has
	// but does not let clients set get PropertyNotWritable.
	readOnly func(name string) bool
}

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}()

// decodeBody strictly decodes a JSON object body into dst (a struct with
// pointer fields, so absence is visible) and validates it. Every failure
// is a 400 (or 413) with the Base registry message that names the problem.
// An empty body is allowed only for actions. A body whose Content-Type
// is not JSON (see jsonMediaType) is a 415 with Base HeaderInvalid
// "Content-Type".
//
// A member whose value is null, at any depth, is refused (400
// PropertyValueTypeError "null" and its JSON pointer; for actions
// ActionParameterValueTypeError "null", the parameter and the action)
// unless its field is tagged nullable:"true": decoding alone would make an
// explicit null look like an absent member, a request that silently
// changes nothing. The tag is for the few properties whose schema is
// nullable and to which null means something bmcd does (see
// acceptsNull). Array elements are never null: bmcd replaces an array
// whole and does not take DSP0266's null-to-remove-an-element form.
func decodeBody(r *http.Request, dst any, kind bodyKind) (map[string]json.RawMessage, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apiErr(http.StatusRequestEntityTooLarge, "PayloadTooLarge")
		}
		return nil, apiErr(http.StatusBadRequest, "UnrecognizedRequestBody")
	}
	if len(bytes.TrimSpace(raw)) != 0 && !jsonMediaType(r.Header.Get("Content-Type")) {
		return nil, apiErr(http.StatusUnsupportedMediaType, "HeaderInvalid", "Content-Type")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if kind.action == "" {
			return nil, apiErr(http.StatusBadRequest, "EmptyJSON")
		}
		raw = []byte("{}")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, apiErr(http.StatusBadRequest, "UnrecognizedRequestBody")
		}
		return nil, apiErr(http.StatusBadRequest, "MalformedJSON")
	}
	if top == nil {
		return nil, apiErr(http.StatusBadRequest, "UnrecognizedRequestBody")
	}
	// encoding/json keeps the last of a repeated member silently; RFC 8259
	// leaves repeats undefined, so which value was meant is unknown.
	if dup := duplicateMember(raw); dup != "" {
		if kind.action != "" {
			return nil, apiErr(http.StatusBadRequest, "ActionParameterDuplicate", kind.action, strings.TrimPrefix(dup, "/"))
		}
		return nil, apiErr(http.StatusBadRequest, "PropertyDuplicate", dup)
	}
	// Annotations (@odata.etag, ...) may accompany a body and are ignored.
	// A body of annotations only asks for nothing: DSP0266 "PATCH
	// (update)" answers it 400 NoOperation; {} is EmptyJSON.
	annotated := false
	for k := range top {
		if strings.Contains(k, "@") {
			delete(top, k)
			annotated = true
		}
	}
	if kind.action == "" && len(top) == 0 {
		if annotated {
			return nil, apiErr(http.StatusBadRequest, "NoOperation")
		}
		return nil, apiErr(http.StatusBadRequest, "EmptyJSON")
	}
	if nested := stripNestedAnnotations(top); nested || annotated {
		raw, _ = json.Marshal(top)
	}
	// Redfish property names are case-sensitive; encoding/json is not, so
	// every member name is checked exactly against the body's struct first.
	if path := unknownMember(raw, reflect.TypeOf(dst), ""); path != "" {
		return nil, unknownError(path, kind)
	}
	if path, ok := refusedNull(raw, reflect.TypeOf(dst), ""); ok {
		if kind.action != "" {
			return nil, apiErr(http.StatusBadRequest, "ActionParameterValueTypeError", "null", path, kind.action)
		}
		return nil, apiErr(http.StatusBadRequest, "PropertyValueTypeError", "null", pointer(path))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return nil, decodeError(err, raw, kind)
	}
	if err := validate.Struct(dst); err != nil {
		return nil, validationError(err, kind, reflect.Indirect(reflect.ValueOf(dst)).Type().Name())
	}
	return top, nil
}

// jsonMediaType reports whether a request's Content-Type (ct) allows a
// JSON body: application/json (any parameters, e.g. charset=utf-8), or no
// Content-Type at all, which curl and other tools omit. DSP0266 "Request
// headers" has a service refuse a media type it does not support with
// 415; bmcd does so for every other type (text/plain, and
// application/x-www-form-urlencoded, which curl -d sends unless told
// -H 'Content-Type: application/json'). A multipart push has its own
// type, which its handler checks.
func jsonMediaType(ct string) bool {
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// stripNestedAnnotations removes the annotations (members whose names
// hold '@') of every object within the members of top, at any depth, in
// arrays too; top's own annotations are gone already. DSP0266 has a
// service ignore the annotations of a request body, and clients send
// objects back as they read them: gofish's SetBoot sends Boot with
// BootSourceOverrideTarget@Redfish.AllowableValues. It reports whether it
// removed any; members it changes keep their numbers' text (1.0 stays 1.0)
// and the others are left byte for byte.
func stripNestedAnnotations(top map[string]json.RawMessage) bool {
	stripped := false
	for k, v := range top {
		if !bytes.Contains(v, []byte("@")) && !bytes.Contains(v, []byte(`\u0040`)) {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if dec.Decode(&x) != nil || !dropAnnotations(x) {
			continue
		}
		if b, err := json.Marshal(x); err == nil {
			top[k], stripped = b, true
		}
	}
	return stripped
}

// dropAnnotations deletes the annotations of every object in v, a decoded
// JSON value, and reports whether there were any. "@odata.id" is kept:
// inside a body it is a reference to a resource (OriginResources,
// Links), a value the request means, not an annotation.
func dropAnnotations(v any) bool {
	dropped := false
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, "@") && k != "@odata.id" {
				delete(x, k)
				dropped = true
			} else if dropAnnotations(e) {
				dropped = true
			}
		}
	case []any:
		for _, e := range x {
			if dropAnnotations(e) {
				dropped = true
			}
		}
	}
	return dropped
}

func decodeError(err error, raw []byte, kind bodyKind) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		path := te.Field
		val := valueAt(raw, path)
		if kind.action != "" {
			return apiErr(http.StatusBadRequest, "ActionParameterValueTypeError", val, path, kind.action)
		}
		return apiErr(http.StatusBadRequest, "PropertyValueTypeError", val, pointer(path))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		// unknownMember catches these first; this is a safety net.
		return unknownError(strings.Trim(name, `"`), kind)
	}
	return apiErr(http.StatusBadRequest, "MalformedJSON")
}

// unknownError reports a member the body may not have: an unknown action
// parameter, a read-only top-level property, or an unknown property.
func unknownError(path string, kind bodyKind) *apiError {
	if kind.action != "" {
		return apiErr(http.StatusBadRequest, "ActionParameterUnknown", kind.action, path)
	}
	if kind.readOnly != nil && !strings.Contains(path, ".") && kind.readOnly(path) {
		return apiErr(http.StatusBadRequest, "PropertyNotWritable", pointer(path))
	}
	return apiErr(http.StatusBadRequest, "PropertyUnknown", pointer(path))
}

// unknownMember returns the dotted path of the first member of raw whose
// name is not exactly a JSON field name of t (recursing into struct
// fields and into the elements of arrays, which are named by their index:
// "Links.Drives.0.Extra"), or "" if all are known. Values of the wrong
// type are left to the decoder to report.
func unknownMember(raw []byte, t reflect.Type, prefix string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t != rawMessageType && t.Elem().Kind() != reflect.Uint8 {
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return ""
		}
		for i, e := range elems {
			if p := unknownMember(e, t.Elem(), prefix+strconv.Itoa(i)+"."); p != "" {
				return p
			}
		}
		return ""
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		f, ok := jsonField(t, k)
		if !ok {
			return prefix + k
		}
		if p := unknownMember(obj[k], f.Type, prefix+k+"."); p != "" {
			return p
		}
	}
	return ""
}

// acceptsNull reports whether a body field takes an explicit null: its
// tag says nullable:"true" because the property is nullable in its
// schema and null means something bmcd does (VirtualMedia Image: eject;
// Boot BootNext and UefiTargetBootSourceOverride: clear; ManagerAccount
// Password, always read as null: unchanged). The handler tells that null
// from absence with the raw members decodeBody returns.
// TestNullableTagsAgreeWithSchemas checks every tag against the schemas.
func acceptsNull(f reflect.StructField) bool { return f.Tag.Get("nullable") == "true" }

// refusedNull returns the dotted path of the first null in raw (members
// in name order, then array elements, depth first) that t does not take,
// and true; or false when there is none. Array elements are named by
// their index ("Boot.BootOrder.1"). It looks into struct fields and
// arrays; maps, interfaces and json.RawMessage are the handler's to
// check. Values of the wrong type are left to the decoder to report.
func refusedNull(raw json.RawMessage, t reflect.Type, prefix string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct:
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", false
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			f, ok := jsonField(t, k)
			if !ok {
				continue // unknownMember has reported these
			}
			if isNull(obj[k]) {
				if acceptsNull(f) {
					continue
				}
				return prefix + k, true
			}
			if p, ok := refusedNull(obj[k], f.Type, prefix+k+"."); ok {
				return p, true
			}
		}
	case t.Kind() == reflect.Slice && t != rawMessageType && t.Elem().Kind() != reflect.Uint8:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return "", false
		}
		for i, e := range elems {
			at := prefix + strconv.Itoa(i)
			if isNull(e) {
				return at, true
			}
			if p, ok := refusedNull(e, t.Elem(), at+"."); ok {
				return p, true
			}
		}
	}
	return "", false
}

var rawMessageType = reflect.TypeOf(json.RawMessage(nil))

// isNull reports whether v, one JSON value, is null.
func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// jsonField finds the field of struct t whose JSON name is exactly name.
func jsonField(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" {
			tag = f.Name
		}
		if f.IsExported() && tag == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// valueAt renders the value at a dotted path of raw JSON, as the Base
// registry wants it: numbers as text, null as "null".
func valueAt(raw []byte, path string) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		v = m[p]
	}
	return messageValue(v)
}

// messageValue renders a request value as a Base message argument:
// strings as they are, null as "null", anything else as JSON.
func messageValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// pointer turns a dotted path into an RFC 6901 JSON pointer.
func pointer(path string) string { return "/" + strings.ReplaceAll(path, ".", "/") }

// validationError maps validator failures on dst, a struct named
// structName ("" for an anonymous struct), to Base messages.
func validationError(err error, kind bodyKind, structName string) *apiError {
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) || len(ves) == 0 {
		return internalError(err)
	}
	out := &apiError{status: http.StatusBadRequest}
	for _, fe := range ves {
		// Namespace is "Struct.Field.Sub", or "Field.Sub" when the struct
		// is anonymous; drop the struct name only where there is one.
		path := fe.Namespace()
		if structName != "" {
			path = strings.TrimPrefix(path, structName+".")
		}
		val := fmt.Sprint(deref(fe.Value()))
		var m message
		switch {
		case fe.Tag() == "required" && kind.action != "":
			m = newMessage("ActionParameterMissing", kind.action, path)
		case fe.Tag() == "required":
			m = newMessage("PropertyMissing", pointer(path))
		case fe.Tag() == "oneof" && kind.action != "":
			m = newMessage("ActionParameterValueNotInList", val, path, kind.action)
		case fe.Tag() == "oneof":
			m = newMessage("PropertyValueNotInList", val, pointer(path))
		case kind.action != "" && (fe.Tag() == "min" || fe.Tag() == "max"):
			m = newMessage("ActionParameterValueError", path, kind.action)
		case fe.Tag() == "min" || fe.Tag() == "max":
			m = newMessage("PropertyValueOutOfRange", val, pointer(path))
		case kind.action != "":
			m = newMessage("ActionParameterValueFormatError", val, path, kind.action)
		default:
			m = newMessage("PropertyValueFormatError", val, pointer(path))
		}
		out.msgs = append(out.msgs, m)
	}
	return out
}

func deref(v any) any {
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if !rv.IsValid() {
		return nil
	}
	return rv.Interface()
}

// duplicateMember returns the JSON pointer (RFC 6901) of the first member
// that appears twice in one object of raw, at any depth, or "" if none
// does (or raw is not valid JSON, which the decoder reports).
func duplicateMember(raw []byte) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	type frame struct {
		object bool
		seen   map[string]bool
		key    string // object: the member being read
		index  int    // array: the element being read
		path   string // pointer of this container
	}
	var stack []*frame
	child := func() string { // pointer of the value about to be read
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.object {
			return f.path + "/" + pointerToken(f.key)
		}
		return f.path + "/" + strconv.Itoa(f.index)
	}
	done := func() { // a value of the top container was read
		if len(stack) > 0 && !stack[len(stack)-1].object {
			stack[len(stack)-1].index++
		}
	}
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].key == "" }
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, &frame{object: v == '{', seen: map[string]bool{}, path: child()})
			case '}', ']':
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return ""
				}
				if f := stack[len(stack)-1]; f.object {
					f.key = ""
				}
				done()
			}
		case string:
			if expectKey() {
				f := stack[len(stack)-1]
				if f.seen[v] {
					return f.path + "/" + pointerToken(v)
				}
				f.seen[v], f.key = true, v
				continue
			}
			if f := stack[len(stack)-1]; f.object {
				f.key = ""
			}
			done()
		default:
			if len(stack) == 0 {
				return ""
			}
			if f := stack[len(stack)-1]; f.object {
				f.key = ""
			}
			done()
		}
	}
}
