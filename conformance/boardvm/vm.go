package boardvm

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Forward is a port of the VM's forwarded from 127.0.0.1 on the build
// machine (QEMU's user-mode network).
type Forward struct {
	Proto     string // "tcp" or "udp"
	GuestPort int
	HostPort  int // filled by Boot: an ephemeral port
}

// VM is a QEMU process running a kernel and initramfs under TCG, its
// serial console read line by line.
type VM struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	cond chan struct{} // closed and replaced at each new line
	done chan struct{}
}

// Options for Boot.
type Options struct {
	Kernel    string // bzImage
	Initramfs string
	Append    string // kernel command line, after console=ttyS0
	MemoryMiB int    // 1024 if zero
	Forwards  []*Forward
}

// Boot starts QEMU (qemu-system-x86_64, TCG, one virtio-net card on the
// user-mode network with opts.Forwards) and returns once it runs. The
// VM's serial console is its output (Output, WaitFor).
func Boot(opts Options) (*VM, error) {
	if opts.MemoryMiB == 0 {
		opts.MemoryMiB = 1024
	}
	nic := "user,model=virtio-net-pci"
	for _, f := range opts.Forwards {
		p, err := freePort(f.Proto)
		if err != nil {
			return nil, err
		}
		f.HostPort = p
		nic += fmt.Sprintf(",hostfwd=%s:127.0.0.1:%d-:%d", f.Proto, p, f.GuestPort)
	}
	args := []string{"-accel", "tcg", "-m", fmt.Sprint(opts.MemoryMiB), "-smp", "1", "-nodefaults",
		"-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", opts.Kernel, "-initrd", opts.Initramfs,
		"-append", "console=ttyS0 panic=-1 " + opts.Append, "-nic", nic}
	cmd := exec.Command("qemu-system-x86_64", args...)
	// QEMU dies with the test binary (a -timeout panic runs no cleanup),
	// in a process group of its own.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	vm := &VM{cmd: cmd, cond: make(chan struct{}), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("boardvm: qemu: %w", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			vm.mu.Lock()
			vm.out.WriteString(strings.TrimRight(sc.Text(), "\r") + "\n")
			close(vm.cond)
			vm.cond = make(chan struct{})
			vm.mu.Unlock()
		}
		_ = cmd.Wait()
		close(vm.done)
	}()
	return vm, nil
}

// ErrForward is in the error of a VM that ended because a forwarded port
// was taken between freePort and QEMU's bind: boot again.
const ErrForward = "Could not set up host forwarding rule"

// freePort is a port that was free on 127.0.0.1 a moment ago.
func freePort(proto string) (int, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Output is everything the serial console printed so far.
func (vm *VM) Output() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.out.String()
}

// WaitFor waits until the console has printed a line containing s, from
// the start, and returns the output by then. Errors: the VM ended or
// ctx ended first.
func (vm *VM) WaitFor(ctx context.Context, s string) (string, error) {
	for {
		vm.mu.Lock()
		out, cond := vm.out.String(), vm.cond
		vm.mu.Unlock()
		if strings.Contains(out, s) {
			return out, nil
		}
		select {
		case <-cond:
		case <-vm.done:
			return vm.Output(), fmt.Errorf("boardvm: the VM ended before printing %q", s)
		case <-ctx.Done():
			return out, fmt.Errorf("boardvm: %q not printed: %w", s, ctx.Err())
		}
	}
}

// Stop kills QEMU and waits for it.
func (vm *VM) Stop() {
	_ = vm.cmd.Process.Kill()
	select {
	case <-vm.done:
	case <-time.After(10 * time.Second):
	}
}
