package redfish

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// maxTasks bounds the task list; the oldest finished tasks go first.
const maxTasks = 128

// task is an operation that outlived its request (TaskService).
type task struct {
	ID        string
	Name      string
	Method    string
	TargetURI string
	Start     time.Time
	End       time.Time
	State     string // Pending, Running, Completed, Exception
	Err       *apiError
	// What the operation reported through its taskProgress: Percent is
	// PercentComplete while running (-1: not reported, shown as 0, so
	// the value only rises), Msgs
	// come before the final Success or error messages.
	Percent int
	Msgs    []message
	// Location names the resource a completed create made: the monitor
	// then answers 201 with it, and Created its representation.
	Location string
	Created  any
	// Resume, for a Pending task, names the staged change it waits for,
	// so that a restart of bmcd can follow it again (resumePending).
	Resume *taskResume
}

// taskResume is what a Pending task waits for, kept with it: the
// volume change (Kind "CreateVolume" or "DeleteVolume") OpID of the
// machine System, on Volume.
type taskResume struct {
	Kind   string
	System string
	OpID   uint64
	Volume string
}

// taskProgress is how a running operation reports to its task
// (Task.PercentComplete, Task.Messages). It is safe for concurrent use and
// works before the task exists (the operation may finish in time).
type taskProgress struct {
	ts *tasks
	t  *task
}

// set records percent (0..100; -1 keeps the current value) and appends msgs.
func (p *taskProgress) set(percent int, msgs ...message) {
	p.ts.mu.Lock()
	defer p.ts.mu.Unlock()
	changed := len(msgs) > 0
	if percent >= 0 && min(percent, 100) != p.t.Percent {
		p.t.Percent, changed = min(percent, 100), true
	}
	p.t.Msgs = append(p.t.Msgs, msgs...)
	if changed {
		p.ts.saveLocked(p.t)
	}
}

// replace sets the task's messages to msgs (what it waited for is over).
func (p *taskProgress) replace(msgs ...message) {
	p.ts.mu.Lock()
	defer p.ts.mu.Unlock()
	p.t.Msgs = msgs
	p.ts.saveLocked(p.t)
}

// created records the resource the operation made (its URI and
// representation), which the monitor answers with once the task completes.
func (p *taskProgress) created(location string, body any) {
	p.ts.mu.Lock()
	defer p.ts.mu.Unlock()
	p.t.Location, p.t.Created = location, body
	p.ts.saveLocked(p.t)
}

type tasks struct {
	mu     sync.Mutex
	byID   map[string]*task
	last   uint64 // the last task Id handed out
	store  Store  // keeps last across restarts; nil: memory only
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger
}

// Where tasks are kept. The last task Id is kept so Ids are never reused.
// Each task's state is kept (taskStatesBucket, keyed by Id) as it changes,
// so a task a client follows (Ironic keeps the Task URI of a firmware
// update) still answers after a restart: a task that ended answers as
// before, and one whose operation the restart killed (New, Starting,
// Running) is an Exception (interruptedError), never a 404 that a client
// may take for success. A Pending task (a change staged for the next
// reset) is kept with what it waits for (taskResume), and the service
// follows it again after a restart (resumePending): it completes when the
// staged change applies.
const (
	tasksBucket      = "tasks"
	tasksLastID      = "last_id"
	taskStatesBucket = "task_states"
)

// interruptedError is the error of a task whose operation a restart of
// bmcd cut short: 500 with Base ServiceShuttingDown ("The operation failed
// because the service is shutting down ..."), the Base message that says
// why; 500 rather than 503 because resubmitting, not retrying the
// monitor, is what helps.
func interruptedError() *apiError {
	return apiErr(http.StatusInternalServerError, "ServiceShuttingDown")
}

// taskRecord is a task as the store keeps it.
type taskRecord struct {
	ID, Name, Method, TargetURI string
	Start, End                  time.Time
	State                       string
	Percent                     int
	Msgs                        []message
	ErrStatus                   int             `json:",omitempty"`
	ErrMsgs                     []message       `json:",omitempty"`
	Location                    string          `json:",omitempty"`
	Created                     json.RawMessage `json:",omitempty"`
	Resume                      *taskResume     `json:",omitempty"`
}

// saveLocked records t in the store (not while it is Pending without
// a taskResume, see tasksBucket). The caller holds ts.mu.
func (ts *tasks) saveLocked(t *task) {
	if ts.store == nil || t.ID == "" || (t.State == "Pending" && t.Resume == nil) {
		return
	}
	rec := taskRecord{ID: t.ID, Name: t.Name, Method: t.Method, TargetURI: t.TargetURI, Start: t.Start, End: t.End,
		State: t.State, Percent: t.Percent, Msgs: t.Msgs, Location: t.Location, Resume: t.Resume}
	if t.Err != nil {
		rec.ErrStatus, rec.ErrMsgs = t.Err.status, t.Err.msgs
	}
	if t.Created != nil {
		if b, err := json.Marshal(t.Created); err == nil {
			rec.Created = b
		}
	}
	if err := ts.store.Put(taskStatesBucket, t.ID, rec); err != nil {
		ts.log.Error("task state", "task", t.ID, "err", err)
	}
}

