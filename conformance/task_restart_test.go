package conformance

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTaskInterruptedByRestart: a firmware download under way when bmcd
// is killed (kill -9) does not look like success afterwards. The Task
// still answers, in Exception with Base ServiceShuttingDown, its monitor
// answers that error, and sushy's task monitor, as Ironic's firmware
// check uses it, sees the task ended in Exception (a 404 there reads as
// "Assuming update was successful"). The BIOS version is unchanged.
func TestTaskInterruptedByRestart(t *testing.T) {
	t.Parallel()
	requireSushy(t)
	b := startBMC(t, bmcOpts{Systems: 1})
	stop := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", "1048576")
		_, _ = w.Write(append([]byte{0x7f, 'B', 'I', 'O', 'S'}, make([]byte, 200<<10)...))
		w.(http.Flusher).Flush()
		select { // then nothing more, as a stalled image server
		case <-stop:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(stop) })
	before := b.Get(t, "/redfish/v1/Systems/0")["BiosVersion"]
	r := b.Must(t, http.StatusAccepted, request{Method: http.MethodPost, Path: "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate",
		Body: map[string]any{"ImageURI": slow.URL + "/firmware/bios-2.5.0.bin", "Targets": []string{"/redfish/v1/Systems/0"}}})
	task, _ := r.JSON(t)["@odata.id"].(string)
	if task == "" {
		t.Fatalf("202 without a Task: %s", r.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := b.Must(t, http.StatusAccepted, request{Method: http.MethodGet, Path: task}).JSON(t)
		if p, _ := v["PercentComplete"].(float64); p > 0 && v["TaskState"] == "Running" {
			t.Logf("task %s Running at %v %% when bmcd is killed", task, p)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task never reported progress: %v", v)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Kill()
	b.Start()

	v := b.Must(t, http.StatusOK, request{Method: http.MethodGet, Path: task}).JSON(t)
	if v["TaskState"] != "Exception" || v["TaskStatus"] != "Critical" || !strings.Contains(string(mustJSON(t, v["Messages"])), "ServiceShuttingDown") {
		t.Errorf("after a restart the task is %v", v)
	}
	mon := b.Must(t, http.StatusInternalServerError, request{Method: http.MethodGet, Path: task + "/Monitor"})
	if !strings.Contains(string(mon.Body), "ServiceShuttingDown") {
		t.Errorf("monitor after a restart: %s", mon.Body)
	}
	if got := b.Get(t, "/redfish/v1/Systems/0")["BiosVersion"]; got != before {
		t.Errorf("BiosVersion %v after an interrupted update, before %v", got, before)
	}
	script, err := filepath.Abs(filepath.Join("clients", "sushy_task_after_restart.py"))
	if err != nil {
		t.Fatal(err)
	}
	out, code := runClient(t, time.Minute, systemPython, script,
		"--url", b.URL, "--username", b.User, "--password", b.Password, "--task", task)
	if code != 0 || !strings.Contains(out, "OK: sushy sees the interrupted task in Exception") {
		t.Fatalf("sushy_task_after_restart.py exited %d:\n%s", code, out)
	}
	t.Logf("sushy:\n%s", out)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
