package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

func TestYUYVToYCbCr(t *testing.T) {
	// 4x2 pixels, lines padded to 10 bytes.
	src := []byte{
		10, 1, 11, 2, 12, 3, 13, 4, 0xee, 0xee,
		20, 5, 21, 6, 22, 7, 23, 8, 0xee, 0xee,
	}
	m, err := YUYVToYCbCr(src, 4, 2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if m.SubsampleRatio != image.YCbCrSubsampleRatio422 || m.Rect != image.Rect(0, 0, 4, 2) {
		t.Fatalf("ratio %v rect %v", m.SubsampleRatio, m.Rect)
	}
	planes := []struct {
		name   string
		got    []byte
		stride int
		want   [][]byte
	}{
		{"Y", m.Y, m.YStride, [][]byte{{10, 11, 12, 13}, {20, 21, 22, 23}}},
		{"Cb", m.Cb, m.CStride, [][]byte{{1, 3}, {5, 7}}},
		{"Cr", m.Cr, m.CStride, [][]byte{{2, 4}, {6, 8}}},
	}
	for _, p := range planes {
		for row, want := range p.want {
			if got := p.got[row*p.stride : row*p.stride+len(want)]; !bytes.Equal(got, want) {
				t.Errorf("%s row %d = %v; want %v", p.name, row, got, want)
			}
		}
	}
	// Packed (stride 0) gives the same picture.
	packed := append(append([]byte{}, src[0:8]...), src[10:18]...)
	m2, err := YUYVToYCbCr(packed, 4, 2, 0)
	if err != nil || !bytes.Equal(m2.Y, m.Y) || !bytes.Equal(m2.Cb, m.Cb) || !bytes.Equal(m2.Cr, m.Cr) {
		t.Errorf("packed: %v, planes differ", err)
	}
}

func TestUYVY(t *testing.T) {
	src := []byte{1, 10, 2, 11, 3, 12, 4, 13} // Cb Y0 Cr Y1
	m, err := UYVYToYCbCr(src, 4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Y[:4], []byte{10, 11, 12, 13}) || !bytes.Equal(m.Cb[:2], []byte{1, 3}) || !bytes.Equal(m.Cr[:2], []byte{2, 4}) {
		t.Errorf("Y %v Cb %v Cr %v", m.Y[:4], m.Cb[:2], m.Cr[:2])
	}
	m, err = UYVYToYCbCr([]byte{1, 10, 2, 11, 3, 12, 4, 13}, 3, 1, 0)
	if err != nil || !bytes.Equal(m.Y[:3], []byte{10, 11, 12}) || m.Cb[1] != 3 || m.Cr[1] != 4 {
		t.Errorf("odd width: %v Y %v", err, m.Y)
	}
}

func TestYUYVOddWidth(t *testing.T) {
	// 3 pixels: two pairs on the wire, the second pair's Y1 unused.
	src := []byte{10, 1, 11, 2, 12, 3, 99, 4}
	m, err := YUYVToYCbCr(src, 3, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Y[:3], []byte{10, 11, 12}) || !bytes.Equal(m.Cb[:2], []byte{1, 3}) || !bytes.Equal(m.Cr[:2], []byte{2, 4}) {
		t.Errorf("Y %v Cb %v Cr %v", m.Y[:3], m.Cb[:2], m.Cr[:2])
	}
}

func TestYUYVRefuses(t *testing.T) {
	for _, tc := range []struct {
		name            string
		n, w, h, stride int
	}{
		{"short frame", 15, 4, 2, 0},
		{"stride below a line", 100, 4, 2, 6},
		{"zero size", 100, 0, 2, 0},
		{"negative", 100, 4, -1, 0},
		{"huge", 100, 1 << 20, 1, 0},
	} {
		if _, err := YUYVToYCbCr(make([]byte, tc.n), tc.w, tc.h, tc.stride); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("%s: %v; want ErrInvalid", tc.name, err)
		}
	}
	if err := YUYVInto(image.NewYCbCr(image.Rect(0, 0, 2, 2), image.YCbCrSubsampleRatio420), make([]byte, 8), 0); !errors.Is(err, hardware.ErrInvalid) {
		t.Errorf("into 4:2:0: %v", err)
	}
}

func FuzzYUYV(f *testing.F) {
	f.Add(make([]byte, 16), 4, 2, 0)
	f.Add(make([]byte, 20), 3, 2, 10)
	f.Fuzz(func(t *testing.T, b []byte, w, h, stride int) {
		if w > 256 || h > 256 {
			return
		}
		m, err := YUYVToYCbCr(b, w, h, stride)
		if err == nil && m.Rect.Size() != image.Pt(w, h) {
			t.Fatalf("size %v for %dx%d", m.Rect.Size(), w, h)
		}
	})
}

func TestConvert(t *testing.T) {
	j := testJPEG(t, 16, 8)
	f, err := convert(Format{Pixel: PixMJPEG}, j)
	if err != nil || !bytes.Equal(f.JPEG, j) || f.Image != nil {
		t.Errorf("MJPEG: %v", err)
	}
	if jpegSize(f.JPEG) != image.Pt(16, 8) {
		t.Errorf("jpegSize = %v", jpegSize(f.JPEG))
	}
	for _, b := range [][]byte{nil, {0xff}, {0, 0, 0, 0, 0}} {
		if _, err := convert(Format{Pixel: PixJPEG}, b); err == nil {
			t.Errorf("JPEG frame %v accepted", b)
		}
	}
	if f, err := convert(Format{Pixel: PixUYVY, Width: 2, Height: 1}, []byte{1, 10, 2, 11}); err != nil || f.Image.(*image.YCbCr).Y[1] != 11 {
		t.Errorf("UYVY: %v", err)
	}
	if _, err := convert(Format{Pixel: PixYUYV, Width: 4, Height: 2}, make([]byte, 3)); err == nil {
		t.Error("short YUYV frame accepted")
	}
}

