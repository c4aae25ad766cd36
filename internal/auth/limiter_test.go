package auth

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := NewLimiter[string](3, 10*time.Second)
	l.SetClock(func() time.Time { return now })
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("attempt %d refused within the burst", i)
		}
		l.Fail("a")
	}
	if l.Allow("a") {
		t.Fatal("allowed after the burst")
	}
	if !l.Allow("b") {
		t.Fatal("another key is limited too")
	}
	now = now.Add(10 * time.Second)
	if !l.Allow("a") {
		t.Fatal("not refilled after one period")
	}
	l.Fail("a")
	if l.Allow("a") {
		t.Fatal("one refill allowed two attempts")
	}
	now = now.Add(time.Hour)
	l.Fail("b") // sweeps: a is full again and forgotten
	if _, ok := l.buckets["a"]; ok {
		t.Fatal("full bucket kept")
	}
}
