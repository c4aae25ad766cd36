package redfish

import (
	"net/http"
	"sync"
)

// renderCache keeps the last rendering of versioned resources (a system
// whose machine reports every change), so a poll loop of GETs costs a map
// lookup instead of building and encoding the document each time.
type renderCache struct {
	m sync.Map // path -> *rendered
}

type rendered struct {
	version uint64
	body    []byte
	etag    string
}

// get returns the rendering of path at version, rendering and storing it
// on a miss. The version is read before rendering, so a change during
// rendering at worst stores a newer body under the older version, which the
// next request replaces.
func (c *renderCache) get(path string, version uint64, fn func() (any, error)) (*rendered, error) {
	if v, ok := c.m.Load(path); ok {
		if r := v.(*rendered); r.version == version {
			return r, nil
		}
	}
	v, err := fn()
	if err != nil {
		return nil, err
	}
	body, etag, err := render(v)
	if err != nil {
		return nil, internalError(err)
	}
	r := &rendered{version: version, body: body, etag: etag}
	c.m.Store(path, r)
	return r, nil
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
