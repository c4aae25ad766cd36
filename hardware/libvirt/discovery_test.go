package libvirt_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/libvirt"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

// fleet is a hardware.DiscoveryHost that records what it is told.
type fleet struct {
	mu       sync.Mutex
	found    map[string]hardware.Found
	order    []string // Ids in the order found
	lost     []string
	listed   bool
	atListed []string // Ids found before Listed
	taken    string   // an Id Found refuses, as the fleet does for a configured system
}

func newFleet() *fleet { return &fleet{found: map[string]hardware.Found{}} }

func (f *fleet) Found(fd hardware.Found) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.found[fd.ID]; dup || fd.ID == f.taken {
		_ = fd.Backend.Close()
		return hardware.ErrExists
	}
	f.found[fd.ID] = fd
	f.order = append(f.order, fd.ID)
	return nil
}

func (f *fleet) Lost(id string) {
	f.mu.Lock()
	fd, ok := f.found[id]
	delete(f.found, id)
	f.lost = append(f.lost, id)
	f.mu.Unlock()
	if ok {
		_ = fd.Backend.Close()
	}
}

func (f *fleet) Listed() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listed = true
	f.atListed = slices.Clone(f.order)
}

func (f *fleet) has(id string) (hardware.Found, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fd, ok := f.found[id]
	return fd, ok
}

func (f *fleet) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fd := range f.found {
		_ = fd.Backend.Close()
	}
	f.found = map[string]hardware.Found{}
}

// TestDiscovery: the matching domains of the daemon are found sorted by
// name before Listed, with their UUID as Id and their name as alias; one
// defined later is found, one undefined lost; an excluded one never
// shows; Run ends without error when its context does.
func TestDiscovery(t *testing.T) {
	uri := libvirttest.Daemon(t)
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	group := "disc-" + hex.EncodeToString(rnd[:])
	var logs syncBuffer
	nameB, uuidB := libvirttest.Define(t, libvirttest.Spec{Name: group + "-b"})
	nameA, uuidA := libvirttest.Define(t, libvirttest.Spec{Name: group + "-a"})
	libvirttest.Define(t, libvirttest.Spec{Name: group + "-skip"})
	_, uuidTaken := libvirttest.Define(t, libvirttest.Spec{Name: group + "-taken"})

	g, err := libvirt.NewDiscovery(uri, []string{libvirttest.Prefix + group + "-*"}, []string{"*-skip-*"}, libvirt.Options{MediaDir: t.TempDir()}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet()
	f.taken = uuidTaken
	defer f.close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, f) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	}()

	poll(t, "the first listing", 30*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.listed })
	f.mu.Lock()
	listed := slices.Clone(f.atListed)
	f.mu.Unlock()
	if !slices.Equal(listed, []string{uuidA, uuidB}) {
		t.Errorf("found before Listed %v, want %v (%s, %s: sorted by name; skip excluded; taken refused)", listed, []string{uuidA, uuidB}, nameA, nameB)
	}
	fd, _ := f.has(uuidA)
	if !slices.Equal(fd.Aliases, []string{nameA}) {
		t.Errorf("aliases %v, want [%s]", fd.Aliases, nameA)
	}
	if x, ok := fd.Backend.(*libvirt.Domain); !ok || x.Info().UUID != uuidA || x.Name() != nameA {
		t.Errorf("backend %T %+v", fd.Backend, fd.Backend)
	}

	// Defined later: found.
	nameC, uuidC := libvirttest.Define(t, libvirttest.Spec{Name: group + "-c"})
	poll(t, "the domain defined later", 20*time.Second, func() bool { _, ok := f.has(uuidC); return ok })
	// Undefined: lost.
	libvirttest.Undefine(t, nameB)
	poll(t, "the undefined domain lost", 20*time.Second, func() bool { _, ok := f.has(uuidB); return !ok })
	// Renamed: lost and found again, under its new name.
	renamed := nameC + "-renamed"
	libvirttest.Virsh(t, "domrename", nameC, renamed)
	t.Cleanup(func() { libvirttest.Undefine(t, renamed) })
	poll(t, "the renamed domain found again", 20*time.Second, func() bool {
		fd, ok := f.has(uuidC)
		return ok && slices.Equal(fd.Aliases, []string{renamed})
	})
	f.mu.Lock()
	lost := slices.Clone(f.lost)
	f.mu.Unlock()
	if !slices.Equal(lost, []string{uuidB, uuidC}) {
		t.Errorf("lost %v, want [%s %s]", lost, uuidB, uuidC)
	}
	if got := logs.String(); !strings.Contains(got, "domain undefined; system removed") || !strings.Contains(got, "domain="+nameB) ||
		strings.Contains(got, "system removed domain="+nameC+" ") {
		t.Errorf("log %q: want the undefined %s logged as removed, the renamed %s not", got, nameB, nameC)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDiscoveryUnreachable: a daemon that cannot be reached is an error of
// Run before Listed.
func TestDiscoveryUnreachable(t *testing.T) {
	g, err := libvirt.NewDiscovery("qemu:///system?socket=/nonexistent/libvirt-sock", nil, nil, libvirt.Options{ConnectTimeout: 300 * time.Millisecond}, quiet(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f := newFleet()
	err = g.Run(ctx, f)
	if !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("Run: %v, want ErrUnavailable", err)
	}
	if f.listed {
		t.Error("Listed without a listing")
	}
}

func TestNewDiscoveryPatterns(t *testing.T) {
	if _, err := libvirt.NewDiscovery("", []string{"[a-"}, nil, libvirt.Options{}, nil); err == nil {
		t.Error("a malformed pattern: no error")
	}
}
