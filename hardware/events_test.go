package hardware_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/queue"
)

// next waits for the next published event.
func next(t *testing.T, q *queue.Queue[hardware.MachineEvent]) hardware.MachineEvent {
	t.Helper()
	end := time.After(deadline)
	for {
		if e, ok := q.Pop(); ok {
			return e
		}
		select {
		case <-q.Ready():
		case <-end:
			t.Fatal("no event published")
		}
	}
}

// TestSubscribePublishesTheLog checks that subscribers see exactly the
// log's entries, in order, with what each is about in its own fields.
func TestSubscribePublishesTheLog(t *testing.T) {
	im := newImages(t)
	e := newEnv(t)
	m := e.m
	ctx := context.Background()
	q := queue.New[hardware.MachineEvent](64)
	cancel := m.Subscribe(q)

	secret := strings.Replace(im.URL, "http://", "http://user:pw@", 1) + "/boot.iso"
	if err := m.InsertMedia(ctx, "CD", secret, hardware.InsertOptions{Inserted: true, WriteProtected: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetBootOverride(hardware.BootOverride{Target: hardware.BootCd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI}); err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	poll(t, "power on", func() bool { return e.power() == hardware.PowerOn })
	if err := m.EjectMedia(ctx, "CD"); err != nil {
		t.Fatal(err)
	}
	order := []string{"Boot0005", "Boot0001"}
	if err := m.ChangeBoot(hardware.BootChange{Order: &order}); err != nil {
		t.Fatal(err)
	}
	m.LogEvent(hardware.Event{Kind: hardware.EventReset, Severity: hardware.SeverityOK, Message: "manager reset", ResetType: hardware.ResetForceRestart, ID: 999})

	redacted := hardware.RedactURL(secret)
	want := []hardware.Event{
		{Kind: hardware.EventMediaInsert, Slot: "CD", Image: redacted},
		{Kind: hardware.EventBootOverride, Source: hardware.BootCd, Enabled: hardware.BootOnce, Mode: hardware.BootModeUEFI},
		{Kind: hardware.EventPowerOn},
		{Kind: hardware.EventBoot, Source: hardware.BootCd, Mode: hardware.BootModeUEFI, Image: redacted},
		{Kind: hardware.EventMediaEject, Slot: "CD", Image: redacted},
		{Kind: hardware.EventBootOrderSet, BootOrder: order},
		{Kind: hardware.EventReset, ResetType: hardware.ResetForceRestart},
	}
	logged := m.Events()
	if len(logged) != len(want) {
		t.Fatalf("log holds %d entries, want %d: %+v", len(logged), len(want), logged)
	}
	for i, w := range want {
		got := next(t, q)
		if got.Machine != "sys1" || !reflect.DeepEqual(got.Event, logged[i]) {
			t.Errorf("published #%d %+v, logged %+v", i, got, logged[i])
		}
		w.ID, w.Time, w.Severity, w.Message, w.Detail = got.ID, got.Time, got.Severity, got.Message, got.Detail
		if !reflect.DeepEqual(got.Event, w) {
			t.Errorf("event #%d: %+v, want %+v", i, got.Event, w)
		}
		if strings.Contains(got.Message+got.Image, "pw@") {
			t.Errorf("event #%d shows the image password: %+v", i, got.Event)
		}
	}
	if logged[len(logged)-1].ID == 999 {
		t.Error("LogEvent kept the caller's ID")
	}

	cancel()
	cancel()
	m.AddEvent(hardware.EventSettings, hardware.SeverityOK, "after cancel")
	if e, ok := q.Pop(); ok {
		t.Errorf("published after cancel: %+v", e)
	}
}

// TestBootFallThroughNamesTheSlot: a Cd boot with no medium says which
// slot was empty.
func TestBootFallThroughNamesTheSlot(t *testing.T) {
	e := newEnv(t)
	q := queue.New[hardware.MachineEvent](8)
	defer e.m.Subscribe(q)()
	if err := e.m.SetBootOverride(hardware.BootOverride{Target: hardware.BootUsb, Enabled: hardware.BootOnce}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next(t, q)
		if ev.Kind == hardware.EventBoot {
			if ev.Source != hardware.BootHdd || ev.Slot != "USB" || ev.Image != "" {
				t.Errorf("fall-through boot %+v", ev.Event)
			}
			return
		}
	}
}

// TestSlowSubscriberNeverBlocks: a subscriber that never reads loses the
// oldest events, counted, and the machine carries on.
func TestSlowSubscriberNeverBlocks(t *testing.T) {
	e := newEnv(t)
	q := queue.New[hardware.MachineEvent](4)
	defer e.m.Subscribe(q)()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			e.m.AddEvent(hardware.EventSettings, hardware.SeverityOK, "x")
		}
	}()
	select {
	case <-done:
	case <-time.After(deadline):
		t.Fatal("logging blocked on a full subscriber")
	}
	if q.Len() != 4 || q.Dropped() != 16 {
		t.Errorf("queue holds %d, dropped %d; want 4 and 16", q.Len(), q.Dropped())
	}
	first, _ := q.Pop()
	if first.ID != 17 {
		t.Errorf("oldest kept is #%d, want #17", first.ID)
	}
}
