package sim

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// TestMediaAfterRestart: after a restart of bmcd (a new simulation over
// the same store), the POST screen shows the medium the Machine says is
// inserted, not "no medium"; an image attached but not inserted stays
// unseen.
func TestMediaAfterRestart(t *testing.T) {
	iso := image(40000, true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(iso))
	}))
	defer srv.Close()
	st := newMemStore()
	d := 5 * time.Millisecond
	cfg := Config{ID: "r", Seed: "display", PowerOnDelay: forever, PowerOffDelay: d, ShutdownDelay: d}
	hm, err := hardware.NewMachine("r", New(cfg), st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := hm.InsertMedia(ctx, "CD", srv.URL+"/live.iso", hardware.InsertOptions{Inserted: true}); err != nil {
		t.Fatal(err)
	}
	if err := hm.InsertMedia(ctx, "USB", srv.URL+"/stick.img", hardware.InsertOptions{Inserted: false}); err != nil {
		t.Fatal(err)
	}
	hm.Close()

	sm := New(cfg)
	hm, err = hardware.NewMachine("r", sm, st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer hm.Close()
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	post := sm.screenText()
	for _, want := range []string{postLine("Virtual media", "Virtual CD/DVD: "+srv.URL+"/live.iso"), postLine("", "Virtual USB stick: no medium")} {
		if !strings.Contains(post, want) {
			t.Errorf("POST screen after a restart lacks %q:\n%s", want, post)
		}
	}
}
