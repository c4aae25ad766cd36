package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		kind Kind
		err  string
	}{
		{"greeting", `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}`, KindGreeting, ""},
		{"return", `{"return": {}, "id": 3}` + "\r\n", KindReturn, ""},
		{"return value", `{"return": {"status": "running", "running": true}}`, KindReturn, ""},
		{"return list", `{"return": [1, 2]}`, KindReturn, ""},
		{"error", `{"error": {"class": "GenericError", "desc": "Device 'x' not found"}, "id": 1}`, KindError, ""},
		{"event", `{"timestamp": {"seconds": 1795994451, "microseconds": 494242}, "event": "SHUTDOWN", "data": {"guest": true, "reason": "guest-shutdown"}}`, KindEvent, ""},
		{"event without data", `{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}`, KindEvent, ""},
		{"event bad timestamp", `{"event": "RESUME", "timestamp": {"seconds": -1, "microseconds": 2000000}}`, KindEvent, ""},
		{"event with an empty name", `{"event": ""}`, 0, "without a name"},
		{"not JSON", `hello`, 0, "malformed"},
		{"array", `[1]`, 0, "malformed"},
		{"empty object", `{}`, 0, "neither"},
		{"null return", `{"return": null}`, KindReturn, ""},
		{"wrong type", `{"event": 3}`, 0, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse: %+v, %v; want an error saying %q", m, err, tc.err)
				}
				return
			}
			if err != nil || m.Kind != tc.kind {
				t.Fatalf("Parse: kind %v, %v; want kind %v", m.Kind, err, tc.kind)
			}
		})
	}
	m, _ := Parse([]byte(`{"timestamp": {"seconds": 1795994451, "microseconds": 494242}, "event": "SHUTDOWN", "data": {"guest": true}}`))
	if m.Event.Name != "SHUTDOWN" || m.Event.Time.UnixMicro() != 1795994451494242 || string(m.Event.Data) != `{"guest": true}` {
		t.Errorf("event %+v", m.Event)
	}
	m, _ = Parse([]byte(`{"error": {"class": "DeviceNotFound", "desc": "no"}, "id": 7}`))
	if m.Error.Class != "DeviceNotFound" || string(m.ID) != "7" || m.Error.Error() != "qmp: DeviceNotFound: no" {
		t.Errorf("error %+v", m)
	}
}

// FuzzParse: no input makes Parse panic, and what it accepts is one kind.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}`,
		`{"return": {}, "id": 1}`,
		`{"error": {"class": "GenericError", "desc": "x"}}`,
		`{"event": "RESET", "data": {"guest": false, "reason": "host-qmp-system-reset"}, "timestamp": {"seconds": 1, "microseconds": 1}}`,
		`{"event": "X", "return": 1, "error": {}}`,
		`{}`, `[]`, `null`, `{"return": null}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		switch m.Kind {
		case KindGreeting:
			if m.Greeting == nil {
				t.Fatal("greeting without content")
			}
		case KindError:
			if m.Error == nil {
				t.Fatal("error without content")
			}
		case KindEvent:
			if m.Event.Name == "" {
				t.Fatal("event without a name")
			}
		case KindReturn:
			if m.Return == nil {
				t.Fatal("return without a value")
			}
		default:
			t.Fatalf("kind %v", m.Kind)
		}
	})
}

// fakeQEMU is a QMP server on one end of a pipe: it greets, accepts
// qmp_capabilities, and answers each command with reply(cmd, args).
type fakeQEMU struct {
	conn  net.Conn
	reply func(cmd string, args json.RawMessage) (ret any, err *Error)
	mu    sync.Mutex
	got   []string
}

func newFake(t *testing.T, reply func(string, json.RawMessage) (any, *Error)) (*fakeQEMU, net.Conn) {
	t.Helper()
	srv, cli := net.Pipe()
	f := &fakeQEMU{conn: srv, reply: reply}
	go f.serve()
	t.Cleanup(func() { srv.Close() })
	return f, cli
}

func (f *fakeQEMU) send(v any) {
	b, _ := json.Marshal(v)
	_, _ = f.conn.Write(append(b, '\r', '\n'))
}

func (f *fakeQEMU) serve() {
	f.send(map[string]any{"QMP": map[string]any{"version": map[string]any{"qemu": map[string]int{"major": 7, "minor": 2, "micro": 0}, "package": "fake"}, "capabilities": []string{"oob"}}})
	sc := bufio.NewScanner(f.conn)
	for sc.Scan() {
		var req struct {
			Execute   string          `json:"execute"`
			Arguments json.RawMessage `json:"arguments"`
			ID        json.RawMessage `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &req) != nil {
			continue
		}
		f.mu.Lock()
		f.got = append(f.got, req.Execute)
		f.mu.Unlock()
		if req.Execute == "qmp_capabilities" {
			f.send(map[string]any{"return": map[string]any{}})
			continue
		}
		ret, e := f.reply(req.Execute, req.Arguments)
		if ret == nil && e == nil {
			continue // no answer: a hung QEMU
		}
		out := map[string]any{"id": req.ID}
		if e != nil {
			out["error"] = e
		} else {
			out["return"] = ret
		}
		f.send(out)
	}
}

