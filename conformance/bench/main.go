// Command bench measures bmcd's Redfish throughput beside a bare net/http
// handler serving the same bytes, with wrk over keep-alive HTTP, and bmcd's
// resident memory with 1 and 500 simulated systems; a fleet tool's read of
// 1,000 systems with $expand against 1,000 separate GETs; memory and the
// first collection page with 10,000 systems; IPMI; and the KVM video
// pipeline's MJPEG stream and VNC server (video.go, vnc.go). Run it with `make bench`.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const (
	user     = "bench"
	password = "bench-Passw0rd"
)

func main() {
	dur := flag.Duration("d", 10*time.Second, "wrk duration per run")
	conns := flag.Int("c", 64, "wrk connections")
	threads := flag.Int("t", 1, "wrk threads")
	bareBody := flag.String("serve-bare", "", "internal: serve this file as the bare handler")
	only := flag.String("only", "", "run one part: redfish, fleet, ipmi, vms or video")
	serveVideoFlag := flag.Bool("serve-video", false, "internal: serve the video pipeline")
	videoClientsAddr := flag.String("video-clients", "", "internal: measure the video server at this address")
	vncClients := flag.Bool("vnc", false, "internal: with -video-clients, measure its VNC server")
	flag.Parse()
	if *bareBody != "" {
		serveBare(*bareBody)
		return
	}
	if *serveVideoFlag {
		serveVideo()
		return
	}
	if *videoClientsAddr != "" {
		if err := videoClients(*videoClientsAddr, *vncClients, *dur); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	part = *only
	if err := run(*dur, *conns, *threads); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(dur time.Duration, conns, threads int) error {
	if part == "video" {
		tmp, err := os.MkdirTemp("", "bmcd-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		return videoBench(tmp, dur)
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk not found: run `make deps` (Debian package wrk)")
	}
	tmp, err := os.MkdirTemp("", "bmcd-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bmcd")
	build := exec.Command("go", "build", "-o", bin, "./cmd/bmcd")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build bmcd: %w", err)
	}

	if part == "" || part == "redfish" {
		if err := runRedfish(bin, tmp, dur, conns, threads); err != nil {
			return err
		}
	}
	if part == "" || part == "fleet" {
		if err := fleetBench(bin, tmp, 1000, 5); err != nil {
			return err
		}
		if err := memoryBench(bin, tmp, 10000); err != nil {
			return err
		}
	}
	if part == "" || part == "ipmi" {
		if err := runIPMI(bin, tmp, dur); err != nil {
			return err
		}
	}
	if part == "" || part == "vms" {
		if err := qemuBench(bin, tmp, dur, conns, threads); err != nil {
			return err
		}
	}
	if part == "" {
		return videoBench(tmp, dur)
	}
	return nil
}

// part is the -only flag: "" runs everything.
var part string

// runRedfish is wrk against bmcd and the bare handler, and memory with 1
// and 500 systems.
func runRedfish(bin, tmp string, dur time.Duration, conns, threads int) error {
	// Memory with many systems first, while nothing else runs.
	rss500, err := startupRSS(bin, filepath.Join(tmp, "s500"), 500)
	if err != nil {
		return err
	}

	bmcd, addr, err := start(bin, filepath.Join(tmp, "s1"), 1)
	if err != nil {
		return err
	}
	defer stop(bmcd)
	time.Sleep(300 * time.Millisecond)
	rss1, _ := rss(bmcd.Process.Pid)
	url := "http://" + addr + "/redfish/v1/Systems/0"
	body, hdr, err := fetch(url)
	if err != nil {
		return err
	}

	// The bare handler, in a process of its own like bmcd: the same bytes
	// and headers, no Redfish logic.
	doc, _ := json.Marshal(struct {
		Header http.Header
		Body   []byte
	}{hdr, body})
	docFile := filepath.Join(tmp, "bare.json")
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bare, bareAddr, err := startCmd(onCPU("0", self, "-serve-bare", docFile))
	if err != nil {
		return err
	}
	defer stop(bare)
	bareURL := "http://" + bareAddr + "/redfish/v1/Systems/0"

	auth := authHeader()
	where := "servers and wrk unpinned"
	if pinned {
		where = "servers pinned to CPU 0, wrk to CPU 1"
	}
	fmt.Printf("wrk -t%d -c%d -d%s, GET /redfish/v1/Systems/0 (%d bytes), keep-alive HTTP on 127.0.0.1, %s\n\n", threads, conns, dur, len(body), where)
	bareRes, err := wrk(bareURL, auth, dur, conns, threads)
	if err != nil {
		return err
	}
	bmcdRes, err := wrk(url, auth, dur, conns, threads)
	if err != nil {
		return err
	}
	rssAfter, _ := rss(bmcd.Process.Pid)
	fmt.Printf("%-28s %12s %10s %10s\n", "server", "req/s", "p50", "p99")
	fmt.Printf("%-28s %12.0f %10s %10s\n", "bare net/http (same bytes)", bareRes.rps, bareRes.p50, bareRes.p99)
	fmt.Printf("%-28s %12.0f %10s %10s\n", "bmcd (Basic auth)", bmcdRes.rps, bmcdRes.p50, bmcdRes.p99)
	fmt.Printf("\nbmcd/bare throughput ratio: %.2f  (goal >= 0.50)\n", bmcdRes.rps/bareRes.rps)
	fmt.Printf("bmcd p99 at %d connections: %s  (goal < 5ms)\n", conns, bmcdRes.p99)
	fmt.Printf("bmcd resident memory: %.1f MiB after start-up with 1 system (goal < 30), %.1f MiB after the load, %.1f MiB after start-up with 500 systems\n",
		mib(rss1), mib(rssAfter), mib(rss500))
	stop(bmcd)
	return nil
}

func runIPMI(bin, tmp string, dur time.Duration) error {
	fmt.Printf("\nIPMI: go-ipmi client, lanplus cipher suite 17, Get Chassis Status in session, %s per run\n\n", dur)
	fmt.Printf("%-10s %9s %12s %8s %14s %14s\n", "systems", "sessions", "req/s", "failed", "RSS start MiB", "RSS load MiB")
	if err := ipmiBench(bin, filepath.Join(tmp, "i1"), 1, 16, dur); err != nil {
		return err
	}
	return ipmiBench(bin, filepath.Join(tmp, "i500"), 500, 500, dur)
}

// authHeader is wrk's -H for the bench account.
func authHeader() string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func mib(kb int) float64 { return float64(kb) / 1024 }

// pinned runs the servers on CPU 0 and wrk on CPU 1 when taskset is there
// and the machine has two CPUs, so the load generator and the server under
// test do not take turns on the same core.
var pinned = func() bool {
	_, err := exec.LookPath("taskset")
	return err == nil && runtime.NumCPU() >= 2
}()

func onCPU(cpu string, name string, args ...string) *exec.Cmd {
	if pinned {
		return exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	return exec.Command(name, args...)
}

// serveBare is the bare handler: a net/http server that writes the body
// file with the headers bmcd sent, doing nothing else.
func serveBare(file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var doc struct {
		Header http.Header
		Body   []byte
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "msg=\"redfish listening\" addr=%s\n", ln.Addr())
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range doc.Header {
			h[k] = v
		}
		_, _ = w.Write(doc.Body)
	}))
}

