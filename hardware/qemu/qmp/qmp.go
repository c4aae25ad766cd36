// Package qmp is a client of the QEMU Machine Protocol (QMP, QEMU's
// docs/interop/qmp-spec.rst): JSON objects, one per line, over a UNIX or
// TCP socket. A Client runs the capabilities handshake, executes commands
// one at a time with a context each, and hands every asynchronous event to
// a callback, in order, from a goroutine of its own, so that a callback
// may execute commands itself.
//
// It was written for bmcd rather than taken from
// github.com/digitalocean/go-qemu/qmp, whose SocketMonitor has no
// deadline on a command (a hung QEMU hangs the caller), delivers events on
// an unbuffered channel read by the same goroutine that reads command
// replies (a consumer that runs a command while handling an event
// deadlocks), and pulls in go-libvirt for its RPC monitor.
package qmp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// MaxMessage bounds one QMP message (a line). QEMU's largest replies
// (query-qmp-schema) are a few hundred KiB.
const MaxMessage = 8 << 20

// ErrClosed is returned by Execute once the connection is closed (QEMU
// exited, or Close was called).
var ErrClosed = errors.New("qmp: connection closed")

// Error is a command's error reply: {"error": {"class": ..., "desc": ...}}.
type Error struct {
	Class string `json:"class"` // GenericError, CommandNotFound, DeviceNotFound...
	Desc  string `json:"desc"`
}

func (e *Error) Error() string { return "qmp: " + e.Class + ": " + e.Desc }

// Event is an asynchronous event: {"event": NAME, "data": {...},
// "timestamp": {"seconds": S, "microseconds": U}}.
type Event struct {
	Name string
	Data json.RawMessage // null when the event has none
	Time time.Time       // QEMU's timestamp
}

// Greeting is the server's first message.
type Greeting struct {
	Version struct {
		QEMU struct {
			Major int `json:"major"`
			Minor int `json:"minor"`
			Micro int `json:"micro"`
		} `json:"qemu"`
		Package string `json:"package"`
	} `json:"version"`
	Capabilities []string `json:"capabilities"`
}

// Kind is what a message is.
type Kind int

// Message kinds.
const (
	KindGreeting Kind = iota + 1
	KindReturn
	KindError
	KindEvent
)

// Message is one parsed QMP message.
type Message struct {
	Kind     Kind
	ID       json.RawMessage // the command's id, as sent; nil if none
	Return   json.RawMessage // KindReturn
	Error    *Error          // KindError
	Event    Event           // KindEvent
	Greeting *Greeting       // KindGreeting
}

