package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// TestExpandBounded: eight clients at once ask a bmcd of 400 systems for
// the whole tree six levels deep, through gofish's client. Each is
// refused, 507 InsufficientStorage once its answer reaches its bounds or
// 503 ServiceTemporarilyUnavailable with Retry-After when it waited too
// long for one of the two turns, and bmcd's memory stays bounded (about
// 50 MiB at its peak; without the bounds, 270 MiB); then an ordinary
// $expand is answered.
func TestExpandBounded(t *testing.T) {
	t.Parallel()
	const systems = 400
	b := startBMC(t, bmcOpts{Systems: systems})
	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: b.URL, Username: b.User, Password: b.Password, Insecure: true})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	var wg sync.WaitGroup
	codes := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			resp, err := c.Get("/redfish/v1/Systems?$expand=*($levels=6)")
			if err == nil {
				resp.Body.Close()
				codes <- "200"
				return
			}
			var re *schemas.Error
			if !errors.As(err, &re) || len(re.ExtendedInfos) == 0 {
				codes <- err.Error()
				return
			}
			id := re.ExtendedInfos[0].MessageID
			codes <- fmt.Sprint(re.HTTPReturnedStatusCode, " ", id[strings.LastIndexByte(id, '.')+1:])
		})
	}
	wg.Wait()
	close(codes)
	for got := range codes {
		if got != "507 InsufficientStorage" && got != "503 ServiceTemporarilyUnavailable" {
			t.Errorf("$expand=*($levels=6) over %d systems: %s; want 507 InsufficientStorage or 503", systems, got)
		}
	}
	peak := peakRSS(t, b)
	t.Logf("bmcd peak RSS %d MiB", peak>>20)
	if !raceEnabled && peak > 160<<20 {
		t.Errorf("bmcd's peak resident memory %d MiB, want under 160 MiB", peak>>20)
	}

	resp, err := c.Get("/redfish/v1/Systems?$expand=.($levels=1)")
	if err != nil {
		t.Fatalf("$expand=.($levels=1) after the refusals: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("$expand=.($levels=1): %d", resp.StatusCode)
	}
}

// peakRSS is the current bmcd process's peak resident memory (VmHWM), in
// bytes.
func peakRSS(t *testing.T, b *bmc) int64 {
	t.Helper()
	b.mu.Lock()
	pid := b.cur.cmd.Process.Pid
	b.mu.Unlock()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}
