package video

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Frame is one picture of the pipeline, shared by every viewer: it is
// immutable but for its encodings, each made once on first use.
type Frame struct {
	// Seq, Image (nil: no signal), JPEG (when the source gave JPEG), Dirty,
	// DirtySince and Time (when the source produced the picture; the time
	// the pipeline took it when the source gave none).
	hardware.Frame

	p    *Pipeline
	size image.Point

	jpegOnce sync.Once
	started  atomic.Bool // the encode has begun
	jpeg     []byte
	jpegErr  error

	picOnce sync.Once
	pic     image.Image
	picErr  error

	thumbMu sync.Mutex
	thumbs  map[int]*thumb // by width (Scaled)
}

func (p *Pipeline) newFrame(hf hardware.Frame) *Frame {
	if hf.Time.IsZero() && hf.Seq != 0 {
		hf.Time = time.Now()
	}
	f := &Frame{Frame: hf, p: p}
	switch {
	case hf.Image != nil:
		f.size = hf.Image.Bounds().Size()
	case hf.JPEG != nil:
		if c, err := jpeg.DecodeConfig(bytes.NewReader(hf.JPEG)); err == nil {
			f.size = image.Pt(c.Width, c.Height)
		}
	}
	return f
}

// hasPicture: the frame has an Image or the source's JPEG.
func (f *Frame) hasPicture() bool { return f.Frame.Image != nil || f.Frame.JPEG != nil }

// Size is the picture's size in pixels (read from the JPEG header for a
// JPEG-only source), zero without a picture.
func (f *Frame) Size() image.Point { return f.size }

// JPEG returns the picture as JPEG: the source's JPEG untouched when it
// gave one, otherwise Image encoded once, on the first call, at the
// pipeline's quality in force then (concurrent callers wait for that one
// encode and share it). It returns nil, nil without a picture. The bytes
// are shared: callers must not modify them.
func (f *Frame) JPEG() ([]byte, error) {
	if f.Frame.JPEG != nil {
		return f.Frame.JPEG, nil
	}
	if f.Frame.Image == nil {
		return nil, nil
	}
	f.jpegOnce.Do(func() {
		f.started.Store(true)
		p := f.p
		p.mu.Lock()
		if p.encoding == nil || p.encoding.Seq < f.Seq {
			p.encoding = f
		}
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			if p.encoding == f {
				p.encoding = nil
			}
			p.mu.Unlock()
		}()
		f.jpeg, f.jpegErr = p.encode(f.Frame.Image, int(p.quality.Load()))
		if f.jpegErr != nil {
			f.jpegErr = fmt.Errorf("video: encode frame %d: %w", f.Seq, f.jpegErr)
		}
	})
	return f.jpeg, f.jpegErr
}

// Picture returns the picture: Image, or the source's JPEG decoded once
// when the source gives only JPEG. It returns nil, nil without a picture.
func (f *Frame) Picture() (image.Image, error) {
	if f.Frame.Image != nil {
		return f.Frame.Image, nil
	}
	if f.Frame.JPEG == nil {
		return nil, nil
	}
	f.picOnce.Do(func() {
		f.pic, f.picErr = jpeg.Decode(bytes.NewReader(f.Frame.JPEG))
		if f.picErr != nil {
			f.picErr = fmt.Errorf("video: decode the source's JPEG of frame %d: %w", f.Seq, f.picErr)
		}
	})
	return f.pic, f.picErr
}
