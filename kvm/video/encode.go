package video

import (
	"bytes"
	"image"
	"image/jpeg"
)

// encodeGo is the pure-Go JPEG encoder (image/jpeg, 4:2:0), the default
// build's and the fallback.
func encodeGo(img image.Image, quality int) ([]byte, error) {
	var b bytes.Buffer
	sz := img.Bounds().Size()
	b.Grow(sz.X * sz.Y / 8) // about a screen's JPEG at quality 80
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
