package conformance

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bmcdPath is the bmcd binary TestMain builds (with -race when the suite
// runs with -race, so server-side races fail the suite too).
var bmcdPath string

// raceEnabled is set by race_test.go in -race builds.
var raceEnabled bool

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "bmcd-conformance-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bmcdPath = filepath.Join(dir, "bmcd")
	args := []string{"build", "-o", bmcdPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/bmcd/bmcd/cmd/bmcd")
	build := exec.Command(goTool(), args...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "conformance: go %s: %v\n", strings.Join(args, " "), err)
		return 1
	}
	return m.Run()
}

// statSources stats every file of the module (but hidden directories and
// bin/). The test binary does not import the bmcd it builds and runs, nor
// the scripts it hands to clients, so without this `go test` would keep
// serving a cached PASS after they change: it keys cached results on the
// files a test opened or stat'ed (from m.Run on, so not in TestMain).
func statSources(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed while walking
		}
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (strings.HasPrefix(d.Name(), ".") || (d.Name() == "bin" && filepath.Dir(p) == root)) {
				return filepath.SkipDir
			}
			return nil
		}
		if _, err := os.Stat(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	})
}

var (
	statOnce sync.Once
	statErr  error
)

// goTool finds the go command that runs this test.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Short simulated power transitions keep the suite fast.
const (
	simPowerOnDelay  = 200 * time.Millisecond
	simPowerOffDelay = 100 * time.Millisecond
	simShutdownDelay = 300 * time.Millisecond
)

const (
	adminUser     = "admin"
	adminPassword = "Conformance1"
)

// bmcOpts configures one bmcd under test.
type bmcOpts struct {
	Systems   int  // simulated systems "0".."N-1" (default 2)
	PlainHTTP bool // -tls=false
	NoAdmin   bool // start without -user/-password
	IPMI      bool // serve IPMI on ephemeral 127.0.0.1 ports
	VNC       bool // serve VNC on ephemeral 127.0.0.1 ports, VNC password vncPassword
	// Config, when set, is the configuration file's systems (or
	// discover) and users sections instead of Systems simulated systems;
	// IPMI and VNC still add their blocks.
	Config string
}

// vncPassword is the VNC Authentication password of a bmcd started with
// bmcOpts.VNC.
const vncPassword = "vnc-pw1"

// bmc is one bmcd under test: a state directory that outlives restarts
// and the process currently serving it.
type bmc struct {
	t        testing.TB
	opts     bmcOpts
	stateDir string
	config   string
	User     string
	Password string
	client   *http.Client

	mu      sync.Mutex
	cur     *proc
	history []*proc // every process started, for the race/panic check
	Addr    string  // host:port of the current process
	URL     string  // scheme://host:port of the current process
}

// proc is one bmcd process.
type proc struct {
	cmd   *exec.Cmd
	out   lockedBuffer
	ready chan string // the listening address, once
	done  chan struct{}
	err   error // from Wait, valid after done
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) WriteLine(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(s)
	l.b.WriteByte('\n')
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startBMC starts a bmcd with a fresh state directory and a configuration
// file of short-delay simulated systems. It is stopped, and its output
// checked for data races and panics, when the test ends.
func startBMC(t testing.TB, opts bmcOpts) *bmc {
	t.Helper()
	statOnce.Do(func() { statErr = statSources("..") })
	if statErr != nil {
		t.Fatal(statErr)
	}
	if opts.Systems == 0 {
		opts.Systems = 2
	}
	dir := t.TempDir()
	b := &bmc{
		t:        t,
		opts:     opts,
		stateDir: filepath.Join(dir, "state"),
		config:   filepath.Join(dir, "bmcd.yaml"),
		User:     adminUser,
		Password: adminPassword,
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // bmcd's self-signed certificate
				Proxy:           nil,                                   // loopback only, whatever HTTPS_PROXY says
			},
		},
	}
	var cfg strings.Builder
	if opts.Config != "" {
		cfg.WriteString(strings.TrimRight(opts.Config, "\n") + "\n")
	} else {
		cfg.WriteString("systems:\n")
		for i := range opts.Systems {
			fmt.Fprintf(&cfg, "  - id: %q\n    backend: sim\n    sim: {power_on_delay: %s, power_off_delay: %s, shutdown_delay: %s}\n",
				fmt.Sprint(i), simPowerOnDelay, simPowerOffDelay, simShutdownDelay)
		}
	}
	if opts.IPMI {
		cfg.WriteString("ipmi:\n  addr: \"127.0.0.1:0\"\n")
	}
	if opts.VNC {
		fmt.Fprintf(&cfg, "console:\n  vnc_addr: \"127.0.0.1:0\"\n  vnc_password: %q\n", vncPassword)
	}
	if err := os.WriteFile(b.config, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.cleanup)
	b.Start()
	return b
}

