package redfish

import (
	"net/http"
	"sync"
	"sync/atomic"
)

// defaultCacheBytes bounds the render cache: about 2,000 systems' worth
// of renderings. Beyond it the least recently read are dropped, so memory
// stays flat however many systems a bmcd serves.
const defaultCacheBytes = 8 << 20

// renderCache keeps the last rendering of versioned resources (a system
// whose machine reports every change), so a poll loop of GETs costs a map
// lookup instead of building and encoding the document each time. It
// holds at most max bytes of renderings, evicting with the CLOCK
// algorithm: a read only sets an entry's reference bit, so concurrent
// reads share a read lock.
type renderCache struct {
	mu      sync.RWMutex
	entries map[string]*cacheEntry
	ring    []*cacheEntry // CLOCK order
	hand    int
	bytes   int
	max     int // 0: defaultCacheBytes
}

type cacheEntry struct {
	key string
	r   atomic.Pointer[rendered]
	ref atomic.Bool
}

type rendered struct {
	version   uint64
	body      []byte
	etag      string
	odataType string   // @odata.type
	link      []string // the Link header naming its schema
}

// size is what an entry costs, its key and fixed overhead included.
func (r *rendered) size(key string) int { return len(r.body) + len(r.etag) + len(key) + 128 }

// get returns the rendering of path at version, rendering and storing it
// on a miss. The version is read before rendering, so a change during
// rendering at worst stores a newer body under the older version, which the
// next request replaces.
func (c *renderCache) get(path string, version uint64, fn func() (any, error)) (*rendered, error) {
	c.mu.RLock()
	e := c.entries[path]
	c.mu.RUnlock()
	if e != nil {
		if r := e.r.Load(); r.version == version {
			if !e.ref.Load() {
				e.ref.Store(true)
			}
			return r, nil
		}
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	r, err := renderDoc(v)
	if err != nil {
		return nil, err
	}
	r.version = version
	c.put(path, r)
	return r, nil
}

func (c *renderCache) put(path string, r *rendered) {
	limit := c.max
	if limit == 0 {
		limit = defaultCacheBytes
	}
	size := r.size(path)
	if size > limit/4 {
		return // one huge document would flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*cacheEntry{}
	}
	e, ok := c.entries[path]
	if ok {
		c.bytes += size - e.r.Load().size(path)
		e.r.Store(r)
	} else {
		e = &cacheEntry{key: path}
		e.r.Store(r)
		c.entries[path] = e
		c.ring = append(c.ring, e)
		c.bytes += size
	}
	for c.bytes > limit && len(c.ring) > 1 {
		c.evictLocked(e)
	}
}

// evictLocked advances the CLOCK hand to the first entry not read since
// the hand last passed it, other than keep (the entry being stored), and
// drops it.
func (c *renderCache) evictLocked(keep *cacheEntry) {
	for {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		e := c.ring[c.hand]
		if e == keep || e.ref.Load() {
			e.ref.Store(false)
			c.hand++
			continue
		}
		last := len(c.ring) - 1
		c.ring[c.hand] = c.ring[last]
		c.ring[last] = nil
		c.ring = c.ring[:last]
		delete(c.entries, e.key)
		c.bytes -= e.r.Load().size(e.key)
		return
	}
}

// stats reports the entries and bytes held (for tests and benchmarks).
func (c *renderCache) stats() (entries, bytes int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries), c.bytes
}

// machineVersion is a resource version function for documents rendered
// only from the {sys} machine's state.
func (s *Service) machineVersion(r *http.Request) (uint64, bool) {
	m, err := s.machine(r, "")
	if err != nil {
		return 0, false
	}
	return m.Version()
}
