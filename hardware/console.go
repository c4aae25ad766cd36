package hardware

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// SerialConsole is the host's serial line (COM1 wired to the BMC, a VM's
// serial port, a USB-serial adapter). A machine without one has
// DisabledSerialConsole.
//
// AttachConsole is called once, by NewMachine. The backend calls out with
// every chunk the host writes to the line, in order and never concurrently;
// out does not block and does not keep p. The returned function delivers
// bytes typed at the console to the host; it may be called from any
// goroutine and may call out before it returns (echo).
type SerialConsole interface {
	AttachConsole(out func(p []byte)) (in func(p []byte))
}

// DisabledSerialConsole is the serial line of a machine that has none.
type DisabledSerialConsole struct{}

// AttachConsole implements SerialConsole: nil, no line.
func (DisabledSerialConsole) AttachConsole(func([]byte)) func([]byte) { return nil }

// ConsoleBreaker is implemented by serial consoles that can send a break
// condition to the host (SysRq on Linux).
type ConsoleBreaker interface {
	SendBreak()
}

// Console sizes.
const (
	// ConsoleScrollback is how much recent output the Machine keeps, so a
	// viewer that attaches late sees the boot messages.
	ConsoleScrollback = 64 << 10
	// ConsoleViewerBuffer bounds what one viewer may fall behind; beyond
	// it the oldest unread output is dropped and counted.
	ConsoleViewerBuffer = 64 << 10
)

// Console is the Machine's side of the host serial line: a hub that keeps
// a bounded scrollback, fans output out to any number of viewers (IPMI SOL,
// a web console, a log) and lets one writer at a time type, as a real
// serial port has one set of wires. It runs no goroutine of its own: the
// backend's output is copied into buffers as it arrives.
type Console struct {
	in    func([]byte)
	brk   func()
	mu    sync.Mutex
	ring  []byte // last ConsoleScrollback bytes of output
	total uint64 // bytes of output ever
	views map[*ConsoleViewer]struct{}
	owner *ConsoleWriter
}

// newConsole attaches to the serial line sc, if the machine has one.
func newConsole(sc SerialConsole) *Console {
	c := &Console{views: map[*ConsoleViewer]struct{}{}}
	if !disabled(sc) {
		c.in = sc.AttachConsole(c.output)
		if br, ok := sc.(ConsoleBreaker); ok {
			c.brk = br.SendBreak
		}
	}
	return c
}

// Console returns the machine's serial console. Without a backend serial
// line it is a console that is not Available.
func (m *Machine) Console() *Console {
	m.consoleOnce.Do(func() { m.console = newConsole(m.parts.Serial) })
	return m.console
}

// Available reports whether the machine has a serial console at all.
func (c *Console) Available() bool { return c != nil && c.in != nil }

// output receives the host's output from the backend.
func (c *Console) output(p []byte) {
	if len(p) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += uint64(len(p))
	c.ring = appendBounded(c.ring, p, ConsoleScrollback)
	for v := range c.views {
		v.push(p)
	}
}

// appendBounded appends p to buf keeping only the last limit bytes.
func appendBounded(buf, p []byte, limit int) []byte {
	if len(p) >= limit {
		return append(buf[:0], p[len(p)-limit:]...)
	}
	if over := len(buf) + len(p) - limit; over > 0 {
		buf = append(buf[:0], buf[over:]...)
	}
	return append(buf, p...)
}

// Scrollback returns a copy of the recent output.
func (c *Console) Scrollback() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.ring...)
}

