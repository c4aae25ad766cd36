package ipmi

import (
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Boot option parameters (Table 28-14).
const (
	bootSetInProgress = 0
	bootServicePart   = 1
	bootServiceScan   = 2
	bootFlagClearing  = 3
	bootInfoAck       = 4
	bootFlags         = 5
	bootInitiatorInfo = 6
)

// bootParamLen is the data length of each supported parameter.
var bootParamLen = map[byte]int{
	bootSetInProgress: 1,
	bootServicePart:   1,
	bootServiceScan:   1,
	bootFlagClearing:  1,
	bootInfoAck:       2,
	bootFlags:         5,
	bootInitiatorInfo: 9,
}

// setInProgressTimeout releases a "set in progress" claim a console never
// released, so one crashed client cannot block everyone's 81h forever.
const setInProgressTimeout = 60 * time.Second

// bootParams is the per-system boot options state. The machine model's
// boot override is the truth for target, persistence and mode; the raw
// parameter 5 bytes last written over IPMI are kept beside it (semi-
// volatile, as the specification defines them) so a read-back returns
// exactly what was set - CMOS clear, console redirection and all - as long
// as the machine still holds the override that write produced.
type bootParams struct {
	mu         sync.Mutex
	inProgress bool
	claimedAt  time.Time
	locked     [8]bool // "parameter marked invalid / locked"
	data       map[byte][]byte

	raw5    []byte
	raw5For hardware.BootOverride
}

func newBootParams() *bootParams {
	b := &bootParams{}
	b.reset()
	return b
}

// reset restores the power-up defaults (all zeros, §28.13 note 1).
func (b *bootParams) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inProgress, b.locked, b.raw5 = false, [8]bool{}, nil
	b.data = map[byte][]byte{}
	for p, n := range bootParamLen {
		if p != bootSetInProgress && p != bootFlags {
			b.data[p] = make([]byte, n)
		}
	}
}

// bootDevices maps the boot device selector (param 5, data 2 bits 5:2) to
// the machine model. Floppy/primary removable media is what USB sticks
// present as; remote media selectors map to the virtual CD.
var bootDevices = map[byte]hardware.BootSource{
	0x0: hardware.BootNone,
	0x1: hardware.BootPxe,
	0x2: hardware.BootHdd,
	0x3: hardware.BootHdd, // safe mode
	0x4: hardware.BootDiags,
	0x5: hardware.BootCd,
	0x6: hardware.BootBiosSetup,
	0x7: hardware.BootUsb, // remote floppy / primary removable media
	0x8: hardware.BootCd,  // remote CD/DVD
	0x9: hardware.BootCd,  // primary remote media
	0xB: hardware.BootHdd, // remote hard drive
	0xF: hardware.BootUsb, // floppy / primary removable media
}

// deviceSelector is the selector a machine boot source reads back as.
func deviceSelector(t hardware.BootSource) byte {
	switch t {
	case hardware.BootPxe, hardware.BootUefiHttp:
		return 0x1
	case hardware.BootHdd:
		return 0x2
	case hardware.BootDiags:
		return 0x4
	case hardware.BootCd:
		return 0x5
	case hardware.BootBiosSetup:
		return 0x6
	case hardware.BootUsb, hardware.BootFloppy:
		return 0xF
	}
	return 0x0 // None, UefiShell
}

// flagsFromOverride renders a machine override as parameter 5. Its BIOS
// boot type bit (efiboot) is the mode the next boot uses: the override's
// while a one-time override is active, else the BIOS BootMode. device is
// the class the override boots (hardware.Machine.BootOverrideDevice): for
// UefiBootNext and UefiTarget, that of the boot option they name.
func flagsFromOverride(ov hardware.BootOverride, device hardware.BootSource) []byte {
	d := make([]byte, 5)
	if ov.Enabled != hardware.BootDisabled && ov.Enabled != "" {
		d[0] |= 0x80
		if ov.Enabled == hardware.BootContinuous {
			d[0] |= 0x40
		}
		d[1] = deviceSelector(device) << 2
	}
	if ov.Mode == hardware.BootModeUEFI {
		d[0] |= 0x20
	}
	return d
}

