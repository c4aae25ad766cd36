package sim

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// memStore is an in-memory hardware.Store.
type memStore struct {
	mu sync.Mutex
	b  map[string]map[string][]byte
}

func newMemStore() *memStore { return &memStore{b: map[string]map[string][]byte{}} }

func (s *memStore) Get(bucket, key string, v any) (bool, error) {
	s.mu.Lock()
	raw, ok := s.b[bucket][key]
	s.mu.Unlock()
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

func (s *memStore) Put(bucket, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b[bucket] == nil {
		s.b[bucket] = map[string][]byte{}
	}
	s.b[bucket][key] = raw
	return nil
}

func (s *memStore) Delete(bucket, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.b[bucket], key)
	return nil
}

func (s *memStore) List(bucket string, fn func(string, []byte) error) error {
	s.mu.Lock()
	var keys []string
	for k := range s.b[bucket] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.b[bucket][k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		if err := fn(k, vals[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *memStore) DropBucket(bucket string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.b, bucket)
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// machineAt is a hardware.Machine over a simulation parked in state from,
// reached the real way through the Machine (as newAt does), so that the
// event log holds everything since the machine was created. poweredOn is
// whether the simulation started On (a first start: nothing logged).
func machineAt(t *testing.T, from hardware.PowerState, st hardware.Store) (hm *hardware.Machine, sm *Machine, poweredOn bool) {
	t.Helper()
	cfg := Config{ID: "t", Seed: "s", PowerOnDelay: forever, PowerOffDelay: forever, ShutdownDelay: forever}
	cfg.PoweredOn = from == on || from == pOff || from == onPOST
	sm = New(cfg)
	hm, err := hardware.NewMachine("t", sm, st, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hm.Close() })
	if err := hm.CheckPower(context.Background()); err != nil {
		t.Fatal(err)
	}
	switch from {
	case pOn:
		err = hm.Reset(context.Background(), hardware.ResetOn)
	case pOff:
		err = hm.Reset(context.Background(), hardware.ResetGracefulShutdown)
	case onPOST:
		err = hm.Reset(context.Background(), hardware.ResetForceRestart)
	}
	if err != nil {
		t.Fatal(err)
	}
	return hm, sm, cfg.PoweredOn
}

// powerLog checks that the log's power entries pair up from applied (the
// power at creation): never on twice, never off twice. It returns whether
// the power is applied after the last one.
func powerLog(t *testing.T, evs []hardware.Event, applied bool) bool {
	t.Helper()
	for _, e := range evs {
		switch e.Kind {
		case hardware.EventPowerOn:
			if applied {
				t.Errorf("entry %d: powered on while on: %s", e.ID, kinds(evs))
			}
			applied = true
		case hardware.EventPowerOff:
			if !applied {
				t.Errorf("entry %d: powered off while off: %s", e.ID, kinds(evs))
			}
			applied = false
		}
	}
	return applied
}

func kinds(evs []hardware.Event) string {
	var out []string
	for _, e := range evs {
		s := string(e.Kind)
		if e.ResetType != "" {
			s += "(" + string(e.ResetType) + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func countKind(evs []hardware.Event, k hardware.EventKind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// TestPowerLogPairs runs every reset from every power state through a
// hardware.Machine and checks its event log: the power is logged on when
// it is applied (Off -> PoweringOn, not when the POST ends) and off when
// it is removed, exactly once each, so the entries pair up whatever
// interrupts what (On, then ForceOff during the POST, logs one on and one
// off); and every accepted restart (GracefulRestart, ForceRestart,
// PowerCycle) leaves one host reset entry, with its reset type, before
// the power entries it brings, warm resets included.
func TestPowerLogPairs(t *testing.T) {
	for _, c := range resetCases {
		t.Run(string(c.from)+"/"+string(c.reset), func(t *testing.T) {
			t.Parallel()
			hm, sm, poweredOn := machineAt(t, c.from, newMemStore())
			before := len(hm.Events())
			boots := countKind(hm.Events(), hardware.EventBoot)

			err := hm.Reset(context.Background(), c.reset)
			if c.err == nil && err != nil || c.err != nil && !errors.Is(err, c.err) {
				t.Fatalf("Reset: err %v, want %v", err, c.err)
			}
			setDelays(sm, short)
			fire(sm)
			want := c.final()
			poll(t, "the machine to settle", func() bool {
				ps, _ := hm.PowerState(context.Background())
				return ps == want && !hm.InPOST() && countKind(hm.Events(), hardware.EventBoot) >= boots+c.boots
			})
			assertIdle(t, sm)

			evs := hm.Events()
			if applied := powerLog(t, evs, poweredOn); applied != (want != off) {
				t.Errorf("the log ends powered %v, the machine is %s: %s", applied, want, kinds(evs))
			}
			// What this reset logged: one power entry per time the power
			// was applied or removed in the transitions the simulation
			// reported.
			after := evs[before:]
			ons, offs := 0, 0
			prev := c.from
			for _, s := range c.seq {
				if prev == off && s != off {
					ons++
				}
				if prev != off && s == off {
					offs++
				}
				prev = s
			}
			if n := countKind(after, hardware.EventPowerOn); n != ons {
				t.Errorf("%d power-on entries, want %d: %s", n, ons, kinds(after))
			}
			if n := countKind(after, hardware.EventPowerOff); n != offs {
				t.Errorf("%d power-off entries, want %d: %s", n, offs, kinds(after))
			}
			resets := 0
			for i, e := range after {
				if e.Kind != hardware.EventHostReset {
					continue
				}
				resets++
				if e.ResetType != c.reset || !strings.Contains(e.Message, string(c.reset)) {
					t.Errorf("host reset entry %+v for %s", e, c.reset)
				}
				for _, p := range after[:i] {
					if p.Kind == hardware.EventPowerOn || p.Kind == hardware.EventPowerOff {
						t.Errorf("the host reset entry follows the power entries: %s", kinds(after))
					}
				}
			}
			wantResets := 0
			if c.reset.Restarts() && err == nil {
				wantResets = 1
			}
			if resets != wantResets {
				t.Errorf("%d host reset entries, want %d: %s", resets, wantResets, kinds(after))
			}
		})
	}
}

// TestOnThenForceOff is the reviewer's case: On, then ForceOff before the
// POST ends. The log says on, then off.
func TestOnThenForceOff(t *testing.T) {
	hm, _, _ := machineAt(t, off, newMemStore())
	ctx := context.Background()
	if err := hm.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	if err := hm.Reset(ctx, hardware.ResetForceOff); err != nil {
		t.Fatal(err)
	}
	if got := kinds(hm.Events()); got != "PowerOn PowerOff" {
		t.Errorf("log %s, want PowerOn PowerOff", got)
	}
}

// TestResumeAfterRestart: a restart of bmcd (a new sim and Machine on the
// same store) takes the host up as it was, without a new boot and without
// power entries; a POST in progress goes on and boots once; a graceful
// shutdown in progress completes.
func TestResumeAfterRestart(t *testing.T) {
	for _, c := range []struct {
		from  hardware.PowerState
		final hardware.PowerState
		post  bool // POSTing right after the restart
		boots int  // boots after the restart
		log   string
	}{
		{off, off, false, 0, ""},
		{on, on, false, 0, ""},
		{pOn, on, true, 1, "Boot"},
		{onPOST, on, true, 1, "Boot"},
		{pOff, off, false, 0, "PowerOff"},
	} {
		t.Run(string(c.from), func(t *testing.T) {
			t.Parallel()
			st := newMemStore()
			hm, _, poweredOn := machineAt(t, c.from, st)
			_ = hm.Close()
			before := len(hm.Events())

			// bmcd starts again: the configuration says Off.
			sm := New(Config{ID: "t", Seed: "s", PowerOnDelay: short, PowerOffDelay: short, ShutdownDelay: short})
			hm2, err := hardware.NewMachine("t", sm, st, quiet)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = hm2.Close() })
			want := c.from
			if want == onPOST {
				want = on
			}
			if ps := powerOf(t, sm); ps != want || sm.InPOST() != c.post {
				t.Fatalf("after the restart %s (POST %v), want %s (POST %v)", ps, sm.InPOST(), want, c.post)
			}
			if err := hm2.CheckPower(context.Background()); err != nil {
				t.Fatal(err)
			}
			poll(t, "the machine to settle", func() bool { return powerOf(t, sm) == c.final && !sm.InPOST() })
			poll(t, "the log", func() bool { return len(hm2.Events())-before >= len(strings.Fields(c.log)) })
			assertIdle(t, sm)
			if got := kinds(hm2.Events()[before:]); got != c.log {
				t.Errorf("logged after the restart: %q, want %q", got, c.log)
			}
			powerLog(t, hm2.Events(), poweredOn)
		})
	}
}
