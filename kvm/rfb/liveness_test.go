package rfb

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/kvm/internal/kvmtest"
	"github.com/bmcd/bmcd/kvm/rfb/rfbtest"
)

// Liveness settings for the tests: probe after 200 ms of an unchanged
// screen, a client silent 600 ms after an update is gone.
func fastLiveness(o *Options) {
	o.ProbeInterval, o.ReplyTimeout = 200*time.Millisecond, 600*time.Millisecond
}

// follow reads updates and asks for the next one after each, as noVNC
// and TigerVNC do, until the connection ends; it counts the empty ones.
func follow(c *rfbtest.Client, empties *atomic.Int32) {
	c.Conn().SetDeadline(time.Time{})
	for {
		u, err := c.ReadUpdate()
		if err != nil {
			return
		}
		if len(u.Rects) == 0 {
			empties.Add(1)
		}
		if c.RequestUpdate(true) != nil {
			return
		}
	}
}

// TestIdleClientStays: a client that answers each update with its next
// request stays connected on an unchanged screen, through the empty
// updates that probe it, and keeps control and the key it holds.
func TestIdleClientStays(t *testing.T) {
	e := newEnv(t, fastLiveness)
	e.display.show(screen(64, 48, 1))
	c := e.dial(rfbtest.Config{})
	c.Key(0xFFE1, true) // Shift_L, held
	eventually(t, "the key held", func() bool { return len(e.kb.Held()) == 1 })
	c.RequestUpdate(false)
	var empties atomic.Int32
	go follow(c, &empties)
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if len(e.hub.Clients()) != 1 || len(e.kb.Held()) != 1 {
			t.Fatalf("a live idle client was dropped (clients %v, keys held %v)", e.hub.Clients(), e.kb.Held())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := empties.Load(); n < 3 {
		t.Errorf("%d empty updates in 2 s, want one every 200 ms", n)
	}
	if e.hub.Controller() == "" {
		t.Error("the idle client lost control")
	}
	// A change still comes through at once.
	e.display.show(screen(64, 48, 2))
	eventually(t, "the client still connected", func() bool { return len(e.hub.Clients()) == 1 })
}

// TestFrozenClientIsDropped: a client that stops answering (a stopped
// process, whose kernel keeps the TCP connection up) is disconnected
// within ProbeInterval + ReplyTimeout, on an unchanged screen and on a
// busy one, and the keys it held are released and control freed.
func TestFrozenClientIsDropped(t *testing.T) {
	for _, tc := range []struct {
		name string
		// freeze leaves the client frozen: what it last sent.
		freeze func(e *env, c *rfbtest.Client)
		busy   bool
	}{
		{"idle screen, a request pending", func(e *env, c *rfbtest.Client) {
			c.RequestUpdate(false)
			update(t, c)
			c.RequestUpdate(true)
		}, false},
		{"idle screen, frozen before its next request", func(e *env, c *rfbtest.Client) {
			c.RequestUpdate(false)
			update(t, c)
		}, false},
		{"busy screen, not reading", func(e *env, c *rfbtest.Client) {
			c.RequestUpdate(false)
			c.RequestUpdate(true)
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, fastLiveness)
			e.display.show(screen(64, 48, 1))
			c := e.dial(rfbtest.Config{})
			c.Key(0xFFE3, true) // Control_L
			c.Key('a', true)
			eventually(t, "the keys held", func() bool { return len(e.kb.Held()) == 2 })
			tc.freeze(e, c)
			frozen := time.Now()
			stop := make(chan struct{})
			defer close(stop)
			if tc.busy {
				go func() {
					for n := 2; ; n++ {
						select {
						case <-stop:
							return
						case <-time.After(10 * time.Millisecond):
							e.display.show(screen(64, 48, n))
						}
					}
				}()
			}
			eventually(t, "the frozen client dropped", func() bool { return len(e.hub.Clients()) == 0 })
			if d := time.Since(frozen); d > 2*time.Second {
				t.Errorf("dropped after %v, want within ProbeInterval + ReplyTimeout", d)
			}
			if held := e.kb.Held(); len(held) != 0 {
				t.Errorf("keys still held: %v", held)
			}
			if got := e.kb.Take(); len(got) < 4 || got[len(got)-1] != kvmtest.Release(hardware.KeyLeftCtrl) {
				t.Errorf("key calls %v: want Ctrl released last", got)
			}
			if e.hub.Controller() != "" {
				t.Errorf("control still with %q", e.hub.Controller())
			}
		})
	}
	// A client that says nothing at all after ServerInit.
	e := newEnv(t, fastLiveness)
	c := e.dial(rfbtest.Config{})
	defer c.Close()
	eventually(t, "the silent client dropped", func() bool { return len(e.hub.Clients()) == 0 })
}