func TestNoSignalPicture(t *testing.T) {
	for _, size := range []image.Point{{}, {640, 480}, {1920, 1080}, {40, 20}} {
		m := NoSignalPicture(size, "/dev/video0")
		want := size
		if want.X == 0 {
			want = NoSignalSize
		}
		if m.Rect.Size() != want {
			t.Errorf("size %v; want %v", m.Rect.Size(), want)
		}
		bright := 0
		for i := 0; i < len(m.Pix); i += 4 {
			if m.Pix[i] > 200 {
				bright++
			}
		}
		if bright == 0 {
			t.Errorf("%v: no text drawn", size)
		}
		if m.Pix[0] > 40 {
			t.Errorf("%v: background %d is not dark", size, m.Pix[0])
		}
	}
}

// dvTimings is a struct v4l2_dv_timings as the kernel writes it.
func dvTimings(w, h uint32, interlaced bool, clock uint64, hfp, hs, hbp, vfp, vs, vbp uint32) []byte {
	b := make([]byte, dvTimingsSize)
	le := binary.LittleEndian
	bt := b[4:]
	le.PutUint32(bt[0:], w)
	le.PutUint32(bt[4:], h)
	if interlaced {
		le.PutUint32(bt[8:], 1)
	}
	le.PutUint64(bt[16:], clock)
	for i, v := range []uint32{hfp, hs, hbp, vfp, vs, vbp} {
		le.PutUint32(bt[24+4*i:], v)
	}
	return b
}

func TestParseDVTimings(t *testing.T) {
	// CEA-861 1080p60: 148.5 MHz, 2200x1125 total.
	tm, err := ParseDVTimings(dvTimings(1920, 1080, false, 148500000, 88, 44, 148, 4, 5, 36))
	if err != nil {
		t.Fatal(err)
	}
	if tm.Width != 1920 || tm.Height != 1080 || tm.HTotal != 2200 || tm.VTotal != 1125 || int(tm.FPS()+0.5) != 60 {
		t.Errorf("1080p60: %+v fps %.2f", tm, tm.FPS())
	}
	for name, b := range map[string][]byte{
		"short":     make([]byte, 100),
		"zero size": dvTimings(0, 0, false, 0, 0, 0, 0, 0, 0, 0),
		"huge":      dvTimings(1<<20, 1080, false, 0, 0, 0, 0, 0, 0, 0),
	} {
		if _, err := ParseDVTimings(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	other := dvTimings(640, 480, false, 0, 0, 0, 0, 0, 0, 0)
	other[0] = 1
	if _, err := ParseDVTimings(other); err == nil {
		t.Error("a timings type other than BT.656/1120 accepted")
	}
	if (BTTimings{}).FPS() != 0 {
		t.Error("FPS of zero timings")
	}
}

func FuzzParseDVTimings(f *testing.F) {
	f.Add(dvTimings(1920, 1080, false, 148500000, 88, 44, 148, 4, 5, 36))
	f.Add(dvTimings(1920, 1080, true, 74250000, 88, 44, 148, 2, 5, 15))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseDVTimings(b)
		if err != nil {
			return
		}
		if tm.Width == 0 || tm.Height == 0 || tm.HTotal < tm.Width || tm.VTotal < tm.Height {
			t.Fatalf("accepted %+v", tm)
		}
		_ = tm.FPS()
	})
}

func TestParseEvent(t *testing.T) {
	b := make([]byte, 136)
	binary.LittleEndian.PutUint32(b, eventSourceChange)
	binary.LittleEndian.PutUint32(b[8:], eventSrcChResolution)
	e, err := ParseEvent(b, 8)
	if err != nil || !e.SourceChange() {
		t.Errorf("source change: %+v, %v", e, err)
	}
	binary.LittleEndian.PutUint32(b[8:], 0)
	if e, _ := ParseEvent(b, 8); e.SourceChange() {
		t.Error("a source change without the resolution flag counts")
	}
	binary.LittleEndian.PutUint32(b, 3) // V4L2_EVENT_CTRL
	binary.LittleEndian.PutUint32(b[8:], eventSrcChResolution)
	if e, _ := ParseEvent(b, 8); e.SourceChange() || e.Changes != 0 {
		t.Errorf("a control event read as %+v", e)
	}
	if _, err := ParseEvent(b[:10], 8); err == nil {
		t.Error("short event accepted")
	}
}

func FuzzParseEvent(f *testing.F) {
	b := make([]byte, 136)
	binary.LittleEndian.PutUint32(b, eventSourceChange)
	binary.LittleEndian.PutUint32(b[8:], eventSrcChResolution)
	f.Add(b, 8)
	f.Add([]byte{5, 0, 0, 0}, 4)
	f.Fuzz(func(t *testing.T, b []byte, off int) {
		e, err := ParseEvent(b, off)
		if err == nil && e.Type != eventSourceChange && e.Changes != 0 {
			t.Fatalf("changes %d in an event of type %d", e.Changes, e.Type)
		}
	})
}
