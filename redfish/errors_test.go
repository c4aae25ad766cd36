package redfish

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

func TestEmbeddedRegistry(t *testing.T) {
	var reg struct {
		ID              string `json:"Id"`
		RegistryPrefix  string `json:"RegistryPrefix"`
		RegistryVersion string `json:"RegistryVersion"`
		Messages        map[string]struct {
			NumberOfArgs int      `json:"NumberOfArgs"`
			ParamTypes   []string `json:"ParamTypes"`
			Message      string   `json:"Message"`
		} `json:"Messages"`
	}
	if err := json.Unmarshal(baseRegistry, &reg); err != nil {
		t.Fatal(err)
	}
	if reg.ID != baseRegistryID || reg.RegistryPrefix+"."+reg.RegistryVersion != baseRegistryID {
		t.Errorf("registry %s %s %s, want %s", reg.ID, reg.RegistryPrefix, reg.RegistryVersion, baseRegistryID)
	}
	if !strings.HasPrefix(baseRegistryID, baseMessagePrefix) {
		t.Errorf("prefix %s does not match %s", baseMessagePrefix, baseRegistryID)
	}
	for k, m := range reg.Messages {
		if len(m.ParamTypes) != m.NumberOfArgs {
			t.Errorf("%s: %d ParamTypes, NumberOfArgs %d", k, len(m.ParamTypes), m.NumberOfArgs)
		}
		for i := 1; i <= m.NumberOfArgs; i++ {
			if !strings.Contains(m.Message, "%"+strconv.Itoa(i)) {
				t.Errorf("%s: message lacks %%%d", k, i)
			}
		}
	}
}

func TestNewMessage(t *testing.T) {
	m := newMessage("PropertyValueNotInList", "Bogus", "/Boot/BootSourceOverrideTarget")
	if m.MessageID != "Base.1.22.PropertyValueNotInList" || m.MessageSeverity != "Warning" ||
		m.Message != "The value 'Bogus' for the property /Boot/BootSourceOverrideTarget is not in the list of acceptable values." {
		t.Errorf("%+v", m)
	}
	if m := newMessage("PropertyValueNotInList", "only-one"); len(m.MessageArgs) != 2 {
		t.Errorf("too few args not padded: %q", m.MessageArgs)
	}
	if m := newMessage("Success", "extra"); len(m.MessageArgs) != 0 || m.MessageArgs == nil {
		t.Errorf("too many args not trimmed: %#v", m.MessageArgs)
	}
	if m := newMessage("NoSuchKey", "x"); m.MessageID != "Base.1.22.GeneralError" {
		t.Errorf("unknown key gave %s", m.MessageID)
	}
	// Arguments holding %N are not expanded again.
	if m := newMessage("ActionParameterUnknown", "%2", "x"); m.Message != "The action %2 was submitted with the invalid parameter x." {
		t.Errorf("%q", m.Message)
	}
	if m := newMessage("ResourceAtUriUnauthorized", "http://h/a%20b", "HTTP 401 for http://h/%1x"); m.Message !=
		"While accessing the resource at 'http://h/a%20b', the service received an authorization error 'HTTP 401 for http://h/%1x'." {
		t.Errorf("%q", m.Message)
	}
	if m := updateMessage("TransferFailed", "http://h/%1/%2.bin", "/redfish/v1/Systems/0"); m.MessageID != "Update.1.3.TransferFailed" ||
		m.Message != "Transfer of image 'http://h/%1/%2.bin' to '/redfish/v1/Systems/0' failed." || m.MessageSeverity != "Critical" {
		t.Errorf("%+v", m)
	}
	if m := updateMessage("NoSuchKey"); m.MessageID != "Base.1.22.GeneralError" {
		t.Errorf("unknown Update key gave %s", m.MessageID)
	}
	b, _ := json.Marshal(newMessage("Success"))
	if !strings.Contains(string(b), `"MessageArgs":[]`) {
		t.Errorf("MessageArgs not an empty array: %s", b)
	}
}

