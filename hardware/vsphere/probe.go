package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// Methods of the vSphere API that not every server has: SendNMI is in the
// vSphere 8 API, and vcsim has neither.
const (
	methodSendNMI    = "SendNMI"
	methodScreenshot = "CreateScreenshot_Task"
)

// supports reports whether machines made now declare what needs method m:
// true unless a probe or a call found the server lacks it.
func (c *conn) supports(m string) bool {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	v, ok := c.probed[m]
	return !ok || v
}

// lacks records that the server answered MethodNotFound for m: machines
// made from now on do not declare it.
func (c *conn) lacks(m string) {
	c.probeMu.Lock()
	defer c.probeMu.Unlock()
	c.probed[m] = false
}

// probe finds out, once per server, whether it has SendNMI and
// CreateScreenshot_Task, by calling them on a powered-off VM among vms: a
// server that has them refuses (InvalidPowerState), one that has not
// answers MethodNotFound, and neither touches a running guest. Without a
// powered-off VM both are assumed until a call says otherwise.
func (c *conn) probe(ctx context.Context, vms []vmState) {
	c.probeMu.Lock()
	_, done := c.probed[methodSendNMI]
	c.probeMu.Unlock()
	if done {
		return
	}
	var off *vmState
	for i := range vms {
		if vms[i].Power == types.VirtualMachinePowerStatePoweredOff && vms[i].reachable() && !vms[i].template() {
			off = &vms[i]
			break
		}
	}
	if off == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	has := map[string]bool{}
	_ = c.do(ctx, "probe", func(vc *vim25.Client) error {
		_, err := methods.SendNMI(ctx, vc, &types.SendNMI{This: off.Ref})
		has[methodSendNMI] = !isMethodNotFound(err)
		res, err := methods.CreateScreenshot_Task(ctx, vc, &types.CreateScreenshot_Task{This: off.Ref})
		has[methodScreenshot] = !isMethodNotFound(err)
		if err == nil && res != nil {
			_ = waitTask(ctx, vc, res.Returnval) // it fails: the VM is off
		}
		return nil
	})
	c.probeMu.Lock()
	for m, v := range has {
		c.probed[m] = v
	}
	c.probeMu.Unlock()
	c.log.Info("vsphere API probed", "SendNMI", has[methodSendNMI], "CreateScreenshot", has[methodScreenshot])
}
