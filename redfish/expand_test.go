package redfish

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// TestExpandStopsAtItsBounds: the work stops as soon as the answer is
// over its byte bound, or has fetched as many resources as it may: the
// expander has not fetched more than one resource past the bound.
func TestExpandStopsAtItsBounds(t *testing.T) {
	e := newEnv(t)
	r := httptest.NewRequest(http.MethodGet, "/redfish/v1", nil)
	r = r.WithContext(auth.NewContext(r.Context(), auth.Principal{Account: mustAccount(t, e, adminUser)}))
	render := func() (*expander, error) {
		c, err := e.svc.internalGet(r, "/redfish/v1")
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := decodeObject(c.body)
		x := e.svc.newExpander(r, expandAll, 0)
		return x, x.render(doc, "/redfish/v1", maxExpandLevels, nil)
	}
	whole, err := render()
	if err != nil || whole.resources < 200 {
		t.Fatalf("the whole tree: %d resources, %v", whole.resources, err)
	}
	for _, tc := range []struct {
		name              string
		maxBytes, maxRes  int
		wantFetchedAtMost int
	}{
		{"bytes", 4000, maxExpandResources, 20},
		{"resources", maxExpandBytes, 5, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.svc.expand.maxBytes, e.svc.expand.maxResources = tc.maxBytes, tc.maxRes
			defer func() { e.svc.expand.maxBytes, e.svc.expand.maxResources = maxExpandBytes, maxExpandResources }()
			x, err := render()
			if ae, ok := err.(*apiError); !ok || ae.status != http.StatusInsufficientStorage {
				t.Fatalf("err %v, want 507", err)
			}
			if x.resources > tc.wantFetchedAtMost {
				t.Errorf("fetched %d resources (of %d) before refusing, want at most %d", x.resources, whole.resources, tc.wantFetchedAtMost)
			}
			if x.n > tc.maxBytes {
				t.Errorf("rendered %d bytes, over the bound of %d", x.n, tc.maxBytes)
			}
		})
	}
	// Through HTTP: 507 with the Base message; a smaller answer passes.
	e.svc.expand.maxResources = 1
	e.get("/redfish/v1/Systems?$expand=.").wantError(http.StatusInsufficientStorage, "InsufficientStorage")
	e.get("/redfish/v1/Systems/0/Storage?$expand=.").want(http.StatusOK)
}

// TestExpandTurns: at most maxConcurrentExpands answers are built at
// once; a request that gets no turn within the wait is 503
// ServiceTemporarilyUnavailable with Retry-After, other GETs are served
// meanwhile, and a request whose client goes stops waiting.
func TestExpandTurns(t *testing.T) {
	e := newEnv(t)
	e.svc.expand.wait = 20 * time.Millisecond
	for range cap(e.svc.expand.slots) {
		e.svc.expand.slots <- struct{}{} // every turn taken
	}
	r := e.get("/redfish/v1/Systems?$expand=.").wantError(http.StatusServiceUnavailable, "ServiceTemporarilyUnavailable")
	if got := r.Header.Get("Retry-After"); got != "2" || strings.Join(r.args(), "|") != "2" {
		t.Errorf("Retry-After %q, MessageArgs %q; want 2 and [2]", got, r.args())
	}
	e.get("/redfish/v1/Systems").want(http.StatusOK)
	e.get("/redfish/v1/Systems/0?$select=Id").want(http.StatusOK)

	// A waiting request whose client goes returns at once.
	e.svc.expand.wait = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems?$expand=.", nil).WithContext(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := e.svc.expand.acquire(httptest.NewRecorder(), req)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("acquire after the client went: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("acquire kept waiting after the client went")
	}

	// A turn given back is taken by the next request.
	<-e.svc.expand.slots
	e.get("/redfish/v1/Systems?$expand=.").want(http.StatusOK)
	if n := len(e.svc.expand.slots); n != cap(e.svc.expand.slots)-1 {
		t.Errorf("%d turns taken after the answer, want %d", n, cap(e.svc.expand.slots)-1)
	}
}

