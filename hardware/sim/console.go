package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// The simulated host's COM1: silent while the host is off; at each boot
// the firmware prints a banner naming what it booted, a kernel prints a few
// lines, and a tiny shell takes over the line behind a login prompt.

type shellState int

const (
	shellDown  shellState = iota // host off or still in firmware
	shellLogin                   // "login:" shown
	shellReady                   // logged in, prompt shown
)

// maxLine bounds a typed line.
const maxLine = 256

// simConsole is the console state; guarded by Machine.mu.
type simConsole struct {
	out    func([]byte)
	state  shellState
	line   []byte
	user   string
	lastCR bool
	boot   hardware.BootResult
}

// AttachConsole implements hardware.SerialConsole.
func (m *Machine) AttachConsole(out func(p []byte)) func(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.con.out = out
	if m.state == hardware.PowerOn && !m.post {
		// Started powered on: the OS is already up, at its login prompt.
		m.con.state = shellLogin
	}
	return m.consoleInput
}

// SendBreak implements hardware.ConsoleBreaker: the shell treats a break
// like Ctrl-C.
func (m *Machine) SendBreak() {
	m.consoleInput([]byte{0x03})
}

// LastBoot is what the firmware chose at the last simulated boot.
func (m *Machine) LastBoot() hardware.BootResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.con.boot
}

func (m *Machine) printLocked(format string, args ...any) {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	m.outLocked([]byte(s))
}

// bootedLocked runs when the firmware has picked res: the banner, the
// kernel and the login prompt go out on the line.
func (m *Machine) bootedLocked(res hardware.BootResult) {
	m.displayBootLocked(res)
	m.con.boot = res
	m.con.line, m.con.user, m.con.lastCR = nil, "", false
	src := res.Source
	if src == "" {
		src = hardware.BootHdd
	}
	mode := res.Mode
	if mode == "" {
		mode = hardware.BootModeUEFI
	}
	in := m.info
	bios := in.BiosVersion
	if res.BiosVersion != "" {
		bios = res.BiosVersion // an update was just activated
	}
	m.printLocked("\r\n%s BIOS %s\r\n", in.Manufacturer, bios)
	m.printLocked("%s, %d x %s, %g GiB RAM\r\n", in.Model, in.ProcessorCount, in.ProcessorModel, in.MemoryGiB)
	m.printLocked("Boot mode %s\r\n", mode)
	if res.Image != "" {
		m.printLocked("Booting from %s: %s\r\n", src, hardware.RedactURL(res.Image))
	} else {
		m.printLocked("Booting from %s\r\n", src)
	}
	if o := res.Option; o.Reference != "" {
		m.printLocked("%s: %s\r\n", o.Reference, o.DisplayName)
	}
	m.printLocked("\r\n[    0.000000] Linux version 6.1.0-bmcd-sim (sim@bmcd) #1 SMP PREEMPT_DYNAMIC\r\n")
	m.printLocked("[    0.000000] Command line: root=/dev/nvme0n1p2 ro console=ttyS0,115200n8\r\n")
	m.printLocked("[    0.412000] Serial: 8250/16550 driver, 4 ports, IRQ sharing enabled\r\n")
	m.printLocked("[    1.020000] systemd[1]: Hostname set to <%s>.\r\n", in.HostName)
	m.printLocked("\r\nbmcd Simulated Linux 1.0 %s ttyS0\r\n\r\n", in.HostName)
	m.con.state = shellLogin
	m.printLocked("%s login: ", in.HostName)
}

// consoleInput is what the console types.
func (m *Machine) consoleInput(p []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != hardware.PowerOn || m.closed {
		return // nothing listens on the line
	}
	for _, b := range p {
		if m.con.state == shellDown {
			return
		}
		m.consoleByteLocked(b)
	}
}

