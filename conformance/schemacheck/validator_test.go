package schemacheck

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Reference material lives beside the module root: /work/shared next to
// /work/main.
const (
	sharedSchemas = "../../../shared/redfish/json-schema"
	sharedMockup  = "../../../shared/redfish/mockups/public-rackmount1"
)

var shared struct {
	once sync.Once
	v    *Validator
	err  error
}

// sharedValidator returns one Validator over the DMTF bundle for all tests,
// so that schemas are compiled once; it skips the test if the bundle is absent.
func sharedValidator(t *testing.T) *Validator {
	t.Helper()
	if _, err := os.Stat(sharedSchemas); err != nil {
		t.Skipf("DMTF schemas not available: %v", err)
	}
	shared.once.Do(func() { shared.v, shared.err = Load(sharedSchemas) })
	if shared.err != nil {
		t.Fatalf("Load(%s): %v", sharedSchemas, shared.err)
	}
	return shared.v
}

func readMockup(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedMockup, filepath.FromSlash(rel), "index.json"))
	if err != nil {
		t.Skipf("DMTF mockup not available: %v", err)
	}
	return b
}

// mockupDefects are documents of the DMTF mockup that really violate the
// 2025.4 schemas; they must fail, and for the stated reason.
var mockupDefects = map[string]string{
	"TaskService/Tasks/545":                    "is not valid date-time",    // no seconds
	"SessionService/Sessions/1234567890ABCDEF": "is not valid date-time",    // no time zone
	"ServiceConditions":                        "missing property 'Id'",     // required
	"AccountService/Roles/Administrator":       "missing property 'RoleId'", // required since Role v1_3_0
	"AccountService/Roles/Operator":            "missing property 'RoleId'",
	"AccountService/Roles/ReadOnly":            "missing property 'RoleId'",
}

func TestMockupValidates(t *testing.T) {
	v := sharedValidator(t)
	if _, err := os.Stat(sharedMockup); err != nil {
		t.Skipf("DMTF mockup not available: %v", err)
	}
	var files []string
	err := filepath.WalkDir(sharedMockup, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "index.json" {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var validated, defective, skipped atomic.Int32
	var sawRoot, sawSystem atomic.Bool
	t.Run("docs", func(t *testing.T) {
		for _, f := range files {
			rel, _ := filepath.Rel(sharedMockup, filepath.Dir(f))
			t.Run(filepath.ToSlash(rel), func(t *testing.T) {
				t.Parallel()
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), `"@odata.type"`) {
					skipped.Add(1) // the OData service document
					return
				}
				err = v.Validate(b)
				if errors.Is(err, ErrSchemaNotFound) {
					skipped.Add(1) // mockup uses a version absent from the bundle
					return
				}
				validated.Add(1)
				if want, ok := mockupDefects[filepath.ToSlash(rel)]; ok {
					defective.Add(1)
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("got error %v, want one containing %q", err, want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				switch s := string(b); {
				case strings.Contains(s, `"#ServiceRoot.`):
					sawRoot.Store(true)
				case strings.Contains(s, `"#ComputerSystem.v`):
					sawSystem.Store(true)
				}
			})
		}
	})
	t.Logf("validated %d mockup documents (%d known defects), skipped %d",
		validated.Load(), defective.Load(), skipped.Load())
	if validated.Load() < 10 || !sawRoot.Load() || !sawSystem.Load() {
		t.Errorf("validated %d documents (ServiceRoot %v, ComputerSystem %v); want the bulk of the mockup",
			validated.Load(), sawRoot.Load(), sawSystem.Load())
	}
}

// edit decodes a JSON object, applies fn to it and encodes it again.
func edit(t *testing.T, doc []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	v := sharedValidator(t)
	system := readMockup(t, "Systems/437XR1138R2")
	errorBody := `{"error": {"code": "Base.1.18.GeneralError", "message": "A general error has occurred.",
		"@Message.ExtendedInfo": [{"@odata.type": "#Message.v1_3_0.Message", "MessageId": "Base.1.18.PropertyValueNotInList",
		"Message": "The value 'Sideways' for the property PowerState is not in the list of acceptable values.",
		"MessageArgs": ["Sideways", "PowerState"], "MessageSeverity": "Warning", "Resolution": "Choose a value from the enumeration list."}]}}`
	tests := []struct {
		name    string
		doc     []byte
		wantErr string // "" means valid
		wantPtr string // pointer of a violation, if wantErr is a ValidationError
	}{
		{name: "mockup system", doc: system},
		{name: "collection", doc: readMockup(t, "Systems")},
		{name: "redfish error", doc: []byte(errorBody)},
		{
			name:    "bad enum",
			doc:     edit(t, system, func(m map[string]any) { m["PowerState"] = "Sideways" }),
			wantErr: "value must be one of", wantPtr: "/PowerState",
		},
		{
			name:    "unknown property",
			doc:     edit(t, system, func(m map[string]any) { m["Frobnicate"] = true }),
			wantErr: "'Frobnicate' not allowed", wantPtr: "",
		},
		{
			name: "wrong type",
			doc: edit(t, system, func(m map[string]any) {
				m["ProcessorSummary"].(map[string]any)["Count"] = "two"
			}),
			wantErr: "got string, want null or integer", wantPtr: "/ProcessorSummary/Count",
		},
		{
			name:    "missing required",
			doc:     edit(t, system, func(m map[string]any) { delete(m, "Id") }),
			wantErr: "missing property 'Id'", wantPtr: "",
		},
		{
			name:    "bad error body",
			doc:     []byte(`{"error": {"code": 5}}`),
			wantErr: "redfish-error.v1_0_2.json", wantPtr: "/error/code",
		},
		{
			name:    "unknown schema version",
			doc:     edit(t, system, func(m map[string]any) { m["@odata.type"] = "#ComputerSystem.v1_0_0.ComputerSystem" }),
			wantErr: "ComputerSystem.v1_0_0.json",
		},
		{
			name:    "unknown definition",
			doc:     edit(t, system, func(m map[string]any) { m["@odata.type"] = "#ComputerSystem.v1_27_0.Nope" }),
			wantErr: "ComputerSystem.v1_27_0.json#/definitions/Nope",
		},
		{name: "no type", doc: []byte(`{"Name": "x"}`), wantErr: "no @odata.type"},
		{name: "malformed type", doc: []byte(`{"@odata.type": "ComputerSystem"}`), wantErr: "malformed @odata.type"},
		{name: "not an object", doc: []byte(`[]`), wantErr: "not a JSON object"},
		{name: "not JSON", doc: []byte(`{`), wantErr: "parse document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Validate(tt.doc)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate: got %v, want error containing %q", err, tt.wantErr)
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				if tt.wantPtr != "" {
					t.Fatalf("got %T, want *ValidationError", err)
				}
				return
			}
			for _, viol := range ve.Violations {
				if viol.Pointer == tt.wantPtr {
					return
				}
			}
			t.Fatalf("no violation at %q in %v", tt.wantPtr, err)
		})
	}
}

