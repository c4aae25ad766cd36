package video

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The HTTP side, after µStreamer (https://github.com/pikvm/ustreamer): the
// caller mounts these handlers (under /kvm/{SystemId}/ in bmcd) behind its
// authentication; they do none of their own.

// Boundary separates the parts of the MJPEG stream; µStreamer's.
const Boundary = "boundarydonotcross"

const (
	// writeTimeout bounds the write of one MJPEG part or snapshot, so a
	// client that stopped reading is dropped (and its viewer closed).
	writeTimeout = 10 * time.Second
	// firstPictureWait is how long a snapshot waits for the source's first
	// picture when no one was watching.
	firstPictureWait = 2 * time.Second
)

// noSignalSize is the picture sent on the MJPEG stream while the source
// has none.
var noSignalSize = image.Pt(640, 480)

// noSignal is a plain dark-grey JPEG, sent while the source has no picture.
var noSignal = sync.OnceValue(func() []byte {
	m := image.NewGray(image.Rectangle{Max: noSignalSize})
	for i := range m.Pix {
		m.Pix[i] = 0x20
	}
	b, _ := encodeGo(m, 50)
	return b
})

// noStore are the headers that keep browsers and proxies from caching a
// live picture.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store, no-cache, must-revalidate, proxy-revalidate, max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "Mon, 3 Jan 2000 12:34:56 GMT")
}

// timestamp formats a frame's production time for X-Timestamp as µStreamer
// does: Unix seconds with six decimals (microseconds), e.g.
// 1700000000.123456.
func timestamp(t time.Time) string {
	us := t.UnixMicro()
	return strconv.FormatInt(us/1e6, 10) + "." + leftPad(strconv.FormatInt(us%1e6, 10), 6)
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// ParseTimestamp reads an X-Timestamp value (Unix seconds with a
// fraction) back into a time.
func ParseTimestamp(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	var us int64
	if frac != "" {
		if len(frac) > 6 {
			frac = frac[:6]
		}
		us, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, err
		}
	}
	return time.UnixMicro(secs*1e6 + us), nil
}

