package vsphere

import (
	"os"
	"testing"
	"time"
)

// TestMain shortens the property collector's long poll (vcsim's
// WaitForUpdatesEx ignores a client that went away, and a simulator
// stopped by a test waits for the polls in progress) and the audit of
// the VMs known (vcsim does not report every VM that leaves).
func TestMain(m *testing.M) {
	waitSeconds = 1
	auditEvery = time.Second
	os.Exit(m.Run())
}
