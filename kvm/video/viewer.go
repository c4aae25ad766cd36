package video

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrClosed is returned by Next on a closed Viewer.
var ErrClosed = errors.New("video: viewer closed")

// Viewer is one client of a Pipeline: a queue that holds only the latest
// frame. It is used by one goroutine at a time (Close may come from any).
type Viewer struct {
	p         *Pipeline
	closeOnce sync.Once
	closed    chan struct{}

	// minInterval is this viewer's own frame interval (the MJPEG
	// handler's ?fps=N), on top of the pipeline's FPS; zero: none.
	minInterval time.Duration
	// tat is the pacing's theoretical arrival time: the earliest time of
	// the next frame, less the tolerance (GCRA, as token buckets do).
	tat time.Time
}

// Next blocks until a frame with Seq > after exists and returns the latest
// one: frames produced since the viewer's last call are skipped, so a slow
// viewer drops frames and lag never builds up. It delivers at most the
// pipeline's FPS frames per second (and the viewer's own, when lower),
// waiting before it returns when a frame comes sooner. It returns ctx's
// error as is when ctx ends first, and ErrClosed after Close.
func (v *Viewer) Next(ctx context.Context, after uint64) (*Frame, error) {
	p := v.p
	for {
		select {
		case <-v.closed:
			return nil, ErrClosed
		default:
		}
		p.mu.Lock()
		f, changed := p.latest, p.changed
		p.mu.Unlock()
		if f.Seq > after {
			break
		}
		select {
		case <-changed:
		case <-v.closed:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := v.pace(ctx); err != nil {
		return nil, err
	}
	now := time.Now()
	p.mu.Lock()
	f := p.latest // the newest, after any wait for pacing
	if f.Seq > p.sentSeq {
		p.sentSeq = f.Seq
		p.sentRat.add(now)
	}
	p.mu.Unlock()
	return f, nil
}

// interval is the least time between two frames to this viewer.
func (v *Viewer) interval() time.Duration {
	iv := time.Second / time.Duration(v.p.fps.Load())
	if v.minInterval > iv {
		iv = v.minInterval
	}
	return iv
}

// pace waits until the viewer may have its next frame and books it. It is
// GCRA with a tolerance of half an interval: over any span the viewer gets
// at most span/interval+2 frames, while a frame that comes a little early
// (the source's jitter) is not held back a whole interval.
func (v *Viewer) pace(ctx context.Context) error {
	iv := v.interval()
	tol := iv / 2
	now := time.Now()
	if wait := v.tat.Add(-tol).Sub(now); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-v.closed:
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
		now = time.Now()
	}
	if v.tat.Before(now) {
		v.tat = now
	}
	v.tat = v.tat.Add(iv)
	return nil
}

// Close ends the viewer: a Next waiting returns ErrClosed, and the last
// viewer's Close stops capture. Calling it again does nothing.
func (v *Viewer) Close() {
	v.closeOnce.Do(func() {
		close(v.closed)
		v.p.release()
	})
}

// nextJPEG is Next for a viewer that sends JPEG: when the latest frame's
// encode has not started but a newer frame than after is being encoded
// (for another viewer), it takes that one, one frame older, instead of
// starting a second encode beside it. Viewers that started apart so fall
// in step and share encodes, which is what lets a slow encoder (image/jpeg
// at 1080p) serve several viewers at its full rate instead of a fraction.
func (v *Viewer) nextJPEG(ctx context.Context, after uint64) (*Frame, []byte, error) {
	f, err := v.NextShared(ctx, after)
	if err != nil {
		return nil, nil, err
	}
	b, err := f.JPEG()
	return f, b, err
}

// NextShared is Next for a viewer that will send the frame's JPEG (an
// MJPEG stream, a VNC client taking Tight JPEG): when the latest frame's
// encode has not started but a frame newer than after is being encoded for
// another viewer, it returns that one, one frame older, so the viewers
// share one encode instead of starting a second beside it.
func (v *Viewer) NextShared(ctx context.Context, after uint64) (*Frame, error) {
	f, err := v.Next(ctx, after)
	if err != nil {
		return nil, err
	}
	return v.p.inStep(f, after), nil
}

// inStep is the frame nextJPEG sends instead of f: the frame being
// encoded, when it is newer than after and f's encode has not begun.
func (p *Pipeline) inStep(f *Frame, after uint64) *Frame {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g := p.encoding; g != nil && g.Seq > after && g.Seq < f.Seq && f.Frame.JPEG == nil && !f.started.Load() {
		return g
	}
	return f
}
