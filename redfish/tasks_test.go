package redfish

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

func TestTasksRun(t *testing.T) {
	ts := newTasks(slog.New(slog.DiscardHandler), nil)
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
	ts := newTasks(slog.New(slog.DiscardHandler), nil)
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
	ts := newTasks(slog.New(slog.NewTextHandler(&buf, nil)), nil)
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

// TestTaskIDsSurviveRestart: task Ids are never reused, even across a
// restart (a new tasks over the same store), and tasks are kept: a task
// URI a client kept still names its task afterwards. (This test once
// wanted 404 there: Ironic takes a 404 for a successful update.)
func TestTaskIDsSurviveRestart(t *testing.T) {
	e := newEnv(t)
	req := httptest.NewRequest(http.MethodPost, "/x", nil)
	ts := newTasks(slog.New(slog.DiscardHandler), e.db)
	var ids []string
	for range 3 {
		tk, _ := ts.run("before", req, 0, func(context.Context) error { return nil })
		ids = append(ids, tk.ID)
	}
	ts.close()
	ts2 := newTasks(slog.New(slog.DiscardHandler), e.db)
	t.Cleanup(ts2.close)
	tk, _ := ts2.run("after", req, 0, func(context.Context) error { return nil })
	for _, id := range ids {
		if id == tk.ID {
			t.Errorf("task Id %s handed out again after a restart (before: %v)", tk.ID, ids)
		}
		if got, ok := ts2.get(id); !ok || got.State != "Completed" {
			t.Errorf("task %s from before the restart: %v %+v, want it Completed", id, ok, got)
		}
	}
	if tk.ID != "4" {
		t.Errorf("first Id after the restart %s, want 4", tk.ID)
	}

	// Over HTTP: a service started on the same store while the first
	// still runs the task (as after a kill -9) sees it interrupted.
	r := e.post("/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		M{"Image": "http://127.0.0.1:1/a.iso"}, header("Prefer", "respond-async")).want(http.StatusAccepted)
	old := r.obj()["@odata.id"].(string)
	svc := New(Config{Accounts: e.accounts, Store: e.db, Log: slog.New(slog.DiscardHandler)})
	t.Cleanup(svc.Close)
	rec := httptest.NewRecorder()
	get := httptest.NewRequest(http.MethodGet, old, nil)
	get.SetBasicAuth(adminUser, adminPass)
	svc.ServeHTTP(rec, get)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"TaskState":"Exception"`) {
		t.Errorf("GET %s after a restart: %d %s", old, rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	get = httptest.NewRequest(http.MethodGet, old+"/Monitor", nil)
	get.SetBasicAuth(adminUser, adminPass)
	svc.ServeHTTP(rec, get)
	if rec.Code < 400 {
		t.Errorf("GET %s/Monitor after a restart: %d %s", old, rec.Code, rec.Body)
	}
}

// TestTaskStatusCode: a Task answers 202 (its body, Retry-After) while its
// TaskState says the operation has not ended, 200 afterwards; its monitor
// answers 202 likewise, then the operation's result.
func TestTaskStatusCode(t *testing.T) {
	e := newEnv(t)
	for i, c := range []struct {
		state   string
		task    int
		monitor int
	}{
		{"New", http.StatusAccepted, http.StatusAccepted},
		{"Starting", http.StatusAccepted, http.StatusAccepted},
		{"Running", http.StatusAccepted, http.StatusAccepted},
		{"Pending", http.StatusAccepted, http.StatusAccepted},
		{"Completed", http.StatusOK, http.StatusNoContent},
		{"Exception", http.StatusOK, http.StatusConflict},
	} {
		id := strconv.Itoa(1000 + i)
		tk := &task{ID: id, Name: "test", Method: http.MethodPost, TargetURI: "/x", Start: time.Now().UTC(), State: c.state, Percent: -1}
		if c.state == "Exception" {
			tk.Err = fromHardware(hardware.ErrBusy)
		}
		if !tk.running() {
			tk.End = time.Now().UTC()
		}
		e.svc.tasks.mu.Lock()
		e.svc.tasks.byID[id] = tk
		e.svc.tasks.mu.Unlock()
		r := e.get(taskPath(id)).want(c.task)
		if r.obj()["TaskState"] != c.state {
			t.Errorf("%s: body %s", c.state, r.Body)
		}
		if ra := r.Header.Get("Retry-After"); (c.task == http.StatusAccepted) != (ra != "") {
			t.Errorf("%s: Retry-After %q", c.state, ra)
		}
		if r.Header.Get("ETag") == "" || r.Header.Get("Link") == "" {
			t.Errorf("%s: headers %v", c.state, r.Header)
		}
		e.get(taskMonitorPath(id)).want(c.monitor)
	}
}
