package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// The fuzz targets send arbitrary bytes as the body of one request to the
// real handler and check that the service never panics, never answers
// 5xx, and answers every error with a Base registry error body (which do
// checks). Their seed corpora live in testdata/fuzz/<FuzzName>/ and run as
// ordinary tests.

// fuzzEnv's machines fetch images from a server on 127.0.0.1 that
// stands for http://images.test: /ok.iso is an image, anything else 404.
// Every other host is unreachable, so invented URLs reach no network.
func fuzzEnv(f *testing.F) *env {
	iso := make([]byte, 40*1024)
	copy(iso[32769:], "CD001")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok.iso" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "ok.iso", time.Time{}, bytes.NewReader(iso))
	}))
	f.Cleanup(srv.Close)
	images := srv.Listener.Addr().String()
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != "images.test:80" {
			return nil, fmt.Errorf("fuzz: no network to %q", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, network, images)
	}
	return newEnv(f, withImageFetcher(&fetch.Fetcher{DialContext: dial}))
}

// checkFuzzResponse holds for every response to an arbitrary body.
func checkFuzzResponse(t *testing.T, r *resp, body []byte) {
	t.Helper()
	if r.Code >= 500 {
		t.Fatalf("status %d for body %q:\n%s", r.Code, body, r.Body)
	}
	if len(r.Body) > 0 && !json.Valid(r.Body) {
		t.Fatalf("status %d, invalid JSON for body %q:\n%s", r.Code, body, r.Body)
	}
	if r.Code >= 400 {
		if err := checkErrorBody(r.Body); err != nil {
			t.Fatalf("status %d for body %q: %v\n%s", r.Code, body, err, r.Body)
		}
	}
}