var listeningAddr = regexp.MustCompile(`msg="redfish listening" addr=(\S+)`)

// Start starts a bmcd process on the state directory and waits until it
// listens.
func (b *bmc) Start() {
	b.t.Helper()
	// Debug logging so that the HTTP server's own complaints (a recovered
	// handler panic) reach the output the cleanup checks.
	args := []string{"-state-dir", b.stateDir, "-config", b.config, "-redfish-addr", "127.0.0.1:0", "-log-level", "debug"}
	if b.opts.PlainHTTP {
		args = append(args, "-tls=false")
	}
	if !b.opts.NoAdmin {
		args = append(args, "-user", b.User, "-password", b.Password)
	}
	cmd := exec.Command(bmcdPath, args...)
	cmd.Env = filterEnv(os.Environ(), "BMCD_USER", "BMCD_PASSWORD", "GORACE")
	// A -race binary sleeps 1 s at exit by default (atexit_sleep_ms), which
	// would count against the 2 s SIGTERM budget.
	cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"))
	pr, pw, err := os.Pipe()
	if err != nil {
		b.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &proc{cmd: cmd, ready: make(chan string, 1), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		b.t.Fatalf("start bmcd: %v", err)
	}
	pw.Close()
	b.mu.Lock()
	b.cur = p
	b.history = append(b.history, p)
	b.mu.Unlock()
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			p.out.WriteLine(line)
			if m := listeningAddr.FindStringSubmatch(line); m != nil && !sent {
				p.ready <- m[1]
				sent = true
			}
		}
		pr.Close()
	}()
	go func() {
		p.err = cmd.Wait()
		<-lines
		close(p.done)
	}()
	select {
	case addr := <-p.ready:
		scheme := "https"
		if b.opts.PlainHTTP {
			scheme = "http"
		}
		b.mu.Lock()
		b.Addr, b.URL = addr, scheme+"://"+addr
		b.mu.Unlock()
	case <-p.done:
		b.t.Fatalf("bmcd exited before listening (%v); output:\n%s", p.err, p.out.String())
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-p.done
		b.t.Fatalf("bmcd did not report listening within 30s; output:\n%s", p.out.String())
	}
}

// Output is what the current (or last) process printed.
func (b *bmc) Output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		return ""
	}
	return b.cur.out.String()
}

// Terminate sends SIGTERM and waits up to limit for the process to exit,
// returning how long it took and its exit code (-1 if it did not exit).
func (b *bmc) Terminate(limit time.Duration) (time.Duration, int) {
	b.t.Helper()
	p := b.current()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.done:
		return time.Since(start), p.cmd.ProcessState.ExitCode()
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		return time.Since(start), -1
	}
}

// Kill sends SIGKILL: no chance to flush or close anything.
func (b *bmc) Kill() {
	b.t.Helper()
	p := b.current()
	if err := p.cmd.Process.Kill(); err != nil {
		b.t.Fatalf("SIGKILL: %v", err)
	}
	<-p.done
}

func (b *bmc) current() *proc {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		b.t.Fatal("bmcd is not running")
	}
	return b.cur
}

// cleanup stops a running process and fails the test if any process
// reported a data race or a panic.
func (b *bmc) cleanup() {
	b.mu.Lock()
	p, history := b.cur, b.history
	b.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
	}
	for i, h := range history {
		out := h.out.String()
		for _, bad := range []string{"WARNING: DATA RACE", "panic:", "panic serving", "fatal error:"} {
			if strings.Contains(out, bad) {
				b.t.Errorf("bmcd process #%d reported %q; output:\n%s", i+1, bad, out)
				break
			}
		}
	}
	b.client.CloseIdleConnections()
}

// response is an HTTP exchange's result.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v\n%s", err, r.Body)
	}
	return m
}

// request describes a raw HTTP request to bmcd.
type request struct {
	Method string
	Path   string
	Body   any // nil, string and []byte are sent as is; anything else as JSON
	Header map[string]string
	NoAuth bool // omit Basic credentials
}

