package schemacheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// mockupServer serves the DMTF mockup as a Redfish service requiring a
// bearer token. It answers 404 for Managers and serves a broken system.
func mockupServer(t *testing.T) (srv *httptest.Server, hits map[string]int, mu *sync.Mutex) {
	t.Helper()
	if _, err := os.Stat(sharedMockup); err != nil {
		t.Skipf("DMTF mockup not available: %v", err)
	}
	broken := edit(t, readMockup(t, "Systems/437XR1138R2"), func(m map[string]any) {
		m["PowerState"] = "Sideways"
	})
	hits, mu = map[string]int{}, &sync.Mutex{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error": {"code": "Base.1.18.NoValidSession", "message": "No session."}}`))
			return
		}
		p := strings.TrimSuffix(r.URL.Path, "/")
		switch p {
		case "/redfish/v1/Systems/437XR1138R2":
			w.Write(broken)
			return
		case "/redfish/v1/Managers":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error": {"code": "Base.1.18.ResourceNotFound", "message": "Not found."}}`))
			return
		}
		rel, ok := strings.CutPrefix(p, "/redfish/v1")
		if !ok || strings.Contains(rel, "..") {
			http.NotFound(w, r)
			return
		}
		http.ServeFile(w, r, filepath.Join(sharedMockup, filepath.FromSlash(rel), "index.json"))
	}))
	t.Cleanup(srv.Close)
	return srv, hits, mu
}

func TestWalk(t *testing.T) {
	v := sharedValidator(t)
	srv, hits, mu := mockupServer(t)
	auth := func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }

	results, err := v.Walk(context.Background(), srv.Client(), srv.URL+"/", auth)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	byPath := map[string]Result{}
	for _, r := range results {
		if _, dup := byPath[r.Path]; dup {
			t.Errorf("%s visited twice", r.Path)
		}
		byPath[r.Path] = r
		rel := strings.TrimPrefix(strings.TrimPrefix(r.Path, "/redfish/v1"), "/")
		_, defect := mockupDefects[rel]
		switch {
		case r.Path == "/redfish/v1/Systems/437XR1138R2", r.Path == "/redfish/v1/Managers", defect:
		case r.Err != nil:
			t.Errorf("%s: %v", r.Path, r.Err)
		}
	}
	t.Logf("walked %d documents", len(results))

	tests := []struct {
		path, typ string
		status    int
		wantErr   string
	}{
		{"/redfish/v1", "#ServiceRoot.v1_20_0.ServiceRoot", 200, ""},
		{"/redfish/v1/Systems", "#ComputerSystemCollection.ComputerSystemCollection", 200, ""},
		{"/redfish/v1/Systems/437XR1138R2", "#ComputerSystem.v1_27_0.ComputerSystem", 200, "/PowerState"},
		{"/redfish/v1/Chassis/1U/Thermal", "#Thermal.v1_7_3.Thermal", 200, ""},
		{"/redfish/v1/Managers", "", 404, "404 Not Found"},
		{"/redfish/v1/AccountService/Roles/ReadOnly", "#Role.v1_3_3.Role", 200, "RoleId"},
	}
	for _, tt := range tests {
		r, ok := byPath[tt.path]
		if !ok {
			t.Errorf("%s not visited", tt.path)
			continue
		}
		if r.Status != tt.status || r.Type != tt.typ {
			t.Errorf("%s: status %d type %q, want %d %q", tt.path, r.Status, r.Type, tt.status, tt.typ)
		}
		if tt.wantErr == "" && r.Err != nil || tt.wantErr != "" && (r.Err == nil || !strings.Contains(r.Err.Error(), tt.wantErr)) {
			t.Errorf("%s: err %v, want %q", tt.path, r.Err, tt.wantErr)
		}
	}
	if len(results) < 100 {
		t.Errorf("walked only %d documents", len(results))
	}
	mu.Lock()
	defer mu.Unlock()
	for p, n := range hits {
		if n > 1 || path.Base(p) == "$metadata" || path.Base(p) == "odata" {
			t.Errorf("server got %d request(s) for %s", n, p)
		}
	}
}

func TestWalkUnauthorized(t *testing.T) {
	v := sharedValidator(t)
	srv, _, _ := mockupServer(t)
	results, err := v.Walk(context.Background(), srv.Client(), srv.URL, nil)
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if len(results) != 1 || results[0].Status != http.StatusUnauthorized || results[0].Err == nil {
		t.Fatalf("got %+v, want one 401 result with an error", results)
	}
}

func TestWalkCanceled(t *testing.T) {
	v := sharedValidator(t)
	srv, _, _ := mockupServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Walk(ctx, srv.Client(), srv.URL, nil); err == nil {
		t.Fatal("Walk with canceled context succeeded")
	}
	if _, err := v.Walk(context.Background(), nil, "not a url", nil); err == nil {
		t.Fatal("Walk with relative base URL succeeded")
	}
}

func TestLinkPath(t *testing.T) {
	base, _ := url.Parse("https://bmc.example:8443")
	tests := []struct {
		ref, want string
		ok        bool
	}{
		{"/redfish/v1/Systems/1", "/redfish/v1/Systems/1", true},
		{"/redfish/v1/", "/redfish/v1", true},
		{"/redfish/v1/Chassis/1/Thermal#/Fans/0", "/redfish/v1/Chassis/1/Thermal", true},
		{"https://bmc.example:8443/redfish/v1/Managers/1", "/redfish/v1/Managers/1", true},
		{"https://elsewhere/redfish/v1/Managers/1", "", false},
		{"/redfish/v1/$metadata", "", false},
		{"/redfish/v1/$metadata#ServiceRoot.ServiceRoot", "", false},
		{"/redfish/v1/odata", "", false},
		{"/redfish/v2/Systems", "", false},
		{"/redfish/v10", "", false},
		{"#/Members/0", "", false},
		{"/redfish/v1/Systems/a%20b", "/redfish/v1/Systems/a%20b", true},
	}
	for _, tt := range tests {
		got, ok := linkPath(base, tt.ref)
		if got != tt.want || ok != tt.ok {
			t.Errorf("linkPath(%q) = %q, %v; want %q, %v", tt.ref, got, ok, tt.want, tt.ok)
		}
	}
}