// Get System Boot Options (§28.13).
func getBootOptions(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	sel := d[0] & 0x7F
	if _, ok := bootParamLen[sel]; !ok {
		return ccParamNotSupported, nil
	}
	b := r.s.boot
	b.mu.Lock()
	defer b.mu.Unlock()
	head := []byte{0x01, sel}
	if b.locked[sel] {
		head[1] |= 0x80
	}
	switch sel {
	case bootSetInProgress:
		if b.inProgress && r.now.Sub(b.claimedAt) > setInProgressTimeout {
			b.inProgress = false
		}
		var v byte
		if b.inProgress {
			v = 1
		}
		return CCOK, append(head, v)
	case bootInfoAck:
		// The write mask reads as 00h.
		return CCOK, append(head, 0x00, b.data[bootInfoAck][1])
	case bootFlags:
		cur := r.s.m.BootOverride()
		if b.raw5 != nil && cur == b.raw5For {
			// The BIOS boot type bit always says the mode the next boot
			// uses (the machine's one truth), whatever was written.
			raw := append([]byte(nil), b.raw5...)
			raw[0] &^= 0x20
			if cur.Mode == hardware.BootModeUEFI {
				raw[0] |= 0x20
			}
			return CCOK, append(head, raw...)
		}
		return CCOK, append(head, flagsFromOverride(cur, r.s.m.BootOverrideDevice())...)
	}
	return CCOK, append(head, b.data[sel]...)
}

// Set System Boot Options (§28.12).
func setBootOptions(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	sel, lock := d[0]&0x7F, d[0]&0x80 != 0
	n, ok := bootParamLen[sel]
	if !ok {
		return ccParamNotSupported, nil
	}
	data := d[1:]
	if len(data) != 0 && len(data) != n {
		return CCLengthInvalid, nil
	}
	b := r.s.boot
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(data) == 0 {
		// Only the parameter valid bit changes.
		b.locked[sel] = lock
		return CCOK, nil
	}
	switch sel {
	case bootSetInProgress:
		if b.inProgress && r.now.Sub(b.claimedAt) > setInProgressTimeout {
			b.inProgress = false
		}
		switch data[0] & 0x03 {
		case 0: // set complete
			b.inProgress = false
		case 1: // set in progress
			if b.inProgress {
				return ccSetInProgress, nil
			}
			b.inProgress, b.claimedAt = true, r.now
		case 2: // commit write: writes take effect at once, nothing to roll back
			b.inProgress, b.claimedAt = true, r.now
		default:
			return CCInvalidData, nil
		}
	case bootInfoAck:
		mask := data[0]
		cur := b.data[bootInfoAck]
		cur[1] = cur[1]&^mask | data[1]&mask
	case bootFlags:
		if cc := r.s.setBootFlags(r, data); cc != CCOK {
			return cc, nil
		}
	default:
		b.data[sel] = append([]byte(nil), data...)
	}
	b.locked[sel] = lock
	return CCOK, nil
}

// setBootFlags applies parameter 5 to the machine's boot override; the
// caller holds b.mu.
func (s *Server) setBootFlags(r *request, data []byte) byte {
	raw := append([]byte(nil), data...)
	valid, persistent, efi := raw[0]&0x80 != 0, raw[0]&0x40 != 0, raw[0]&0x20 != 0
	if persistent && valid && r.priv < PrivAdmin && s.cfg.StrictBootPrivilege {
		// Table G-1 note 6: the persistent bit takes ADMINISTRATOR. Only
		// when configured so: OPERATOR sets it on the common BMCs.
		return CCInsufficientPriv
	}
	target, ok := bootDevices[raw[1]>>2&0x0F]
	if !ok {
		return CCInvalidData
	}
	ov := hardware.BootOverride{Target: hardware.BootNone, Enabled: hardware.BootDisabled}
	if valid {
		ov.Target, ov.Enabled = target, hardware.BootOnce
		if persistent {
			ov.Enabled = hardware.BootContinuous
		}
		mode := hardware.BootModeLegacy
		if efi {
			mode = hardware.BootModeUEFI
		}
		// The BIOS boot type bit always says a mode; one the machine
		// cannot boot in is left as it is rather than failing "chassis
		// bootdev" on UEFI-only machines. Everything else is checked by
		// the machine (SetBootOverride), whose refusal is CCh.
		if s.m.BootAllowable().AllowsMode(mode) {
			ov.Mode = mode
		}
	} else {
		// The persistent bit is cleared with the valid bit (§28.13).
		raw[0] &^= 0x40
	}
	if err := s.m.SetBootOverride(ov); err != nil {
		return machineCC(err)
	}
	b := s.boot
	b.raw5, b.raw5For = nil, hardware.BootOverride{}
	if s.m.BootOverrideSupported() {
		b.raw5, b.raw5For = raw, s.m.BootOverride()
	}
	s.log.Info("ipmi boot flags set", "target", ov.Target, "enabled", ov.Enabled, "mode", ov.Mode, "user", r.sess.userName)
	return CCOK
}
