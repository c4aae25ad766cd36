package schemacheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Closure returns the sorted names of the files in srcDir reachable from the
// root files (e.g. "ComputerSystem.v1_27_0.json") by following $ref and
// $schema, roots included. References to files that srcDir lacks (older
// schema versions, Swordfish schemas) are ignored, as Load ignores them.
func Closure(srcDir string, roots ...string) ([]string, error) {
	set, err := readSchemaSet(srcDir)
	if err != nil {
		return nil, fmt.Errorf("schema closure: %w", err)
	}
	seen := map[string]bool{}
	queue := make([]string, 0, len(roots))
	for _, r := range roots {
		if _, ok := set.docs[r]; !ok {
			return nil, fmt.Errorf("schema closure: root %s not in %s", r, srcDir)
		}
		if !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		refs(set.docs[name], func(ref string) {
			if strings.HasPrefix(ref, "#") {
				return // same document
			}
			if dep, ok := set.lookup(set.base[name], ref); ok && !seen[dep] {
				seen[dep] = true
				queue = append(queue, dep)
			}
		})
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// CopyClosure copies Closure(srcDir, roots...) into dstDir, creating it if
// needed, together with DMTF's LICENSE.md from the parent of srcDir when
// present. Files already in dstDir are overwritten, others are left alone.
func CopyClosure(srcDir, dstDir string, roots ...string) error {
	names, err := Closure(srcDir, roots...)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return fmt.Errorf("copy schemas: %w", err)
	}
	for _, n := range names {
		if err := copyFile(filepath.Join(srcDir, n), filepath.Join(dstDir, n)); err != nil {
			return fmt.Errorf("copy schemas: %w", err)
		}
	}
	err = copyFile(filepath.Join(srcDir, "..", "LICENSE.md"), filepath.Join(dstDir, "LICENSE.md"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("copy schemas: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
