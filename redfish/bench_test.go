package redfish

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware/sim"
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

// simEnv is a test service with n simulated systems, "0".."n-1".
func simEnv(b *testing.B, n int) *env {
	opts := make([]envOption, 0, n)
	for i := 2; i < n; i++ {
		id := strconv.Itoa(i)
		opts = append(opts, withBackend(id, sim.New(sim.Config{ID: id, Seed: "redfish-bench"})))
	}
	return newEnv(b, opts...)
}

// BenchmarkFleetRead is a fleet tool reading 1,000 systems: one GET with
// $expand=.($levels=1) against 1,000 separate GETs, each op reading every
// system once. The expand-vs-separate metric is their ratio of time.
func BenchmarkFleetRead(b *testing.B) {
	const n = 1000
	e := simEnv(b, n)
	w := &discardWriter{h: http.Header{}}
	expand := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems?$expand=.($levels=1)", nil)
	expand.SetBasicAuth(adminUser, adminPass)
	separate := make([]*http.Request, n)
	for i := range separate {
		separate[i] = httptest.NewRequest(http.MethodGet, systemPath(strconv.Itoa(i)), nil)
		separate[i].SetBasicAuth(adminUser, adminPass)
	}
	var tExpand, tSeparate time.Duration
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		w.reset()
		e.svc.ServeHTTP(w, expand)
		if w.code != http.StatusOK {
			b.Fatalf("expand: %d", w.code)
		}
		mid := time.Now()
		for _, r := range separate {
			w.reset()
			e.svc.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("%s: %d", r.URL.Path, w.code)
			}
		}
		tExpand += mid.Sub(start)
		tSeparate += time.Since(mid)
	}
	b.ReportMetric(float64(tExpand.Microseconds())/float64(b.N), "expand-µs/op")
	b.ReportMetric(float64(tSeparate.Microseconds())/float64(b.N), "separate-µs/op")
	b.ReportMetric(float64(tSeparate)/float64(tExpand), "separate/expand")
}

// BenchmarkExpandSystems1000 is the expanded read alone.
func BenchmarkExpandSystems1000(b *testing.B) {
	e := simEnv(b, 1000)
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems?$expand=.($levels=1)", nil)
	req.SetBasicAuth(adminUser, adminPass)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.svc.ServeHTTP(w, req)
	}
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

// BenchmarkPollSystems10000 polls 10,000 systems in turn (one GET each
// per op, session-authenticated): the render cache stays within its
// bound, reported as cache-bytes, and the heap with it.
func BenchmarkPollSystems10000(b *testing.B) {
	const n = 10000
	e := simEnv(b, n)
	tok, _ := e.login(operUser, operPass)
	reqs := make([]*http.Request, n)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, systemPath(strconv.Itoa(i)), nil)
		reqs[i].Header.Set("X-Auth-Token", tok)
	}
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range reqs {
			w.reset()
			e.svc.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("%s: %d", r.URL.Path, w.code)
			}
		}
	}
	entries, bytes := e.svc.cache.stats()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(bytes), "cache-bytes")
	b.ReportMetric(float64(entries), "cache-entries")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MiB")
}

// BenchmarkFirstPage10000 is GET /redfish/v1/Systems with 10,000 systems:
// the first page of 1,000 members.
func BenchmarkFirstPage10000(b *testing.B) {
	e := simEnv(b, 10000)
	req := httptest.NewRequest(http.MethodGet, "/redfish/v1/Systems", nil)
	req.SetBasicAuth(adminUser, adminPass)
	benchGetOn(b, e, req)
}

func benchGetOn(b *testing.B, e *env, req *http.Request) {
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		e.svc.ServeHTTP(w, req)
	}
	if w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}
