package libvirt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
)

// consoleStream is a domain's console (virDomainOpenConsole) on a
// connection of its own: bytes from the guest's serial port arrive as
// stream packets, and bytes typed go back the same way.
//
// go-libvirt's DomainOpenConsole only reads the stream (the generator has
// no direction for it: digitalocean/go-libvirt#260), so this speaks the
// few calls a console needs over go-libvirt's socket package itself
// (libvirt's RPC: https://libvirt.org/kbase/internals/rpc.html): AUTH_LIST,
// AUTH_POLKIT when offered, CONNECT_OPEN, DOMAIN_OPEN_CONSOLE, then
// stream packets both ways.
type consoleStream struct {
	sock *socket.Socket

	mu      sync.Mutex
	serial  int32
	replies map[int32]chan reply
	console int32 // serial of the open console call, once open
	out     func([]byte)
	ended   chan struct{} // closed when the stream ends
	endErr  error
	endOnce sync.Once
}

// The RPC protocol's numbers (libvirt src/remote/remote_protocol.x).
const (
	remoteProgram         = 0x20008086
	procConnectOpen       = 1
	procAuthList          = 66
	procAuthPolkit        = 70
	procDomainOpenConsole = 201
	authNone              = 0
	authPolkit            = 2
	consoleForce          = 1 // VIR_DOMAIN_CONSOLE_FORCE
)

type reply struct {
	status  uint32
	payload []byte
}

// openConsoleStream connects through ep, opens the console of dom (its
// first serial console; force takes it from another client) and delivers
// the guest's output to out, in order, until the stream ends (Done).
func openConsoleStream(ctx context.Context, ep endpoint, dom golibvirt.Domain, force bool, out func([]byte)) (*consoleStream, error) {
	c := &consoleStream{replies: map[int32]chan reply{}, out: out, ended: make(chan struct{})}
	c.sock = socket.New(ep.dialer, c)
	if err := c.sock.Connect(); err != nil {
		return nil, err
	}
	go func() {
		<-c.sock.Disconnected()
		c.end(io.EOF)
	}()
	if err := c.handshake(ctx, ep); err != nil {
		_ = c.sock.Disconnect()
		return nil, err
	}
	var args bytes.Buffer
	putDomain(&args, dom)
	putUint32(&args, 0) // dev_name: NULL, the first console
	flags := uint32(0)
	if force {
		flags = consoleForce
	}
	putUint32(&args, flags)
	serial := c.next()
	c.mu.Lock()
	c.console = serial
	c.mu.Unlock()
	if _, err := c.call(ctx, serial, procDomainOpenConsole, args.Bytes()); err != nil {
		_ = c.sock.Disconnect()
		return nil, err
	}
	return c, nil
}

func (c *consoleStream) handshake(ctx context.Context, ep endpoint) error {
	r, err := c.call(ctx, c.next(), procAuthList, nil)
	if err != nil {
		return fmt.Errorf("auth list: %w", err)
	}
	if len(r) >= 4 {
		n := binary.BigEndian.Uint32(r)
		for i := uint32(0); i < n && int(8+4*i) <= len(r); i++ {
			switch binary.BigEndian.Uint32(r[4+4*i:]) {
			case authNone:
			case authPolkit:
				if _, err := c.call(ctx, c.next(), procAuthPolkit, nil); err != nil {
					return fmt.Errorf("polkit authentication: %w", err)
				}
			}
		}
	}
	var args bytes.Buffer
	putUint32(&args, 1) // name: present
	putString(&args, string(ep.remote))
	putUint32(&args, 0) // flags
	if _, err := c.call(ctx, c.next(), procConnectOpen, args.Bytes()); err != nil {
		return fmt.Errorf("open %s: %w", ep.remote, err)
	}
	return nil
}

func (c *consoleStream) next() int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.serial++
	return c.serial
}

// call makes one RPC call and waits for its reply's payload.
func (c *consoleStream) call(ctx context.Context, serial int32, proc uint32, payload []byte) ([]byte, error) {
	ch := make(chan reply, 1)
	c.mu.Lock()
	c.replies[serial] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.replies, serial)
		c.mu.Unlock()
	}()
	if err := c.sock.SendPacket(serial, proc, remoteProgram, payload, socket.Call, socket.StatusOK); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		if r.status == socket.StatusError {
			return nil, decodeError(r.payload)
		}
		return r.payload, nil
	case <-c.ended:
		return nil, c.endErr
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Route implements socket.Router: replies to calls, and the console's
// stream packets.
func (c *consoleStream) Route(h *socket.Header, buf []byte) {
	if h.Program != remoteProgram {
		return
	}
	c.mu.Lock()
	ch, isCall := c.replies[h.Serial]
	console := c.console
	c.mu.Unlock()
	switch {
	case h.Type == socket.Stream && h.Serial == console && console != 0:
		switch h.Status {
		case socket.StatusContinue:
			if len(buf) > 0 {
				c.out(buf)
			} else {
				c.end(io.EOF)
			}
		case socket.StatusOK:
			c.end(io.EOF)
		default:
			c.end(decodeError(buf))
		}
	case isCall && (h.Type == socket.Reply || h.Type == socket.ReplyWithFDs):
		ch <- reply{status: h.Status, payload: buf}
	}
}

func (c *consoleStream) end(err error) {
	c.endOnce.Do(func() {
		c.endErr = err
		close(c.ended)
	})
}

// Write sends p to the guest's serial port.
func (c *consoleStream) Write(p []byte) (int, error) {
	c.mu.Lock()
	serial := c.console
	c.mu.Unlock()
	select {
	case <-c.ended:
		return 0, io.ErrClosedPipe
	default:
	}
	if err := c.sock.SendPacket(serial, procDomainOpenConsole, remoteProgram, p, socket.Stream, socket.StatusContinue); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Done is closed when the stream has ended (the domain stopped, another
// client took the console, the connection was lost).
func (c *consoleStream) Done() <-chan struct{} { return c.ended }

// Close ends the stream and its connection.
func (c *consoleStream) Close() error {
	c.end(io.EOF)
	return c.sock.Disconnect()
}

// XDR (RFC 4506) of the few arguments sent.

func putUint32(b *bytes.Buffer, v uint32) { _ = binary.Write(b, binary.BigEndian, v) }

func putString(b *bytes.Buffer, s string) {
	putUint32(b, uint32(len(s)))
	b.WriteString(s)
	b.Write(make([]byte, (4-len(s)%4)%4))
}

// putDomain is a remote_nonnull_domain: name, UUID, id.
func putDomain(b *bytes.Buffer, d golibvirt.Domain) {
	putString(b, d.Name)
	b.Write(d.UUID[:])
	putUint32(b, uint32(d.ID))
}

// decodeError reads a remote_error: code, domain, message (optional
// string), level, ...
func decodeError(p []byte) error {
	if len(p) < 12 {
		return errors.New("libvirt error")
	}
	code := binary.BigEndian.Uint32(p)
	msg := ""
	if binary.BigEndian.Uint32(p[8:]) == 1 && len(p) >= 16 {
		n := binary.BigEndian.Uint32(p[12:])
		if int(16+n) <= len(p) {
			msg = string(p[16 : 16+n])
		}
	}
	return golibvirt.Error{Code: code, Message: msg}
}
