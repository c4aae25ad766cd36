package conformance

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
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
	"text/template"
	"time"
)

// ironicServer is an HTTP server on 127.0.0.1 that counts the GET
// requests it answers.
type ironicServer struct {
	URL  string
	mu   sync.Mutex
	gets int
}

func serveIronic(t *testing.T, h http.Handler) *ironicServer {
	t.Helper()
	s := &ironicServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			s.mu.Lock()
			s.gets++
			s.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func (s *ironicServer) Gets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// ironicISO makes a small ISO 9660 image with xorriso, or returns the
// synthetic image every simulated firmware accepts when xorriso is not
// installed.
func ironicISO(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "deploy.iso")
	if _, err := exec.LookPath("xorriso"); err == nil {
		root := filepath.Join(dir, "root")
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "README.TXT"), []byte("bmcd Ironic conformance\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-V", "BMCD_IRONIC", "-o", out, root).CombinedOutput(); err != nil {
			t.Fatalf("xorriso: %v\n%s", err, msg)
		}
		return out
	}
	t.Log("xorriso is not installed: deploying the synthetic ISO image")
	if err := os.WriteFile(out, isoImage, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// ironic is one standalone Ironic (API and conductor in one process).
type ironic struct {
	URL     string // the API's endpoint, http://127.0.0.1:port
	httpURL string // [deploy] http_url
	logPath string
	client  *http.Client
}

var ironicListening = regexp.MustCompile(`wsgi starting up on (http://127\.0\.0\.1:\d+)`)

// startIronic writes ironic.conf into dir from ironic/ironic.conf.tmpl
// (http_root dir/httpboot, published at httpURL), creates the database
// and starts Ironic; it is stopped when the test ends.
func startIronic(t *testing.T, dir, httpURL string) *ironic {
	t.Helper()
	tmpl, err := template.ParseFiles(filepath.Join("ironic", "ironic.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"state", "tmp", "lock", "httpboot", "tftpboot", "images", "master_images", "master_iso_images"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]string{"Dir": dir, "HTTPURL": httpURL}); err != nil {
		t.Fatal(err)
	}
	confPath := filepath.Join(dir, "ironic.conf")
	if err := os.WriteFile(confPath, conf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("ironic", "ironic_standalone.py"))
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runClient(t, 2*time.Minute, systemPython, script, "dbsync", "--config-file", confPath, "create_schema"); code != 0 {
		t.Fatalf("ironic-dbsync create_schema exited %d:\n%s", code, out)
	}

	ir := &ironic{httpURL: httpURL, logPath: filepath.Join(dir, "ironic.log"),
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}}
	logf, err := os.Create(ir.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(systemPython, script, "serve", "--config-file", confPath)
	cmd.Env = clientEnv()
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // ipmitool children go with it
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start Ironic: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			// The whole log (sushy's and ipmitool's exchanges are DEBUG
			// records) outlives the test's directory.
			kept := ""
			if raw, err := os.ReadFile(ir.logPath); err == nil {
				if f, err := os.CreateTemp("", "bmcd-ironic-*.log"); err == nil {
					_, _ = f.Write(raw)
					f.Close()
					kept = ", the whole log kept in " + f.Name()
				}
			}
			t.Logf("Ironic's log but DEBUG records%s:\n%s", kept, strings.Join(ir.logLines(""), "\n"))
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for ir.URL == "" {
		raw, _ := os.ReadFile(ir.logPath)
		if m := ironicListening.FindSubmatch(raw); m != nil {
			ir.URL = string(m[1])
			break
		}
		select {
		case <-done:
			t.Fatalf("Ironic exited before serving:\n%s", raw)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ironic did not serve within 90s:\n%s", raw)
		}
	}
	return ir
}

// osloLine starts each record of Ironic's log: date, time, pid, level.
var osloLine = regexp.MustCompile(`^\d{4}-\d\d-\d\d \S+ \d+ (\w+) `)

// logLines are the records of Ironic's log at level ("ERROR") or, for "",
// every record but DEBUG ones; a record's continuation lines (a
// traceback, ipmitool's output) go with it.
func (ir *ironic) logLines(level string) []string {
	f, err := os.Open(ir.logPath)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var out []string
	keep := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := osloLine.FindStringSubmatch(line); m != nil {
			keep = m[1] == level || (level == "" && m[1] != "DEBUG")
		}
		if keep {
			out = append(out, line)
		}
	}
	return out
}

// call sends one request to Ironic's API (the newest microversion) and
// fails t unless the status is want; it returns the JSON body, if any.
func (ir *ironic) call(t *testing.T, method, path string, body any, want int) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ir.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-OpenStack-Ironic-API-Version", "latest")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ir.client.Do(req)
	if err != nil {
		t.Fatalf("Ironic %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("Ironic %s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("Ironic %s %s: %v: %s", method, path, err, raw)
		}
	}
	return m
}

func (ir *ironic) node(t *testing.T, name string) map[string]any {
	t.Helper()
	return ir.call(t, http.MethodGet, "/v1/nodes/"+name, nil, http.StatusOK)
}

// provision asks for a provision state change (target: manage, provide,
// inspect, active, deleted) and waits until the node rests in want.
func (ir *ironic) provision(t *testing.T, name, target, want string, timeout time.Duration) {
	t.Helper()
	ir.call(t, http.MethodPut, "/v1/nodes/"+name+"/states/provision", map[string]any{"target": target}, http.StatusAccepted)
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		state, _ := n["provision_state"].(string)
		if state == want && n["target_provision_state"] == nil {
			return
		}
		if strings.HasSuffix(state, "failed") || state == "error" || (state == "enroll" && n["last_error"] != nil) {
			t.Fatalf("node %s: %s -> %s: provision_state %q: %v", name, target, want, state, n["last_error"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s -> %s: still %q (target %v) after %s", name, target, want, state, n["target_provision_state"], timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitField waits until a field of the node is want (boot_mode and
// secure_boot change in the background after a 202).
func (ir *ironic) waitField(t *testing.T, name, field string, want any, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		if n[field] == want {
			return
		}
		if n["last_error"] != nil {
			t.Fatalf("node %s: %s %v: %v", name, field, want, n["last_error"])
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s is %v, not %v, after %s", name, field, n[field], want, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// power asks for a power state (power on, power off, soft power off,
// rebooting) and waits until Ironic has reached it.
func (ir *ironic) power(t *testing.T, name, target string, timeout time.Duration) {
	t.Helper()
	ir.call(t, http.MethodPut, "/v1/nodes/"+name+"/states/power", map[string]any{"target": target}, http.StatusAccepted)
	want := map[string]string{"rebooting": "power on", "soft power off": "power off"}[target]
	if want == "" {
		want = target
	}
	deadline := time.Now().Add(timeout)
	for {
		n := ir.node(t, name)
		if n["target_power_state"] == nil {
			if n["last_error"] != nil {
				t.Fatalf("node %s: %s: %v", name, target, n["last_error"])
			}
			if n["power_state"] == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: %s: power_state %v (target %v) after %s", name, target, n["power_state"], n["target_power_state"], timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