// loadLocked brings back the kept tasks: those that had ended as they
// were, those whose operation was under way as Exceptions
// (interruptedError), the newest maxTasks of them.
func (ts *tasks) loadLocked() {
	now := time.Now().UTC()
	err := ts.store.List(taskStatesBucket, func(key string, raw []byte) error {
		var rec taskRecord
		if err := json.Unmarshal(raw, &rec); err != nil || rec.ID != key {
			ts.log.Error("task state unreadable", "task", key, "err", err)
			return nil
		}
		t := &task{ID: rec.ID, Name: rec.Name, Method: rec.Method, TargetURI: rec.TargetURI, Start: rec.Start, End: rec.End,
			State: rec.State, Percent: rec.Percent, Msgs: rec.Msgs, Location: rec.Location, Resume: rec.Resume}
		if rec.ErrStatus != 0 {
			t.Err = &apiError{status: rec.ErrStatus, msgs: rec.ErrMsgs}
		}
		if rec.Created != nil {
			t.Created = rec.Created
		}
		switch {
		case t.State == "Pending" && t.Resume == nil:
			return nil // not kept
		case t.State == "Pending":
			// Still waiting for its staged change: resumePending follows it.
		case t.running():
			t.State, t.End, t.Err = "Exception", now, interruptedError()
			ts.log.Info("task interrupted by a restart", "task", t.ID, "name", t.Name)
		case t.State == "Exception" && t.Err == nil:
			t.Err = interruptedError()
		}
		ts.byID[t.ID] = t
		return nil
	})
	if err != nil {
		ts.log.Error("task states", "err", err)
	}
	for _, t := range ts.byID {
		ts.saveLocked(t)
	}
	ts.trimLocked()
}

// newTasks keeps tasks; log receives why a task failed (the cause behind
// its Base message, which the client never sees), as the service logs a
// refused request. store, if not nil, keeps the last task Id, so Ids stay
// unique across restarts.
func newTasks(log *slog.Logger, store Store) *tasks {
	ctx, cancel := context.WithCancel(context.Background())
	ts := &tasks{byID: map[string]*task{}, store: store, ctx: ctx, cancel: cancel, log: log}
	if store != nil {
		if _, err := store.Get(tasksBucket, tasksLastID, &ts.last); err != nil {
			log.Error("task ids", "err", err)
		}
		ts.loadLocked()
	}
	return ts
}

// nextIDLocked hands out the next task Id, recorded before it is used.
// The caller holds ts.mu.
func (ts *tasks) nextIDLocked() string {
	ts.last++
	if ts.store != nil {
		if err := ts.store.Put(tasksBucket, tasksLastID, ts.last); err != nil {
			ts.log.Error("task ids", "err", err)
		}
	}
	return strconv.FormatUint(ts.last, 10)
}

// pending lists the Pending tasks brought back by a restart that wait for
// a staged change (their Resume), for the service to follow again.
func (ts *tasks) pending() []task {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []task
	for _, t := range ts.byID {
		if t.State == "Pending" && t.Resume != nil {
			out = append(out, t.copy())
		}
	}
	return out
}

// resumePending follows the Pending task id again with fn, which waits
// for its staged change as the operation that made it did; fn's result
// ends the task.
func (ts *tasks) resumePending(id string, fn func(context.Context, *taskProgress) error) {
	ts.mu.Lock()
	t, ok := ts.byID[id]
	ts.mu.Unlock()
	if !ok {
		return
	}
	ts.await(t, ts.start(t, fn))
}

// start runs fn for task t in a goroutine the service owns and returns
// where its result arrives.
func (ts *tasks) start(t *task, fn func(context.Context, *taskProgress) error) <-chan error {
	p := &taskProgress{ts: ts, t: t}
	done := make(chan error, 1)
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		done <- fn(ts.ctx, p)
	}()
	return done
}

// run starts fn and waits up to wait for it. If fn finishes in time its
// error is returned and no task is made; otherwise a task tracks it and a
// snapshot of the new task is returned. A wait of 0 (the client asked to
// respond-async) always makes a task, even for an fn that finishes at once.
func (ts *tasks) run(name string, r *http.Request, wait time.Duration, fn func(context.Context) error) (*task, error) {
	return ts.runProgress(name, r, wait, func(ctx context.Context, _ *taskProgress) error { return fn(ctx) })
}