func TestClient(t *testing.T) {
	var fake *fakeQEMU
	fake, conn := newFake(t, func(cmd string, args json.RawMessage) (any, *Error) {
		switch cmd {
		case "query-status":
			// An event before the reply, as QEMU interleaves them.
			fake.send(map[string]any{"event": "RESUME", "timestamp": map[string]int{"seconds": 1, "microseconds": 0}})
			return map[string]any{"status": "running", "running": true}, nil
		case "qom-set":
			return nil, &Error{Class: "GenericError", Desc: "The bootindex 1 has already been used"}
		case "echo":
			return args, nil
		}
		return nil, nil
	})
	var mu sync.Mutex
	var events []string
	c, err := New(context.Background(), conn, func(e Event) {
		mu.Lock()
		events = append(events, e.Name)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := c.Greeting(); g.Version.QEMU.Major != 7 || g.Version.Package != "fake" {
		t.Errorf("greeting %+v", g)
	}
	ctx := context.Background()
	var st struct {
		Status string `json:"status"`
	}
	if err := c.Execute(ctx, "query-status", nil, &st); err != nil || st.Status != "running" {
		t.Fatalf("query-status: %+v, %v", st, err)
	}
	var qe *Error
	if err := c.Execute(ctx, "qom-set", map[string]any{"value": 1}, nil); !errors.As(err, &qe) || qe.Class != "GenericError" {
		t.Errorf("qom-set: %v, want a GenericError", err)
	}
	// Commands run concurrently get their own replies.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got map[string]int
			if err := c.Execute(ctx, "echo", map[string]int{"n": i}, &got); err != nil || got["n"] != i {
				t.Errorf("echo %d: %v, %v", i, got, err)
			}
		}()
	}
	wg.Wait()
	// A command QEMU never answers ends with its context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Execute(short, "hang", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unanswered command: %v, want DeadlineExceeded", err)
	}
	// The event was delivered; QEMU going away ends the client.
	fake.send(map[string]any{"event": "SHUTDOWN", "data": map[string]any{"guest": true}})
	done := make(chan error, 1)
	go func() { done <- c.Execute(ctx, "hang", nil, nil) }()
	time.Sleep(20 * time.Millisecond)
	fake.conn.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("command in flight when QEMU went: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a command in flight hung after the connection closed")
	}
	<-c.Done()
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(events) != "[RESUME SHUTDOWN]" {
		t.Errorf("events %v", events)
	}
	if err := c.Execute(ctx, "query-status", nil, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
	if c.Err() == nil {
		t.Error("Err is nil after the connection ended")
	}
}

// TestEventsMayExecute: an event handler that runs a command does not
// deadlock the client.
func TestEventsMayExecute(t *testing.T) {
	var fake *fakeQEMU
	fake, conn := newFake(t, func(cmd string, _ json.RawMessage) (any, *Error) {
		if cmd == "trigger" {
			fake.send(map[string]any{"event": "RESET"})
			fake.send(map[string]any{"event": "RESET"})
			return map[string]any{}, nil
		}
		return map[string]any{"ok": true}, nil
	})
	var c *Client
	handled := make(chan error, 2)
	c, err := New(context.Background(), conn, func(e Event) {
		handled <- c.Execute(context.Background(), "query-status", nil, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Execute(context.Background(), "trigger", nil, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		select {
		case err := <-handled:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a command run from an event handler hung")
		}
	}
}

func TestHandshakeFailures(t *testing.T) {
	for _, tc := range []struct {
		name   string
		server func(net.Conn)
		want   string
	}{
		{"not a greeting", func(c net.Conn) { c.Write([]byte(`{"return": {}}` + "\n")) }, "not a greeting"},
		{"garbage", func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH\n")) }, "malformed"},
		{"capabilities refused", func(c net.Conn) {
			c.Write([]byte(`{"QMP": {"version": {}, "capabilities": []}}` + "\n"))
			bufio.NewReader(c).ReadString('\n')
			c.Write([]byte(`{"error": {"class": "CommandNotFound", "desc": "no"}}` + "\n"))
		}, "CommandNotFound"},
		{"silent", func(c net.Conn) {}, "deadline"},
		{"closed", func(c net.Conn) { c.Close() }, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli := net.Pipe()
			defer srv.Close()
			go tc.server(srv)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			c, err := New(ctx, cli, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, %v; want an error saying %q", c, err, tc.want)
			}
		})
	}
}

// TestLongMessage: a message beyond MaxMessage ends the connection rather
// than growing without bound.
func TestLongMessage(t *testing.T) {
	fake, conn := newFake(t, func(string, json.RawMessage) (any, *Error) { return nil, nil })
	c, err := New(context.Background(), conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	go fake.conn.Write([]byte(`{"event": "X", "data": "` + strings.Repeat("a", MaxMessage+10) + `"}` + "\n"))
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("an over-long message did not end the connection")
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("Err %v", err)
	}
}
