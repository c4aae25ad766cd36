//go:build turbojpeg && cgo

package video

/*
#cgo LDFLAGS: -lturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>

// compress_yuv compresses three planes of a Go image.YCbCr; the plane
// pointer and stride arrays live here, in C memory, as cgo's pointer rules
// want.
static int compress_yuv(tjhandle h, const unsigned char *y, const unsigned char *cb,
		const unsigned char *cr, int width, int ystride, int cstride, int height,
		int subsamp, unsigned char **out, unsigned long *outSize, int quality, int flags) {
	const unsigned char *planes[3] = {y, cb, cr};
	int strides[3] = {ystride, cstride, cstride};
	return tjCompressFromYUVPlanes(h, planes, width, strides, height, subsamp,
		out, outSize, quality, flags);
}
*/
import "C"

import (
	"errors"
	"image"
	"image/draw"
	"unsafe"
)

// encoderName names the JPEG encoder of this build.
const encoderName = "turbojpeg"

// turboFlags: TurboJPEG's defaults (accurate integer DCT).
const turboFlags = 0

// handles keeps idle TurboJPEG compressors for reuse; one is made when
// none is idle, and destroyed when the pool is full.
var handles = make(chan C.tjhandle, 8)

func getHandle() (C.tjhandle, error) {
	select {
	case h := <-handles:
		return h, nil
	default:
	}
	h := C.tjInitCompress()
	if h == nil {
		return nil, errors.New("turbojpeg: tjInitCompress: " + C.GoString(C.tjGetErrorStr2(nil)))
	}
	return h, nil
}

func putHandle(h C.tjhandle) {
	select {
	case handles <- h:
	default:
		C.tjDestroy(h)
	}
}

// encodeJPEG is this build's JPEG encoder: TurboJPEG (libjpeg-turbo). An
// *image.RGBA, *image.NRGBA (alpha ignored), *image.Gray or *image.YCbCr
// is compressed straight from its pixels, with no copy; any other image is
// first drawn into an RGBA.
func encodeJPEG(img image.Image, quality int) ([]byte, error) {
	h, err := getHandle()
	if err != nil {
		return nil, err
	}
	defer putHandle(h)
	b := img.Bounds()
	if b.Empty() {
		return nil, errors.New("turbojpeg: empty image")
	}
	w, ht := C.int(b.Dx()), C.int(b.Dy())
	var out *C.uchar
	var size C.ulong
	var rc C.int
	switch m := img.(type) {
	case *image.RGBA:
		rc = C.tjCompress2(h, (*C.uchar)(unsafe.Pointer(&m.Pix[m.PixOffset(b.Min.X, b.Min.Y)])),
			w, C.int(m.Stride), ht, C.TJPF_RGBX, &out, &size, C.TJSAMP_420, C.int(quality), turboFlags)
	case *image.NRGBA:
		rc = C.tjCompress2(h, (*C.uchar)(unsafe.Pointer(&m.Pix[m.PixOffset(b.Min.X, b.Min.Y)])),
			w, C.int(m.Stride), ht, C.TJPF_RGBX, &out, &size, C.TJSAMP_420, C.int(quality), turboFlags)
	case *image.Gray:
		rc = C.tjCompress2(h, (*C.uchar)(unsafe.Pointer(&m.Pix[m.PixOffset(b.Min.X, b.Min.Y)])),
			w, C.int(m.Stride), ht, C.TJPF_GRAY, &out, &size, C.TJSAMP_GRAY, C.int(quality), turboFlags)
	case *image.YCbCr:
		samp, ok := turboSubsampling(m)
		if !ok {
			return encodeJPEG(toRGBA(img), quality)
		}
		rc = C.compress_yuv(h,
			(*C.uchar)(unsafe.Pointer(&m.Y[m.YOffset(b.Min.X, b.Min.Y)])),
			(*C.uchar)(unsafe.Pointer(&m.Cb[m.COffset(b.Min.X, b.Min.Y)])),
			(*C.uchar)(unsafe.Pointer(&m.Cr[m.COffset(b.Min.X, b.Min.Y)])),
			w, C.int(m.YStride), C.int(m.CStride), ht, samp, &out, &size, C.int(quality), turboFlags)
	default:
		return encodeJPEG(toRGBA(img), quality)
	}
	if out != nil {
		defer C.tjFree(out)
	}
	if rc != 0 {
		return nil, errors.New("turbojpeg: " + C.GoString(C.tjGetErrorStr2(h)))
	}
	return C.GoBytes(unsafe.Pointer(out), C.int(size)), nil
}

// turboSubsampling maps a YCbCr image's subsampling to TurboJPEG's, when
// its chroma planes start on a chroma sample (they do for images that are
// not sub-images).
func turboSubsampling(m *image.YCbCr) (C.int, bool) {
	min := m.Rect.Min
	even := func(v int) bool { return v%2 == 0 }
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		return C.TJSAMP_444, true
	case image.YCbCrSubsampleRatio422:
		return C.TJSAMP_422, even(min.X)
	case image.YCbCrSubsampleRatio420:
		return C.TJSAMP_420, even(min.X) && even(min.Y)
	case image.YCbCrSubsampleRatio440:
		return C.TJSAMP_440, even(min.Y)
	case image.YCbCrSubsampleRatio411:
		return C.TJSAMP_411, min.X%4 == 0
	}
	return 0, false
}

func toRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
	return m
}
