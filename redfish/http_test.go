package redfish

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOverHTTP drives the service through a real 127.0.0.1 server, as a
// client does: login, token use, HEAD, an oversized body and logout.
func TestOverHTTP(t *testing.T) {
	e := newEnv(t)
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	c := loopbackClient(t)
	send := func(method, path, body string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, srv.URL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 400 {
			if err := checkErrorBody(b); err != nil {
				t.Errorf("%s %s: %d: %v", method, path, res.StatusCode, err)
			}
		}
		return res, b
	}

	res, _ := send("GET", "/redfish/v1/", "", nil)
	if res.StatusCode != 200 || res.Header.Get("OData-Version") != "4.0" {
		t.Fatalf("service root: %d %v", res.StatusCode, res.Header)
	}
	res, _ = send("GET", "/redfish/v1/Systems", "", nil)
	if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("without credentials: %d %v", res.StatusCode, res.Header)
	}
	res, body := send("POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"operator","Password":"operpass1"}`,
		map[string]string{"Content-Type": "application/json"})
	tok, loc := res.Header.Get("X-Auth-Token"), res.Header.Get("Location")
	if res.StatusCode != 201 || tok == "" || loc == "" || !json.Valid(body) {
		t.Fatalf("login: %d %q %q %s", res.StatusCode, tok, loc, body)
	}
	auth := map[string]string{"X-Auth-Token": tok}
	res, body = send("GET", "/redfish/v1/Systems/0", "", auth)
	var sys map[string]any
	if res.StatusCode != 200 || json.Unmarshal(body, &sys) != nil || sys["@odata.etag"] != res.Header.Get("ETag") {
		t.Fatalf("GET system: %d %s", res.StatusCode, body)
	}
	res, body = send("HEAD", "/redfish/v1/Systems/0", "", auth)
	if res.StatusCode != 200 || len(body) != 0 || res.Header.Get("ETag") != sys["@odata.etag"] {
		t.Errorf("HEAD: %d %d bytes %v", res.StatusCode, len(body), res.Header)
	}
	res, _ = send("PATCH", "/redfish/v1/Systems/0", `{"Boot":{"BootSourceOverrideTarget":"`+strings.Repeat("x", 100<<10)+`"}}`, auth)
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized PATCH: %d", res.StatusCode)
	}
	res, _ = send("PATCH", "/redfish/v1/Systems/0", `{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once"}}`,
		map[string]string{"X-Auth-Token": tok, "If-Match": sys["@odata.etag"].(string)})
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("PATCH with If-Match: %d", res.StatusCode)
	}
	res, _ = send("PUT", "/redfish/v1/Systems/0", "{}", auth)
	if res.StatusCode != 405 || !strings.Contains(res.Header.Get("Allow"), "PATCH") {
		t.Errorf("PUT: %d Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	res, _ = send("DELETE", loc, "", auth)
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("logout: %d", res.StatusCode)
	}
	res, _ = send("GET", "/redfish/v1/Systems/0", "", auth)
	if res.StatusCode != 401 {
		t.Errorf("after logout: %d", res.StatusCode)
	}
}
