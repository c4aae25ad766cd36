package ipmi

import (
	"context"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// machineTimeout bounds one machine operation.
const machineTimeout = 10 * time.Second

// DefaultChassisAnswerWait: Chassis Control answers once the reset has
// ended or after Config.ChassisAnswerWait, whichever comes first: "the implementation is
// allowed to return the completion code prior to performing the selected
// control action" (§28.3, Table 28-4). A VM's reset ends well within it,
// and a board's single press too (the 5.5 s long press), so ipmitool
// returns with the work done; a board's power cycle (10 s) takes longer
// than ipmitool waits in all (10 s with its retries, which are answered
// from the response cache). A reset still running then goes on, bounded
// by resetTimeout, and its failure is logged.
const (
	DefaultChassisAnswerWait = 8 * time.Second
	resetTimeout             = 2 * time.Minute
)

// Get Chassis Capabilities (§28.1). Every chassis function lives in the
// BMC at 20h.
func getChassisCapabilities(r *request) (byte, []byte) {
	var flags byte
	if r.s.m.Capabilities().CanReset(hardware.ResetNmi) {
		flags |= 0x04 // diagnostic interrupt
	}
	return CCOK, []byte{flags, 0x20, 0x20, 0x20, 0x20, 0x20}
}

// Get Chassis Status (§28.2): the machine's real power state, its power
// restore policy, whether IPMI powered it on, and the identify state.
func getChassisStatus(r *request) (byte, []byte) {
	ctx, cancel := context.WithTimeout(r.ctx, machineTimeout)
	defer cancel()
	ps, err := r.s.m.PowerState(ctx)
	if err != nil {
		return machineCC(err), nil
	}
	on := ps != hardware.PowerOff
	policy := byte(3) // unknown
	if p, ok := r.s.m.PowerRestorePolicy(); ok {
		switch p {
		case hardware.RestoreAlwaysOff:
			policy = 0
		case hardware.RestoreLastState:
			policy = 1
		case hardware.RestoreAlwaysOn:
			policy = 2
		}
	}
	b1 := policy << 5
	if on {
		b1 |= 0x01
	}
	var b2 byte
	if cause, ok := r.s.m.PowerOnCause(); on && ok && cause.Origin.Protocol == hardware.ProtocolIPMI {
		b2 |= 0x10
	}
	b3 := byte(0x40) // identify state supported
	switch id := r.s.m.Identify(); {
	case id.Indefinite():
		b3 |= 0x20
	case id.On():
		b3 |= 0x10
	}
	return CCOK, []byte{b1, b2, b3, 0x00}
}

// Chassis Control (§28.3), mapped onto the machine model's reset types.
// What is accepted follows the power state Get Chassis Status reports:
// with the power on (also while the host POSTs or its OS shuts down) every
// control is carried out; with the power off, power cycle and hard reset
// answer D5h as §28.3 recommends (nothing to cycle or reset), as does the
// diagnostic interrupt (no processor to interrupt), while power down and
// soft off succeed with nothing to do.
func chassisControl(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	var rt hardware.ResetType
	switch d[0] & 0x0F {
	case 0:
		rt = hardware.ResetForceOff
	case 1:
		rt = hardware.ResetOn
	case 2:
		rt = hardware.ResetPowerCycle
	case 3:
		rt = hardware.ResetForceRestart
	case 4:
		rt = hardware.ResetNmi
	case 5:
		rt = hardware.ResetGracefulShutdown
	default:
		return CCInvalidData, nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, machineTimeout)
	defer cancel()
	ctx = hardware.WithOrigin(ctx, r.origin())
	if !r.s.m.Capabilities().CanReset(rt) {
		return CCSubFnUnavailable, nil
	}
	ps, err := r.s.m.PowerState(ctx)
	if err != nil {
		return machineCC(err), nil
	}
	powered := ps != hardware.PowerOff // what Get Chassis Status reports
	switch rt {
	case hardware.ResetPowerCycle, hardware.ResetForceRestart, hardware.ResetNmi:
		if !powered {
			return CCNotInPresentState, nil
		}
	}
	cancel()
	// The reset runs on the server's context (Close cancels it; a press
	// under way still ends on its own) and under its WaitGroup.
	done := make(chan error, 1)
	rctx, rcancel := context.WithTimeout(hardware.WithOrigin(r.ctx, r.origin()), resetTimeout)
	r.s.wg.Add(1)
	go func() {
		defer r.s.wg.Done()
		defer rcancel()
		done <- r.s.m.Reset(rctx, rt)
	}()
	wait := time.NewTimer(r.s.cfg.ChassisAnswerWait)
	defer wait.Stop()
	select {
	case err := <-done:
		if err != nil {
			r.s.log.Info("ipmi chassis control refused", "reset", rt, "err", err)
			return machineCC(err), nil
		}
	case <-r.ctx.Done():
		return CCNodeBusy, nil
	case <-wait.C:
		log, user := r.s.log, r.sess.userName
		r.s.wg.Add(1)
		go func() {
			defer r.s.wg.Done()
			if err := <-done; err != nil {
				log.Warn("ipmi chassis control failed after its answer", "reset", rt, "user", user, "err", err)
			}
		}()
	}
	r.s.log.Info("ipmi chassis control", "reset", rt, "user", r.sess.userName)
	return CCOK, nil
}

// Chassis Identify (§28.5): byte 1 is the interval in seconds (default 15,
// 0 turns it off): a temporary indication, shown as a blinking LED
// (Redfish IndicatorLED Blinking). Bit 0 of byte 2 forces it on
// indefinitely: a lit LED (IndicatorLED Lit). Get Chassis Status reports
// them as "temporary (timed) on" and "indefinite on".
func chassisIdentify(r *request) (byte, []byte) {
	d := r.msg.Data
	set := hardware.IdentifySetting{Mode: hardware.IdentifyBlinking, For: 15 * time.Second}
	if len(d) >= 1 {
		set.For = time.Duration(d[0]) * time.Second
		if d[0] == 0 {
			set.Mode = hardware.IdentifyOff
		}
	}
	if len(d) >= 2 {
		if d[1]&0xFE != 0 {
			return CCInvalidData, nil
		}
		if d[1]&1 != 0 {
			set = hardware.IdentifySetting{Mode: hardware.IdentifyLit}
		}
	}
	if err := r.s.m.SetIdentify(set); err != nil {
		return machineCC(err), nil
	}
	return CCOK, nil
}

// Get System Restart Cause (§28.11): "chassis control command" when the
// last reset came over IPMI, otherwise unknown.
func getRestartCause(r *request) (byte, []byte) {
	if r.s.m.LastResetRecord().Origin.Protocol == hardware.ProtocolIPMI {
		return CCOK, []byte{0x01, LANChannel}
	}
	return CCOK, []byte{0x00, 0x00}
}

// Set Power Restore Policy (§28.8). The machine model reports its policy
// but cannot change it, so the supported set is that one policy: 3 (no
// change) reads the set, asking for the policy in force succeeds, any
// other → D6h. A backend that reports no policy supports none, and every
// change → D6h. Reserved values → CCh.
func setPowerRestorePolicy(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 1 {
		return CCLengthInvalid, nil
	}
	if d[0]&0xF8 != 0 {
		return CCInvalidData, nil
	}
	var supported byte
	if p, ok := r.s.m.PowerRestorePolicy(); ok {
		switch p {
		case hardware.RestoreAlwaysOff:
			supported = 0x01
		case hardware.RestoreLastState:
			supported = 0x02
		case hardware.RestoreAlwaysOn:
			supported = 0x04
		}
	}
	switch p := d[0] & 0x07; {
	case p == 3:
	case p > 3:
		return CCInvalidData, nil
	case supported&(1<<p) == 0:
		return CCSubFnUnavailable, nil
	}
	return CCOK, []byte{supported}
}

// origin is who sends r, as the machine records it.
func (r *request) origin() hardware.Origin {
	o := hardware.Origin{Protocol: hardware.ProtocolIPMI, Address: r.from.Addr().String()}
	if r.sess != nil {
		o.User = r.sess.userName
	}
	return o
}
