package redfish

import (
	"encoding/json"
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
	pos  string
	key  string
	args int // -1 when the arguments are spread (args...)
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
			calls = append(calls, registryCall{pos: fset.Position(call.Pos()).String(), key: key, args: n2})
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

// An argument that holds "%1" (a query value a client sent) is not
// substituted again.
func TestMessageArgumentsSubstitutedOnce(t *testing.T) {
	m := newMessage("QueryParameterOutOfRange", "%2", "%1", "%3")
	if want := "The value '%2' for the query parameter %1 is out of range %3."; m.Message != want {
		t.Errorf("Message %q, want %q", m.Message, want)
	}
}