// Do sends req with the administrator's Basic credentials.
func (b *bmc) Do(req request) (*response, error) {
	var body io.Reader
	switch v := req.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	case []byte:
		body = bytes.NewReader(v)
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(raw)
	}
	b.mu.Lock()
	base := b.URL
	b.mu.Unlock()
	hr, err := http.NewRequest(req.Method, base+req.Path, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if !req.NoAuth {
		hr.SetBasicAuth(b.User, b.Password)
	}
	for k, v := range req.Header {
		hr.Header.Set(k, v)
	}
	resp, err := b.client.Do(hr)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// Must sends req and fails the test unless the status is want.
func (b *bmc) Must(t testing.TB, want int, req request) *response {
	t.Helper()
	r, err := b.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	if r.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", req.Method, req.Path, r.Status, want, r.Body)
	}
	return r
}

// Get fetches a resource as JSON (status 200 required).
func (b *bmc) Get(t testing.TB, path string) map[string]any {
	t.Helper()
	return b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: path}).JSON(t)
}

// WaitPower polls a system until its PowerState is want.
func (b *bmc) WaitPower(t testing.TB, sys, want string) {
	t.Helper()
	eventually(t, 15*time.Second, func() (bool, string) {
		ps, _ := b.Get(t, "/redfish/v1/Systems/"+sys)["PowerState"].(string)
		return ps == want, "PowerState " + ps + ", want " + want
	})
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, why)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isoImage is a few hundred KB with an ISO 9660 primary volume descriptor
// signature ("CD001" at byte 32769), the way a bootable CD image starts.
var isoImage = func() []byte {
	img := make([]byte, 384<<10)
	for i := range img {
		img[i] = byte(i*7 + i>>9)
	}
	img[32768] = 1 // volume descriptor type: primary
	copy(img[32769:], "CD001")
	img[32774] = 1 // version
	return img
}()

// imageServer serves isoImage on 127.0.0.1 (with Range support) and counts
// the requests it gets.
type imageServer struct {
	URL  string // of the image
	mu   sync.Mutex
	hits int
}

func serveImage(t testing.TB) *imageServer {
	t.Helper()
	return serveImageTLS(t, nil)
}

// serveImageTLS serves the image over https with cert, or over http when
// cert is nil.
func serveImageTLS(t testing.TB, cert *tls.Certificate) *imageServer {
	t.Helper()
	s := &imageServer{}
	mod := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/images/boot.iso" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.hits++
		s.mu.Unlock()
		http.ServeContent(w, r, "boot.iso", mod, bytes.NewReader(isoImage))
	}))
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/images/boot.iso"
	return s
}

func (s *imageServer) Hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

// requireClient fails the test, or skips it with -short, when an external
// client is not installed. CI runs without -short, so a missing client
// can never pass unnoticed.
func requireClient(t *testing.T, name string, check func() error) {
	t.Helper()
	err := check()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s is not available (%v); run `make deps` to install the conformance clients", name, err)
	if testing.Short() {
		t.Skip(msg)
	}
	t.Fatal(msg)
}

// clientEnv is the environment for external clients: no CA bundle
// overrides (requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE win over
// a session's verify=False) and no proxies for loopback traffic.
func clientEnv() []string {
	env := filterEnv(os.Environ(), "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
		"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
		"NO_PROXY", "no_proxy", "PYTHONPATH", "PYTHONHOME")
	return append(env, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost", "PYTHONWARNINGS=ignore")
}

func filterEnv(env []string, drop ...string) []string {
	out := make([]string, 0, len(env))
outer:
	for _, kv := range env {
		for _, d := range drop {
			if strings.HasPrefix(kv, d+"=") {
				continue outer
			}
		}
		out = append(out, kv)
	}
	return out
}

// runClient runs an external client with a deadline and returns its
// combined output and exit code (-1 if it could not run or timed out).
func runClient(t testing.TB, timeout time.Duration, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = clientEnv()
	cmd.Dir = t.TempDir()
	var out lockedWriter
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return err.Error(), -1
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return out.String() + "\n" + err.Error(), -1
		}
		return out.String(), cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		return out.String() + fmt.Sprintf("\n(killed after %s)", timeout), -1
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// gofishHTTP is an HTTP client of its own for one gofish connection.
// gofish v0.22.0 otherwise copies http.DefaultTransport's TLS config
// pointer into every client it makes and then changes that shared config
// (InsecureSkipVerify, NextProtos): parallel tests raced on it.
func gofishHTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}}
}
