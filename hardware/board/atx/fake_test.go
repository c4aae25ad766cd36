package atx

import (
	"sort"

	"github.com/bmcd/bmcd/hardware"
	"sync"
	"testing"
	"time"
)

// fakeClock is virtual time: timers fire only in Advance, each at its
// deadline, in deadline order.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    int
	timers []*fakeTimer
}

type fakeTimer struct {
	c    *fakeClock
	at   time.Time
	seq  int
	f    func()
	dead bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, at: c.now.Add(d), seq: c.seq, f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.dead
	t.dead = true
	return was
}

// pending is the number of live timers.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.dead {
			n++
		}
	}
	return n
}

// Advance moves time by d, running each timer due on the way (in the
// caller's goroutine, at its own deadline), timers they set included.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool {
			if !c.timers[i].at.Equal(c.timers[j].at) {
				return c.timers[i].at.Before(c.timers[j].at)
			}
			return c.timers[i].seq < c.timers[j].seq
		})
		var next *fakeTimer
		live := c.timers[:0]
		for _, t := range c.timers {
			if !t.dead {
				live = append(live, t)
			}
		}
		c.timers = live
		if len(live) > 0 && !live[0].at.After(end) {
			next = live[0]
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.dead = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
		c.mu.Lock()
	}
}

// change is a value an output line was driven to, at a virtual time.
type change struct {
	at time.Time
	v  int
}

// fakeLine is a Line in memory: outputs record what they are driven to,
// inputs are set by the test (set) and tell their watcher.
type fakeLine struct {
	clk     Clock
	mu      sync.Mutex
	v       int
	log     []change
	watch   func(Edge)
	closed  bool
	onPress func(v int) // a simulated server's reaction to an output
}

func newFakeLine(clk Clock, v int) *fakeLine { return &fakeLine{clk: clk, v: v} }

func (l *fakeLine) SetValue(v int) error {
	l.mu.Lock()
	l.v = v
	l.log = append(l.log, change{l.clk.Now(), v})
	f := l.onPress
	l.mu.Unlock()
	if f != nil {
		f(v)
	}
	return nil
}

func (l *fakeLine) Value() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.v, nil
}

func (l *fakeLine) Watch(f func(Edge)) {
	l.mu.Lock()
	l.watch = f
	l.mu.Unlock()
}

func (l *fakeLine) Close() error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	return nil
}

// set changes an input's level as the server would, with an edge.
func (l *fakeLine) set(v int) {
	l.mu.Lock()
	if l.v == v {
		l.mu.Unlock()
		return
	}
	l.v = v
	f := l.watch
	l.mu.Unlock()
	if f != nil {
		f(Edge{Value: v})
	}
}

// presses is the output's history as (hold duration) per press.
func (l *fakeLine) presses(t *testing.T) []time.Duration {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Duration
	for i := 0; i < len(l.log); i++ {
		if l.log[i].v != 1 {
			t.Fatalf("line released without a press at %d: %v", i, l.log)
		}
		if i+1 == len(l.log) {
			t.Fatalf("line left pressed: %v", l.log)
		}
		out = append(out, l.log[i+1].at.Sub(l.log[i].at))
		i++
	}
	return out
}

func (l *fakeLine) value() int { v, _ := l.Value(); return v }

// host records the power changes reported.
type host struct {
	hardware.Host // Booted and LogEvent: never called
	mu            sync.Mutex
	changes       []string
}

func (h *host) PowerChanged(from, to hardware.PowerState) {
	h.mu.Lock()
	h.changes = append(h.changes, string(from)+">"+string(to))
	h.mu.Unlock()
}

func (h *host) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.changes...)
}