// runProgress is run for an operation that reports its progress.
func (ts *tasks) runProgress(name string, r *http.Request, wait time.Duration, fn func(context.Context, *taskProgress) error) (*task, error) {
	t := &task{Name: name, Method: r.Method, TargetURI: r.URL.Path, Percent: -1}
	done := ts.start(t, fn)
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		select {
		case err := <-done:
			return nil, err
		case <-timer.C:
		}
	}
	return ts.track(t, "Running", done), nil
}

// runPending starts fn as a task that waits for a condition before it can
// do its work (DSP0266 "Operation apply time": a change applied at the next
// reset): its TaskState is Pending until fn returns. msgs say what it
// waits for. It returns a snapshot of the new task.
//
// resume, if not nil, names the staged change, so that the task is kept
// in the store and followed again after a restart (resumePending).
func (ts *tasks) runPending(name string, r *http.Request, msgs []message, resume *taskResume, fn func(context.Context, *taskProgress) error) *task {
	t := &task{Name: name, Method: r.Method, TargetURI: r.URL.Path, Percent: 0, Msgs: msgs, Resume: resume}
	p := &taskProgress{ts: ts, t: t}
	done := make(chan error, 1)
	snap := ts.track(t, "Pending", done) // registered before fn reports to it
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		done <- fn(ts.ctx, p)
	}()
	return snap
}

// track numbers t, adds it in state and ends it when done delivers its
// operation's error. It returns a snapshot of t.
func (ts *tasks) track(t *task, state string, done <-chan error) *task {
	ts.mu.Lock()
	t.ID, t.Start, t.State = ts.nextIDLocked(), time.Now().UTC(), state
	ts.byID[t.ID] = t
	ts.saveLocked(t)
	ts.trimLocked()
	snap := t.copy() // the caller's copy: the goroutine below updates t under ts.mu
	ts.mu.Unlock()
	ts.await(t, done)
	return &snap
}

// await ends t when done delivers its operation's error.
func (ts *tasks) await(t *task, done <-chan error) {
	ts.wg.Add(1)
	go func() {
		defer ts.wg.Done()
		err := <-done
		ts.mu.Lock()
		defer ts.mu.Unlock()
		if err != nil && ts.ctx.Err() != nil {
			// The service is closing: a task still waiting (a change
			// staged for the next boot stays staged) did not fail, and a
			// running one is kept as it was, so the next start finds it
			// under way and reports it interrupted (loadLocked).
			ts.log.Info("task ended by shutdown", "task", t.ID, "name", t.Name)
			return
		}
		t.End = time.Now().UTC()
		t.State = "Completed"
		if err != nil {
			t.State = "Exception"
			t.Err = fromHardware(err)
			if t.Err.status >= 500 {
				ts.log.Error("task failed", "task", t.ID, "name", t.Name, "err", err)
			} else if t.Err.cause != nil {
				ts.log.Info("task failed", "task", t.ID, "name", t.Name, "status", t.Err.status, "cause", t.Err.cause)
			}
		}
		ts.saveLocked(t)
	}()
}

// running reports whether the task's operation is still under way: its
// TaskState is one the Task schema gives an operation not yet ended
// (New, Starting, Running, Pending; bmcd's tasks are Running until they
// end).
func (t task) running() bool {
	switch t.State {
	case "New", "Starting", "Running", "Pending":
		return true
	}
	return false
}

// copy is a snapshot of t; the caller holds ts.mu.
func (t *task) copy() task {
	c := *t
	c.Msgs = append([]message(nil), t.Msgs...)
	return c
}

func (ts *tasks) trimLocked() {
	if len(ts.byID) <= maxTasks {
		return
	}
	var done []*task
	for _, t := range ts.byID {
		if !t.running() {
			done = append(done, t)
		}
	}
	sort.Slice(done, func(i, j int) bool { return done[i].End.Before(done[j].End) })
	for _, t := range done[:min(len(done), len(ts.byID)-maxTasks)] {
		delete(ts.byID, t.ID)
		if ts.store != nil {
			if err := ts.store.Delete(taskStatesBucket, t.ID); err != nil {
				ts.log.Error("task state", "task", t.ID, "err", err)
			}
		}
	}
}

func (ts *tasks) get(id string) (task, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t, ok := ts.byID[id]
	if !ok {
		return task{}, false
	}
	return t.copy(), true
}

func (ts *tasks) list() []task {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := make([]task, 0, len(ts.byID))
	for _, t := range ts.byID {
		out = append(out, t.copy())
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.ParseUint(out[i].ID, 10, 64)
		b, _ := strconv.ParseUint(out[j].ID, 10, 64)
		return a < b
	})
	return out
}

