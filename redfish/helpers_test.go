package redfish

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/fetch"
	"github.com/bmcd/bmcd/internal/store"
)

// The three users every test environment has.
const (
	adminUser = "admin"
	adminPass = "adminpass1"
	operUser  = "operator"
	operPass  = "operpass1"
	roUser    = "reader"
	roPass    = "readpass1"
)

// simDelay is every simulated power transition: short, so power tests poll
// for milliseconds, not seconds.
const simDelay = 20 * time.Millisecond

// fakeClock drives the sessions' idle timeout without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a real Service over real sim machines, a real bbolt store in a
// temporary directory and real accounts.
type env struct {
	tb       testing.TB
	svc      *Service
	db       *store.DB
	accounts *auth.Accounts
	audit    *audit.Log
	machines map[string]*hardware.Machine
	clock    *fakeClock
	ids      map[string]int // user name -> account ID
}

type envConfig struct {
	extra        []extraBackend
	fetcher      *fetch.Fetcher
	storedImages func(*http.Request) []StoredImage
}

type extraBackend struct {
	id string
	b  hardware.Backend
}

type envOption func(*envConfig)

// withBackend adds a machine driven by b next to the two sim machines.
func withBackend(id string, b hardware.Backend) envOption {
	return func(c *envConfig) { c.extra = append(c.extra, extraBackend{id, b}) }
}

// withImageFetcher makes the sim machines fetch images with f.
func withImageFetcher(f *fetch.Fetcher) envOption {
	return func(cfg *envConfig) { cfg.fetcher = f }
}

// withStoredImages gives the service an image store that lists f's images.
func withStoredImages(f func(*http.Request) []StoredImage) envOption {
	return func(cfg *envConfig) { cfg.storedImages = f }
}

// loopbackDial connects only to literal loopback addresses, so no test
// (nor a fuzzer that invents URLs) ever reaches beyond 127.0.0.1.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test client refuses %s: only loopback", addr)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, network, addr)
}

// loopbackClient is an HTTP client that reaches only loopback addresses.
func loopbackClient(tb testing.TB) *http.Client {
	tr := &http.Transport{Proxy: nil, DialContext: loopbackDial}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func newEnv(tb testing.TB, opts ...envOption) *env {
	tb.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.fetcher == nil {
		cfg.fetcher = &fetch.Fetcher{DialContext: loopbackDial}
	}
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(filepath.Join(tb.TempDir(), "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	accounts, err := auth.Open(db, key)
	if err != nil {
		tb.Fatal(err)
	}
	auditLog, err := audit.Open(db, log)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{tb: tb, db: db, accounts: accounts, audit: auditLog, machines: map[string]*hardware.Machine{}, ids: map[string]int{}}
	for _, u := range []struct {
		name, pass string
		role       auth.Role
	}{{adminUser, adminPass, auth.RoleAdministrator}, {operUser, operPass, auth.RoleOperator}, {roUser, roPass, auth.RoleReadOnly}} {
		a, err := accounts.Create(u.name, u.pass, u.role, true)
		if err != nil {
			tb.Fatal(err)
		}
		e.ids[u.name] = a.ID
	}
	var ms []*hardware.Machine
	add := func(id string, b hardware.Backend) {
		m, err := hardware.NewMachine(id, b, db, log)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = m.Close() })
		ms = append(ms, m)
		e.machines[id] = m
	}
	for _, id := range []string{"0", "1"} {
		add(id, sim.New(sim.Config{ID: id, Seed: "redfish-test", PowerOnDelay: simDelay, PowerOffDelay: simDelay,
			ShutdownDelay: simDelay, Fetcher: cfg.fetcher}))
	}
	for _, x := range cfg.extra {
		add(x.id, x.b)
	}
	e.svc = New(Config{Machines: ms, Accounts: accounts, UUID: "92384634-2938-2342-8820-489239905423",
		Version: "test", Log: log, HTTPPort: 8000, IPMIPort: portsOf(map[string]int{"0": 623}), Audit: auditLog, Store: db,
		StoredImages: cfg.storedImages, VNCPort: portsOf(map[string]int{"0": 5900, "pkvm": 5902}), GraphicalSessions: 4})
	e.clock = &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.svc.sessions.SetClock(e.clock.now)
	tb.Cleanup(e.svc.Close)
	return e
}

// with returns a copy of e that reports to tb (a fuzz body's *testing.T).
func (e *env) with(tb testing.TB) *env {
	c := *e
	c.tb = tb
	return &c
}

// reqOpt adjusts a request.
type reqOpt func(*http.Request)

func basic(user, pass string) reqOpt {
	return func(r *http.Request) {
		r.Header.Del("X-Auth-Token")
		r.SetBasicAuth(user, pass)
	}
}

func asAdmin() reqOpt    { return basic(adminUser, adminPass) }
func asOperator() reqOpt { return basic(operUser, operPass) }
func asReader() reqOpt   { return basic(roUser, roPass) }

func token(tok string) reqOpt {
	return func(r *http.Request) {
		r.Header.Del("Authorization")
		r.Header.Set("X-Auth-Token", tok)
	}
}

func anonymous() reqOpt {
	return func(r *http.Request) {
		r.Header.Del("Authorization")
		r.Header.Del("X-Auth-Token")
	}
}

func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// rawQuery sets the request's query string as is, whatever it holds.
func rawQuery(q string) reqOpt { return func(r *http.Request) { r.URL.RawQuery = q } }

// resp is a recorded response.
type resp struct {
	tb     testing.TB
	method string
	path   string
	Code   int
	Header http.Header
	Body   []byte
}

// bodyReader turns the body argument of do into a reader.
func bodyReader(tb testing.TB, body any) io.Reader {
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	case []byte:
		return bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		return bytes.NewReader(raw)
	}
}

