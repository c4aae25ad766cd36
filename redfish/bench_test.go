package redfish

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps only the status, so the
// benchmarks measure the service rather than the recorder.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

func (w *discardWriter) reset() {
	clear(w.h)
	w.code = http.StatusOK
}

func benchGet(b *testing.B, req *http.Request) {
	e := newEnv(b)
	w := &discardWriter{h: http.Header{}}
	e.svc.ServeHTTP(w, req)
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		e.svc.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkGetSystem is a provisioning tool's poll: GET a system with
// Basic authentication.
func BenchmarkGetSystem(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, sys0, nil)
	req.SetBasicAuth(adminUser, adminPass)
	benchGet(b, req)
}

// BenchmarkGetSystemSession is the same poll with a session token.
func BenchmarkGetSystemSession(b *testing.B) {
	e := newEnv(b)
	tok, _ := e.login(operUser, operPass)
	req := httptest.NewRequest(http.MethodGet, sys0, nil)
	req.Header.Set("X-Auth-Token", tok)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w.reset()
		e.svc.ServeHTTP(w, req)
	}
	b.StopTimer()
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkGetSystemRecorder goes through httptest.NewRecorder, as the
// tests do, for comparison.
func BenchmarkGetSystemRecorder(b *testing.B) {
	e := newEnv(b)
	req := httptest.NewRequest(http.MethodGet, sys0, nil)
	req.SetBasicAuth(adminUser, adminPass)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		e.svc.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// BenchmarkGetChassisThermal renders an uncached resource.
func BenchmarkGetChassisThermal(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Chassis/0/Thermal", nil)
	req.SetBasicAuth(adminUser, adminPass)
	benchGet(b, req)
}
