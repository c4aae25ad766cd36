package vsphere

import (
	"os"
	"testing"
)

// TestMain shortens the property collector's long poll: vcsim's
// WaitForUpdatesEx ignores a client that went away, and a simulator
// stopped by a test waits for the polls in progress.
func TestMain(m *testing.M) {
	waitSeconds = 1
	os.Exit(m.Run())
}