func TestWriteError(t *testing.T) {
	for _, err := range []error{
		apiErr(http.StatusBadRequest, "PropertyUnknown", "/X"),
		&apiError{status: 400, msgs: []message{newMessage("PropertyMissing", "/A"), newMessage("PropertyValueNotInList", "v", "/B")}},
		unauthorized("NoValidSession"),
		internalError(os.ErrClosed),
		os.ErrNotExist, // not an apiError: a 500 InternalError
	} {
		rec := httptest.NewRecorder()
		writeError(rec, err)
		if cerr := checkErrorBody(rec.Body.Bytes()); cerr != nil {
			t.Errorf("%v: %v\n%s", err, cerr, rec.Body)
		}
		if rec.Header().Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("%v: Content-Type %q", err, rec.Header().Get("Content-Type"))
		}
	}
}

// registryCall is a call in the package's source that names a Base
// registry message.
type registryCall struct {
	pos      string
	key      string
	args     int    // -1 when the arguments are spread (args...)
	status   string // apiErr's status argument as written
	argExprs []argExpr
}

// argExpr is what the scanner can tell about a message argument.
type argExpr struct {
	literal     *string // a string literal's value
	pointerCall bool    // a call of pointer(...), which makes a JSON pointer
}

// sourceRegistryCalls finds every apiErr(status, "Key", args...),
// newMessage("Key", args...) and unauthorized("Key") in the package's
// non-test Go files.
func sourceRegistryCalls(t *testing.T) []registryCall {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	var calls []registryCall
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			keyAt := map[string]int{"apiErr": 1, "newMessage": 0, "unauthorized": 0}
			i, ok := keyAt[id.Name]
			if !ok || len(call.Args) <= i {
				return true
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != gotoken.STRING {
				return true // a wrapper passing its own key through
			}
			key, _ := strconv.Unquote(lit.Value)
			n2 := len(call.Args) - i - 1
			if call.Ellipsis.IsValid() {
				n2 = -1
			}
			rc := registryCall{pos: fset.Position(call.Pos()).String(), key: key, args: n2}
			if id.Name == "apiErr" {
				if sel, ok := call.Args[0].(*ast.SelectorExpr); ok {
					if x, ok := sel.X.(*ast.Ident); ok {
						rc.status = x.Name + "." + sel.Sel.Name
					}
				} else if x, ok := call.Args[0].(*ast.Ident); ok {
					rc.status = x.Name
				}
			}
			for _, a := range call.Args[i+1:] {
				var ae argExpr
				switch a := a.(type) {
				case *ast.BasicLit:
					if v, err := strconv.Unquote(a.Value); err == nil && a.Kind == gotoken.STRING {
						ae.literal = &v
					}
				case *ast.CallExpr:
					if f, ok := a.Fun.(*ast.Ident); ok && f.Name == "pointer" {
						ae.pointerCall = true
					}
				}
				rc.argExprs = append(rc.argExprs, ae)
			}
			calls = append(calls, rc)
			return true
		})
	}
	return calls
}

// TestRegistryKeysInSource catches a mistyped message key or a wrong
// argument count at test time instead of as a GeneralError in production.
func TestRegistryKeysInSource(t *testing.T) {
	calls := sourceRegistryCalls(t)
	if len(calls) < 40 {
		t.Fatalf("found only %d registry calls; is the scanner broken?", len(calls))
	}
	for _, c := range calls {
		rm, ok := baseMessages[c.key]
		if !ok {
			t.Errorf("%s: %q is not a Base registry message", c.pos, c.key)
			continue
		}
		if c.args >= 0 && c.args != rm.NumberOfArgs {
			t.Errorf("%s: %s takes %d args, call passes %d", c.pos, c.key, rm.NumberOfArgs, c.args)
		}
	}
}

