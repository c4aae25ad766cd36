package vsphere

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/bmcd/bmcd/hardware"
)

// bench500 is one discovery in front of 500 VMs of vcsim, a process of
// its own, shared by the benchmark's runs (its setup takes a while).
var bench500 struct {
	once    sync.Once
	err     error
	proc    *exec.Cmd
	url     string
	fleet   *fleet
	cancel  context.CancelFunc
	listed  time.Duration
	heap    uint64 // bytes the discovery and its 500 backends hold
	vc      *vim25.Client
	vmNames []string
}

// vcsimBinary is bin/vcsim (make vcsim), or vcsim built now.
func vcsimBinary(dir string) (string, error) {
	bin := filepath.Join("..", "..", "bin", "vcsim")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	bin = filepath.Join(dir, "vcsim")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/bmcd/bmcd/hardware/vsphere/vcsim").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build vcsim: %v\n%s", err, out)
	}
	return bin, nil
}

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func setup500() {
	s := &bench500
	// bmcd's own long poll and audit, not the tests' (TestMain): the
	// tests' watches have all ended by now.
	waitSeconds, auditEvery = 30, 5*time.Minute
	dir, err := os.MkdirTemp("", "vcsim-bench-")
	if err != nil {
		s.err = err
		return
	}
	bin, err := vcsimBinary(dir)
	if err != nil {
		s.err = err
		return
	}
	s.proc = exec.Command(bin, "-l", "127.0.0.1:0", "-vm", "500")
	out, _ := s.proc.StdoutPipe()
	if s.err = s.proc.Start(); s.err != nil {
		return
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "vcsim "); ok {
			s.url = u
			break
		}
	}
	go func() { _, _ = bufio.NewReader(out).WriteTo(discard{}) }()
	u, err := url.Parse(s.url)
	if err != nil || s.url == "" {
		s.err = fmt.Errorf("vcsim printed no URL (%v)", err)
		return
	}
	u.User = nil
	ctx := context.Background()
	s.vc, err = vim25.NewClient(ctx, soap.NewClient(u, true))
	if err == nil {
		err = session.NewManager(s.vc).Login(ctx, url.UserPassword("bench", "bench"))
	}
	if err != nil {
		s.err = err
		return
	}

	before := heapInUse()
	d, err := newDiscovery(DiscoveryParams{URL: u.String(), Username: "user", Password: "pass", Insecure: true}, quietLog, dir)
	if err != nil {
		s.err = err
		return
	}
	s.fleet = newFleet()
	var rctx context.Context
	rctx, s.cancel = context.WithCancel(context.Background())
	start := time.Now()
	go func() { _ = d.Run(rctx, s.fleet) }()
	<-s.fleet.listed
	s.listed = time.Since(start)
	s.heap = heapInUse() - before
	for i := range 500 {
		s.vmNames = append(s.vmNames, vmName(i))
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// closeBench500 ends what setup500 started.
func closeBench500() {
	s := &bench500
	if s.cancel != nil {
		s.cancel()
		s.fleet.closeAll()
	}
	if s.proc != nil && s.proc.Process != nil {
		_ = s.proc.Process.Signal(syscall.SIGTERM)
		_ = s.proc.Wait()
	}
}

// BenchmarkVCenter500 is one bmcd discovery in front of 500 VMs of vcsim
// (a process of its own, so the memory measured is bmcd's): the time
// until all are found and listed (s-list), the memory the discovery and
// its 500 backends hold (MB-heap, KB/VM), a power-on made in vCenter
// until the machine's host hears of it (ms-seen), and, per op, a power-on
// through the backend (PowerOnVM_Task, until the property collector
// reported it). vcsim's property collector copies every watched VM's
// properties at each change it reports, so with 500 VMs its reports take
// it most of the time measured here; vCenter's are incremental.
func BenchmarkVCenter500(b *testing.B) {
	bench500.once.Do(setup500)
	if bench500.err != nil {
		b.Skipf("vcsim cannot run here: %v", bench500.err)
	}
	s := &bench500
	if n, _ := s.fleet.count(); n != 500 {
		b.Fatalf("%d machines found, want 500", n)
	}
	ctx := context.Background()

	// A power-on made in vCenter, seen by the machine's host.
	var seen time.Duration
	const samples = 3
	for i := range samples {
		name := s.vmNames[400+i]
		m, _ := s.fleet.byName(name)
		h := s.fleet.host(m.ID)
		vm, err := find.NewFinder(s.vc).VirtualMachine(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		_, boots := h.seen()
		start := time.Now()
		task, err := vm.PowerOn(ctx)
		if err != nil || task.Wait(ctx) != nil {
			b.Fatal(err)
		}
		for {
			if _, n := h.seen(); n > boots {
				break
			}
			time.Sleep(time.Millisecond)
		}
		seen += time.Since(start)
		if err := m.Backend.(*Backend).Reset(ctx, hardware.ResetForceOff); err != nil {
			b.Fatal(err)
		}
	}

	b.ResetTimer()
	for i := range b.N {
		m, _ := s.fleet.byName(s.vmNames[i%400])
		be := m.Backend.(*Backend)
		if err := be.Reset(ctx, hardware.ResetOn); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := be.Reset(ctx, hardware.ResetForceOff); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(s.listed.Seconds(), "s-list")
	b.ReportMetric(float64(s.heap)/(1<<20), "MB-heap")
	b.ReportMetric(float64(s.heap)/500/1024, "KB/VM")
	b.ReportMetric(float64(seen.Milliseconds())/samples, "ms-seen")
}

// host is the fakeHost of machine id.
func (f *fleet) host(id string) *fakeHost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hosts[id]
}
