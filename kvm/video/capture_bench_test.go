package video

import (
	"testing"
	"time"

	boardcapture "github.com/bmcd/bmcd/hardware/board/capture"
)

// yuyv1080p is a 1920x1080 YUYV frame that looks somewhat like a screen:
// a gradient background, bars, and a noisy block (text-like detail).
func yuyv1080p() []byte {
	const w, h = 1920, 1080
	b := make([]byte, w*h*2)
	seed := uint32(1)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x += 2 {
			p := b[(y*w+x)*2:]
			luma := byte(16 + (x+y)*200/(w+h))
			cb, cr := byte(128), byte(128)
			if (x/240)%2 == 0 && y > 800 {
				cb, cr = 90, 240
			}
			if x > 200 && x < 1200 && y > 100 && y < 700 {
				seed = seed*1664525 + 1013904223
				luma = byte(16 + seed>>24%220)
			}
			p[0], p[1], p[2], p[3] = luma, cb, luma+1, cr
		}
	}
	return b
}

// BenchmarkYUYV1080pToJPEG is the capture path of a YUYV HDMI dongle: one
// 1920x1080 YUYV frame de-interleaved into 4:2:2 planes
// (capture.YUYVToYCbCr) and encoded once by this build's JPEG encoder
// (image/jpeg, or TurboJPEG with -tags turbojpeg) at DefaultQuality. It
// reports the time of one frame and the frames a second one core keeps
// up with.
func BenchmarkYUYV1080pToJPEG(b *testing.B) {
	src := yuyv1080p()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	var size int
	start := time.Now()
	for b.Loop() {
		m, err := boardcapture.YUYVToYCbCr(src, 1920, 1080, 0)
		if err != nil {
			b.Fatal(err)
		}
		j, err := encodeJPEG(m, DefaultQuality)
		if err != nil {
			b.Fatal(err)
		}
		size = len(j)
	}
	per := float64(time.Since(start).Nanoseconds()) / float64(b.N)
	b.ReportMetric(per, "ns/frame")
	b.ReportMetric(1e9/per, "fps")
	b.ReportMetric(float64(size), "jpeg-bytes")
	b.Logf("encoder %s: %.1f ms/frame, %.1f fps, %d-byte JPEG", encoderName, per/1e6, 1e9/per, size)
}
