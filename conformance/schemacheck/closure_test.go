package schemacheck

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestClosure(t *testing.T) {
	sharedValidator(t) // skips without the DMTF bundle
	tests := []struct {
		roots   []string
		want    []string // must be included
		notWant []string // must not be included
	}{
		{
			roots: []string{"ComputerSystemCollection.json"},
			want: []string{
				"ComputerSystem.json", "ComputerSystem.v1_27_0.json", "ComputerSystemCollection.json",
				"Resource.json", "odata-v4.json", "redfish-schema-v1.json",
			},
			notWant: []string{"odata.v4_0_5.json", "redfish-schema.v1_10_1.json", "odata.4.0.0.json"},
		},
		{
			roots:   []string{"redfish-error.v1_0_2.json"},
			want:    []string{"Message.json", "Message.v1_3_0.json", "redfish-error.v1_0_2.json", "redfish-schema-v1.json"},
			notWant: []string{"ComputerSystem.json"},
		},
	}
	for _, tt := range tests {
		got, err := Closure(sharedSchemas, tt.roots...)
		if err != nil {
			t.Fatalf("Closure(%v): %v", tt.roots, err)
		}
		if !slices.IsSorted(got) {
			t.Errorf("Closure(%v) not sorted", tt.roots)
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("Closure(%v) lacks %s", tt.roots, w)
			}
		}
		for _, w := range tt.notWant {
			if slices.Contains(got, w) {
				t.Errorf("Closure(%v) includes %s", tt.roots, w)
			}
		}
		t.Logf("Closure(%v): %d files", tt.roots, len(got))
	}
	if _, err := Closure(sharedSchemas, "Nope.v1_0_0.json"); err == nil {
		t.Error("Closure with a missing root succeeded")
	}
}

func TestCopyClosure(t *testing.T) {
	sharedValidator(t) // skips without the DMTF bundle
	dst := filepath.Join(t.TempDir(), "schemas")
	roots := []string{"RoleCollection.json", "redfish-error.v1_0_2.json"} // small closure
	if err := CopyClosure(sharedSchemas, dst, roots...); err != nil {
		t.Fatalf("CopyClosure: %v", err)
	}
	want, err := Closure(sharedSchemas, roots...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Closure(dst, roots...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("closure of the copy differs:\n got %v\nwant %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dst, "LICENSE.md")); err != nil {
		t.Errorf("LICENSE.md not copied: %v", err)
	}
	// The copy is self-sufficient.
	v, err := Load(dst)
	if err != nil {
		t.Fatalf("Load(copy): %v", err)
	}
	if err := v.Validate(readMockup(t, "AccountService/Roles")); err != nil {
		t.Errorf("Validate(Roles) with the copy: %v", err)
	}
	if err := v.Validate([]byte(`{"error": {"code": "Base.1.18.GeneralError", "message": "x"}}`)); err != nil {
		t.Errorf("Validate(error) with the copy: %v", err)
	}
}

func TestLoadWithoutMetaSchema(t *testing.T) {
	sharedValidator(t) // skips without the DMTF bundle
	dst := t.TempDir()
	names, err := Closure(sharedSchemas, "redfish-error.v1_0_2.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if n == "redfish-schema-v1.json" {
			continue
		}
		if err := copyFile(filepath.Join(sharedSchemas, n), filepath.Join(dst, n)); err != nil {
			t.Fatal(err)
		}
	}
	v, err := Load(dst)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := v.Validate([]byte(`{"error": {"code": 1, "message": "x"}}`)); err == nil {
		t.Error("invalid error body passed")
	}
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}