// do sends a request through the Service (as Administrator unless an
// option says otherwise) and checks what every response must satisfy: the
// OData-Version header, a Base registry error body for every status >= 400
// and, on a GET of a resource, an ETag header equal to @odata.etag (but
// for $expand answers) and a Link header naming its schema.
func (e *env) do(method, path string, body any, opts ...reqOpt) *resp {
	e.tb.Helper()
	req := httptest.NewRequest(method, path, bodyReader(e.tb, body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(adminUser, adminPass)
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.svc.ServeHTTP(rec, req)
	r := &resp{tb: e.tb, method: method, path: path, Code: rec.Code, Header: rec.Result().Header, Body: rec.Body.Bytes()}
	if got := r.Header.Get("OData-Version"); got != "4.0" {
		e.tb.Errorf("%s %s: OData-Version = %q, want 4.0", method, path, got)
	}
	if r.Code >= 400 {
		if err := checkErrorBody(r.Body); err != nil {
			e.tb.Errorf("%s %s: %d error body: %v\n%s", method, path, r.Code, err, r.Body)
		}
		if r.Code == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") == "" {
			e.tb.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
		}
		if r.Code == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
			e.tb.Errorf("%s %s: 405 without Allow", method, path)
		}
	}
	if (method == http.MethodGet || method == http.MethodHead) && (r.Code == http.StatusOK || r.Code == http.StatusNotModified) {
		if err := checkLinkHeader(r.Header.Get("Link"), r.Body); err != nil {
			e.tb.Errorf("%s %s: %v", method, path, err)
		}
	}
	if method == http.MethodGet && r.Code == http.StatusOK && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var v map[string]any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			e.tb.Errorf("GET %s: body is not a JSON object: %v", path, err)
		} else if _, isResource := v["@odata.id"]; isResource {
			// An expanded answer holds other resources and has a tag of
			// its own; its @odata.etag stays the resource's.
			tag, _ := v["@odata.etag"].(string)
			q, _ := parseQuery(req.URL.RawQuery)
			if tag == "" || r.Header.Get("ETag") == "" || (q.expand == expandNone && r.Header.Get("ETag") != tag) {
				e.tb.Errorf("GET %s: ETag header %q, @odata.etag %q", path, r.Header.Get("ETag"), tag)
			}
		}
	}
	return r
}

func (e *env) get(path string, opts ...reqOpt) *resp {
	e.tb.Helper()
	return e.do(http.MethodGet, path, nil, opts...)
}

func (e *env) patch(path string, body any, opts ...reqOpt) *resp {
	e.tb.Helper()
	return e.do(http.MethodPatch, path, body, opts...)
}

func (e *env) post(path string, body any, opts ...reqOpt) *resp {
	e.tb.Helper()
	return e.do(http.MethodPost, path, body, opts...)
}

func (e *env) delete(path string, opts ...reqOpt) *resp {
	e.tb.Helper()
	return e.do(http.MethodDelete, path, nil, opts...)
}

// want fails the test unless the status is code.
func (r *resp) want(code int) *resp {
	r.tb.Helper()
	if r.Code != code {
		r.tb.Fatalf("%s %s: status %d, want %d\n%s", r.method, r.path, r.Code, code, r.Body)
	}
	return r
}

// wantError fails the test unless the status is code and the error names
// the Base message key.
func (r *resp) wantError(code int, key string) *resp {
	r.tb.Helper()
	r.want(code)
	if ids := messageIDs(r.Body); !contains(ids, baseMessagePrefix+key) {
		r.tb.Fatalf("%s %s: MessageIds %v, want %s\n%s", r.method, r.path, ids, key, r.Body)
	}
	return r
}

// obj decodes the body as a JSON object.
func (r *resp) obj() map[string]any {
	r.tb.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		r.tb.Fatalf("%s %s: %v\n%s", r.method, r.path, err, r.Body)
	}
	return v
}

