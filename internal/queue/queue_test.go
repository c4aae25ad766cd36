package queue

import (
	"slices"
	"sync"
	"testing"
)

func drain[T any](q *Queue[T]) []T {
	var out []T
	for {
		v, ok := q.Pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

func TestBoundedDropOldest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		capacity int
		push     []int
		want     []int
		dropped  uint64
	}{
		{"empty", 3, nil, nil, 0},
		{"under capacity", 3, []int{1, 2}, []int{1, 2}, 0},
		{"exactly full", 3, []int{1, 2, 3}, []int{1, 2, 3}, 0},
		{"one over", 3, []int{1, 2, 3, 4}, []int{2, 3, 4}, 1},
		{"many over", 3, []int{1, 2, 3, 4, 5, 6, 7}, []int{5, 6, 7}, 4},
		{"capacity clamped to one", 0, []int{1, 2}, []int{2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New[int](tc.capacity)
			for _, v := range tc.push {
				if !q.Push(v) {
					t.Fatalf("Push(%d) refused", v)
				}
			}
			if q.Len() != len(tc.want) {
				t.Errorf("Len %d, want %d", q.Len(), len(tc.want))
			}
			if got := drain(q); !slices.Equal(got, tc.want) {
				t.Errorf("popped %v, want %v", got, tc.want)
			}
			if q.Dropped() != tc.dropped {
				t.Errorf("Dropped %d, want %d", q.Dropped(), tc.dropped)
			}
		})
	}
}

func TestWrapAroundKeepsOrder(t *testing.T) {
	q := New[int](4)
	var got []int
	next := 0
	for round := 0; round < 10; round++ {
		for i := 0; i < 3; i++ {
			q.Push(next)
			next++
		}
		for i := 0; i < 2; i++ {
			v, _ := q.Pop()
			got = append(got, v)
		}
	}
	got = append(got, drain(q)...)
	// 30 pushed, capacity 4, one net item per round: the queue overflows
	// from round 3 on, dropping the oldest each time.
	if !slices.IsSorted(got) || got[len(got)-1] != next-1 {
		t.Errorf("order lost: %v", got)
	}
	if uint64(len(got))+q.Dropped() != uint64(next) {
		t.Errorf("%d popped + %d dropped != %d pushed", len(got), q.Dropped(), next)
	}
}

func TestReadyAndClose(t *testing.T) {
	q := New[string](2)
	select {
	case <-q.Ready():
		t.Fatal("ready before any push")
	default:
	}
	q.Push("a")
	q.Push("b")
	<-q.Ready() // one token for both
	select {
	case <-q.Ready():
		t.Fatal("a second token for one batch")
	default:
	}
	q.Close()
	q.Close()
	<-q.Done()
	if q.Push("c") {
		t.Error("Push after Close accepted")
	}
	if got := drain(q); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after Close popped %v", got)
	}
}

func TestConcurrentProducers(t *testing.T) {
	q := New[int](64)
	var wg sync.WaitGroup
	for p := 0; p < 8; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				q.Push(i)
			}
		}()
	}
	popped := 0
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	for {
		select {
		case <-q.Ready():
			popped += len(drain(q))
			continue
		case <-stop:
		}
		break
	}
	popped += len(drain(q))
	if uint64(popped)+q.Dropped() != 8000 {
		t.Errorf("%d popped + %d dropped != 8000", popped, q.Dropped())
	}
}
