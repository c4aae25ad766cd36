package conformance

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// browserDir holds the browser suite: console.mjs and its driver,
// playwright-core (make deps installs it with npm ci; the test does when
// it is missing).
const browserDir = "browser"

// docsScreenshot is the console's picture in docs/console.md, made by
// TestConsoleBrowser when it is missing or BMCD_UPDATE_DOCS=1.
const docsScreenshot = "../docs/console.png"

// TestConsoleBrowser drives the web console as an operator does, in
// Debian's chromium (headless, through playwright-core; see
// browser/console.mjs): it logs in through the form, powers the machine on
// and sees the POST screen and the firmware on the serial pane, types a
// line the host echoes, lights Num Lock, pastes text, loses control to
// another page that takes over (and is told), reboots the host with
// Ctrl+Alt+Del from the chords, uploads an ISO through the page and
// inserts it into the CD slot with a one-time boot from it, presses Reset
// and sees the firmware boot the CD, toggles the identify LED, downloads
// a screenshot, uses the all-systems page and logs out; a ReadOnly
// account's page meanwhile sees the typing live and cannot type. The
// screen is noVNC's view of /kvm/0/vnc when the build embeds noVNC.
// Skipped only when chromium cannot start.
func TestConsoleBrowser(t *testing.T) {
	t.Parallel()
	requireClient(t, "node", func() error { _, err := exec.LookPath("node"); return err })
	requireClient(t, "chromium", func() error { _, err := os.Stat("/usr/bin/chromium"); return err })
	dir, err := filepath.Abs(browserDir)
	if err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(dir, "node_modules", "playwright-core", "package.json")) {
		requireClient(t, "npm", func() error { _, err := exec.LookPath("npm"); return err })
		npm := exec.Command("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		npm.Dir = dir
		if out, err := npm.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}

	b := startBMC(t, bmcOpts{Systems: 2})
	for _, p := range []string{"/kvm/0/vnc", "/kvm/0/viewers", "/console/redfish/v1/Systems"} {
		b.Must(t, http.StatusUnauthorized, request{Method: http.MethodGet, Path: p, NoAuth: true})
	}
	b.Must(t, http.StatusCreated, request{Method: http.MethodPost, Path: "/redfish/v1/AccountService/Accounts",
		Body: map[string]any{"UserName": "viewer", "Password": "Viewer-pass1", "RoleId": "ReadOnly"}})

	out := t.TempDir()
	shot := filepath.Join(out, "console.png")
	update := os.Getenv("BMCD_UPDATE_DOCS") == "1" || !fileExists(docsScreenshot)
	cmd := exec.Command("node", filepath.Join(dir, "console.mjs"))
	cmd.Dir = out
	cmd.Env = append(clientEnv(),
		"BMCD_URL="+b.URL, "ADMIN_USER="+b.User, "ADMIN_PASSWORD="+b.Password,
		"VIEWER_USER=viewer", "VIEWER_PASSWORD=Viewer-pass1", "SCREENSHOT="+shot, "OUT_DIR="+out)
	var buf lockedWriter
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the browser suite did not finish within 3 minutes:\n%s", buf.String())
	}
	switch code := cmd.ProcessState.ExitCode(); code {
	case 0:
		t.Logf("browser suite:\n%s", buf.String())
		// With noVNC embedded (make web), the screen is the VNC view.
		if fileExists("../kvm/web/static/vendor/novnc/core/rfb.js") && !strings.Contains(buf.String(), "(vnc view") {
			t.Errorf("the page did not show the screen through noVNC")
		}
	case 3:
		t.Skipf("chromium cannot start, so the web console is not tested in a browser:\n%s", buf.String())
	default:
		t.Fatalf("browser suite failed (exit %d):\n%s\nbmcd output:\n%s", code, buf.String(), tail(b.Output(), 4000))
	}

	// The console's login is in the audit log, as Redfish's are.
	entries := b.Get(t, "/redfish/v1/Managers/0/LogServices/AuditLog/Entries")
	var seen []string
	members, _ := entries["Members"].([]any)
	for _, m := range members {
		e, _ := m.(map[string]any)
		seen = append(seen, fmt.Sprintf("%v|%v|%v|%v", e["MessageId"], e["MessageArgs"], e["Username"], e["OriginAddress"]))
	}
	want := "AccountSecurity.1.0.SuccessfulLogin|[viewer 127.0.0.1 Web console]|viewer|https://127.0.0.1"
	if !slices.Contains(seen, want) {
		t.Errorf("audit log lacks %s; it has:\n%s", want, strings.Join(seen, "\n"))
	}

	if update {
		png, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docsScreenshot, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", docsScreenshot, len(png))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
