//go:build !(turbojpeg && cgo)

package video

import "image"

// encoderName names the JPEG encoder of this build.
const encoderName = "image/jpeg"

// encodeJPEG is this build's JPEG encoder: Go's image/jpeg (build with
// -tags turbojpeg and cgo for TurboJPEG).
func encodeJPEG(img image.Image, quality int) ([]byte, error) { return encodeGo(img, quality) }
