package redfish

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/store"
)

// Tasks survive a restart: one that ended answers as before, one whose
// operation was under way is an Exception with Base ServiceShuttingDown
// (never a 404 a client could take for success), a Pending one is kept
// if it names the staged change it waits for (and can be followed again)
// and not otherwise, and Ids go on from the last.
func TestTasksSurviveRestart(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := slog.New(slog.DiscardHandler)
	req := httptest.NewRequest(http.MethodPost, "/x", nil)

	ts := newTasks(log, db)
	ok, _ := ts.run("ok", req, 0, func(context.Context) error { return nil })
	bad, _ := ts.run("bad", req, 0, func(context.Context) error { return errors.New("boom") })
	created, _ := ts.runProgress("create", req, 0, func(_ context.Context, p *taskProgress) error {
		p.created("/x/1", M{"Id": "1"})
		return nil
	})
	running, _ := ts.runProgress("slow", req, 0, func(ctx context.Context, p *taskProgress) error {
		p.set(18)
		<-ctx.Done()
		return ctx.Err()
	})
	pending := ts.runPending("staged", req, nil, nil, func(ctx context.Context, _ *taskProgress) error {
		<-ctx.Done()
		return ctx.Err()
	})
	res := &taskResume{Kind: "CreateVolume", System: "0", OpID: 7, Volume: "2"}
	followed := ts.runPending("staged, followed", req, nil, res, func(ctx context.Context, _ *taskProgress) error {
		<-ctx.Done()
		return ctx.Err()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		o, _ := ts.get(ok.ID)
		b, _ := ts.get(bad.ID)
		c, _ := ts.get(created.ID)
		r, _ := ts.get(running.ID)
		if !o.running() && !b.running() && !c.running() && r.Percent == 18 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tasks did not settle")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.close()

	ts = newTasks(log, db)
	t.Cleanup(ts.close)
	for _, tc := range []struct {
		id, state string
		errID     string
		location  string
	}{
		{ok.ID, "Completed", "", ""},
		{bad.ID, "Exception", "InternalError", ""},
		{created.ID, "Completed", "", "/x/1"},
		{running.ID, "Exception", "ServiceShuttingDown", ""},
	} {
		tk, found := ts.get(tc.id)
		if !found {
			t.Errorf("task %s gone after a restart", tc.id)
			continue
		}
		if tk.State != tc.state || tk.End.IsZero() || tk.Location != tc.location {
			t.Errorf("task %s: %s end %v location %q, want %s %q", tc.id, tk.State, tk.End, tk.Location, tc.state, tc.location)
		}
		if tc.errID != "" && (tk.Err == nil || tk.Err.msgs[0].MessageID != baseMessagePrefix+tc.errID) {
			t.Errorf("task %s: error %v, want %s", tc.id, tk.Err, tc.errID)
		}
		if got := tk.render()["TaskState"]; got != tc.state {
			t.Errorf("task %s renders %v", tc.id, got)
		}
	}
	if _, found := ts.get(pending.ID); found {
		t.Errorf("pending task %s kept across a restart", pending.ID)
	}
	// A Pending task with what it waits for is kept, and completes when
	// followed again.
	if got := ts.pending(); len(got) != 1 || got[0].ID != followed.ID || *got[0].Resume != *res || got[0].State != "Pending" {
		t.Fatalf("pending after a restart: %+v", got)
	}
	ts.resumePending(followed.ID, func(_ context.Context, p *taskProgress) error {
		p.replace(newMessage("Created"))
		return nil
	})
	deadline = time.Now().Add(5 * time.Second)
	for {
		if tk, _ := ts.get(followed.ID); tk.State == "Completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("resumed task did not complete")
		}
		time.Sleep(10 * time.Millisecond)
	}
	next, _ := ts.run("next", req, 0, func(context.Context) error { return nil })
	if next.ID <= pending.ID && len(next.ID) <= len(pending.ID) {
		t.Errorf("next Id %s after %s", next.ID, pending.ID)
	}
}
