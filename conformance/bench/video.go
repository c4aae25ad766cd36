package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bmcd/bmcd/kvm/video"
	"github.com/bmcd/bmcd/kvm/video/videotest"
)

// The video bench: a server process (this program with -serve-video,
// pinned to CPU 0 like bmcd in the other parts) runs one kvm/video
// pipeline over a 1920×1080 console-like source that changes 30 times a
// second, and serves its MJPEG stream; a client process (this program with
// -video-clients, pinned to CPU 1) holds 4 MJPEG viewers and measures the
// frames each receives, the latency from a frame's production (its
// X-Timestamp) to its full receipt, and the server's CPU (its getrusage)
// while the screen changes and while it is unchanged. The server is built
// twice, with TurboJPEG (-tags turbojpeg) and with image/jpeg.

const (
	videoViewers = 4
	videoWidth   = 1920
	videoHeight  = 1080
	videoRate    = 30 // source changes per second
)

// videoBench builds the two servers and measures each.
func videoBench(tmp string, dur time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fmt.Printf("\nVideo: kvm/video pipeline, %d×%d console-like RGBA source changing %d times/s, %d MJPEG viewers, quality %d, fps %d, %s measured after 2 s of warm-up; server on CPU 0, clients on CPU 1 (when pinned)\n\n",
		videoWidth, videoHeight, videoRate, videoViewers, video.DefaultQuality, video.DefaultFPS, dur)
	fmt.Printf("%-11s %-24s %12s %9s %9s %9s %14s\n", "encoder", "fps to each viewer", "server CPU", "p50", "p95", "KB/frame", "CPU unchanged")
	fmt.Printf("%-11s %-24s %12s %9s %9s %9s %14s\n", "", "", "(one core)", "latency", "latency", "", "(one core)")
	for _, b := range []struct{ name, tags string }{{"turbojpeg", "turbojpeg"}, {"image/jpeg", ""}} {
		bin := filepath.Join(tmp, "videoserver-"+filepath.Base(b.name))
		args := []string{"build", "-o", bin}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		build := exec.Command("go", append(args, "./conformance/bench")...)
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Printf("%-11s not built (%v): %s\n", b.name, err, bytes.TrimSpace(out))
			continue
		}
		server, addr, err := startCmd(onCPU("0", bin, "-serve-video"))
		if err != nil {
			return err
		}
		clients := onCPU("1", self, "-video-clients", addr, "-d", dur.String())
		clients.Stdout, clients.Stderr = os.Stdout, os.Stderr
		err = clients.Run()
		stop(server)
		if err != nil {
			return fmt.Errorf("video clients: %w", err)
		}
	}
	return nil
}

