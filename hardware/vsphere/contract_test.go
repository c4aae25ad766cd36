package vsphere

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// TestContract runs the backend contract against VMs of the simulator,
// each subtest on a VM of its own, with VMware Tools running in the
// guests (vcsim's RebootGuest needs them) and the simulator given SendNMI
// and CreateScreenshot_Task (vCenter 8 has both): every reset type, the
// one-time boot override written before the power-on, media uploaded to
// the datastore, and the screenshots as a display.
func TestContract(t *testing.T) {
	if testing.Short() {
		t.Skip("the simulator: not in -short")
	}
	v := newVCenter(t, 12, true)
	v.toolsRunning()
	var next atomic.Int32
	backendtest.Run(t, backendtest.Config{
		Timeout: 20 * time.Second,
		New: func(t *testing.T) hardware.Backend {
			return v.backend(t, vmName(int(next.Add(1))-1))
		},
	})
	if v.nmis.Load() == 0 {
		t.Error("no NMI reached a VM")
	}
	if v.screenshots.Load() == 0 {
		t.Error("no screenshot was taken")
	}
}