// TestFetchError maps each class of failed fetch (internal/fetch) to its
// Base message; the cause is kept for the log, never in the body.
func TestFetchError(t *testing.T) {
	const u = "https://127.0.0.1:1/x.iso"
	certErr := &fetch.Error{URL: u, Err: x509.UnknownAuthorityError{}}
	for _, tc := range []struct {
		name string
		err  error
		key  string
	}{
		{"404", &fetch.Error{URL: u, Status: 404}, "ResourceMissingAtURI"},
		{"410", &fetch.Error{URL: u, Status: 410}, "ResourceMissingAtURI"},
		{"401", &fetch.Error{URL: u, Status: 401}, "ResourceAtUriUnauthorized"},
		{"407", &fetch.Error{URL: u, Status: 407}, "ResourceAtUriUnauthorized"},
		{"416", &fetch.Error{URL: u, Status: 416}, "ResourceAtUriInUnknownFormat"},
		{"500", &fetch.Error{URL: u, Status: 500}, "CouldNotEstablishConnection"},
		{"bare status from another backend", &hardware.MediaError{URL: u, HTTPStatus: 404}, "ResourceMissingAtURI"},
		{"refused", &fetch.Error{URL: u, Err: errors.New("connection refused")}, "CouldNotEstablishConnection"},
		{"untrusted certificate", &hardware.MediaError{URL: u, Err: certErr}, "CouldNotEstablishConnection"},
	} {
		e := fetchError(tc.err, u)
		m := e.msgs[0]
		if e.status != 400 || m.MessageID != baseMessagePrefix+tc.key || m.MessageArgs[0] != u || m.Resolution != baseMessages[tc.key].Resolution {
			t.Errorf("%s: %d %s %v, resolution %q; want 400 %s", tc.name, e.status, m.MessageID, m.MessageArgs, m.Resolution, tc.key)
		}
		if !errors.Is(e, tc.err) {
			t.Errorf("%s: cause not kept", tc.name)
		}
	}
}

// TestResolutionIsTheRegistrys checks that no error sends anything but the
// registry's text: Resolution is the registry's, and a cause (a Go error
// string, a file path) never reaches the body, only the log.
func TestResolutionIsTheRegistrys(t *testing.T) {
	secret := errors.New("open /var/lib/bmcd/state.db: secret detail")
	for _, err := range []error{
		internalError(secret),
		withCause(apiErr(http.StatusBadRequest, "PasswordIncorrectLength"), secret),
		withCause(apiErr(http.StatusBadRequest, "PropertyValueError", "/Attributes"), secret),
		fromHardware(fmt.Errorf("%v: %w", secret, hardware.ErrPoweredOff)),
		fromHardware(fmt.Errorf("%v: %w", secret, hardware.ErrNotSupported)),
		mediaError(&hardware.MediaError{URL: "http://u:pw@h/x.iso", Err: secret}, "http://u:pw@h/x.iso", insertAction),
		mediaError(fmt.Errorf("%v: %w", secret, hardware.ErrInvalid), "http://h/x.iso", insertAction),
	} {
		rec := httptest.NewRecorder()
		writeError(rec, err)
		body := rec.Body.String()
		if strings.Contains(body, "secret") || strings.Contains(body, ":pw@") {
			t.Errorf("%v: the body carries the cause or a password: %s", err, body)
		}
		var v struct {
			Error struct {
				Info []message `json:"@Message.ExtendedInfo"`
			} `json:"error"`
		}
		if jerr := json.Unmarshal(rec.Body.Bytes(), &v); jerr != nil || len(v.Error.Info) == 0 {
			t.Fatalf("%v: %s", jerr, body)
		}
		for _, m := range v.Error.Info {
			key := strings.TrimPrefix(m.MessageID, baseMessagePrefix)
			if want := baseMessages[key].Resolution; m.Resolution != want {
				t.Errorf("%s: Resolution %q, registry says %q", key, m.Resolution, want)
			}
		}
		var ae *apiError
		if !errors.As(err, &ae) || ae.cause == nil || !strings.Contains(ae.Error(), "secret detail") {
			t.Errorf("%v: the cause is not kept for the log", err)
		}
	}
}

