package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/qemu/qmp"
)

// Timeouts of the process's life.
const (
	// startTimeout bounds QEMU's start up to the point its QMP socket
	// answers.
	startTimeout = 30 * time.Second
	// quitTimeout is how long QEMU has to exit after QMP quit before it
	// is killed.
	quitTimeout = 5 * time.Second
	// bootTimeout: a SeaBIOS POST that names no boot device within it is
	// reported as a boot anyway.
	bootTimeout = 60 * time.Second
	// firmwareRestart: a reset by the guest this soon after a boot is
	// the firmware's own (SeaBIOS resets the machine again after a warm
	// reset), not a new boot.
	firmwareRestart = time.Second
	// attachRetry is how often bmcd tries to reach an attached QEMU that
	// is not answering.
	attachRetry = 2 * time.Second
)

// proc is one QEMU process (or attached QEMU) and bmcd's connections to
// it.
type proc struct {
	cmd    *exec.Cmd // nil when bmcd did not start it
	pid    int
	qmp    *qmp.Client
	serial net.Conn
	debug  net.Conn
	// done is closed once the process is gone (or, for one bmcd did not
	// start, its QMP connection), and the Machine has taken note.
	done chan struct{}
	// Under Machine.mu:
	boot     map[string]int // bootindex of each device now
	detached bool           // bmcd let go of it, and it runs on
	media    string         // node name of the CD's medium, "" if none
	nodes    int            // media nodes added so far
}

// disconnect closes bmcd's connections to the process, which goes on.
func (p *proc) disconnect() {
	for _, c := range []io.Closer{p.serial, p.debug} {
		if c != nil {
			c.Close()
		}
	}
	if p.qmp != nil {
		p.qmp.Close()
	}
}

// unavailable wraps an error reaching QEMU as hardware.ErrUnavailable.
func unavailable(what string, err error) error {
	return fmt.Errorf("qemu: %s: %w: %w", what, hardware.ErrUnavailable, err)
}

// start starts QEMU with the current boot plan and media, connects to
// it, and lets the VM run: the power is on. The caller holds opMu and the
// machine is off.
func (m *Machine) start(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return fmt.Errorf("qemu: machine closed: %w", hardware.ErrState)
	}
	if old := m.proc; old != nil {
		m.mu.Unlock()
		// A guest that powered off is still exiting.
		select {
		case <-old.done:
		case <-time.After(quitTimeout):
			m.kill(old)
		}
		m.mu.Lock()
	}
	boot := m.bootMapLocked()
	media := ""
	if m.media.Inserted && m.media.File != "" {
		media = m.media.File
	}
	m.mu.Unlock()
	if err := m.prepare(); err != nil {
		return fmt.Errorf("qemu: %w: %w", hardware.ErrUnavailable, err)
	}
	pth := m.paths
	pth.Media = media
	for _, s := range []string{pth.QMP, pth.Serial, pth.Debug, pth.VNC} {
		_ = os.Remove(s)
	}
	c := cmdline{cfg: m.cfg, paths: pth, accel: accelerator(m.cfg.Accel), macs: m.macs, boot: boot,
		uuid: m.info.UUID, smbio: smbios(m.info)}
	logf, err := os.Create(pth.Log)
	if err != nil {
		return fmt.Errorf("qemu: %w: %w", hardware.ErrUnavailable, err)
	}
	cmd := exec.Command(m.cfg.Binary, c.args()...)
	cmd.Dir = m.cfg.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a terminal's Ctrl-C reaches bmcd, which
	// stops QEMU itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	m.log.Debug("qemu: starting", "cmd", strings.Join(cmd.Args, " "))
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("qemu: %w: %w", hardware.ErrUnavailable, err)
	}
	logf.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), boot: boot}
	if media != "" {
		p.media, p.nodes = mediaNode(0), 1
	}
	fail := func(err error) error {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("qemu: %w: %w%s", hardware.ErrUnavailable, err, m.logTail())
	}
	sctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if p.qmp, err = m.connectQMP(sctx, "unix", pth.QMP, p, exited); err != nil {
		return fail(err)
	}
	if p.serial, err = dialUnix(sctx, pth.Serial); err != nil {
		p.qmp.Close()
		return fail(fmt.Errorf("serial port: %w", err))
	}
	if m.firmwareSays() {
		if p.debug, err = dialUnix(sctx, pth.Debug); err != nil {
			p.disconnect()
			return fail(fmt.Errorf("debug port: %w", err))
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		p.disconnect()
		return fail(errors.New("machine closed"))
	}
	m.proc = p
	m.epoch++
	if !m.firmwareSays() {
		m.setLocked(hardware.PowerOn)
	} else {
		m.post = true
		m.setLocked(hardware.PowerPoweringOn)
		m.bootWatchdogLocked(p)
	}
	want := ""
	if m.media.Inserted {
		want = m.media.File
	}
	m.mu.Unlock()
	go m.watch(p, exited)
	go m.readSerial(p)
	if p.debug != nil {
		go m.readDebug(p)
	}
	// Media inserted or ejected while QEMU started go in now; a boot plan
	// handed meanwhile applies from the next reset on.
	if want != media {
		if err := m.swapMedium(sctx, p, want); err != nil {
			m.log.Warn("qemu: virtual media changed during the start", "err", err)
		}
	}
	if err := m.applyBoot(sctx, p); err != nil {
		m.log.Warn("qemu: boot plan handed during the start", "err", err)
	}
	if err := p.qmp.Execute(sctx, "cont", nil, nil); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return unavailable("cont", err)
	}
	if !m.firmwareSays() {
		m.mu.Lock()
		if m.proc == p && m.power == hardware.PowerOn {
			m.bootedLocked()
		}
		m.mu.Unlock()
	}
	if m.vnc != nil {
		m.vnc.Kick()
	}
	return nil
}

