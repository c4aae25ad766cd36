package hardware

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// lineBackend is a backend with a serial line that echoes what is typed.
type lineBackend struct {
	out func([]byte)
}

func (b *lineBackend) AttachConsole(out func([]byte)) func([]byte) {
	b.out = out
	return func(p []byte) { out(p) }
}

func TestConsoleUnavailable(t *testing.T) {
	c := newConsole(DisabledSerialConsole{})
	if c.Available() {
		t.Fatal("console without a serial line is available")
	}
	if _, err := c.Acquire("x"); !errors.Is(err, ErrNotSupported) {
		t.Fatalf("Acquire: %v", err)
	}
}

func TestConsoleFanOutAndWriter(t *testing.T) {
	b := &lineBackend{}
	c := newConsole(b)
	b.out([]byte("early "))
	late := c.Watch(true)
	now := c.Watch(false)
	defer late.Close()
	defer now.Close()
	w, err := c.Acquire("sol")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Acquire("web"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second writer: %v", err)
	}
	if c.Owner() != "sol" {
		t.Fatalf("owner %q", c.Owner())
	}
	if _, err := w.Write([]byte("typed")); err != nil {
		t.Fatal(err)
	}
	if got := string(late.Take(100)); got != "early typed" {
		t.Fatalf("viewer with scrollback got %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	buf := make([]byte, 3)
	n, err := now.Read(ctx, buf)
	if err != nil || string(buf[:n]) != "typ" {
		t.Fatalf("Read: %q %v", buf[:n], err)
	}
	if now.Buffered() != 2 {
		t.Fatalf("buffered %d", now.Buffered())
	}
	w.Close()
	if _, err := w.Write([]byte("x")); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("write after close: %v", err)
	}
	w2, err := c.Acquire("web")
	if err != nil {
		t.Fatal(err)
	}
	w2.Close()
	now.Close()
	if _, err := now.Read(ctx, buf); err != io.EOF {
		t.Fatalf("read after close: %v", err)
	}
	if got := string(c.Scrollback()); got != "early typed" {
		t.Fatalf("scrollback %q", got)
	}
}

func TestConsoleBounded(t *testing.T) {
	b := &lineBackend{}
	c := newConsole(b)
	v := c.Watch(false)
	defer v.Close()
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1024) // 16 KiB
	for range 5 {
		b.out(chunk)
	}
	b.out([]byte("END"))
	sb := c.Scrollback()
	if len(sb) != ConsoleScrollback || !bytes.HasSuffix(sb, []byte("END")) {
		t.Fatalf("scrollback %d bytes", len(sb))
	}
	if v.Buffered() != ConsoleViewerBuffer {
		t.Fatalf("viewer buffered %d", v.Buffered())
	}
	if want := uint64(5*len(chunk) + 3 - ConsoleViewerBuffer); v.Dropped() != want {
		t.Fatalf("dropped %d, want %d", v.Dropped(), want)
	}
	if got := appendBounded([]byte("abc"), []byte("defgh"), 4); string(got) != "efgh" {
		t.Fatalf("appendBounded %q", got)
	}
	if got := appendBounded([]byte("abc"), []byte("d"), 3); string(got) != "bcd" {
		t.Fatalf("appendBounded %q", got)
	}
}