// args returns the first message's MessageArgs.
func (r *resp) args() []string {
	r.tb.Helper()
	var v struct {
		Error struct {
			Info []struct {
				MessageArgs []string `json:"MessageArgs"`
			} `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &v); err != nil || len(v.Error.Info) == 0 {
		r.tb.Fatalf("%s %s: no ExtendedInfo: %v\n%s", r.method, r.path, err, r.Body)
	}
	return v.Error.Info[0].MessageArgs
}

// at digs into a decoded JSON value by keys and array indices.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func contains[T comparable](xs []T, x T) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func messageIDs(body []byte) []string {
	var v struct {
		Error struct {
			Info []struct {
				MessageID string `json:"MessageId"`
			} `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &v)
	var ids []string
	for _, m := range v.Error.Info {
		ids = append(ids, m.MessageID)
	}
	return ids
}

// checkErrorBody verifies a Redfish error response: error.code and
// error.message, and @Message.ExtendedInfo messages that exist in the Base
// registry with as many MessageArgs as the registry says.
func checkErrorBody(body []byte) error {
	var v struct {
		Error *struct {
			Code    *string           `json:"code"`
			Message *string           `json:"message"`
			Info    []json.RawMessage `json:"@Message.ExtendedInfo"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	if v.Error == nil {
		return errors.New("no error object")
	}
	if v.Error.Code == nil || !strings.HasPrefix(*v.Error.Code, baseMessagePrefix) {
		return fmt.Errorf("error.code %v does not start with %s", v.Error.Code, baseMessagePrefix)
	}
	if v.Error.Message == nil || *v.Error.Message == "" {
		return errors.New("no error.message")
	}
	if len(v.Error.Info) == 0 {
		return errors.New("no @Message.ExtendedInfo")
	}
	for i, raw := range v.Error.Info {
		var m struct {
			ODataType       string    `json:"@odata.type"`
			MessageID       string    `json:"MessageId"`
			Message         string    `json:"Message"`
			MessageArgs     *[]string `json:"MessageArgs"`
			MessageSeverity string    `json:"MessageSeverity"`
			Resolution      string    `json:"Resolution"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return fmt.Errorf("ExtendedInfo[%d]: %w", i, err)
		}
		key, ok := strings.CutPrefix(m.MessageID, baseMessagePrefix)
		if !ok {
			return fmt.Errorf("ExtendedInfo[%d]: MessageId %q does not start with %s", i, m.MessageID, baseMessagePrefix)
		}
		rm, ok := baseMessages[key]
		if !ok {
			return fmt.Errorf("ExtendedInfo[%d]: %s is not in the Base registry", i, key)
		}
		if m.MessageArgs == nil {
			return fmt.Errorf("ExtendedInfo[%d]: MessageArgs missing or null", i)
		}
		if len(*m.MessageArgs) != rm.NumberOfArgs {
			return fmt.Errorf("ExtendedInfo[%d]: %s has %d MessageArgs, registry says %d", i, key, len(*m.MessageArgs), rm.NumberOfArgs)
		}
		// An unfilled %1 is a bug, unless an argument (a client's property
		// name) brought it.
		argHasPlaceholder := false
		for _, a := range *m.MessageArgs {
			argHasPlaceholder = argHasPlaceholder || strings.Contains(a, "%1")
		}
		if m.Message == "" || (strings.Contains(m.Message, "%1") && !argHasPlaceholder) {
			return fmt.Errorf("ExtendedInfo[%d]: Message %q", i, m.Message)
		}
		if m.MessageSeverity == "" || m.ODataType == "" {
			return fmt.Errorf("ExtendedInfo[%d]: missing MessageSeverity or @odata.type", i)
		}
		if i == 0 && m.MessageID != *v.Error.Code {
			return fmt.Errorf("error.code %s is not the first MessageId %s", *v.Error.Code, m.MessageID)
		}
	}
	return nil
}

// login creates a session and returns its token and URI.
func (e *env) login(user, pass string) (tok, uri string) {
	e.tb.Helper()
	r := e.post("/redfish/v1/SessionService/Sessions", M{"UserName": user, "Password": pass}, anonymous()).want(http.StatusCreated)
	tok, uri = r.Header.Get("X-Auth-Token"), r.Header.Get("Location")
	if tok == "" || uri == "" {
		e.tb.Fatalf("login: token %q, Location %q", tok, uri)
	}
	return tok, uri
}

// eventually polls cond until it holds, failing after a generous deadline
// (it never asserts on speed).
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// powerOn switches machine id on and waits until it is On.
func (e *env) powerOn(id string) {
	e.tb.Helper()
	e.post(systemPath(id)+"/Actions/ComputerSystem.Reset", M{"ResetType": "On"}).want(http.StatusNoContent)
	e.waitPower(id, hardware.PowerOn)
}

func (e *env) waitPower(id string, want hardware.PowerState) {
	e.tb.Helper()
	m := e.machines[id]
	eventually(e.tb, "system "+id+" "+string(want), func() bool {
		ps, _ := m.PowerState(context.Background())
		return ps == want
	})
}

// imageServer serves virtual media images on 127.0.0.1: /ok.iso (an ISO
// with a volume descriptor), /missing.iso (404) and /gate/NAME.iso, which
// answers only once release(NAME) is called.
type imageServer struct {
	*httptest.Server
	hits  atomic.Int64 // requests served
	mu    sync.Mutex
	gates map[string]chan struct{}
}

// Hits is how many requests the server has had.
func (is *imageServer) Hits() int64 { return is.hits.Load() }

func newImageServer(tb testing.TB) *imageServer {
	iso := make([]byte, 40*1024)
	copy(iso[32769:], "CD001")
	is := &imageServer{gates: map[string]chan struct{}{}}
	is.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.hits.Add(1)
		if name, ok := strings.CutPrefix(r.URL.Path, "/gate/"); ok {
			select {
			case <-is.gate(strings.TrimSuffix(name, ".iso")):
			case <-r.Context().Done():
				return
			}
		} else if r.URL.Path != "/ok.iso" && r.URL.Path != "/other.iso" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "image.iso", time.Time{}, bytes.NewReader(iso))
	}))
	tb.Cleanup(is.Close)
	tb.Cleanup(is.releaseAll) // runs first: no handler stays blocked
	return is
}

