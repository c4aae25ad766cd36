package sim

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// screen collects what the simulated host writes to its serial line.
type screen struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *screen) out(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor polls until the screen shows want after offset from.
func (s *screen) waitFor(t *testing.T, from int, want string) int {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		got := s.String()
		if i := strings.Index(got[from:], want); i >= 0 {
			return from + i + len(want)
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("screen never showed %q after offset %d; screen:\n%s", want, from, s.String())
	return 0
}

type cdFirmware struct{}

func (cdFirmware) Boot() hardware.BootResult {
	return hardware.BootResult{Source: hardware.BootCd, Mode: hardware.BootModeLegacy,
		Image:  "http://user:secret@images.example/boot.iso",
		Option: hardware.BootOption{Reference: "Boot0003", DisplayName: "UEFI BMC Virtual CD/DVD", Alias: hardware.BootCd, Slot: "CD"}}
}

func TestConsoleShell(t *testing.T) {
	d := 5 * time.Millisecond
	m := New(Config{ID: "7", Seed: "console", PowerOnDelay: d, PowerOffDelay: d, ShutdownDelay: d})
	m.Attach(testHost{fw: cdFirmware{}})
	defer m.Close()
	var scr screen
	in := m.AttachConsole(scr.out)

	in([]byte("ignored while off\r"))
	if scr.String() != "" {
		t.Fatalf("line not silent while off: %q", scr.String())
	}
	if err := m.Reset(context.Background(), hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	pos := scr.waitFor(t, 0, "sim-7 login: ")
	banner := scr.String()
	for _, want := range []string{"BIOS SIM 2.4.1", "Boot mode Legacy", "Booting from Cd: http://user:xxxxx@images.example/boot.iso",
		"Boot0003: UEFI BMC Virtual CD/DVD", "Linux version"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	if strings.Contains(banner, "secret") {
		t.Error("banner shows the image password")
	}
	if got := m.LastBoot().Source; got != hardware.BootCd {
		t.Errorf("LastBoot %s", got)
	}

	in([]byte("root\r\n"))
	pos = scr.waitFor(t, pos, "root@sim-7:~# ")
	// Backspace edits the line; CR LF runs it once.
	in([]byte("unamx\x7fe -a\r\n"))
	pos = scr.waitFor(t, pos, "\b \b")
	pos = scr.waitFor(t, pos, "Linux sim-7 6.1.0-bmcd-sim #1 SMP PREEMPT_DYNAMIC x86_64 GNU/Linux\r\nroot@sim-7:~# ")
	for cmd, want := range map[string]string{
		"hostname":       "sim-7\r\n",
		"echo  hi   you": "hi you\r\n",
		"whoami":         "root\r\n",
		"bootinfo":       "source=Cd mode=Legacy option=Boot0003 image=http://user:xxxxx@images.example/boot.iso\r\n",
		"frobnicate":     "-sh: frobnicate: command not found\r\n",
		"uptime":         "up ",
		"help":           "commands:",
	} {
		in([]byte(cmd + "\r"))
		pos = scr.waitFor(t, pos, cmd+"\r\n")
		pos = scr.waitFor(t, pos, want)
		pos = scr.waitFor(t, pos, "# ")
	}
	in([]byte("abc\x03"))
	pos = scr.waitFor(t, pos, "abc^C\r\nroot@sim-7:~# ")
	in([]byte("exit\r"))
	pos = scr.waitFor(t, pos, "sim-7 login: ")
	in([]byte("admin\rpoweroff\r"))
	scr.waitFor(t, pos, "reboot: Power down")
	end := time.Now().Add(deadline)
	for {
		st, _ := m.PowerState(context.Background())
		if st == hardware.PowerOff {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("poweroff left the host %s", st)
		}
		time.Sleep(time.Millisecond)
	}
	n := len(scr.String())
	in([]byte("x\r"))
	if len(scr.String()) != n {
		t.Fatal("line not silent after poweroff")
	}
}

func TestConsoleStartsPoweredOn(t *testing.T) {
	m := New(Config{ID: "1", Seed: "console", PoweredOn: true})
	defer m.Close()
	var scr screen
	in := m.AttachConsole(scr.out)
	in([]byte("\r"))
	scr.waitFor(t, 0, "sim-1 login: ")
	m.SendBreak()
	if !strings.HasSuffix(scr.String(), "^C\r\nsim-1 login: ") {
		t.Fatalf("break: %q", scr.String())
	}
}

// A warm reset takes the shell down at once (typing reaches nothing while
// the firmware POSTs) and the host boots again with power applied.
func TestConsoleWarmReset(t *testing.T) {
	m := New(Config{ID: "8", Seed: "console", PowerOnDelay: forever, PoweredOn: true})
	m.Attach(testHost{fw: cdFirmware{}})
	defer m.Close()
	var scr screen
	in := m.AttachConsole(scr.out)
	in([]byte("root\r"))
	pos := scr.waitFor(t, 0, "# ")
	if err := m.Reset(context.Background(), hardware.ResetForceRestart); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.PowerState(context.Background()); s != hardware.PowerOn || !m.InPOST() {
		t.Fatalf("after a warm reset: %s, POST %v", s, m.InPOST())
	}
	in([]byte("echo lost\r"))
	if strings.Contains(scr.String()[pos:], "lost") {
		t.Fatalf("the shell answered during POST: %q", scr.String()[pos:])
	}
	fire(m)
	scr.waitFor(t, pos, "sim-8 login: ")
	if m.InPOST() {
		t.Error("still in POST after the boot")
	}
}
