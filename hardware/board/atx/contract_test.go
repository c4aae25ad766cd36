package atx

import (
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// server is a simulated ATX server on the real clock: a short press of its
// power button turns it on, or shuts its OS down after a while; a long
// one cuts its power; its power LED shows the power.
type server struct {
	mu      sync.Mutex
	led     *fakeLine
	since   time.Time
	long    time.Duration
	on      bool
	pending *time.Timer
	edges   chan int // the LED's levels, in order, off the ATX's lock
}

func (s *server) powerButton(v int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v == 1 {
		s.since = time.Now()
		return
	}
	held := time.Since(s.since)
	if s.pending != nil {
		s.pending.Stop()
	}
	switch {
	case held >= s.long:
		s.setLocked(false)
	case !s.on:
		s.setLocked(true)
	default: // ACPI: the OS shuts down
		s.pending = time.AfterFunc(30*time.Millisecond, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.setLocked(false)
		})
	}
}

func (s *server) setLocked(on bool) {
	if s.edges == nil {
		return // closed
	}
	s.on = on
	v := 0
	if on {
		v = 1
	}
	s.edges <- v
}

// board is the smallest backend: the ATX part alone.
type board struct {
	a   *ATX
	srv *server
}

func (b *board) Info() hardware.Info {
	return hardware.Info{Manufacturer: "bmcd", Model: "ATX test board"}
}
func (b *board) Attach(h hardware.Host) hardware.Parts {
	b.a.Attach(h)
	return hardware.Parts{Power: b.a}
}
func (b *board) Close() error {
	err := b.a.Close()
	b.srv.mu.Lock()
	if b.srv.pending != nil {
		b.srv.pending.Stop()
	}
	close(b.srv.edges)
	b.srv.edges = nil
	b.srv.mu.Unlock()
	return err
}

func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the contract runs presses on the real clock")
	}
	backendtest.Run(t, backendtest.Config{
		Timeout: 5 * time.Second,
		New: func(t *testing.T) hardware.Backend {
			clk := RealClock{}
			tm := Timings{ShortPress: 20 * time.Millisecond, LongPress: 120 * time.Millisecond, ResetPress: 20 * time.Millisecond,
				LEDDebounce: 40 * time.Millisecond, PowerCycleDelay: 100 * time.Millisecond}
			srv := &server{led: newFakeLine(clk, 0), long: 100 * time.Millisecond, edges: make(chan int, 64)}
			go func(edges <-chan int) {
				for v := range edges {
					srv.led.set(v)
				}
			}(srv.edges)
			pb := newFakeLine(clk, 0)
			pb.onPress = srv.powerButton
			a, err := New(Lines{PowerButton: pb, ResetButton: newFakeLine(clk, 0), PowerLED: srv.led}, tm, clk)
			if err != nil {
				t.Fatal(err)
			}
			return &board{a: a, srv: srv}
		},
	})
}
