package gadget

import (
	"sync"
	"time"
)

// A report that could not be written (the host slow to read, or not
// reading for a while) is written again: the host keeps the last report
// it got, so a key or button release that did not go through would leave
// the key down (repeating) or the button held (dragging). Every
// RetryInterval, up to RetryAttempts times, until one goes through or a
// newer report does.
// A rewrite waits RetryWriteTimeout for the host, not WriteTimeout: it
// holds the device's lock meanwhile, and a host that does not read would
// otherwise hold up new keys for most of each interval.
const (
	RetryInterval     = 250 * time.Millisecond
	RetryAttempts     = 40
	RetryWriteTimeout = 50 * time.Millisecond
)

// resend is one HID device's pending rewrite. Its owner's lock guards it.
type resend struct {
	timer *time.Timer
	tries int
	// interval is the time between attempts (RetryInterval if zero:
	// tests shorten it).
	interval time.Duration
}

// stop cancels the pending rewrite (a newer report, or Close); the next
// failure starts counting anew.
func (r *resend) stop() {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.tries = 0
}

// after takes a write's result: a success ends the retries, a failure
// schedules write (the device's present state, called with mu held).
func (r *resend) after(err error, mu *sync.Mutex, write func() error) {
	if err == nil {
		r.tries = 0
		return
	}
	if r.tries >= RetryAttempts {
		return
	}
	r.tries++
	d := r.interval
	if d <= 0 {
		d = RetryInterval
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if r.timer != t {
			return // stopped, or replaced by a newer report's
		}
		r.timer = nil
		r.after(write(), mu, write)
	})
	r.timer = t
}