// TestFromHardware maps every machine-model error kind, with the message
// that fits it (never OperationNotAllowed, which is about HTTP methods).
func TestFromHardware(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		key    string
	}{
		{fmt.Errorf("reset GracefulRestart: %w", hardware.ErrPoweredOff), 409, "ResourceInStandby"},
		{fmt.Errorf("slot CD: %w", hardware.ErrBusy), 409, "ResourceInUse"},
		{fmt.Errorf("closed: %w", hardware.ErrState), 409, "ResourceInUse"},
		{fmt.Errorf("set next boot: %w: libvirt: connection refused", hardware.ErrUnavailable), 503, "ServiceTemporarilyUnavailable"},
		{fmt.Errorf("secure boot: %w", hardware.ErrNotSupported), 500, "InternalError"},
		{fmt.Errorf("x: %w", hardware.ErrInvalid), 500, "InternalError"},
		{os.ErrClosed, 500, "InternalError"},
		{apiErr(http.StatusTeapot, "Success"), http.StatusTeapot, "Success"},
	} {
		ae := fromHardware(tc.err)
		if ae.status != tc.status || ae.msgs[0].MessageID != baseMessagePrefix+tc.key {
			t.Errorf("%v: %d %s, want %d %s", tc.err, ae.status, ae.msgs[0].MessageID, tc.status, tc.key)
		}
	}
	if fromHardware(nil) != nil {
		t.Error("nil error mapped")
	}
	if h := fromHardware(hardware.ErrUnavailable).header.Get("Retry-After"); h == "" {
		t.Error("503 for an unavailable backend without Retry-After")
	}
}

// TestMediaError maps each way an image fetch fails to the message that
// says why, with arguments that carry the detail (the URL, redacted; the
// HTTP status; the action).
func TestMediaError(t *testing.T) {
	const img = "http://user:pw@images.example/x.iso"
	const shown = "http://user:xxxxx@images.example/x.iso"
	for _, tc := range []struct {
		name string
		err  error
		key  string
		args []string
	}{
		{"404", &hardware.MediaError{URL: img, HTTPStatus: 404}, "ResourceMissingAtURI", []string{shown}},
		{"410", &hardware.MediaError{URL: img, HTTPStatus: 410}, "ResourceMissingAtURI", []string{shown}},
		{"401", &hardware.MediaError{URL: img, HTTPStatus: 401}, "ResourceAtUriUnauthorized", []string{shown, "401 Unauthorized"}},
		{"403", &hardware.MediaError{URL: img, HTTPStatus: 403}, "ResourceAtUriUnauthorized", []string{shown, "403 Forbidden"}},
		{"503", &hardware.MediaError{URL: img, HTTPStatus: 503}, "CouldNotEstablishConnection", []string{shown}},
		{"416", &hardware.MediaError{URL: img, HTTPStatus: 416}, "ResourceAtUriInUnknownFormat", []string{shown}},
		{"refused", &hardware.MediaError{URL: img, Err: errors.New("connection refused")}, "CouldNotEstablishConnection", []string{shown}},
		{"invalid", fmt.Errorf("bad URL: %w", hardware.ErrInvalid), "ActionParameterValueFormatError", []string{shown, "Image", insertAction}},
		{"unsupported", fmt.Errorf("insert media: %w", hardware.ErrNotSupported), "ActionNotSupported", []string{insertAction}},
	} {
		ae := fromHardware(mediaError(tc.err, img, insertAction))
		if ae.msgs[0].MessageID != baseMessagePrefix+tc.key || strings.Join(ae.msgs[0].MessageArgs, "|") != strings.Join(tc.args, "|") {
			t.Errorf("%s: %s %q, want %s %q", tc.name, ae.msgs[0].MessageID, ae.msgs[0].MessageArgs, tc.key, tc.args)
		}
		if ae.status != http.StatusBadRequest || !errors.Is(ae, tc.err) {
			t.Errorf("%s: status %d, cause kept %v", tc.name, ae.status, errors.Is(ae, tc.err))
		}
	}
	// The PATCH form restates action messages as property messages.
	p := fromHardware(asPropertyError(mediaError(fmt.Errorf("x: %w", hardware.ErrInvalid), img, "PATCH")))
	if p.msgs[0].MessageID != baseMessagePrefix+"PropertyValueFormatError" || strings.Join(p.msgs[0].MessageArgs, "|") != shown+"|/Image" || p.cause == nil {
		t.Errorf("PATCH form: %s %q", p.msgs[0].MessageID, p.msgs[0].MessageArgs)
	}
	if mediaError(nil, img, insertAction) != nil {
		t.Error("nil error mapped")
	}
}

