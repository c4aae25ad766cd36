package video

import (
	"fmt"
	"image"
	"sync"

	"golang.org/x/image/draw"
)

// MaxThumbnailWidth bounds the width a snapshot may be scaled to
// (snapshot.jpg?width=N).
const MaxThumbnailWidth = 4096

// thumb is one scaled copy of a frame's picture, made once.
type thumb struct {
	once sync.Once
	img  image.Image
	jpeg []byte
	err  error
}

// Scaled returns the picture scaled to width pixels (the height in
// proportion; Catmull-Rom, which filters as it shrinks, so text stays
// legible) and its JPEG at the pipeline's quality, each made once per
// frame and width and shared by every caller. A width at least the
// picture's gives the picture itself and the frame's JPEG. It returns
// nil, nil, nil without a picture. Errors: width outside
// 1..MaxThumbnailWidth; a picture that cannot be decoded or encoded.
func (f *Frame) Scaled(width int) (image.Image, []byte, error) {
	if width < 1 || width > MaxThumbnailWidth {
		return nil, nil, fmt.Errorf("video: thumbnail width %d outside 1..%d", width, MaxThumbnailWidth)
	}
	if !f.hasPicture() {
		return nil, nil, nil
	}
	if width >= f.size.X {
		pic, err := f.Picture()
		if err != nil {
			return nil, nil, err
		}
		j, err := f.JPEG()
		return pic, j, err
	}
	f.thumbMu.Lock()
	if f.thumbs == nil {
		f.thumbs = map[int]*thumb{}
	}
	t := f.thumbs[width]
	if t == nil {
		t = &thumb{}
		f.thumbs[width] = t
	}
	f.thumbMu.Unlock()
	t.once.Do(func() {
		pic, err := f.Picture()
		if err != nil {
			t.err = err
			return
		}
		h := max(1, (f.size.Y*width+f.size.X/2)/f.size.X)
		dst := image.NewRGBA(image.Rect(0, 0, width, h))
		draw.CatmullRom.Scale(dst, dst.Bounds(), pic, pic.Bounds(), draw.Src, nil)
		t.img = dst
		t.jpeg, t.err = f.p.encode(dst, int(f.p.quality.Load()))
		if t.err != nil {
			t.err = fmt.Errorf("video: encode a %d px thumbnail of frame %d: %w", width, f.Seq, t.err)
		}
	})
	return t.img, t.jpeg, t.err
}