func (ts *tasks) close() {
	ts.cancel()
	ts.wg.Wait()
}

func taskPath(id string) string        { return "/redfish/v1/TaskService/Tasks/" + id }
func taskMonitorPath(id string) string { return taskPath(id) + "/Monitor" }

func (t task) render() M {
	status := "OK"
	msgs := append([]message{}, t.Msgs...)
	percent := 0 // not reported yet: nothing is known done
	if t.Percent >= 0 {
		percent = t.Percent
	}
	switch t.State {
	case "Completed":
		percent = 100
		msgs = append(msgs, newMessage("Success"))
	case "Exception":
		percent, status = 100, "Critical"
		msgs = append(msgs, t.Err.msgs...)
	}
	v := M{
		"@odata.type":     "#Task.v1_7_4.Task",
		"@odata.id":       taskPath(t.ID),
		"Id":              t.ID,
		"Name":            t.Name,
		"TaskState":       t.State,
		"TaskStatus":      status,
		"StartTime":       t.Start.Format(timeFormat),
		"PercentComplete": percent,
		"TaskMonitor":     taskMonitorPath(t.ID),
		"Messages":        msgs,
		"Payload":         M{"HttpOperation": t.Method, "TargetUri": t.TargetURI},
	}
	if !t.End.IsZero() {
		v["EndTime"] = t.End.Format(timeFormat)
	}
	return v
}

// accepted answers 202 with the task's monitor, as the specification's
// asynchronous operations do.
func accepted(w http.ResponseWriter, t *task) {
	w.Header().Set("Location", taskMonitorPath(t.ID))
	w.Header().Set("Retry-After", "1")
	writeJSON(w, http.StatusAccepted, t.render())
}

func (s *Service) taskRoutes() {
	s.handle("/redfish/v1/TaskService", &resource{get: func(*http.Request) (any, error) {
		return M{
			"@odata.type":                     "#TaskService.v1_3_0.TaskService",
			"@odata.id":                       "/redfish/v1/TaskService",
			"Id":                              "TaskService",
			"Name":                            "Task Service",
			"ServiceEnabled":                  true,
			"CompletedTaskOverWritePolicy":    "Oldest",
			"LifeCycleEventOnTaskStateChange": false,
			"DateTime":                        s.clock().UTC().Format(timeFormat),
			"Status":                          enabledStatus(),
			"Tasks":                           link{"/redfish/v1/TaskService/Tasks"},
		}, nil
	}})
	s.handle("/redfish/v1/TaskService/Tasks", &resource{get: func(*http.Request) (any, error) {
		var ids []string
		for _, t := range s.tasks.list() {
			ids = append(ids, taskPath(t.ID))
		}
		return collection("TaskCollection", "Task Collection", "/redfish/v1/TaskService/Tasks", ids), nil
	}})
	// The Task answers 202 while its operation runs and 200 once it has
	// ended, as iDRAC and other BMCs do: clients that poll the Task URI
	// for want of the monitor (sushy's TaskMonitor keeps the @odata.id of
	// the 202 body, and Ironic fails a firmware update when
	// is_processing, a 202, is false while TaskState is not Completed)
	// then see an operation in progress.
	s.handle("/redfish/v1/TaskService/Tasks/{task}", &resource{get: func(r *http.Request) (any, error) {
		t, ok := s.tasks.get(chi.URLParam(r, "task"))
		if !ok {
			return nil, notFound("Task", chi.URLParam(r, "task"))
		}
		if t.running() {
			return inProgress{t.render(), http.Header{"Retry-After": {"1"}}}, nil
		}
		return t.render(), nil
	}})
	// The monitor answers 202 while the task is pending or runs, then the
	// operation's own result: 204, 201 with the created resource, or the
	// error.
	s.handle("/redfish/v1/TaskService/Tasks/{task}/Monitor", &resource{get: func(r *http.Request) (any, error) {
		t, ok := s.tasks.get(chi.URLParam(r, "task"))
		if !ok {
			return nil, notFound("Task", chi.URLParam(r, "task"))
		}
		switch {
		case t.running():
			return statusDocument{http.StatusAccepted, t.render(), http.Header{"Location": {taskMonitorPath(t.ID)}, "Retry-After": {"1"}}}, nil
		case t.State == "Exception":
			return nil, t.Err
		case t.Location != "":
			// A create: what its request would have answered.
			return statusDocument{http.StatusCreated, t.Created, http.Header{"Location": {t.Location}}}, nil
		}
		return statusDocument{status: http.StatusNoContent}, nil
	}})
}

// statusDocument is a GET result with its own status code (task monitors).
type statusDocument struct {
	status int
	body   any
	header http.Header
}
