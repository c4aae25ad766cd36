package auth

import (
	"sync"
	"time"
)

// Defaults of the failed-login limiter: 10 failures in a burst, then one
// every 6 seconds.
const (
	DefaultFailureBurst  = 10
	DefaultFailureRefill = 6 * time.Second
	limiterMaxEntries    = 65536
)

// Limiter is a token bucket per key (a source address, or a source and a
// user name) that failed logins drain. A key with an empty bucket may not
// try again until it refills. Memory is bounded: full buckets are
// forgotten, and at most 65536 keys are tracked.
type Limiter[K comparable] struct {
	burst  float64
	refill time.Duration
	now    func() time.Time

	mu        sync.Mutex
	buckets   map[K]*tokenBucket
	lastSweep time.Time
}

type tokenBucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows burst failures, then one per refill.
func NewLimiter[K comparable](burst int, refill time.Duration) *Limiter[K] {
	if burst < 1 {
		burst = 1
	}
	if refill <= 0 {
		refill = DefaultFailureRefill
	}
	return &Limiter[K]{burst: float64(burst), refill: refill, now: time.Now, buckets: map[K]*tokenBucket{}}
}

// SetClock replaces the limiter's clock (for tests).
func (l *Limiter[K]) SetClock(now func() time.Time) {
	l.mu.Lock()
	l.now = now
	l.mu.Unlock()
}

func (l *Limiter[K]) levelLocked(k K, now time.Time) (*tokenBucket, float64) {
	b := l.buckets[k]
	if b == nil {
		return nil, l.burst
	}
	t := b.tokens + float64(now.Sub(b.at))/float64(l.refill)
	return b, min(t, l.burst)
}

// Allow reports whether k may attempt a login.
func (l *Limiter[K]) Allow(k K) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, t := l.levelLocked(k, l.now())
	return t >= 1
}

// Fail records a failed login by k.
func (l *Limiter[K]) Fail(k K) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.lastSweep) > time.Minute || len(l.buckets) >= limiterMaxEntries {
		l.sweepLocked(now)
	}
	b, t := l.levelLocked(k, now)
	if b == nil {
		if len(l.buckets) >= limiterMaxEntries {
			return
		}
		b = &tokenBucket{}
		l.buckets[k] = b
	}
	b.tokens, b.at = max(t-1, 0), now
}

// sweepLocked forgets keys whose bucket is full again.
func (l *Limiter[K]) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k := range l.buckets {
		if _, t := l.levelLocked(k, now); t >= l.burst {
			delete(l.buckets, k)
		}
	}
}