// TestOperationNotAllowedOnlyFor405: OperationNotAllowed says "The HTTP
// method is not allowed on this resource"; every use must be a 405.
func TestOperationNotAllowedOnlyFor405(t *testing.T) {
	for _, c := range sourceRegistryCalls(t) {
		if c.key == "OperationNotAllowed" && c.status != "http.StatusMethodNotAllowed" {
			t.Errorf("%s: OperationNotAllowed with status %s", c.pos, c.status)
		}
	}
}

// TestResolutionNeverAssigned: only newMessage writes a Resolution, from
// the registry.
func TestResolutionNeverAssigned(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := gotoken.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			as, ok := n.(*ast.AssignStmt)
			if !ok {
				return true
			}
			for _, l := range as.Lhs {
				if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "Resolution" {
					t.Errorf("%s: assigns a Resolution", fset.Position(l.Pos()))
				}
			}
			return true
		})
	}
}

// TestMessageArgumentKinds checks every message call in the source against
// what the registry says its arguments are: where the registry asks for a
// property name as an RFC 6901 JSON pointer (PropertyMissing,
// PropertyNotWritable, PropertyValueNotInList, ...), the argument is a
// pointer; where it asks for a property's name alone
// (CreateFailedMissingReqProperties, PropertyValueConflict,
// PropertyValueResourceConflict, ResourceAlreadyExists, ...), it is not.
// Arguments the scanner cannot see through (variables) are skipped.
func TestMessageArgumentKinds(t *testing.T) {
	var reg struct {
		Messages map[string]struct {
			ArgLongDescriptions []string `json:"ArgLongDescriptions"`
		} `json:"Messages"`
	}
	if err := json.Unmarshal(baseRegistry, &reg); err != nil {
		t.Fatal(err)
	}
	type kind int
	const (
		other kind = iota
		jsonPointer
		propertyName
	)
	argKind := func(key string, i int) kind {
		d := reg.Messages[key].ArgLongDescriptions
		if i >= len(d) {
			return other
		}
		switch {
		case strings.Contains(d[i], "RFC6901"):
			return jsonPointer
		case strings.Contains(d[i], "name of the property") || strings.Contains(d[i], "name of the required property") ||
			strings.Contains(d[i], "name of the property for which"):
			return propertyName
		}
		return other
	}
	checked := 0
	for _, c := range sourceRegistryCalls(t) {
		for i, a := range c.argExprs {
			var isPointer bool
			switch {
			case a.pointerCall:
				isPointer = true
			case a.literal != nil:
				isPointer = strings.HasPrefix(*a.literal, "/")
			default:
				continue
			}
			switch argKind(c.key, i) {
			case jsonPointer:
				checked++
				if !isPointer {
					t.Errorf("%s: %s argument %d is a JSON pointer per the registry, source passes a name", c.pos, c.key, i+1)
				}
			case propertyName:
				checked++
				if isPointer {
					t.Errorf("%s: %s argument %d is a property name per the registry, source passes a JSON pointer", c.pos, c.key, i+1)
				}
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked only %d arguments; is the scanner broken?", checked)
	}
}

// An argument that holds "%1" (a query value a client sent) is not
// substituted again.
func TestMessageArgumentsSubstitutedOnce(t *testing.T) {
	m := newMessage("QueryParameterOutOfRange", "%2", "%1", "%3")
	if want := "The value '%2' for the query parameter %1 is out of range %3."; m.Message != want {
		t.Errorf("Message %q, want %q", m.Message, want)
	}
}
