package libvirt

import (
	"context"
	"sync"
	"time"
)

// console is the domain's serial console (its first serial port on a
// pty) as a hardware.SerialConsole: while the domain runs, a console
// stream (virDomainOpenConsole, as `virsh console`) carries the guest's
// output to the Machine's console hub and what is typed back. It opens
// when the domain starts and again if it ends while the domain runs (the
// daemon restarted, or `virsh console --force` took it and let it go).
type console struct {
	x *Domain

	outMu sync.Mutex // out is called in order, never concurrently
	out   func([]byte)

	mu      sync.Mutex
	s       *consoleStream
	opening bool
	closed  bool
}

// consoleRetry bounds the wait between attempts to open the console of a
// running domain.
const consoleRetry = 2 * time.Second

func newConsole(x *Domain) *console { return &console{x: x} }

// AttachConsole implements hardware.SerialConsole.
func (c *console) AttachConsole(out func(p []byte)) func(p []byte) {
	c.outMu.Lock()
	c.out = out
	c.outMu.Unlock()
	return c.write
}

func (c *console) emit(p []byte) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.out != nil {
		c.out(p)
	}
}

// write types p on the line; it is lost while no stream is open (the
// domain is off), as on a serial line no one listens to.
func (c *console) write(p []byte) {
	c.mu.Lock()
	s := c.s
	c.mu.Unlock()
	if s != nil {
		_, _ = s.Write(p)
	}
}

// running reports whether the domain runs and the console is wanted.
func (c *console) running() bool {
	c.x.mu.Lock()
	defer c.x.mu.Unlock()
	return c.x.active && !c.x.closed
}

// open opens the console stream in the background, unless it is open or
// opening; it keeps trying while the domain runs.
func (c *console) open() {
	c.mu.Lock()
	if c.closed || c.opening || c.s != nil {
		c.mu.Unlock()
		return
	}
	c.opening = true
	c.mu.Unlock()
	go c.keep()
}

// keep opens the stream and opens it again when it ends while the domain
// runs.
func (c *console) keep() {
	wait := 100 * time.Millisecond
	logged := false
	for {
		if !c.running() {
			break
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := openConsoleStream(ctx, c.x.d.ep, c.x.dom, false, c.emit)
		cancel()
		if err != nil {
			if !logged {
				c.x.log.Debug("libvirt: serial console not opened; retrying while the domain runs", "err", err)
				logged = true
			}
			time.Sleep(wait)
			wait = min(2*wait, consoleRetry)
			continue
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			_ = s.Close()
			return
		}
		c.s = s
		c.mu.Unlock()
		<-s.Done()
		_ = s.Close()
		c.mu.Lock()
		c.s = nil
		c.mu.Unlock()
		wait, logged = 100*time.Millisecond, false
	}
	c.mu.Lock()
	c.opening = false
	c.mu.Unlock()
	// A start that came while this loop was ending opens it again.
	if c.running() {
		c.open()
	}
}

// close ends the stream for good.
func (c *console) close() {
	c.mu.Lock()
	c.closed = true
	s := c.s
	c.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}
