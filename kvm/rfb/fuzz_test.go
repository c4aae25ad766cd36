package rfb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// The fuzz targets' seed corpora are in testdata/fuzz; they run as
// ordinary tests. RFB_WRITE_CORPUS=1 go test -run TestWriteFuzzCorpus
// writes them again from fuzzSeeds.

// msg builds a client message.
func msg(parts ...any) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		binary.Write(&b, binary.BigEndian, p)
	}
	return b.Bytes()
}

// fuzzSeeds are client message streams: each message of the protocol,
// valid and at its limits, and some that end the connection.
func fuzzSeeds() map[string][]byte {
	pf16 := append([]byte{MsgSetPixelFormat, 0, 0, 0}, PixelFormat{BitsPerPixel: 16, Depth: 16, TrueColour: true,
		RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5}.Marshal()...)
	encs := msg(MsgSetEncodings, uint8(0), uint16(9), EncTight, EncZRLE, EncRaw, EncJPEGQuality0+7, EncCompressLevel0+2,
		EncDesktopSize, EncExtendedDesktopSize, EncQEMUExtendedKey, EncQEMULEDState)
	full := msg(MsgFramebufferUpdateRequest, uint8(0), uint16(0), uint16(0), uint16(64), uint16(48))
	incr := msg(MsgFramebufferUpdateRequest, uint8(1), uint16(0), uint16(0), uint16(0xFFFF), uint16(0xFFFF))
	key := msg(MsgKeyEvent, uint8(1), uint16(0), uint32('a'))
	ptr := msg(MsgPointerEvent, uint8(9), uint16(10), uint16(20))
	cut := msg(MsgClientCutText, [3]byte{}, uint32(5), []byte("hello"))
	qkey := msg(MsgQEMU, QEMUExtendedKeyEvent, uint16(1), uint32(0xFF53), uint32(0xCD))
	resize := msg(MsgSetDesktopSize, uint8(0), uint16(800), uint16(600), uint8(1), uint8(0),
		uint32(0), uint16(0), uint16(0), uint16(800), uint16(600), uint32(0))
	join := func(ms ...[]byte) []byte { return bytes.Join(ms, nil) }
	return map[string][]byte{
		"session":                     join(pf16, encs, full, key, ptr, incr, qkey, cut, resize, incr),
		"pixel-format":                pf16,
		"encodings":                   encs,
		"requests":                    join(full, incr, full),
		"key":                         key,
		"pointer":                     ptr,
		"cut-text":                    cut,
		"cut-text-latin1":             msg(MsgClientCutText, [3]byte{}, uint32(3), []byte{0xE4, 0xE9, '\n'}),
		"qemu-key":                    qkey,
		"set-desktop-size":            resize,
		"encodings-max":               msg(MsgSetEncodings, uint8(0), uint16(MaxEncodings), make([]int32, MaxEncodings)),
		"encodings-over":              msg(MsgSetEncodings, uint8(0), uint16(MaxEncodings+1)),
		"cut-text-over":               msg(MsgClientCutText, [3]byte{}, uint32(MaxCutText+1)),
		"cut-text-extended-clipboard": msg(MsgClientCutText, [3]byte{}, int32(-8), uint32(1)),
		"truncated":                   full[:5],
		"unknown-type":                []byte{7, 0, 0, 0},
		"qemu-audio":                  msg(MsgQEMU, uint8(1), uint16(0)),
		"bad-pixel-format":            append([]byte{MsgSetPixelFormat, 0, 0, 0}, PixelFormat{BitsPerPixel: 24, Depth: 24}.Marshal()...),
	}
}

func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("RFB_WRITE_CORPUS") == "" {
		t.Skip("set RFB_WRITE_CORPUS=1 to write testdata/fuzz")
	}
	for _, target := range []string{"FuzzClientMessages", "FuzzSession"} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range fuzzSeeds() {
			data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// FuzzClientMessages feeds the parser any bytes: it must never panic,
// allocate beyond the limits, or fail with anything but the end of the
// input or a protocol error.
func FuzzClientMessages(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			m, err := readClientMessage(r)
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errProtocol) {
					t.Fatalf("error %v", err)
				}
				return
			}
			switch m := m.(type) {
			case cutTextMsg:
				if len(m.text) > MaxCutText {
					t.Fatalf("cut text of %d bytes", len(m.text))
				}
			case setEncodingsMsg:
				if len(m.encodings) > MaxEncodings {
					t.Fatalf("%d encodings", len(m.encodings))
				}
			}
		}
	})
}

// FuzzSession plays any bytes as a logged-in client's messages to a
// server with a picture: the session must end (at the end of the input
// or at a message it refuses) without a panic or a hang, and release the
// keys the input pressed.
func FuzzSession(f *testing.F) {
	e := newEnv(f, nil)
	e.display.show(screen(64, 48, 1))
	admin, _ := e.accounts.ByName(adminUser)
	f.Fuzz(func(t *testing.T, data []byte) {
		server, client := net.Pipe()
		done := make(chan error, 1)
		go func() { done <- e.srv.ServeAuthenticated(server, auth.Principal{Account: admin}, "192.0.2.1:5900") }()
		drained := make(chan struct{})
		go func() { io.Copy(io.Discard, client); close(drained) }()
		client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		hello := append([]byte("RFB 003.008\n"), SecNone, 1)
		if _, err := client.Write(append(hello, data...)); err != nil && !errors.Is(err, io.ErrClosedPipe) {
			t.Fatalf("write: %v", err)
		}
		client.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the session did not end")
		}
		<-drained
		if len(e.kb.Held()) != 0 {
			t.Fatalf("%d keys left down", len(e.kb.Held()))
		}
		e.kb.Take()
		e.ptr.Take()
	})
}
