package libvirt_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/libvirt"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

// proxy forwards a UNIX socket to libvirtd's, and can cut the line: the
// daemon goes away for bmcd without going away for the other tests.
type proxy struct {
	path  string
	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func newProxy(t *testing.T) *proxy {
	p := &proxy{path: filepath.Join(t.TempDir(), "libvirt-sock")}
	p.listen(t)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) listen(t *testing.T) {
	ln, err := net.Listen("unix", p.path)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", libvirttest.Socket)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
}

// cut closes the listener and every connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// TestReconnect: while the daemon cannot be reached the machine keeps its
// last state and its resets answer ErrUnavailable; once it can again, what
// happened meanwhile is reported (the domain was stopped) and resets work.
func TestReconnect(t *testing.T) {
	libvirttest.Daemon(t)
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "reconnect"})
	p := newProxy(t)
	m, _ := machine(t, "qemu:///system?socket="+p.path, name, libvirt.Options{})
	ctx := context.Background()
	power := func() hardware.PowerState { ps, _ := m.PowerState(ctx); return ps }

	libvirttest.Virsh(t, "start", name)
	poll(t, "the domain started outside bmcd seen on", 10*time.Second, func() bool { return power() == hardware.PowerOn })

	p.cut()
	time.Sleep(100 * time.Millisecond)
	libvirttest.Virsh(t, "destroy", name)
	if err := m.Reset(ctx, hardware.ResetForceOff); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("ForceOff without the daemon: %v, want ErrUnavailable", err)
	}
	if ps := power(); ps != hardware.PowerOn {
		t.Errorf("power %s without the daemon, want the last known On", ps)
	}

	p.listen(t)
	poll(t, "the stop seen after reconnecting", 15*time.Second, func() bool { return power() == hardware.PowerOff })
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatalf("On after reconnecting: %v", err)
	}
	if ps := power(); ps != hardware.PowerOn {
		t.Errorf("power %s after On, want On", ps)
	}
	if got := libvirttest.State(t, name); got != "running" {
		t.Errorf("domain %s, want running", got)
	}
}

// TestPlanAfterReconnect: a boot override set while the daemon cannot be
// reached is written into the definition once it can again.
func TestPlanAfterReconnect(t *testing.T) {
	libvirttest.Daemon(t)
	name, _ := libvirttest.Define(t, libvirttest.Spec{Name: "replan", NIC: true, Disk: true})
	p := newProxy(t)
	m, _ := machine(t, "qemu:///system?socket="+p.path, name, libvirt.Options{})
	poll(t, "the disk first in the definition", 10*time.Second, func() bool { return firstBoot(t, name) == "disk" })

	p.cut()
	time.Sleep(100 * time.Millisecond)
	if err := m.ChangeBoot(hardware.BootChange{Target: hardware.BootPxe, Enabled: hardware.BootContinuous}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the plan is handed, and fails
	if got := firstBoot(t, name); got != "disk" {
		t.Fatalf("first boot %q while the daemon could not be reached", got)
	}
	p.listen(t)
	poll(t, "the NIC first in the definition after reconnecting", 15*time.Second, func() bool { return firstBoot(t, name) == "nic" })
}
