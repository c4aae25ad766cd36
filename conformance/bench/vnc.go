package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"io"
	"time"

	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// The VNC half of the video bench: the server process serves the same
// pipeline over RFB (kvm/rfb, VNC Authentication with vncPassword), and
// the client process holds videoViewers RFB viewers made with
// kvm/rfb/rfbtest. Each asks for Tight with JPEG and, as a real viewer,
// sends an incremental FramebufferUpdateRequest after each update it
// receives. rfbtest's ReadUpdate decodes every picture with image/jpeg
// (about 30 ms for 1080p here), which would make the client process the
// bottleneck at 4×30 updates/s on one core; so the viewers read the
// updates themselves (readTightUpdate) and take the frame stamp from the
// top rows of the JPEG (jpegStamp), checking once per viewer that the
// whole decoded picture carries the same stamp.

// vncPassword is the bench server's VNC Authentication password.
const vncPassword = "bench-pw"

// dialVNC connects one viewer: VNC Authentication, Tight with JPEG.
func dialVNC(addr string) (*rfbtest.Client, error) {
	c, err := rfbtest.Dial(addr, rfbtest.Config{Security: rfbtest.SecVNC, Password: vncPassword})
	if err != nil {
		return nil, fmt.Errorf("vnc %s: %w", addr, err)
	}
	if err := c.SetEncodings(rfbtest.EncTight, rfbtest.EncJPEGQuality0+8); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// readRFB requests and reads updates until the connection fails,
// counting the pictures received while measuring and their latency from
// the stamp's production time to their full receipt.
func (s *viewerStats) readRFB(c *rfbtest.Client) {
	fail := func(err error) {
		s.mu.Lock()
		if s.err == nil {
			s.err = err
		}
		s.mu.Unlock()
	}
	r := bufio.NewReaderSize(c.Conn(), 1<<20)
	checked := false
	for incremental := false; ; incremental = true {
		if err := c.RequestUpdate(incremental); err != nil {
			fail(err)
			return
		}
		data, err := readTightUpdate(r)
		got := time.Now()
		if err != nil {
			fail(err)
			return
		}
		if data == nil {
			continue
		}
		us, err := jpegStamp(data)
		if err != nil {
			fail(err)
			return
		}
		if !checked {
			img, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				fail(err)
				return
			}
			if whole, err := readStamp(img); err != nil || whole != us {
				fail(fmt.Errorf("the whole picture's stamp %d (%v) is not its top rows' %d", whole, err, us))
				return
			}
			checked = true
		}
		s.mu.Lock()
		if s.measuring {
			s.frames++
			s.bytes += int64(len(data))
			s.latencies = append(s.latencies, stampLatency(got, us))
		}
		s.mu.Unlock()
	}
}

// readTightUpdate reads server messages up to the end of one
// FramebufferUpdate (RFC 6143 §7.6.1) and returns the JPEG of its Tight
// JPEG rectangle (rfbproto "Tight Encoding", compression control 0x9x);
// nil when the update carried none. Bell and ServerCutText are skipped;
// any other rectangle is an error, as the bench's server sends each whole
// changed frame as the pipeline's JPEG.
func readTightUpdate(r *bufio.Reader) ([]byte, error) {
	for {
		t, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		switch t {
		case rfbtest.MsgFramebufferUpdate:
		case rfbtest.MsgBell:
			continue
		case rfbtest.MsgServerCutText:
			var h [7]byte
			if _, err := io.ReadFull(r, h[:]); err != nil {
				return nil, err
			}
			if _, err := r.Discard(int(binary.BigEndian.Uint32(h[3:]))); err != nil {
				return nil, err
			}
			continue
		default:
			return nil, fmt.Errorf("vnc: server message type %d", t)
		}
		var h [3]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return nil, err
		}
		var data []byte
		for range binary.BigEndian.Uint16(h[1:]) {
			var rh [12]byte
			if _, err := io.ReadFull(r, rh[:]); err != nil {
				return nil, err
			}
			enc := int32(binary.BigEndian.Uint32(rh[8:]))
			if enc == rfbtest.EncLastRect {
				break
			}
			ctl, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			if enc != rfbtest.EncTight || ctl>>4 != 0x9 {
				return nil, fmt.Errorf("vnc: a rectangle of encoding %d (Tight control 0x%02x), not the frame's JPEG", enc, ctl)
			}
			n := 0
			for i := 0; i < 3; i++ {
				b, err := r.ReadByte()
				if err != nil {
					return nil, err
				}
				if i == 2 {
					n |= int(b) << 14
					break
				}
				n |= int(b&0x7F) << (7 * i)
				if b&0x80 == 0 {
					break
				}
			}
			data = make([]byte, n)
			if _, err := io.ReadFull(r, data); err != nil {
				return nil, err
			}
		}
		return data, nil
	}
}
