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

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/video"
	"github.com/bmcd/bmcd/kvm/video/videotest"
)

// The video bench: a server process (this program with -serve-video,
// pinned to CPU 0 like bmcd in the other parts) runs one kvm/video
// pipeline over a 1920×1080 console-like source that changes 30 times a
// second, and serves its MJPEG stream; a client process (this program with
// -video-clients, pinned to CPU 1) holds 4 MJPEG viewers, then (-vnc) 4
// VNC viewers of the same server's kvm/rfb (vnc.go), and measures the
// frames each receives, the latency from a frame's production (its
// X-Timestamp; for VNC the time drawn in the picture, stamp.go) to its
// full receipt, and the server's CPU (its getrusage)
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
	var rows [2]bytes.Buffer // MJPEG, VNC
	for _, b := range []struct{ name, tags string }{{"turbojpeg", "turbojpeg"}, {"image/jpeg", ""}} {
		bin := filepath.Join(tmp, "videoserver-"+filepath.Base(b.name))
		args := []string{"build", "-o", bin}
		if b.tags != "" {
			args = append(args, "-tags", b.tags)
		}
		build := exec.Command("go", append(args, "./conformance/bench")...)
		if out, err := build.CombinedOutput(); err != nil {
			for i := range rows {
				fmt.Fprintf(&rows[i], "%-11s not built (%v): %s\n", b.name, err, bytes.TrimSpace(out))
			}
			continue
		}
		server, addr, err := startCmd(onCPU("0", bin, "-serve-video"))
		if err != nil {
			return err
		}
		for i, vnc := range []bool{false, true} {
			clients := onCPU("1", self, "-video-clients", addr, "-vnc="+strconv.FormatBool(vnc), "-d", dur.String())
			clients.Stdout, clients.Stderr = &rows[i], os.Stderr
			if err = clients.Run(); err != nil {
				err = fmt.Errorf("video clients (vnc %v): %w", vnc, err)
				break
			}
		}
		stop(server)
		if err != nil {
			return err
		}
	}
	header := func() {
		fmt.Printf("%-11s %-24s %12s %9s %9s %9s %14s\n", "encoder", "fps to each viewer", "server CPU", "p50", "p95", "KB/frame", "CPU unchanged")
		fmt.Printf("%-11s %-24s %12s %9s %9s %9s %14s\n", "", "", "(one core)", "latency", "latency", "", "(one core)")
	}
	fmt.Printf("\nVideo: kvm/video pipeline, %d×%d console-like RGBA source changing %d times/s, %d viewers, quality %d, fps %d, %s measured after 2 s of warm-up; server on CPU 0, clients on CPU 1 (when pinned)\n",
		videoWidth, videoHeight, videoRate, videoViewers, video.DefaultQuality, video.DefaultFPS, dur)
	fmt.Printf("\nMJPEG (GET /stream.mjpeg), latency from the part's X-Timestamp to its full receipt\n\n")
	header()
	fmt.Print(rows[0].String())
	fmt.Printf("\nVNC (kvm/rfb, VNC Authentication, rfbtest viewers asking Tight with JPEG, an incremental request after each update), latency from the production time drawn in the frame to the update's full receipt\n\n")
	header()
	fmt.Print(rows[1].String())
	return nil
}

// serveVideo is the server process: the pipeline, the source, the MJPEG
// stream, and two bench endpoints: /rusage (this process's CPU time) and
// /source?changing=0|1.
func serveVideo() {
	// Pictures are reused round a ring (4 screens, twice), each stamped
	// with its production time as it is shown: a picture is drawn on
	// again 8 frames (267 ms) after it was shown, long after the pipeline
	// encoded it.
	screens := make([]*image.RGBA, 8)
	for i := range screens {
		screens[i] = videotest.Screen(videoWidth, videoHeight, i%4)
	}
	d := &videotest.Display{}
	show := func(i int) {
		m := screens[i%len(screens)]
		drawStamp(m, time.Now())
		d.Show(m)
	}
	show(0)
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
			show(i)
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

	// The VNC server of the same pipeline, on a listener of its own,
	// reported in the log and at GET /vnc.
	vnc, err := rfb.New(rfb.Options{
		Name:      "bench",
		Pipeline:  p,
		Hub:       input.NewHub(hardware.DisabledKeyboard{}, hardware.DisabledPointer{}),
		Passwords: func() rfb.Passwords { return rfb.Passwords{Control: vncPassword} },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	vln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = vnc.ServeListener(vln) }()
	fmt.Fprintf(os.Stderr, "msg=\"vnc listening\" addr=%s\n", vln.Addr())
	mux.HandleFunc("GET /vnc", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, vln.Addr()) })

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

// videoClients is the client process: it holds videoViewers MJPEG
// viewers (vnc false) or RFB viewers (vnc true) of the server at addr,
// measures and prints one row.
func videoClients(addr string, vnc bool, dur time.Duration) error {
	base := "http://" + addr
	// The source changes (a run before may have left it still).
	if resp, err := http.Post(base+"/source?changing=1", "", nil); err != nil {
		return err
	} else {
		resp.Body.Close()
	}
	var vncAddr string
	if vnc {
		resp, err := http.Get(base + "/vnc")
		if err != nil {
			return err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		vncAddr = string(b)
	}
	stats := make([]*viewerStats, videoViewers)
	for i := range stats {
		stats[i] = &viewerStats{}
		if vnc {
			c, err := dialVNC(vncAddr)
			if err != nil {
				return err
			}
			defer c.Close()
			go stats[i].readRFB(c)
			continue
		}
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
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return err
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