func TestValidateMissingSchemaIsErrSchemaNotFound(t *testing.T) {
	v := sharedValidator(t)
	err := v.Validate([]byte(`{"@odata.type": "#Frobnicator.v1_0_0.Frobnicator"}`))
	if !errors.Is(err, ErrSchemaNotFound) || !strings.Contains(err.Error(), "Frobnicator.v1_0_0.json") {
		t.Fatalf("got %v, want ErrSchemaNotFound naming Frobnicator.v1_0_0.json", err)
	}
}

func TestSplitType(t *testing.T) {
	tests := []struct {
		in, ns, typ string
		ok          bool
	}{
		{"#ComputerSystem.v1_27_0.ComputerSystem", "ComputerSystem.v1_27_0", "ComputerSystem", true},
		{"#ComputerSystemCollection.ComputerSystemCollection", "ComputerSystemCollection", "ComputerSystemCollection", true},
		{"#MessageRegistryFile.v1_1_5.MessageRegistryFile", "MessageRegistryFile.v1_1_5", "MessageRegistryFile", true},
		{"ServiceRoot.v1_20_0.ServiceRoot", "ServiceRoot.v1_20_0", "ServiceRoot", true},
		{"#ComputerSystem", "", "", false},
		{"#ComputerSystem.", "", "", false},
		{"#.ComputerSystem", "", "", false},
		{"#../../etc/passwd.x", "", "", false},
	}
	for _, tt := range tests {
		ns, typ, ok := splitType(tt.in)
		if ns != tt.ns || typ != tt.typ || ok != tt.ok {
			t.Errorf("splitType(%q) = %q, %q, %v; want %q, %q, %v", tt.in, ns, typ, ok, tt.ns, tt.typ, tt.ok)
		}
	}
}

func TestVersionLess(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"redfish-error.v1_0_2.json", "redfish-error.v1_0_10.json", true},
		{"X.v1_9_0.json", "X.v1_10_0.json", true},
		{"X.v1_10_0.json", "X.v1_9_0.json", false},
		{"X.v1_1_0.json", "X.v1_1_0.json", false},
	}
	for _, tt := range tests {
		if got := versionLess(tt.a, tt.b); got != tt.want {
			t.Errorf("versionLess(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
