package rfb

import (
	"bufio"
	"context"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// TestTigerVNC logs in from TigerVNC's vncviewer with VeNCrypt
// X509Plain and an account (VNC_USERNAME and VNC_PASSWORD, the service
// certificate as its X509CA), on a virtual X server (xvfb-run); xdotool
// clicks in its window and types "hi", which must reach the host's
// pointer and keyboard for an account that may control, and not for a
// ReadOnly one. A wrong password opens no window.
func TestTigerVNC(t *testing.T) {
	for _, tool := range []string{"vncviewer", "xvfb-run", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed (tigervnc-viewer, xvfb, xdotool); run `make deps`"
			if testing.Short() {
				t.Skip(msg)
			}
			t.Fatal(msg)
		}
	}
	var mu sync.Mutex
	var failures []string
	e := newEnv(t, func(o *Options) {
		o.OnLogin = func(user, _ string, ok bool) {
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				failures = append(failures, user)
			}
		}
	})
	e.display.show(screen(640, 400, 9))
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: e.srv.o.TLS.Certificates[0].Certificate[0]})
	if err := os.WriteFile(ca, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	script := fmt.Sprintf(`vncviewer -SecurityTypes X509Plain -X509CA %s -Log '*:stderr:30' 127.0.0.1::%s &
v=$!
w=$(timeout $WAIT xdotool search --sync --name '^bmcd 0 - TigerVNC$' | head -1)
if [ -n "$w" ]; then
	echo "window $w"
	xdotool windowfocus --sync $w mousemove --window $w 320 200 click 1 type --delay 50 hi
	sleep 1
fi
kill $v
wait $v
`, ca, port)
	// viewer runs vncviewer, waiting wait seconds for its window.
	viewer := func(user, pass string, wait int) string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "xvfb-run", "-a", "sh", "-c", script)
		cmd.Env = append(os.Environ(), "VNC_USERNAME="+user, "VNC_PASSWORD="+pass, "HOME="+dir, fmt.Sprint("WAIT=", wait))
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	t.Run("administrator", func(t *testing.T) {
		log := viewer(adminUser, adminPass, 20)
		if !strings.Contains(log, "window ") {
			t.Fatalf("no viewer window:\n%s", log)
		}
		if got := fmt.Sprint(e.kb.Take()); got != "[+0B -0B +0C -0C]" {
			t.Errorf("keys %s, want h and i\n%s", got, log)
		}
		ptr := e.ptr.Take()
		want := hardware.PointerEvent{Absolute: true, X: 320 * 32767 / 639, Y: 200 * 32767 / 399, Buttons: hardware.ButtonLeft}
		found := false
		for _, p := range ptr {
			found = found || p == want
		}
		if !found {
			t.Errorf("pointer %v, want a click at %v", ptr, want)
		}
	})
	t.Run("read-only", func(t *testing.T) {
		log := viewer(roUser, roPass, 20)
		if !strings.Contains(log, "window ") {
			t.Fatalf("no viewer window:\n%s", log)
		}
		if k, p := e.kb.Take(), e.ptr.Take(); len(k) != 0 || len(p) != 0 {
			t.Errorf("a ReadOnly account's input reached the host: %v %v", k, p)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		log := viewer(adminUser, "wrong-password", 3)
		if strings.Contains(log, "window ") {
			t.Fatalf("a viewer window with a wrong password:\n%s", log)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(failures) != 1 || failures[0] != adminUser {
			t.Errorf("failed logins %v", failures)
		}
	})
}

// TestTigerVNCLiveness: TigerVNC's vncviewer, idle on an unchanged screen
// with Shift held, answers the empty updates that probe it and stays
// connected with its key held; stopped (SIGSTOP: the kernel keeps its
// TCP connection up), it is disconnected within ProbeInterval +
// ReplyTimeout and its key released.
func TestTigerVNCLiveness(t *testing.T) {
	for _, tool := range []string{"vncviewer", "xvfb-run", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " is not installed (tigervnc-viewer, xvfb, xdotool); run `make deps`"
			if testing.Short() {
				t.Skip(msg)
			}
			t.Fatal(msg)
		}
	}
	e := newEnv(t, func(o *Options) { o.ProbeInterval, o.ReplyTimeout = 500*time.Millisecond, 1500*time.Millisecond })
	e.display.show(screen(640, 400, 9))
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	if err := os.WriteFile(passwd, ObfuscatePassword(vncControl), 0o600); err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(e.addr)
	script := fmt.Sprintf(`vncviewer -SecurityTypes VncAuth -passwd %s -Log '*:stderr:30' 127.0.0.1::%s &
v=$!
w=$(timeout 20 xdotool search --sync --name '^bmcd 0 - TigerVNC$' | head -1)
if [ -z "$w" ]; then kill $v; exit 1; fi
xdotool windowfocus --sync $w keydown shift
echo held
read x
kill -STOP $v
echo stopped
read x
kill -CONT $v
kill $v
wait $v
`, passwd, port)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xvfb-run", "-a", "sh", "-c", script)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var log strings.Builder
	cmd.Stderr = &log
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	step := func(want string) {
		t.Helper()
		if !lines.Scan() || lines.Text() != want {
			t.Fatalf("the viewer did not get to %q (%q):\n%s", want, lines.Text(), log.String())
		}
	}
	step("held")
	eventually(t, "Shift held", func() bool { return fmt.Sprint(e.kb.Held()) == fmt.Sprint([]hardware.KeyCode{hardware.KeyLeftShift}) })
	idle := time.Now().Add(4 * time.Second)
	for time.Now().Before(idle) {
		if len(e.hub.Clients()) != 1 || len(e.kb.Held()) != 1 {
			t.Fatalf("the idle viewer was dropped or let go of Shift (clients %v, held %v):\n%s", e.hub.Clients(), e.kb.Held(), log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Fprintln(stdin)
	step("stopped")
	stopped := time.Now()
	eventually(t, "the stopped viewer dropped", func() bool { return len(e.hub.Clients()) == 0 })
	if d := time.Since(stopped); d > 3*time.Second {
		t.Errorf("dropped %v after it stopped", d)
	}
	if held := e.kb.Held(); len(held) != 0 {
		t.Errorf("keys still held: %v", held)
	}
	fmt.Fprintln(stdin)
}