func (m *Machine) consoleByteLocked(b byte) {
	c := &m.con
	cr := c.lastCR
	c.lastCR = b == '\r'
	switch {
	case b == '\n' && cr:
		// The LF of a CR LF.
	case b == '\r' || b == '\n':
		m.printLocked("\r\n")
		line := string(c.line)
		c.line = nil
		m.lineLocked(line)
	case b == 0x7F || b == 0x08:
		if n := len(c.line); n > 0 {
			c.line = c.line[:n-1]
			m.printLocked("\b \b")
		}
	case b == 0x03: // Ctrl-C
		c.line = nil
		m.printLocked("^C\r\n")
		m.promptLocked()
	case b == 0x04 && len(c.line) == 0 && c.state == shellReady: // Ctrl-D
		m.printLocked("logout\r\n")
		m.logoutLocked()
	case b >= 0x20 && b < 0x7F:
		if len(c.line) < maxLine {
			c.line = append(c.line, b)
			m.outLocked([]byte{b})
		}
	}
}

func (m *Machine) promptLocked() {
	switch m.con.state {
	case shellLogin:
		m.printLocked("%s login: ", m.info.HostName)
	case shellReady:
		m.printLocked("%s@%s:~# ", m.con.user, m.info.HostName)
	}
}

func (m *Machine) logoutLocked() {
	m.con.state, m.con.user = shellLogin, ""
	m.printLocked("\r\nbmcd Simulated Linux 1.0 %s ttyS0\r\n\r\n", m.info.HostName)
	m.promptLocked()
}

// lineLocked acts on one typed line.
func (m *Machine) lineLocked(line string) {
	c := &m.con
	if c.state == shellLogin {
		name := strings.TrimSpace(line)
		if name == "" || strings.ContainsAny(name, " \t") {
			m.promptLocked()
			return
		}
		c.user, c.state = name, shellReady
		m.printLocked("Welcome to bmcd Simulated Linux 1.0. Type 'help' for commands.\r\n")
		m.promptLocked()
		return
	}
	out, next := m.runLocked(strings.Fields(line))
	if out != "" {
		m.printLocked("%s", strings.ReplaceAll(out, "\n", "\r\n"))
	}
	if next {
		m.promptLocked()
	}
}

// runLocked runs a command; next is false when no prompt follows.
func (m *Machine) runLocked(args []string) (out string, next bool) {
	if len(args) == 0 {
		return "", true
	}
	in := m.info
	switch args[0] {
	case "help":
		return "commands: echo, help, hostname, uname [-a], uptime, whoami, bootinfo, exit, reboot, poweroff\n", true
	case "echo":
		return strings.Join(args[1:], " ") + "\n", true
	case "hostname":
		return in.HostName + "\n", true
	case "whoami":
		return m.con.user + "\n", true
	case "uname":
		if len(args) > 1 && args[1] == "-a" {
			return fmt.Sprintf("Linux %s 6.1.0-bmcd-sim #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\n", in.HostName), true
		}
		return "Linux\n", true
	case "uptime":
		up := time.Since(m.bootedAt).Truncate(time.Second)
		return fmt.Sprintf("up %s, 1 user, load average: 0.00, 0.00, 0.00\n", up), true
	case "bootinfo":
		b := m.con.boot
		s := fmt.Sprintf("source=%s mode=%s", b.Source, b.Mode)
		if b.Option.Reference != "" {
			s += " option=" + b.Option.Reference
		}
		if b.Image != "" {
			s += " image=" + hardware.RedactURL(b.Image)
		}
		return s + "\n", true
	case "exit", "logout":
		m.logoutLocked()
		return "", false
	case "poweroff", "shutdown", "halt":
		m.con.state = shellDown
		m.printLocked("[  OK  ] Reached target System Power Off.\r\nreboot: Power down\r\n")
		m.shutdownLocked(false)
		return "", false
	case "reboot":
		m.con.state = shellDown
		m.printLocked("[  OK  ] Reached target System Reboot.\r\nreboot: Restarting system\r\n")
		m.shutdownLocked(true)
		return "", false
	}
	return "-sh: " + args[0] + ": command not found\n", true
}