func (is *imageServer) gate(name string) chan struct{} {
	is.mu.Lock()
	defer is.mu.Unlock()
	g, ok := is.gates[name]
	if !ok {
		g = make(chan struct{})
		is.gates[name] = g
	}
	return g
}

func (is *imageServer) release(name string) {
	g := is.gate(name)
	is.mu.Lock()
	defer is.mu.Unlock()
	select {
	case <-g:
	default:
		close(g)
	}
}

func (is *imageServer) releaseAll() {
	is.mu.Lock()
	names := make([]string, 0, len(is.gates))
	for n := range is.gates {
		names = append(names, n)
	}
	is.mu.Unlock()
	for _, n := range names {
		is.release(n)
	}
}

// noBootBackend is a machine wired only to power: no boot control, no
// media, no sensors.
type noBootBackend struct{ backendtest.Switch }

func (b *noBootBackend) Info() hardware.Info {
	return hardware.Info{Manufacturer: "test", Model: "power-only", ProcessorCount: 1, CoresPerProcessor: 4, MemoryGiB: 16}
}

// defaultInsertWait is insertWait as the service ships it, for tests that
// shorten it to restore.
var defaultInsertWait = insertWait

func mustAccount(tb testing.TB, e *env, name string) auth.Account {
	tb.Helper()
	a, ok := e.accounts.ByName(name)
	if !ok {
		tb.Fatalf("no account %s", name)
	}
	return a
}

// checkLinkHeader checks a GET or HEAD answer's Link header as the DMTF
// Protocol Validator does: rel=describedby naming a schema file (one of
// those copied in schemas/), whose version, when it has one, is the
// version of the body's @odata.type. A body without @odata.type (the
// /redfish document, $metadata) needs no Link.
func checkLinkHeader(link string, body []byte) error {
	var doc struct {
		Type string `json:"@odata.type"`
	}
	_ = json.Unmarshal(body, &doc)
	if link == "" {
		if doc.Type != "" {
			return fmt.Errorf("no Link header for a %s", doc.Type)
		}
		return nil
	}
	uri, ok := strings.CutSuffix(link, ">; rel=describedby")
	if !ok || !strings.HasPrefix(uri, "<") {
		return fmt.Errorf("Link %q is not <URI>; rel=describedby", link)
	}
	file, ok := strings.CutPrefix(uri[1:], schemaBaseURI)
	if !ok {
		return fmt.Errorf("Link %q is not a DMTF schema URI", link)
	}
	if _, err := os.Stat(filepath.Join("..", "schemas", file)); err != nil {
		return fmt.Errorf("Link %q: no such schema in schemas/: %v", link, err)
	}
	if doc.Type != "" {
		t := strings.Split(strings.TrimPrefix(doc.Type, "#"), ".")
		want := t[0] + ".json"
		if len(t) == 3 {
			want = t[0] + "." + t[1] + ".json"
		}
		if file != want {
			return fmt.Errorf("Link names %s for a %s", file, doc.Type)
		}
	}
	return nil
}

// portsOf answers port look-ups from a fixed table.
func portsOf(ports map[string]int) func(string) (int, bool) {
	return func(id string) (int, bool) { p, ok := ports[id]; return p, ok }
}