// wire is every field a QMP server message may carry.
type wire struct {
	QMP       *Greeting       `json:"QMP"`
	Return    json.RawMessage `json:"return"`
	Error     *Error          `json:"error"`
	Event     *string         `json:"event"`
	Data      json.RawMessage `json:"data"`
	ID        json.RawMessage `json:"id"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// Parse parses one message (a JSON object). It tells a greeting, a reply
// (return or error) and an event apart; anything else is an error.
func Parse(line []byte) (Message, error) {
	line = bytes.TrimSpace(line)
	var w wire
	if err := json.Unmarshal(line, &w); err != nil {
		return Message{}, fmt.Errorf("qmp: malformed message: %w", err)
	}
	m := Message{ID: w.ID}
	switch {
	case w.QMP != nil:
		m.Kind, m.Greeting = KindGreeting, w.QMP
	case w.Event != nil:
		if *w.Event == "" {
			return Message{}, errors.New("qmp: event without a name")
		}
		m.Kind = KindEvent
		m.Event = Event{Name: *w.Event, Data: w.Data}
		if ts := w.Timestamp; ts != nil && ts.Seconds >= 0 && ts.Microseconds >= 0 && ts.Microseconds < 1e6 {
			m.Event.Time = time.Unix(ts.Seconds, ts.Microseconds*1000)
		}
	case w.Error != nil:
		m.Kind, m.Error = KindError, w.Error
	case w.Return != nil:
		m.Kind, m.Return = KindReturn, w.Return
	default:
		return Message{}, fmt.Errorf("qmp: message is neither a reply nor an event: %.80s", line)
	}
	return m, nil
}

// Client is one QMP connection. Its methods are safe for concurrent use.
type Client struct {
	conn     net.Conn
	greeting Greeting

	wmu     sync.Mutex // serialises writes
	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan Message
	err     error // why the reader stopped
	closed  bool  // the reader stopped: no more replies
	queue   []Event
	wake    chan struct{} // the event goroutine has work
	readEnd chan struct{} // closed when the reader stopped
	done    chan struct{} // closed when every event was delivered after that
}

// Dial connects to a QMP server (network "unix" or "tcp") and runs the
// handshake; see New.
func Dial(ctx context.Context, network, addr string, onEvent func(Event)) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c, err := New(ctx, conn, onEvent)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// New runs the handshake on conn (the greeting, then qmp_capabilities)
// within ctx and returns the client. onEvent (may be nil) is called with
// every event afterwards, in order, from one goroutine; it may call
// Execute. The client owns conn.
func New(ctx context.Context, conn net.Conn, onEvent func(Event)) (*Client, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c, r, err := handshake(conn)
	if !stop() {
		return nil, fmt.Errorf("qmp: handshake: %w", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	c.start(r, onEvent)
	return c, nil
}

// handshake reads the greeting and negotiates capabilities (none).
func handshake(conn net.Conn) (*Client, *bufio.Reader, error) {
	r := bufio.NewReaderSize(conn, 64<<10)
	line, err := readLine(r)
	if err != nil {
		return nil, nil, fmt.Errorf("qmp: greeting: %w", err)
	}
	m, err := Parse(line)
	if err != nil {
		return nil, nil, err
	}
	if m.Kind != KindGreeting {
		return nil, nil, fmt.Errorf("qmp: first message is not a greeting: %.80s", line)
	}
	greeting := *m.Greeting
	if _, err := conn.Write([]byte(`{"execute":"qmp_capabilities"}` + "\n")); err != nil {
		return nil, nil, fmt.Errorf("qmp: qmp_capabilities: %w", err)
	}
	if line, err = readLine(r); err != nil {
		return nil, nil, fmt.Errorf("qmp: qmp_capabilities: %w", err)
	}
	if m, err = Parse(line); err != nil {
		return nil, nil, err
	}
	switch m.Kind {
	case KindError:
		return nil, nil, m.Error
	case KindReturn:
	default:
		return nil, nil, fmt.Errorf("qmp: unexpected answer to qmp_capabilities: %.80s", line)
	}
	return &Client{conn: conn, greeting: greeting}, r, nil
}

func (c *Client) start(r *bufio.Reader, onEvent func(Event)) {
	c.pending = map[uint64]chan Message{}
	c.wake = make(chan struct{}, 1)
	c.readEnd = make(chan struct{})
	c.done = make(chan struct{})
	go c.read(r)
	go c.deliver(onEvent)
}

// readLine reads one line of at most MaxMessage bytes.
func readLine(r *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > MaxMessage {
			return nil, fmt.Errorf("qmp: message longer than %d bytes", MaxMessage)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// Greeting is the server's greeting (its version and capabilities).
func (c *Client) Greeting() Greeting { return c.greeting }

// read dispatches replies to their commands and queues events, until the
// connection fails.
func (c *Client) read(r *bufio.Reader) {
	var err error
	for {
		var line []byte
		if line, err = readLine(r); err != nil {
			break
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		m, perr := Parse(line)
		if perr != nil {
			err = perr
			break
		}
		switch m.Kind {
		case KindEvent:
			c.mu.Lock()
			c.queue = append(c.queue, m.Event)
			c.mu.Unlock()
			select {
			case c.wake <- struct{}{}:
			default:
			}
		case KindReturn, KindError:
			var id uint64
			if json.Unmarshal(m.ID, &id) != nil {
				continue // not one of ours
			}
			c.mu.Lock()
			ch := c.pending[id]
			delete(c.pending, id)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
			}
		}
	}
	c.conn.Close()
	c.mu.Lock()
	c.err, c.closed = err, true
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	c.mu.Unlock()
	close(c.readEnd)
}

// deliver calls onEvent with each queued event; once the reader stopped
// and the queue is empty it closes done.
func (c *Client) deliver(onEvent func(Event)) {
	defer close(c.done)
	for {
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, e := range q {
			if onEvent != nil {
				onEvent(e)
			}
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-c.wake:
		case <-c.readEnd:
			c.mu.Lock()
			n := len(c.queue)
			c.mu.Unlock()
			if n == 0 {
				return
			}
		}
	}
}

// Done is closed once the connection ended and every event received was
// handed to onEvent.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up; io.EOF when QEMU
// closed it).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection; Done is closed soon after.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.readEnd
	return err
}

// Execute runs command with args (nil for none) and decodes its return
// value into result (nil to ignore it). Errors: *Error for QEMU's error
// reply; ErrClosed when the connection ends first; ctx's error when it
// ends first (the command may still run).
func (c *Client) Execute(ctx context.Context, command string, args, result any) error {
	req := struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        uint64 `json:"id"`
	}{Execute: command, Arguments: args}
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return fmt.Errorf("qmp: %s: %w", command, ErrClosed)
	}
	c.nextID++
	req.ID = c.nextID
	c.pending[req.ID] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, req.ID)
		c.mu.Unlock()
	}
	b, err := json.Marshal(req)
	if err != nil {
		forget()
		return fmt.Errorf("qmp: %s: %w", command, err)
	}
	c.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetWriteDeadline(dl)
	} else {
		_ = c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	}
	_, err = c.conn.Write(append(b, '\n'))
	c.wmu.Unlock()
	if err != nil {
		forget()
		return fmt.Errorf("qmp: %s: %w: %v", command, ErrClosed, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("qmp: %s: %w", command, ErrClosed)
		}
		if m.Kind == KindError {
			return m.Error
		}
		if result != nil {
			if err := json.Unmarshal(m.Return, result); err != nil {
				return fmt.Errorf("qmp: %s: reply: %w", command, err)
			}
		}
		return nil
	case <-ctx.Done():
		forget()
		return fmt.Errorf("qmp: %s: %w", command, ctx.Err())
	}
}
