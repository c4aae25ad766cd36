package redfish

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func TestTasksRun(t *testing.T) {
	ts := newTasks(slog.New(slog.DiscardHandler))
	t.Cleanup(ts.close)
	req := httptest.NewRequest(http.MethodPost, "/x", nil)

	// Within the wait: the operation's own result, no task.
	if tk, err := ts.run("quick", req, time.Minute, func(context.Context) error { return nil }); tk != nil || err != nil {
		t.Fatalf("quick: %v %v", tk, err)
	}
	boom := errors.New("boom")
	if tk, err := ts.run("quick error", req, time.Minute, func(context.Context) error { return boom }); tk != nil || err != boom {
		t.Fatalf("quick error: %v %v", tk, err)
	}
	if n := len(ts.list()); n != 0 {
		t.Fatalf("%d tasks from operations that finished in time", n)
	}

	// Wait 0 (respond-async): always a task, even for an instant operation,
	// and rendering it races with nothing.
	want := map[string]string{}
	for i := range 50 {
		fn, state := func(context.Context) error { return nil }, "Completed"
		if i%2 == 1 {
			fn, state = func(context.Context) error { return hardware.ErrBusy }, "Exception"
		}
		tk, err := ts.run("async", req, 0, fn)
		if tk == nil || err != nil {
			t.Fatalf("async %d: %v %v", i, tk, err)
		}
		want[tk.ID] = state
		rec := httptest.NewRecorder()
		accepted(rec, tk)
		if rec.Code != http.StatusAccepted || rec.Header().Get("Location") != taskMonitorPath(tk.ID) {
			t.Fatalf("accepted: %d %v", rec.Code, rec.Header())
		}
	}
	eventually(t, "tasks done", func() bool {
		for _, tk := range ts.list() {
			if tk.State == "Running" {
				return false
			}
		}
		return true
	})
	for _, tk := range ts.list() {
		if tk.State != want[tk.ID] {
			t.Errorf("task %s: %s, want %s", tk.ID, tk.State, want[tk.ID])
		}
		if tk.State == "Exception" && (tk.Err == nil || tk.Err.status != http.StatusConflict) {
			t.Errorf("task %s: error %v", tk.ID, tk.Err)
		}
	}
}

func TestTasksTrim(t *testing.T) {
	ts := newTasks(slog.New(slog.DiscardHandler))
	t.Cleanup(ts.close)
	req := httptest.NewRequest(http.MethodPost, "/x", nil)
	hold := make(chan struct{})
	defer close(hold)
	running, _ := ts.run("running", req, 0, func(context.Context) error { <-hold; return nil })
	for range maxTasks + 20 {
		_, _ = ts.run("done", req, 0, func(context.Context) error { return nil })
	}
	eventually(t, "finished tasks", func() bool {
		n := 0
		for _, tk := range ts.list() {
			if tk.State != "Running" {
				n++
			}
		}
		return n >= maxTasks-1
	})
	_, _ = ts.run("one more", req, 0, func(context.Context) error { return nil })
	if n := len(ts.list()); n > maxTasks {
		t.Errorf("%d tasks kept, bound %d", n, maxTasks)
	}
	if _, ok := ts.get(running.ID); !ok {
		t.Error("a running task was trimmed")
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTasksLogCause: the client sees only the registry's message; why the
// task failed (an untrusted certificate, say) goes to bmcd's log, as for a
// refused request.
func TestTasksLogCause(t *testing.T) {
	var buf lockedBuffer
	ts := newTasks(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(ts.close)
	req := httptest.NewRequest(http.MethodPost, "/x", nil)
	cause := errors.New("x509: certificate signed by unknown authority")
	tk, _ := ts.run("update", req, 0, func(context.Context) error {
		return withCause(apiErr(http.StatusBadRequest, "CouldNotEstablishConnection", "https://images.example/bios.bin"), cause)
	})
	eventually(t, "the task to fail", func() bool {
		got, _ := ts.get(tk.ID)
		return got.State == "Exception"
	})
	if out := buf.String(); !strings.Contains(out, "task failed") || !strings.Contains(out, cause.Error()) {
		t.Errorf("log %q does not give the cause", out)
	}
	got, _ := ts.get(tk.ID)
	rec := httptest.NewRecorder()
	writeError(rec, got.Err)
	if strings.Contains(rec.Body.String(), "x509") {
		t.Errorf("the cause reached the client: %s", rec.Body)
	}
}
