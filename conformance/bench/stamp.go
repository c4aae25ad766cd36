package main

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"time"
)

// The frame stamp: RFB carries no timestamp, so the VNC bench's source
// draws each frame's production time into the picture, and the viewers
// read it back from the JPEG they receive. The stamp is a row of
// stampBits blocks of stampBlock×stampBlock pixels at the top-left corner,
// white for 1 and black for 0, most significant bit first: 40 bits of the
// production time in microseconds (Unix time modulo 2^40, about 12.7
// days) then an 8-bit check, so a misread block is an error rather than a
// wrong latency. Blocks that large survive JPEG at any usual quality.
const (
	stampBlock = 20
	stampBits  = 48
	stampMask  = 1<<40 - 1
)

// stampCheck is the 8-bit check of a 40-bit time.
func stampCheck(t uint64) uint64 {
	var s uint64 = 0xA5
	for i := 0; i < 5; i++ {
		s ^= t >> (8 * i) & 0xFF
		s = (s<<1 | s>>7) & 0xFF
	}
	return s
}

// drawStamp draws t into the top-left stampBits×stampBlock by stampBlock
// pixels of m.
func drawStamp(m *image.RGBA, t time.Time) {
	us := uint64(t.UnixMicro()) & stampMask
	v := us<<8 | stampCheck(us)
	for b := 0; b < stampBits; b++ {
		c := uint8(0)
		if v>>(stampBits-1-b)&1 == 1 {
			c = 0xFF
		}
		for y := 0; y < stampBlock; y++ {
			o := m.PixOffset(m.Rect.Min.X+b*stampBlock, m.Rect.Min.Y+y)
			for x := 0; x < stampBlock; x++ {
				p := m.Pix[o+4*x : o+4*x+4 : o+4*x+4]
				p[0], p[1], p[2], p[3] = c, c, c, 0xFF
			}
		}
	}
}

// readStamp reads the stamp of a picture: the production time in
// microseconds modulo 2^40. It reads the luminance at the middle of each
// block.
func readStamp(img image.Image) (uint64, error) {
	r := img.Bounds()
	if r.Dx() < stampBits*stampBlock || r.Dy() < stampBlock {
		return 0, fmt.Errorf("picture of %v has no room for a stamp", r.Size())
	}
	var v uint64
	for b := 0; b < stampBits; b++ {
		sum := 0
		for y := stampBlock/2 - 2; y < stampBlock/2+2; y++ {
			for x := stampBlock/2 - 2; x < stampBlock/2+2; x++ {
				cr, cg, cb, _ := img.At(r.Min.X+b*stampBlock+x, r.Min.Y+y).RGBA()
				sum += int(cr+cg+cb) / 3 >> 8
			}
		}
		v <<= 1
		if sum/16 >= 128 {
			v |= 1
		}
	}
	us := v >> 8
	if stampCheck(us) != v&0xFF {
		return 0, errors.New("frame stamp unreadable (check mismatch)")
	}
	return us, nil
}

// jpegStamp reads the stamp of a baseline or progressive JPEG without
// decoding the whole picture: a copy whose frame header says the picture
// is only stampRows rows high is decoded (image/jpeg decodes those rows
// and skips the rest of the scan to EOI), which costs a fraction of a
// millisecond where the whole 1080p picture costs about 30 ms, so 4
// viewers at 30 fps fit on one core.
func jpegStamp(data []byte) (uint64, error) {
	const stampRows = 32 // whole MCU rows holding the stamp
	b := bytes.Clone(data)
	for i := 2; i+9 <= len(b); {
		if b[i] != 0xFF {
			return 0, errors.New("JPEG: no frame header")
		}
		m := b[i+1]
		if m == 0xC0 || m == 0xC1 || m == 0xC2 {
			if int(b[i+5])<<8|int(b[i+6]) > stampRows {
				b[i+5], b[i+6] = 0, stampRows
			}
			img, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				return 0, fmt.Errorf("JPEG strip: %w", err)
			}
			return readStamp(img)
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	return 0, errors.New("JPEG: no frame header")
}

// stampLatency is now minus the stamped time us, modulo 2^40.
func stampLatency(now time.Time, us uint64) time.Duration {
	return time.Duration((uint64(now.UnixMicro())-us)&stampMask) * time.Microsecond
}
