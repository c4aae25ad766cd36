package video

import "time"

// rateWindow is the span over which rates are averaged.
const rateWindow = 3 * time.Second

// rate counts events (frames) and gives their rate over the last
// rateWindow. The caller locks.
type rate struct {
	since time.Time      // counting started (capture's start)
	times [256]time.Time // ring of the latest events (60 fps × 3 s fits)
	next  int
	n     int
}

func (r *rate) reset(now time.Time) {
	*r = rate{since: now}
}

func (r *rate) add(t time.Time) {
	r.times[r.next] = t
	r.next = (r.next + 1) % len(r.times)
	if r.n < len(r.times) {
		r.n++
	}
}

// perSecond is the number of events in the last rateWindow per second; in
// the first rateWindow after reset, per second since the reset.
func (r *rate) perSecond(now time.Time) float64 {
	from := now.Add(-rateWindow)
	count := 0
	for i := 1; i <= r.n; i++ {
		t := r.times[(r.next-i+len(r.times))%len(r.times)]
		if !t.After(from) {
			break
		}
		count++
	}
	span := rateWindow
	if el := now.Sub(r.since); el < span {
		span = max(el, 500*time.Millisecond)
	}
	return float64(count) / span.Seconds()
}