// Watch starts a viewer of the output from now on; with scrollback it
// first gets the recent output. Close the viewer when done.
func (c *Console) Watch(scrollback bool) *ConsoleViewer {
	v := &ConsoleViewer{c: c, ready: make(chan struct{}, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if scrollback {
		v.push(c.ring)
	}
	c.views[v] = struct{}{}
	return v
}

// Acquire makes owner the console's one writer. A second writer gets
// ErrBusy (IPMI: "payload already active") until the first is closed; a
// machine without a serial line gives ErrNotSupported.
func (c *Console) Acquire(owner string) (*ConsoleWriter, error) {
	if !c.Available() {
		return nil, fmt.Errorf("serial console: %w", ErrNotSupported)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owner != nil {
		return nil, fmt.Errorf("serial console in use by %s: %w", c.owner.name, ErrBusy)
	}
	w := &ConsoleWriter{c: c, name: owner}
	c.owner = w
	return w, nil
}

// Owner names the current writer ("" if none).
func (c *Console) Owner() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.owner == nil {
		return ""
	}
	return c.owner.name
}

// ConsoleWriter types on the console. It is an io.WriteCloser.
type ConsoleWriter struct {
	c    *Console
	name string
}

func (w *ConsoleWriter) current() bool {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	return w.c.owner == w
}

// Write sends p to the host; it fails with io.ErrClosedPipe once the
// writer is closed.
func (w *ConsoleWriter) Write(p []byte) (int, error) {
	if !w.current() {
		return 0, io.ErrClosedPipe
	}
	if len(p) > 0 {
		// The lock is not held: the backend may echo through output.
		w.c.in(append([]byte(nil), p...))
	}
	return len(p), nil
}

// Break sends a break condition, if the line supports it.
func (w *ConsoleWriter) Break() {
	if w.current() && w.c.brk != nil {
		w.c.brk()
	}
}

// Close gives up the line. It is idempotent.
func (w *ConsoleWriter) Close() error {
	w.c.mu.Lock()
	defer w.c.mu.Unlock()
	if w.c.owner == w {
		w.c.owner = nil
	}
	return nil
}

// ConsoleViewer receives the console's output. Output is buffered up to
// ConsoleViewerBuffer bytes; a viewer that falls further behind loses the
// oldest bytes (Dropped counts them) rather than slowing the host down.
type ConsoleViewer struct {
	c       *Console
	ready   chan struct{}
	buf     []byte // guarded by c.mu
	dropped uint64
	closed  bool
}

// push queues p; the caller holds c.mu.
func (v *ConsoleViewer) push(p []byte) {
	if v.closed || len(p) == 0 {
		return
	}
	if over := len(v.buf) + len(p) - ConsoleViewerBuffer; over > 0 {
		v.dropped += uint64(over)
	}
	v.buf = appendBounded(v.buf, p, ConsoleViewerBuffer)
	select {
	case v.ready <- struct{}{}:
	default:
	}
}

// Ready is signalled (level-triggered by a one-slot channel) when output
// may be waiting; it is closed when the viewer is closed.
func (v *ConsoleViewer) Ready() <-chan struct{} { return v.ready }

// Buffered is how many bytes wait to be taken.
func (v *ConsoleViewer) Buffered() int {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	return len(v.buf)
}

// Dropped is how many bytes this viewer lost by falling behind.
func (v *ConsoleViewer) Dropped() uint64 {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	return v.dropped
}

// Take removes and returns up to max waiting bytes (nil if none).
func (v *ConsoleViewer) Take(max int) []byte {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	n := min(max, len(v.buf))
	if n <= 0 {
		return nil
	}
	out := append([]byte(nil), v.buf[:n]...)
	v.buf = append(v.buf[:0], v.buf[n:]...)
	if len(v.buf) > 0 {
		select {
		case v.ready <- struct{}{}:
		default:
		}
	}
	return out
}

// Read blocks until output is available, ctx ends (its error) or the
// viewer is closed (io.EOF).
func (v *ConsoleViewer) Read(ctx context.Context, p []byte) (int, error) {
	for {
		if b := v.Take(len(p)); len(b) > 0 {
			return copy(p, b), nil
		}
		v.c.mu.Lock()
		closed := v.closed
		v.c.mu.Unlock()
		if closed {
			return 0, io.EOF
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-v.ready:
		}
	}
}

// Close detaches the viewer. It is idempotent.
func (v *ConsoleViewer) Close() error {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if !v.closed {
		v.closed = true
		delete(v.c.views, v)
		v.buf = nil
		close(v.ready)
	}
	return nil
}
