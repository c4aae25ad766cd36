package vsphere

import (
	"os"
	"testing"
	"time"
)

// TestMain shortens the property collector's long poll (vcsim's
// WaitForUpdatesEx ignores a client that went away, and a simulator
// stopped by a test waits for the polls in progress) and the audit of
// the VMs known (vcsim does not report every VM that leaves), and ends
// the vcsim process BenchmarkVCenter500 started.
func TestMain(m *testing.M) {
	waitSeconds = 1
	auditEvery = time.Second
	code := m.Run()
	closeBench500()
	os.Exit(code)
}