// serveVideo is the server process: the pipeline, the source, the MJPEG
// stream, and two bench endpoints: /rusage (this process's CPU time) and
// /source?changing=0|1.
func serveVideo() {
	screens := make([]image.Image, 4)
	for i := range screens {
		screens[i] = videotest.Screen(videoWidth, videoHeight, i)
	}
	d := &videotest.Display{}
	d.Show(screens[0])
	p := video.New(d, video.Options{})

	resume := make(chan struct{})
	var paused atomic.Bool
	go func() {
		tick := time.NewTicker(time.Second / videoRate)
		for i := 1; ; i++ {
			<-tick.C
			if paused.Load() {
				tick.Stop()
				<-resume
				tick.Reset(time.Second / videoRate)
			}
			d.Show(screens[i%len(screens)])
		}
	}()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream.mjpeg", p.MJPEG)
	mux.HandleFunc("GET /state", p.State)
	mux.HandleFunc("GET /rusage", func(w http.ResponseWriter, r *http.Request) {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		fmt.Fprint(w, int64(cpu))
	})
	mux.HandleFunc("POST /source", func(w http.ResponseWriter, r *http.Request) {
		changing := r.URL.Query().Get("changing") == "1"
		if paused.Swap(!changing) && changing {
			resume <- struct{}{}
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "msg=\"redfish listening\" addr=%s\n", ln.Addr())
	_ = http.Serve(ln, mux)
}

// viewerStats is what one MJPEG client saw while measuring.
type viewerStats struct {
	mu        sync.Mutex
	measuring bool
	frames    int
	bytes     int64
	latencies []time.Duration
	err       error
}

// videoClients is the client process: it measures and prints one row.
func videoClients(addr string, dur time.Duration) error {
	base := "http://" + addr
	stats := make([]*viewerStats, videoViewers)
	for i := range stats {
		stats[i] = &viewerStats{}
		resp, err := http.Get(base + "/stream.mjpeg")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil {
			return err
		}
		go stats[i].read(multipart.NewReader(resp.Body, params["boundary"]))
	}
	setMeasuring := func(on bool) {
		for _, s := range stats {
			s.mu.Lock()
			s.measuring = on
			s.mu.Unlock()
		}
	}

	time.Sleep(2 * time.Second)
	cpu0, err := serverCPU(base)
	if err != nil {
		return err
	}
	t0 := time.Now()
	setMeasuring(true)
	time.Sleep(dur)
	setMeasuring(false)
	el := time.Since(t0)
	cpu1, err := serverCPU(base)
	if err != nil {
		return err
	}

	// The unchanged screen: the source stops, the viewers stay.
	if resp, err := http.Post(base+"/source?changing=0", "", nil); err != nil {
		return err
	} else {
		resp.Body.Close()
	}
	time.Sleep(time.Second)
	for _, s := range stats {
		s.mu.Lock()
		s.frames, s.measuring = 0, true
		s.mu.Unlock()
	}
	cpu2, err := serverCPU(base)
	if err != nil {
		return err
	}
	const still = 3 * time.Second
	time.Sleep(still)
	cpu3, err := serverCPU(base)
	if err != nil {
		return err
	}
	sentStill := 0
	for _, s := range stats {
		s.mu.Lock()
		sentStill += s.frames
		s.mu.Unlock()
	}

	var st video.StateJSON
	if resp, err := http.Get(base + "/state"); err != nil {
		return err
	} else {
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			return err
		}
	}

	var fps string
	var all []time.Duration
	var frames int
	var bytes int64
	for _, s := range stats {
		if s.err != nil {
			return s.err
		}
		fps += fmt.Sprintf("%.1f ", float64(len(s.latencies))/el.Seconds())
		all = append(all, s.latencies...)
		frames += len(s.latencies)
		bytes += s.bytes
	}
	if frames == 0 {
		return fmt.Errorf("no frame received")
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration { return all[int(p*float64(len(all)-1))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	fmt.Printf("%-11s %-24s %11.0f%% %9s %9s %9.0f %13.2f%%",
		st.Stream.Encoder, fps, 100*float64(cpu1-cpu0)/float64(el), ms(pct(0.50)), ms(pct(0.95)),
		float64(bytes)/float64(frames)/1024, 100*float64(cpu3-cpu2)/float64(still))
	if sentStill != 0 {
		fmt.Printf("  (%d frames sent on the unchanged screen)", sentStill)
	}
	fmt.Println()
	return nil
}

// read takes the parts of one MJPEG stream until it ends.
func (s *viewerStats) read(mr *multipart.Reader) {
	var buf bytes.Buffer
	for {
		part, err := mr.NextPart()
		if err != nil {
			s.mu.Lock()
			if s.measuring {
				s.err = err
			}
			s.mu.Unlock()
			return
		}
		buf.Reset()
		n, err := io.Copy(&buf, part)
		got := time.Now()
		if err != nil {
			continue
		}
		b := buf.Bytes()
		if n < 4 || b[0] != 0xff || b[1] != 0xd8 || b[n-2] != 0xff || b[n-1] != 0xd9 {
			s.mu.Lock()
			s.err = fmt.Errorf("part of %d bytes is not a whole JPEG", n)
			s.mu.Unlock()
			return
		}
		ts, err := video.ParseTimestamp(part.Header.Get("X-Timestamp"))
		s.mu.Lock()
		if err != nil {
			s.err = fmt.Errorf("X-Timestamp %q: %w", part.Header.Get("X-Timestamp"), err)
		}
		if s.measuring {
			s.frames++
			s.bytes += n
			s.latencies = append(s.latencies, got.Sub(ts))
		}
		s.mu.Unlock()
	}
}

// serverCPU is the server process's user+system CPU time so far.
func serverCPU(base string) (time.Duration, error) {
	resp, err := http.Get(base + "/rusage")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return time.Duration(n), err
}
