package redfish

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestRenderCacheBounded(t *testing.T) {
	c := &renderCache{max: 20_000}
	renders := map[string]int{}
	get := func(path string, ver uint64) *rendered {
		t.Helper()
		r, err := c.get(path, ver, func() (any, error) {
			renders[path]++
			return M{"@odata.id": path, "Pad": strings.Repeat("x", 900)}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	get("/hot", 1)
	for i := range 200 {
		get(fmt.Sprintf("/cold/%d", i), 1)
		get("/hot", 1) // read between every insertion: never the victim
		if _, bytes := c.stats(); bytes > c.max {
			t.Fatalf("after %d insertions the cache holds %d bytes, bound %d", i+1, bytes, c.max)
		}
	}
	entries, bytes := c.stats()
	if entries >= 200 || entries < 10 || bytes > c.max {
		t.Errorf("%d entries, %d bytes for a bound of %d", entries, bytes, c.max)
	}
	if renders["/hot"] != 1 {
		t.Errorf("the entry read all along was rendered %d times", renders["/hot"])
	}
	// An evicted entry is rendered again on its next read.
	get("/cold/0", 1)
	if renders["/cold/0"] != 2 {
		t.Errorf("/cold/0 rendered %d times", renders["/cold/0"])
	}
	// A new version replaces the entry in place.
	before, _ := c.stats()
	if r := get("/hot", 2); r.version != 2 || renders["/hot"] != 2 {
		t.Errorf("version 2: %+v, %d renders", r, renders["/hot"])
	}
	if after, _ := c.stats(); after > before {
		t.Errorf("a new version added an entry: %d -> %d", before, after)
	}
	// A document too large to share the cache is served, not kept.
	big, err := c.get("/big", 1, func() (any, error) { return M{"Pad": strings.Repeat("y", c.max)}, nil })
	if err != nil || len(big.body) < c.max {
		t.Fatalf("big document: %v", err)
	}
	c.mu.RLock()
	_, kept := c.entries["/big"]
	c.mu.RUnlock()
	if kept {
		t.Error("a document of the whole bound was cached")
	}
}

// TestRenderCacheConcurrent reads and renews entries from many goroutines
// (run with -race).
func TestRenderCacheConcurrent(t *testing.T) {
	c := &renderCache{max: 8_000}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				path := fmt.Sprintf("/r/%d", (i*7+g)%40)
				r, err := c.get(path, uint64(i%3), func() (any, error) {
					return M{"@odata.id": path, "Pad": strings.Repeat("z", 300)}, nil
				})
				if err != nil || !strings.Contains(string(r.body), path) {
					t.Errorf("%s: %v %s", path, err, r.body)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, bytes := c.stats(); bytes > c.max {
		t.Errorf("%d bytes, bound %d", bytes, c.max)
	}
}