// start runs bmcd on plain HTTP with n simulated systems and returns its
// address once it is listening.
func start(bin, state string, n int) (*exec.Cmd, string, error) {
	return startCmd(onCPU("0", bin, "-state-dir", state, "-redfish-addr", "127.0.0.1:0", "-tls=false",
		"-user", user, "-password", password, "-sim-systems", strconv.Itoa(n)))
}

// startCmd starts a server and returns the address it logs as listening.
func startCmd(cmd *exec.Cmd) (*exec.Cmd, string, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addrRE := regexp.MustCompile(`msg="redfish listening" addr=(\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m[1]
				sent = true
			}
		}
	}()
	select {
	case a := <-found:
		return cmd, a, nil
	case <-time.After(30 * time.Second):
		stop(cmd)
		return nil, "", fmt.Errorf("bmcd did not start")
	}
}

func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
	}
}

func startupRSS(bin, state string, n int) (int, error) {
	cmd, addr, err := start(bin, state, n)
	if err != nil {
		return 0, err
	}
	defer stop(cmd)
	if _, _, err := fetch("http://" + addr + "/redfish/v1/Systems/0"); err != nil {
		return 0, err
	}
	time.Sleep(300 * time.Millisecond)
	return rss(cmd.Process.Pid)
}

func fetch(url string) ([]byte, http.Header, error) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	h := resp.Header.Clone()
	h.Del("Date")
	h.Del("Content-Length")
	return b, h, err
}

// rss is the resident set size in KiB.
func rss(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

type wrkResult struct {
	rps      float64
	p50, p99 string
}

func wrk(url, header string, dur time.Duration, conns, threads int) (wrkResult, error) {
	out, err := onCPU("1", "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", fmt.Sprintf("%ds", int(dur.Seconds())), "--latency", "-H", header, url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	s := string(out)
	var r wrkResult
	if m := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindStringSubmatch(s); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := regexp.MustCompile(`\s50%\s+(\S+)`).FindStringSubmatch(s); m != nil {
		r.p50 = m[1]
	}
	if m := regexp.MustCompile(`\s99%\s+(\S+)`).FindStringSubmatch(s); m != nil {
		r.p99 = m[1]
	}
	if regexp.MustCompile(`Non-2xx or 3xx responses`).MatchString(s) {
		return r, fmt.Errorf("wrk saw error responses from %s:\n%s", url, s)
	}
	if r.rps == 0 {
		return r, fmt.Errorf("could not parse wrk output:\n%s", s)
	}
	return r, nil
}
