package ipmi

import (
	"net/netip"
	"sync"
	"time"
)

// Defaults of the failed-login limiter: a source may fail 10 logins in a
// burst, then one every 6 seconds.
const (
	DefaultFailureBurst  = 10
	DefaultFailureRefill = 6 * time.Second
	limiterMaxEntries    = 65536
)

// Limiter is a token bucket per source address that failed logins drain.
// A source with an empty bucket cannot start new sessions until it
// refills. Only failures that prove the source receives our answers count
// (RAKP 1 onward needs the session ID from the Open Session response), so
// spoofed packets cannot lock a legitimate console out.
type Limiter struct {
	burst  float64
	refill time.Duration
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[netip.Addr]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows burst failures, then one per refill.
func NewLimiter(burst int, refill time.Duration) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if refill <= 0 {
		refill = DefaultFailureRefill
	}
	return &Limiter{burst: float64(burst), refill: refill, now: time.Now, buckets: map[netip.Addr]*bucket{}}
}

func (l *Limiter) levelLocked(ip netip.Addr, now time.Time) (*bucket, float64) {
	b := l.buckets[ip]
	if b == nil {
		return nil, l.burst
	}
	t := b.tokens + float64(now.Sub(b.at))/float64(l.refill)
	return b, min(t, l.burst)
}

// Allow reports whether ip may attempt a login.
func (l *Limiter) Allow(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, t := l.levelLocked(ip, l.now())
	return t >= 1
}

// Fail records a failed login from ip.
func (l *Limiter) Fail(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute || len(l.buckets) >= limiterMaxEntries {
		l.sweepLocked(now)
	}
	b, t := l.levelLocked(ip, now)
	if b == nil {
		if len(l.buckets) >= limiterMaxEntries {
			return
		}
		b = &bucket{}
		l.buckets[ip] = b
	}
	b.tokens, b.at = max(t-1, 0), now
}

// sweepLocked forgets sources whose bucket is full again.
func (l *Limiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for ip := range l.buckets {
		if _, t := l.levelLocked(ip, now); t >= l.burst {
			delete(l.buckets, ip)
		}
	}
}
