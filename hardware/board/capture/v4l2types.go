package capture

import (
	"encoding/binary"
	"fmt"
)

// BTTimings is the part of struct v4l2_dv_timings (type
// V4L2_DV_BT_656_1120, struct v4l2_bt_timings) that capture reads: the
// active size, interlacing and the pixel clock with the blanking, from
// which the frame rate follows. videodev2.h declares both structs packed,
// so their layout is the same on every architecture.
type BTTimings struct {
	Width, Height uint32
	Interlaced    bool
	PixelClock    uint64 // Hz
	HTotal        uint32 // width plus horizontal blanking
	VTotal        uint32 // height plus vertical blanking (both fields when interlaced)
}

// Sizes and offsets of the kernel structs (videodev2.h).
const (
	dvTimingsSize   = 132 // struct v4l2_dv_timings: __u32 type + 128-byte union
	dvTypeBT6561120 = 0   // V4L2_DV_BT_656_1120

	eventSourceChange    = 5      // V4L2_EVENT_SOURCE_CHANGE
	eventSrcChResolution = 1 << 0 // V4L2_EVENT_SRC_CH_RESOLUTION
)

// FPS is the frame rate the timings give, 0 when they do not say.
func (t BTTimings) FPS() float64 {
	if t.HTotal == 0 || t.VTotal == 0 {
		return 0
	}
	return float64(t.PixelClock) / float64(uint64(t.HTotal)*uint64(t.VTotal))
}

// ParseDVTimings decodes a struct v4l2_dv_timings as the kernel wrote it
// (host byte order: little-endian on every board bmcd runs on). Errors:
// a short buffer, a type other than BT.656/1120, a zero size.
func ParseDVTimings(b []byte) (BTTimings, error) {
	if len(b) < dvTimingsSize {
		return BTTimings{}, fmt.Errorf("capture: DV timings of %d bytes, want %d", len(b), dvTimingsSize)
	}
	le := binary.LittleEndian
	if typ := le.Uint32(b[0:]); typ != dvTypeBT6561120 {
		return BTTimings{}, fmt.Errorf("capture: DV timings of type %d, want BT.656/1120", typ)
	}
	bt := b[4:]
	t := BTTimings{
		Width:      le.Uint32(bt[0:]),
		Height:     le.Uint32(bt[4:]),
		Interlaced: le.Uint32(bt[8:]) != 0,
		PixelClock: le.Uint64(bt[16:]),
	}
	hfp, hs, hbp := le.Uint32(bt[24:]), le.Uint32(bt[28:]), le.Uint32(bt[32:])
	vfp, vs, vbp := le.Uint32(bt[36:]), le.Uint32(bt[40:]), le.Uint32(bt[44:])
	ilvfp, ilvs, ilvbp := le.Uint32(bt[48:]), le.Uint32(bt[52:]), le.Uint32(bt[56:])
	if t.Width == 0 || t.Height == 0 || t.Width > 1<<14 || t.Height > 1<<14 {
		return BTTimings{}, fmt.Errorf("capture: DV timings of %dx%d pixels", t.Width, t.Height)
	}
	t.HTotal = sum32(t.Width, hfp, hs, hbp)
	t.VTotal = sum32(t.Height, vfp, vs, vbp)
	if t.Interlaced {
		t.VTotal = sum32(t.VTotal, ilvfp, ilvs, ilvbp)
	}
	return t, nil
}

// sum32 adds, saturating rather than wrapping (the fields come from a
// driver, and the fuzzer).
func sum32(v ...uint32) uint32 {
	var s uint64
	for _, x := range v {
		s += uint64(x)
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

// Event is what capture reads of a struct v4l2_event.
type Event struct {
	Type uint32
	// Changes is u.src_change.changes for a V4L2_EVENT_SOURCE_CHANGE.
	Changes uint32
}

// SourceChange reports an event that says the input's resolution (or
// signal) changed.
func (e Event) SourceChange() bool {
	return e.Type == eventSourceChange && e.Changes&eventSrcChResolution != 0
}

// ParseEvent decodes a struct v4l2_event as the kernel wrote it: type at
// offset 0, the union u at unionOffset (8: the union holds an __s64, so it
// is 8-aligned on the 64-bit and ARM EABI ABIs) and size bytes in all.
// Errors: a buffer shorter than the union's first word.
func ParseEvent(b []byte, unionOffset int) (Event, error) {
	if unionOffset < 4 || len(b) < unionOffset+4 {
		return Event{}, fmt.Errorf("capture: event of %d bytes, union at %d", len(b), unionOffset)
	}
	le := binary.LittleEndian
	e := Event{Type: le.Uint32(b[0:])}
	if e.Type == eventSourceChange {
		e.Changes = le.Uint32(b[unionOffset:])
	}
	return e, nil
}
