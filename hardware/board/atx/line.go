package atx

import "time"

// Line is one GPIO line as the ATX part uses it, in its active sense: 1 is
// a button pressed or a LED lit, whatever the wiring's polarity (active-low
// is the line's own business, see Pin.ActiveLow). Open makes them with
// go-gpiocdev; tests use a fake.
type Line interface {
	// SetValue drives an output line: 1 active (button pressed), 0 released.
	SetValue(v int) error
	// Value reads the line's present active state, 0 or 1.
	Value() (int, error)
	// Watch makes f receive every edge of an input line, from any
	// goroutine, one at a time. An output line's Watch does nothing.
	Watch(f func(Edge))
	// Close releases the line to the kernel.
	Close() error
}

// Edge is a change of an input line's active state.
type Edge struct {
	Value int // the new active state, 0 or 1
}

// Clock is the time source of presses and LED debouncing: the real clock
// in service, a virtual one in tests.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop cancels the call; false when it has already run or started.
	Stop() bool
}

// RealClock is the system's clock.
type RealClock struct{}

// Now implements Clock.
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc implements Clock with time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
