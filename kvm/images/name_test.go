package images

import (
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"debian-12.5.0-amd64-netinst.iso", true},
		{"a", true},
		{"A_b+c-1.2", true},
		{"x..y", true}, // dots inside are just dots
		{strings.Repeat("a", MaxNameLength), true},
		{"", false},
		{strings.Repeat("a", MaxNameLength+1), false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{".tmp-0123", false},
		{"../etc/passwd", false},
		{"a/b", false},
		{`a\b`, false},
		{"a b", false},
		{"a%2Fb", false},
		{"a\x00b", false},
		{"é.iso", false},
		{"a?b", false},
		{"a#b", false},
		{"a:b", false},
	} {
		err := CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckName(%q) = %v, not ErrInvalid", tc.name, err)
		}
	}
}

// FuzzCheckName: a name CheckName accepts is one plain file name in the
// store's directory and one URL path segment, as it is.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"boot.iso", "..", "a/../b", ".x", "a\x00", "%2e%2e", "C:\\x", strings.Repeat("z", 256)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if CheckName(name) != nil {
			return
		}
		dir := "/state/images/.meta"
		p := filepath.Join(dir, name+".json")
		if filepath.Dir(p) != dir || filepath.Base(name) != name || filepath.Clean(name) != name {
			t.Errorf("%q escapes the directory: %s", name, p)
		}
		if name == "." || name == ".." || strings.HasPrefix(name, ".") || len(name) > MaxNameLength {
			t.Errorf("%q accepted", name)
		}
		if url.PathEscape(name) != name {
			t.Errorf("%q needs escaping in a URL path", name)
		}
	})
}
