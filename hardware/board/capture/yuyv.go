package capture

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/bmcd/bmcd/hardware"
)

// YUYVToYCbCr makes an *image.YCbCr (SubsampleRatio422) of a YUYV 4:2:2
// frame (V4L2_PIX_FMT_YUYV: Y0 Cb Y1 Cr for each pair of pixels) of
// width x height pixels whose lines are stride bytes apart (0: packed,
// 2*width rounded up to a pair). It only de-interleaves the planes: no
// colour conversion, so a JPEG encoder takes the planes as they are. An
// odd width is handled: the last pixel of each line uses its pair's first
// luma. Errors: ErrInvalid for a size that is not positive, or a frame
// shorter than its lines.
func YUYVToYCbCr(src []byte, width, height, stride int) (*image.YCbCr, error) {
	m, err := newYCbCr422(width, height)
	if err != nil {
		return nil, err
	}
	return m, packedInto(m, src, stride, yuyv)
}

func newYCbCr422(width, height int) (*image.YCbCr, error) {
	if width <= 0 || height <= 0 || width > 1<<14 || height > 1<<14 {
		return nil, fmt.Errorf("capture: 4:2:2 frame of %dx%d pixels: %w", width, height, hardware.ErrInvalid)
	}
	return image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio422), nil
}

// UYVYToYCbCr is YUYVToYCbCr for UYVY frames (V4L2_PIX_FMT_UYVY: Cb Y0
// Cr Y1, what HDMI-to-CSI bridges such as the TC358743 give).
func UYVYToYCbCr(src []byte, width, height, stride int) (*image.YCbCr, error) {
	m, err := newYCbCr422(width, height)
	if err != nil {
		return nil, err
	}
	return m, packedInto(m, src, stride, uyvy)
}

// Byte order of a packed 4:2:2 pair: where Y0, Cb, Y1 and Cr are.
type order struct{ y0, cb, y1, cr int }

var (
	yuyv = order{0, 1, 2, 3}
	uyvy = order{1, 0, 3, 2}
)

// YUYVInto de-interleaves a YUYV frame into m, a 4:2:2 image of the
// frame's size (see YUYVToYCbCr).
func YUYVInto(m *image.YCbCr, src []byte, stride int) error { return packedInto(m, src, stride, yuyv) }

func packedInto(m *image.YCbCr, src []byte, stride int, o order) error {
	if m.SubsampleRatio != image.YCbCrSubsampleRatio422 {
		return fmt.Errorf("capture: 4:2:2 frame into a %v image: %w", m.SubsampleRatio, hardware.ErrInvalid)
	}
	sz := m.Rect.Size()
	w, h := sz.X, sz.Y
	pairs := (w + 1) / 2
	if stride == 0 {
		stride = pairs * 4
	}
	if stride < pairs*4 || len(src) < stride*(h-1)+pairs*4 {
		return fmt.Errorf("capture: 4:2:2 frame of %d bytes, stride %d, is short for %dx%d pixels: %w",
			len(src), stride, w, h, hardware.ErrInvalid)
	}
	full := w / 2 // pairs with both pixels
	for row := 0; row < h; row++ {
		s := src[row*stride : row*stride+pairs*4]
		y := m.Y[row*m.YStride : row*m.YStride+w]
		cb := m.Cb[row*m.CStride : row*m.CStride+pairs]
		cr := m.Cr[row*m.CStride : row*m.CStride+pairs]
		if o == yuyv {
			for i := 0; i < full; i++ {
				p := s[i*4 : i*4+4 : i*4+4]
				y[2*i] = p[0]
				cb[i] = p[1]
				y[2*i+1] = p[2]
				cr[i] = p[3]
			}
		} else {
			for i := 0; i < full; i++ {
				p := s[i*4 : i*4+4 : i*4+4]
				cb[i] = p[0]
				y[2*i] = p[1]
				cr[i] = p[2]
				y[2*i+1] = p[3]
			}
		}
		if full < pairs { // odd width: the last pair has one pixel
			p := s[full*4 : full*4+4]
			y[2*full] = p[o.y0]
			cb[full] = p[o.cb]
			cr[full] = p[o.cr]
		}
	}
	return nil
}

// decodeJPEGConfig reads a JPEG's header.
func decodeJPEGConfig(b []byte) (image.Config, error) { return jpeg.DecodeConfig(bytes.NewReader(b)) }