// TestExpandDeepEqualsGets: at every depth, an expanded resource is its
// own GET with its hyperlinks replaced by what they link to; what the
// option does not select, what lies beyond $levels, and links back to a
// resource being expanded stay references.
func TestExpandDeepEqualsGets(t *testing.T) {
	e := newEnv(t)
	// The DateTime properties are "now": with the clock running, a second
	// may tick between the expansion and the GETs it is compared with.
	at := time.Now()
	e.svc.now = func() time.Time { return at }
	for _, tc := range []struct {
		path   string
		opt    byte // '*', '.' or '~'
		levels int
	}{
		{"/redfish/v1/Systems/0", '*', 3},
		{"/redfish/v1/Systems", '.', 2},
		{"/redfish/v1/Systems/0", '~', 2},
		{"/redfish/v1", '.', 2},
	} {
		q := fmt.Sprintf("%s?$expand=%c($levels=%d)", tc.path, tc.opt, tc.levels)
		t.Run(q, func(t *testing.T) {
			got := e.decoded(q)
			own := e.decoded(tc.path)
			if n := checkExpanded(t, e, tc.path, own, got, tc.levels, tc.opt, false, true, []string{tc.path}); n == 0 {
				t.Errorf("nothing expanded")
			}
		})
	}
}

// checkExpanded compares got, an answer, with own, a resource's GET (or
// a value within it, when resource is false), where own's hyperlinks may
// be expanded for levels more levels by option opt; it returns how many
// resources were expanded.
func checkExpanded(t *testing.T, e *env, where string, own, got any, levels int, opt byte, inLinks, resource bool, path []string) int {
	t.Helper()
	switch o := own.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %v, want an object", where, got)
			return 0
		}
		id, _ := o["@odata.id"].(string)
		if id != "" && len(o) == 1 && len(g) > 1 {
			selected := levels >= 1 && (opt == '*' || (opt == '.') != inLinks)
			for _, p := range path {
				selected = selected && p != id
			}
			if !selected {
				t.Errorf("%s: %s expanded, the option and levels do not select it", where, id)
				return 0
			}
			linked := e.decoded(id)
			// Each expanded resource keeps its own tag.
			if g["@odata.etag"] != linked["@odata.etag"] {
				t.Errorf("%s: %s @odata.etag %v, its GET's %v", where, id, g["@odata.etag"], linked["@odata.etag"])
			}
			return 1 + checkExpanded(t, e, id, linked, g, levels-1, opt, false, true, append(path[:len(path):len(path)], id))
		}
		if id != "" && len(o) == 1 && levels >= 1 && (opt == '*' || (opt == '.') != inLinks) && !contains(path, id) &&
			strings.HasPrefix(id, "/redfish/") && !strings.ContainsAny(id, "#?") {
			t.Errorf("%s: %s not expanded", where, id)
		}
		if !reflect.DeepEqual(keys(o), keys(g)) {
			t.Errorf("%s: keys %v, want %v", where, keys(g), keys(o))
			return 0
		}
		l := levels
		if !resource && id != "" && !strings.Contains(id, "#") {
			l-- // an inline resource: its links are a level further down
			path = append(path[:len(path):len(path)], id)
		}
		n := 0
		for k, v := range o {
			n += checkExpanded(t, e, where+"/"+k, v, g[k], l, opt, inLinks || k == "Links", false, path)
		}
		return n
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(o) {
			t.Errorf("%s: %v, want %d elements", where, got, len(o))
			return 0
		}
		n := 0
		for i := range o {
			n += checkExpanded(t, e, where, o[i], g[i], levels, opt, inLinks, false, path)
		}
		return n
	}
	if !reflect.DeepEqual(own, got) {
		t.Errorf("%s: %v, want %v", where, got, own)
	}
	return 0
}