// MJPEG serves the live picture as a multipart/x-mixed-replace stream
// (boundary Boundary), one JPEG per part with Content-Type image/jpeg,
// Content-Length and X-Timestamp (the frame's production time, see
// timestamp), each part followed at once by the next boundary so a client
// knows it is whole. The client gets its own Viewer: only new frames, the
// latest when it is slow, at most the pipeline's FPS, or ?fps=N (1..60)
// when that is lower. While the source has no picture it gets a plain
// dark 640×480 picture. The stream ends when the client goes (or stops
// reading for writeTimeout). A bad fps is 400.
func (p *Pipeline) MJPEG(w http.ResponseWriter, r *http.Request) {
	var minInterval time.Duration
	if s := r.URL.Query().Get("fps"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxFPS {
			http.Error(w, "fps must be an integer from 1 to 60", http.StatusBadRequest)
			return
		}
		minInterval = time.Second / time.Duration(n)
	}
	v := p.Watch()
	defer v.Close()
	v.minInterval = minInterval

	rc := http.NewResponseController(w)
	h := w.Header()
	noStore(h)
	h.Set("Content-Type", "multipart/x-mixed-replace;boundary="+Boundary)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := w.Write([]byte("--" + Boundary + "\r\n")); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	ctx := r.Context()
	var seq uint64
	head := make([]byte, 0, 128)
	for {
		f, body, err := v.nextJPEG(ctx, seq)
		if f == nil {
			return
		}
		seq = f.Seq
		if err != nil {
			p.log.Warn("video: frame not sent", "seq", f.Seq, "err", err)
			continue
		}
		if body == nil {
			body = noSignal()
		}
		head = append(head[:0], "Content-Type: image/jpeg\r\nContent-Length: "...)
		head = strconv.AppendInt(head, int64(len(body)), 10)
		head = append(head, "\r\nX-Timestamp: "...)
		head = append(head, timestamp(f.Time)...)
		head = append(head, "\r\n\r\n"...)
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := w.Write(head); err != nil {
			return
		}
		if _, err := w.Write(body); err != nil {
			return
		}
		if _, err := w.Write([]byte("\r\n--" + Boundary + "\r\n")); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// Snapshot serves the latest picture, as PNG when the request's path ends
// in ".png" (snapshot.png) and as JPEG otherwise (snapshot.jpg), with
// X-Timestamp as on the stream. ?width=N (1..MaxThumbnailWidth) scales it
// to N pixels wide (Frame.Scaled: made once per frame and width, for the
// index page's thumbnails); a bad N is 400. When no one was watching and
// the source has no picture yet it starts capture and waits up to 2 s for
// one. With no picture it answers 503 with a short text.
func (p *Pipeline) Snapshot(w http.ResponseWriter, r *http.Request) {
	width := 0
	if v := r.URL.Query().Get("width"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxThumbnailWidth {
			http.Error(w, fmt.Sprintf("width must be a number of pixels, 1 to %d", MaxThumbnailWidth), http.StatusBadRequest)
			return
		}
		width = n
	}
	f := p.snapshotFrame(r.Context())
	h := w.Header()
	if !f.hasPicture() {
		h.Set("Retry-After", "1")
		http.Error(w, "no picture: the machine's screen has no signal", http.StatusServiceUnavailable)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	noStore(h)
	h.Set("X-Timestamp", timestamp(f.Time))
	if width > 0 {
		img, b, err := f.Scaled(width)
		if err != nil {
			p.log.Warn("video: snapshot", "err", err)
			http.Error(w, "the picture could not be scaled", http.StatusInternalServerError)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".png") {
			h.Set("Content-Type", "image/png")
			enc := png.Encoder{CompressionLevel: png.BestSpeed}
			_ = enc.Encode(w, img)
			return
		}
		h.Set("Content-Type", "image/jpeg")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
		return
	}
	if strings.HasSuffix(r.URL.Path, ".png") {
		img, err := f.Picture()
		if err != nil {
			p.log.Warn("video: snapshot", "err", err)
			http.Error(w, "the picture could not be decoded", http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", "image/png")
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		_ = enc.Encode(w, img)
		return
	}
	b, err := f.JPEG()
	if err != nil {
		p.log.Warn("video: snapshot", "err", err)
		http.Error(w, "the picture could not be encoded", http.StatusInternalServerError)
		return
	}
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// snapshotFrame is the latest frame; when the source has given none yet
// (nobody watched), it watches for a moment to get one.
func (p *Pipeline) snapshotFrame(ctx context.Context) *Frame {
	f := p.Latest()
	if f.Seq != 0 || p.disabled {
		return f
	}
	v := p.Watch()
	defer v.Close()
	ctx, cancel := context.WithTimeout(ctx, firstPictureWait)
	defer cancel()
	if nf, err := v.Next(ctx, 0); err == nil {
		return nf
	} else if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		p.log.Warn("video: snapshot", "err", err)
	}
	return p.Latest()
}

// StateJSON is the document State serves.
type StateJSON struct {
	Source struct {
		Online     bool `json:"online"`
		Resolution struct {
			Width  int `json:"width"`
			Height int `json:"height"`
		} `json:"resolution"`
		CapturedFPS float64 `json:"captured_fps"`
	} `json:"source"`
	Stream struct {
		Viewers int     `json:"viewers"`
		SentFPS float64 `json:"sent_fps"`
		Quality int     `json:"quality"`
		FPS     int     `json:"fps"`
		Encoder string  `json:"encoder"`
	} `json:"stream"`
}

// State serves the pipeline's Stats as JSON (StateJSON), rates rounded to
// 0.1 frame per second:
//
//	{"source":{"online":true,"resolution":{"width":1920,"height":1080},"captured_fps":30},
//	 "stream":{"viewers":2,"sent_fps":30,"quality":80,"fps":30,"encoder":"turbojpeg"}}
func (p *Pipeline) State(w http.ResponseWriter, r *http.Request) {
	s := p.Stats()
	var doc StateJSON
	doc.Source.Online = s.Online
	doc.Source.Resolution.Width = s.Width
	doc.Source.Resolution.Height = s.Height
	doc.Source.CapturedFPS = round1(s.CapturedFPS)
	doc.Stream.Viewers = s.Viewers
	doc.Stream.SentFPS = round1(s.SentFPS)
	doc.Stream.Quality = s.Quality
	doc.Stream.FPS = s.FPS
	doc.Stream.Encoder = s.Encoder
	noStore(w.Header())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(doc)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