func FuzzPatchSystem(f *testing.F) {
	e := fuzzEnv(f)
	m := e.machines["0"]
	f.Fuzz(func(t *testing.T, body []byte) {
		before := m.BootOverride()
		r := e.with(t).patch(sys0, body)
		checkFuzzResponse(t, r, body)
		after := m.BootOverride()
		switch r.Code {
		case http.StatusNoContent:
			if after.Target != "None" && !m.Capabilities().CanBoot(after.Target) {
				t.Fatalf("204 left an override the machine cannot boot: %+v", after)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if after != before {
				t.Fatalf("%d but the override changed from %+v to %+v", r.Code, before, after)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

func FuzzInsertMedia(f *testing.F) {
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.with(t).post(mgrCD+insertA, body)
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusNoContent:
			// The slot holds the image, inserted unless Inserted was false.
			if v := e.with(t).get(mgrCD).obj(); v["Image"] == nil || v["ConnectedVia"] != "URI" {
				t.Fatalf("204 but no image: %v", v)
			}
			e.with(t).post(mgrCD+ejectA, "").want(http.StatusNoContent)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if v := e.with(t).get(mgrCD).obj(); v["Inserted"] != false || v["Image"] != nil {
				t.Fatalf("%d but the slot holds an image: %v", r.Code, v)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// FuzzPatchMedia covers the older PATCH Image way of mounting media.
func FuzzPatchMedia(f *testing.F) {
	e := fuzzEnv(f)
	m := e.machines["0"]
	f.Fuzz(func(t *testing.T, body []byte) {
		// Start from a slot holding an inserted medium, so that a rejected
		// PATCH has something to lose.
		if md, _ := m.MediaSlot("CD"); !md.Inserted || !md.WriteProtected {
			if err := m.EjectMedia(context.Background(), "CD"); err != nil {
				t.Fatal(err)
			}
			if err := m.InsertMedia(context.Background(), "CD", "http://images.test/ok.iso", hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
				t.Fatal(err)
			}
		}
		before, _ := m.MediaSlot("CD")
		r := e.with(t).patch(mgrCD, body)
		checkFuzzResponse(t, r, body)
		after, _ := m.MediaSlot("CD")
		switch r.Code {
		case http.StatusNoContent:
			if after.Inserted && after.Image == "" {
				t.Fatalf("204 left a slot inserted without an image: %+v", after)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			// Only a fetch of the new image can fail after the old one
			// was ejected; anything rejected up front changes nothing.
			fetchFailed := false
			for _, id := range messageIDs(r.Body) {
				k := strings.TrimPrefix(id, baseMessagePrefix)
				fetchFailed = fetchFailed || strings.HasPrefix(k, "ResourceAtUri") || k == "ResourceMissingAtURI" || k == "CouldNotEstablishConnection"
			}
			if !fetchFailed && (before.Image != after.Image || before.Inserted != after.Inserted || before.WriteProtected != after.WriteProtected) {
				t.Fatalf("%d but the medium changed from %q to %q\n%s", r.Code, before.Image, after.Image, r.Body)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// FuzzSimpleUpdate: every body is either refused (400, 413) with no task
// started, or accepted (202) with a task monitor.
func FuzzSimpleUpdate(f *testing.F) {
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := len(e.svc.tasks.list())
		r := e.with(t).post(updateAction, body)
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusAccepted:
			if !strings.HasPrefix(r.Header.Get("Location"), "/redfish/v1/TaskService/Tasks/") {
				t.Fatalf("202 with Location %q", r.Header.Get("Location"))
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if after := len(e.svc.tasks.list()); after > before && after < maxTasks {
				t.Fatalf("%d but a task was started", r.Code)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// FuzzCreateCertificate posts arbitrary bodies to a slot's Certificates:
// a 201 adds exactly one readable certificate, anything else none.
func FuzzCreateCertificate(f *testing.F) {
	e := fuzzEnv(f)
	m := e.machines["0"]
	f.Fuzz(func(t *testing.T, body []byte) {
		before, _ := m.MediaSlot("CD")
		r := e.with(t).post(cdCerts, body)
		checkFuzzResponse(t, r, body)
		after, _ := m.MediaSlot("CD")
		switch r.Code {
		case http.StatusCreated:
			loc := r.Header.Get("Location")
			if len(after.Certificates) != len(before.Certificates)+1 || !strings.HasPrefix(loc, cdCerts+"/") {
				t.Fatalf("201 with Location %q, %d certificates before, %d after", loc, len(before.Certificates), len(after.Certificates))
			}
			if v := e.with(t).get(loc).obj(); v["CertificateString"] != after.Certificates[len(after.Certificates)-1].PEM {
				t.Fatalf("GET %s: %v", loc, v)
			}
			e.with(t).delete(loc).want(http.StatusNoContent)
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			if len(after.Certificates) != len(before.Certificates) {
				t.Fatalf("%d but the certificates went from %d to %d", r.Code, len(before.Certificates), len(after.Certificates))
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

func FuzzCreateSession(f *testing.F) {
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.with(t).post(sessionsURI, body, anonymous())
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusCreated:
			tok, loc := r.Header.Get("X-Auth-Token"), r.Header.Get("Location")
			if tok == "" || !strings.HasPrefix(loc, sessionsURI+"/") {
				t.Fatalf("201 with token %q, Location %q", tok, loc)
			}
			if user, _ := r.obj()["UserName"].(string); user != adminUser && user != operUser && user != roUser {
				t.Fatalf("201 for user %q", user)
			}
			e.with(t).get("/redfish/v1/Systems", token(tok)).want(http.StatusOK)
			e.with(t).delete(loc, token(tok)).want(http.StatusNoContent)
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
			if r.Header.Get("X-Auth-Token") != "" {
				t.Fatalf("%d with a token", r.Code)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

func FuzzCreateAccount(f *testing.F) {
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.with(t).post(acctsURI, body)
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusCreated:
			loc := r.Header.Get("Location")
			v := e.with(t).get(loc).obj()
			if v["UserName"] != r.obj()["UserName"] {
				t.Fatalf("created %v, GET %v", r.obj(), v)
			}
			e.with(t).delete(loc).want(http.StatusNoContent)
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			if n := e.accounts.Count(); n != 3 {
				t.Fatalf("%d with %d accounts", r.Code, n)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// FuzzCreateVolume: a created volume is what GET then shows (and is
// deleted again); a staged one waits; a refused body changes nothing.
func FuzzCreateVolume(f *testing.F) {
	e := fuzzEnv(f)
	m := e.machines["0"]
	f.Fuzz(func(t *testing.T, body []byte) {
		staged := len(m.StagedVolumeOps())
		r := e.with(t).post(vols0, body)
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusCreated:
			loc := r.Header.Get("Location")
			v := e.with(t).get(loc).obj()
			if v["RAIDType"] != r.obj()["RAIDType"] || v["CapacityBytes"] != r.obj()["CapacityBytes"] {
				t.Fatalf("created %v, GET %v", r.obj(), v)
			}
			e.with(t).delete(loc).want(http.StatusNoContent)
		case http.StatusAccepted:
			if len(m.StagedVolumeOps()) != staged+1 || r.obj()["TaskState"] != "Pending" {
				t.Fatalf("202 %s with staged %v", r.Body, m.StagedVolumeOps())
			}
		case http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge:
			if len(m.Volumes()) != 0 || len(m.StagedVolumeOps()) != staged {
				t.Fatalf("%d but volumes %v, staged %v", r.Code, m.Volumes(), m.StagedVolumeOps())
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// FuzzDecodeBody drives decodeBody itself with every body shape the
// service decodes, resource and action alike.
func FuzzDecodeBody(f *testing.F) {
	kinds := []struct {
		name string
		dst  func() any
		kind bodyKind
	}{
		{"system", func() any { return new(systemPatch) }, bodyKind{readOnly: func(n string) bool { return systemReadOnly[n] }}},
		{"reset", func() any { return new(resetBody) }, bodyKind{action: "ComputerSystem.Reset"}},
		{"insert", func() any { return new(insertBody) }, bodyKind{action: "VirtualMedia.InsertMedia"}},
		{"media", func() any { return new(mediaPatch) }, bodyKind{readOnly: func(n string) bool { return mediaReadOnly[n] }}},
		{"certificate", func() any { return new(certificateBody) }, bodyKind{readOnly: func(n string) bool { return certificateReadOnly[n] }}},
		{"account", func() any { return new(accountBody) }, bodyKind{}},
		{"timeout", func() any {
			return new(struct {
				SessionTimeout *int `json:"SessionTimeout" validate:"omitempty,min=30,max=86400"`
			})
		}, bodyKind{}},
		{"bios", func() any {
			return new(struct {
				Attributes map[string]any `json:"Attributes" validate:"required"`
			})
		}, bodyKind{}},
		{"login", func() any {
			return new(struct {
				UserName *string `json:"UserName" validate:"required"`
				Password *string `json:"Password" validate:"required"`
			})
		}, bodyKind{}},
		{"empty action", func() any { return new(struct{}) }, bodyKind{action: "LogService.ClearLog"}},
		{"simple update", func() any { return new(simpleUpdateBody) }, bodyKind{action: simpleUpdateName}},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, k := range kinds {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(body))
			req.Body = http.MaxBytesReader(rec, req.Body, maxRequestBodySize)
			top, err := decodeBody(req, k.dst(), k.kind)
			if err == nil {
				if top == nil {
					t.Fatalf("%s: no error and no object for %q", k.name, body)
				}
				continue
			}
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("%s: %T %v for %q", k.name, err, err, body)
			}
			if ae.status != http.StatusBadRequest && ae.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s: status %d (%v) for %q", k.name, ae.status, ae, body)
			}
			writeError(rec, ae)
			if cerr := checkErrorBody(rec.Body.Bytes()); cerr != nil {
				t.Fatalf("%s: %v for %q\n%s", k.name, cerr, body, rec.Body)
			}
		}
	})
}

// FuzzQuery parses arbitrary query strings and serves them on a
// collection, a cached resource and the service root: a parse error is a
// 400 or 501 with a Base message, and no query makes the service panic,
// answer 5xx or answer an invalid document.
func FuzzQuery(f *testing.F) {
	e := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, raw string) {
		q, perr := parseQuery(raw)
		if perr != nil {
			if perr.status != http.StatusBadRequest && perr.status != http.StatusNotImplemented {
				t.Fatalf("%q: parse error status %d", raw, perr.status)
			}
		} else {
			if q.expand != expandNone && (q.levels < 1 || q.levels > maxExpandLevels) {
				t.Fatalf("%q: $levels %d", raw, q.levels)
			}
			if q.skip < -1 || q.top < -1 {
				t.Fatalf("%q: $skip %d, $top %d", raw, q.skip, q.top)
			}
		}
		for _, p := range []string{"/redfish/v1/Systems", "/redfish/v1/Systems/0", "/redfish/v1/"} {
			r := e.with(t).get(p, rawQuery(raw))
			if perr != nil && r.Code != perr.status {
				t.Fatalf("GET %s?%s: %d, the parser said %d", p, raw, r.Code, perr.status)
			}
			if r.Code == http.StatusNotImplemented { // DSP0266's answer to an unsupported "$" parameter
				if err := checkErrorBody(r.Body); err != nil {
					t.Fatalf("GET %s?%s: %v", p, raw, err)
				}
				continue
			}
			checkFuzzResponse(t, r, []byte(raw))
		}
	})
}