// connectQMP dials QEMU's QMP socket until it answers, QEMU exits, or ctx
// ends.
func (m *Machine) connectQMP(ctx context.Context, network, addr string, p *proc, exited <-chan struct{}) (*qmp.Client, error) {
	for {
		c, err := qmp.Dial(ctx, network, addr, func(e qmp.Event) { m.event(p, e) })
		if err == nil {
			return c, nil
		}
		select {
		case <-exited:
			return nil, errors.New("QEMU exited")
		case <-ctx.Done():
			return nil, fmt.Errorf("QMP socket: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func dialUnix(ctx context.Context, path string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", path)
}

// logTail is the end of QEMU's log, to show why it failed.
func (m *Machine) logTail() string {
	b, err := os.ReadFile(m.paths.Log)
	if err != nil || len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if len(b) > 2048 {
		b = b[len(b)-2048:]
	}
	return ": " + strings.TrimSpace(string(b))
}

// watch waits for the process to end and takes note: the power is off,
// and a restart asked for (GracefulRestart) starts it again.
func (m *Machine) watch(p *proc, exited <-chan struct{}) {
	select {
	case <-exited:
	case <-p.qmp.Done():
		m.mu.Lock()
		detached := p.detached
		m.mu.Unlock()
		if p.cmd != nil && !detached {
			<-exited
		}
	}
	p.disconnect()
	<-p.qmp.Done() // every event delivered
	m.mu.Lock()
	restart := false
	if m.proc == p {
		m.proc = nil
		m.epoch++
		m.post = false
		if m.power != hardware.PowerOff && !p.detached {
			m.setLocked(hardware.PowerOff)
		}
		restart, m.restart = m.restart && !m.closed, false
	}
	close(p.done)
	m.mu.Unlock()
	if restart {
		go func() {
			m.opMu.Lock()
			defer m.opMu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
			defer cancel()
			m.mu.Lock()
			off := m.proc == nil && m.power == hardware.PowerOff
			m.mu.Unlock()
			if off {
				if err := m.start(ctx); err != nil {
					m.log.Error("qemu: restart after the guest shut down", "err", err)
				}
			}
		}()
	}
}

// kill ends the process: QMP quit, then SIGKILL if it is still there
// after quitTimeout. The caller holds opMu.
func (m *Machine) kill(p *proc) error {
	ctx, cancel := context.WithTimeout(context.Background(), quitTimeout)
	defer cancel()
	_ = p.qmp.Execute(ctx, "quit", nil, nil)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
	} else if p.pid > 0 {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(quitTimeout):
		return fmt.Errorf("qemu: process %d did not exit: %w", p.pid, hardware.ErrUnavailable)
	}
}

// event handles one QMP event of process p.
func (m *Machine) event(p *proc, e qmp.Event) {
	m.log.Debug("qemu: event", "name", e.Name, "data", string(e.Data))
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != p {
		return
	}
	switch e.Name {
	case "SHUTDOWN":
		// The guest powered off (or QEMU was told to quit): off now,
		// though the process takes a moment to exit. An attached QEMU
		// started with -no-shutdown stays, paused.
		m.epoch++
		m.post = false
		m.setLocked(hardware.PowerOff)
		if m.cfg.Attach != nil && m.restart && !m.closed {
			// An attached QEMU stays (-no-shutdown): power it on again.
			m.restart = false
			go func() {
				m.opMu.Lock()
				defer m.opMu.Unlock()
				ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
				defer cancel()
				if err := m.powerOn(ctx); err != nil {
					m.log.Error("qemu: restart after the guest shut down", "err", err)
				}
			}()
		}
	case "RESET":
		if m.power == hardware.PowerOff {
			return
		}
		if m.firmwareSays() {
			// SeaBIOS says on its debug port when it POSTs and boots,
			// in order, where this event may come late (readDebug).
			return
		}
		var d struct {
			Guest bool `json:"guest"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if d.Guest && time.Since(m.bootedAt) < firmwareRestart {
			// SeaBIOS resets the machine itself right after a warm
			// reset ("Attempting a hard reboot"): the same boot.
			return
		}
		m.bootedLocked()
	case "STOP":
		if m.cfg.Attach != nil && m.power != hardware.PowerOff {
			m.epoch++
			m.post = false
			m.setLocked(hardware.PowerOff)
		}
	case "RESUME":
		// An attached VM resumed from off (by bmcd's power on, which
		// reset it first, or by another client): a power on and a boot.
		if m.cfg.Attach != nil && m.power == hardware.PowerOff {
			if m.firmwareSays() {
				m.post = true
				m.setLocked(hardware.PowerPoweringOn)
				m.bootWatchdogLocked(p)
			} else {
				m.setLocked(hardware.PowerOn)
				m.bootedLocked()
			}
		}
	}
}

// firmwareSays reports whether the firmware says when it boots: SeaBIOS
// on its debug port, on the command line bmcd gave QEMU. Otherwise the
// boot is reported when the VM starts or resets.
func (m *Machine) firmwareSays() bool {
	if a := m.cfg.Attach; a != nil {
		return a.Debug != ""
	}
	return m.cfg.Firmware == FirmwareBIOS
}

// bootedLocked reports the boot to the Host.
func (m *Machine) bootedLocked() {
	m.post = false
	m.boots++
	m.bootedAt = time.Now()
	if m.power == hardware.PowerPoweringOn {
		m.setLocked(hardware.PowerOn)
	}
	if m.host != nil {
		m.host.Booted()
	}
}

// setLocked changes the power state and reports it.
func (m *Machine) setLocked(to hardware.PowerState) {
	from := m.power
	if from == to {
		return
	}
	m.power = to
	if m.host != nil {
		m.host.PowerChanged(from, to)
	}
}

// bootWatchdogLocked reports a boot if the firmware names none in
// bootTimeout (its debug output lost).
func (m *Machine) bootWatchdogLocked(p *proc) {
	gen := m.boots
	time.AfterFunc(bootTimeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.proc == p && m.boots == gen && m.post {
			m.log.Warn("qemu: the firmware named no boot device; reporting the boot")
			m.bootedLocked()
		}
	})
}

// readDebug follows SeaBIOS's debug port: "SeaBIOS (version ...)" opens
// a POST; the first "Booting from ..." (or "No bootable device") after
// it is the firmware picking its boot device.
func (m *Machine) readDebug(p *proc) {
	sc := bufio.NewScanner(p.debug)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "SeaBIOS (version"):
			m.mu.Lock()
			if m.proc == p && m.power != hardware.PowerOff && !m.post {
				m.post = true
				m.bootWatchdogLocked(p)
			}
			m.mu.Unlock()
		case strings.HasPrefix(line, "Booting from ") || strings.HasPrefix(line, "No bootable device"):
			m.mu.Lock()
			if m.proc == p && m.post && m.power != hardware.PowerOff {
				m.log.Debug("qemu: firmware boots", "line", line)
				m.firmwareBoots = append(m.firmwareBoots, line)
				if n := len(m.firmwareBoots); n > 16 {
					m.firmwareBoots = m.firmwareBoots[n-16:]
				}
				m.bootedLocked()
			}
			m.mu.Unlock()
		}
	}
}

// prepare creates what the VM needs before its first start: its copy of
// the OVMF variables and the disks to create.
func (m *Machine) prepare() error {
	if m.cfg.Firmware == FirmwareUEFI {
		if _, err := os.Stat(m.paths.Vars); errors.Is(err, os.ErrNotExist) {
			b, err := os.ReadFile(m.cfg.OVMFVars)
			if err != nil {
				return fmt.Errorf("OVMF variables: %w", err)
			}
			if err := os.WriteFile(m.paths.Vars, b, 0o600); err != nil {
				return err
			}
		}
	}
	for _, d := range m.cfg.Disks {
		if _, err := os.Stat(d.Path); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if d.Size <= 0 {
			return fmt.Errorf("disk %s does not exist and has no size to create it with", d.Path)
		}
		img := "qemu-img"
		if dir := dirOf(m.cfg.Binary); dir != "" {
			if _, err := os.Stat(dir + "/qemu-img"); err == nil {
				img = dir + "/qemu-img"
			}
		}
		out, err := exec.Command(img, "create", "-q", "-f", d.Format, d.Path, strconv.FormatInt(d.Size, 10)).CombinedOutput()
		if err != nil {
			return fmt.Errorf("qemu-img create %s: %v: %s", d.Path, err, bytes.TrimSpace(out))
		}
	}
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return ""
}

// smbios is the -smbios type=1 value: the system's identity in the
// firmware's tables, as inspection tools read it.
func smbios(in hardware.Info) string {
	esc := func(s string) string { return strings.ReplaceAll(s, ",", ",,") }
	return "type=1,manufacturer=" + esc(in.Manufacturer) + ",product=" + esc(in.Model) +
		",serial=" + esc(in.SerialNumber) + ",uuid=" + in.UUID
}

// takeUp attaches to a QEMU that runs already: the one of Config.Attach,
// or one a previous bmcd left running (KeepRunning). Without one the
// machine is off. Attach mode keeps trying in the background.
func (m *Machine) takeUp() {
	if a := m.cfg.Attach; a != nil {
		go m.attachLoop()
		return
	}
	b, err := os.ReadFile(m.paths.Pidfile)
	if err != nil {
		return
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.adopt(ctx, "unix", m.paths.QMP, pid); err != nil {
		m.log.Warn("qemu: a QEMU process of this system runs but does not answer on its QMP socket", "pid", pid, "err", err)
		return
	}
	if !m.cfg.KeepRunning {
		m.log.Info("qemu: took up the VM left running by a previous bmcd", "pid", pid)
	}
}

// adopt connects to a running QEMU bmcd did not start (now): its power
// state is what QMP query-status says.
func (m *Machine) adopt(ctx context.Context, network, addr string, pid int) error {
	p := &proc{pid: pid, done: make(chan struct{})}
	c, err := qmp.Dial(ctx, network, addr, func(e qmp.Event) { m.event(p, e) })
	if err != nil {
		return err
	}
	p.qmp = c
	var st struct {
		Status  string `json:"status"`
		Running bool   `json:"running"`
	}
	if err := c.Execute(ctx, "query-status", nil, &st); err != nil {
		c.Close()
		return err
	}
	if err := m.adoptMedia(ctx, p); err != nil {
		m.log.Warn("qemu: CD-ROM state", "err", err)
	}
	if m.cfg.Attach == nil {
		// A VM of a previous bmcd: its devices' boot order as it is.
		p.boot = map[string]int{}
		devs := []string{cdID}
		for i := range m.cfg.Disks {
			devs = append(devs, diskID(i))
		}
		for i := range m.cfg.Networks {
			devs = append(devs, nicID(i))
		}
		for _, d := range devs {
			var idx int
			if err := c.Execute(ctx, "qom-get", map[string]any{"path": qdevPath(d), "property": "bootindex"}, &idx); err == nil && idx >= 0 {
				p.boot[d] = idx
			}
		}
	}
	if a := m.cfg.Attach; a != nil && a.CDROM != "" {
		// The CD's place in the VM's own boot order, restored after a
		// boot from it.
		var idx int
		if err := c.Execute(ctx, "qom-get", map[string]any{"path": qdevPath(a.CDROM), "property": "bootindex"}, &idx); err == nil {
			p.boot = map[string]int{}
			if idx >= 0 {
				p.boot[a.CDROM] = idx
			}
			m.mu.Lock()
			m.cdIndex = idx
			m.mu.Unlock()
		}
	}
	if a := m.cfg.Attach; a != nil {
		var d net.Dialer
		if a.Serial != "" {
			network, addr := splitAddr(a.Serial)
			if p.serial, err = d.DialContext(ctx, network, addr); err != nil {
				m.log.Warn("qemu: serial port of the attached QEMU", "err", err)
			}
		}
		if a.Debug != "" {
			network, addr := splitAddr(a.Debug)
			if p.debug, err = d.DialContext(ctx, network, addr); err != nil {
				m.log.Warn("qemu: debug port of the attached QEMU", "err", err)
			}
		}
	} else {
		p.serial, _ = dialUnix(ctx, m.paths.Serial)
		if m.firmwareSays() {
			p.debug, _ = dialUnix(ctx, m.paths.Debug)
		}
	}
	m.mu.Lock()
	m.proc = p
	m.epoch++
	on := st.Running || st.Status == "running"
	if m.host == nil {
		// Before Attach: the state the machine starts in, unreported.
		m.power = hardware.PowerOff
		if on {
			m.power = hardware.PowerOn
		}
	} else if on {
		m.setLocked(hardware.PowerOn)
	} else {
		m.setLocked(hardware.PowerOff)
	}
	m.mu.Unlock()
	exited := make(chan struct{}) // never closed: the QMP connection tells
	go m.watch(p, exited)
	if p.serial != nil {
		go m.readSerial(p)
	}
	if p.debug != nil {
		go m.readDebug(p)
	}
	if m.vnc != nil {
		m.vnc.Kick()
	}
	return nil
}

// attachLoop keeps bmcd attached to Config.Attach's QEMU: it connects,
// and again after the connection is lost, every attachRetry.
func (m *Machine) attachLoop() {
	network, addr := splitAddr(m.cfg.Attach.QMP)
	wait := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := m.adopt(ctx, network, addr, 0)
		cancel()
		if err == nil {
			wait = 50 * time.Millisecond
			m.mu.Lock()
			p := m.proc
			m.mu.Unlock()
			if p != nil {
				select {
				case <-p.done:
				case <-m.closing:
					return
				}
			}
		}
		select {
		case <-m.closing:
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, attachRetry)
	}
}

// queryStatus is used by tests: what QEMU says of the VM.
func (m *Machine) queryStatus(ctx context.Context) (string, error) {
	m.mu.Lock()
	p := m.proc
	m.mu.Unlock()
	if p == nil {
		return "", fmt.Errorf("no QEMU: %w", hardware.ErrPoweredOff)
	}
	var st struct {
		Status string `json:"status"`
	}
	err := p.qmp.Execute(ctx, "query-status", nil, &st)
	return st.Status, err
}
