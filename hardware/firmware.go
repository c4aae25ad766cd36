package hardware

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Boot is what Host.Booted does: the backend reports that the host
// firmware picks its boot device now. Staged firmware images are activated, and pending
// BIOS settings and the Secure Boot switch take effect, first; then the
// device is chosen as a UEFI firmware with a BMC does:
//
//  1. an active boot override (consumed if Once): a class target boots the
//     first bootable option of that class (boot order first), UefiBootNext
//     the BootNext option, UefiTarget the option at that device path;
//  2. else BootNext, which is cleared whether or not it boots (UEFI 2.10
//     §3.1.2: the boot manager deletes it before trying it);
//  3. else the boot order: the first enabled option that can boot.
//
// An option on a virtual media slot without a medium cannot boot, nor a
// UEFI-only option (UEFI Shell, HTTP boot) in Legacy mode; the choice then
// falls through to the next step. With nothing bootable the firmware enters
// its setup. A backend that declares no boot options boots the override
// target, or the disk. The choice is logged, with every step skipped.
// The boot mode is the BIOS BootMode, or an active one-time override's
// mode; Secure Boot runs (SecureBootCurrent) only in a UEFI boot.
func (m *Machine) Boot() BootResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The boot happens whatever the store says, so the state changes even
	// if it cannot be persisted.
	st := m.st.clone()
	// A staged firmware image is flashed first (firmwareupdate.go), then
	// staged settings take effect at POST, before the firmware picks the
	// boot mode and device: a pending BootMode applies to this very boot.
	m.activateStagedLocked(&st)
	// The RAID controller's staged configuration is applied at POST too,
	// before the firmware enumerates the disks it boots from.
	wake := m.applyVolumeOpsLocked(&st)
	applied := len(st.BiosPending) > 0
	if applied {
		names := make([]string, 0, len(st.BiosPending))
		for k, v := range st.BiosPending {
			st.Bios[k] = v
			names = append(names, k)
		}
		sort.Strings(names)
		st.BiosApplied = &BiosApplied{Time: time.Now().UTC().Truncate(time.Second), Attributes: names}
	}
	st.BiosPending = nil
	// The slot of a virtual-media override, if it has no medium: the boot
	// falls through, and the event says from where.
	emptySlot := ""
	if ov := st.Override; ov.Enabled != BootDisabled {
		if slot, ok := m.slotFor(ov.Target); ok && !st.Media[slot].Inserted {
			emptySlot = slot
		}
	}
	res, via, notes := m.chooseLocked(&st)
	// Secure Boot is a UEFI mechanism: a Legacy boot runs without it.
	st.SecureBootCurrent = st.SecureBoot && res.Mode == BootModeUEFI
	st.POST = false // the POST ends here
	if err := m.store.Put(machinesBucket, m.id, &st); err != nil {
		m.log.Error("persist after boot", "err", err)
	}
	m.st = st
	wake()
	res.BiosVersion = m.biosVersionLocked()
	m.lastBoot = res
	if applied {
		m.logLocked(Event{Kind: EventSettings, Severity: SeverityOK, Message: "Pending BIOS settings applied"})
	}
	msg := fmt.Sprintf("Host firmware booting from %s in %s mode", res.Source, res.Mode)
	if res.Image != "" {
		msg += " image " + RedactURL(res.Image)
	}
	var detail []string
	if o := res.Option; o.Reference != "" {
		detail = append(detail, fmt.Sprintf("%s %q", o.Reference, o.DisplayName))
	}
	if via != "" {
		detail = append(detail, "by "+via)
	}
	d := strings.Join(detail, ", ")
	if len(notes) > 0 {
		d += " (" + strings.Join(notes, "; ") + ")"
	}
	d = strings.TrimSpace(d)
	if d != "" {
		msg += ", " + d
	}
	m.logLocked(Event{Kind: EventBoot, Severity: SeverityOK, Message: msg,
		Source: res.Source, Mode: res.Mode, Image: RedactURL(res.Image), Slot: emptySlot, Detail: d})
	m.planChanged() // an override or BootNext consumed, settings applied
	return res
}

// chooseLocked picks the boot device, consuming a one-time override and
// BootNext in st; via says which rule chose, notes what was skipped.
func (m *Machine) chooseLocked(st *state) (res BootResult, via string, notes []string) {
	res = BootResult{Mode: biosMode(st.Bios, m.defaultMode()), Time: time.Now()}
	boot := func(o BootOption, how string) (BootResult, string, []string) {
		res.Source, res.Option = o.Alias, o
		if o.Slot != "" {
			res.Image = st.Media[o.Slot].Image
		}
		return res, how, notes
	}
	skip := func(what string, why string) { notes = append(notes, what+" skipped: "+why) }

	ov := st.Override
	if ov.Enabled == BootOnce {
		st.Override.Enabled, st.Override.Target = BootDisabled, BootNone
	}
	if ov.Enabled != BootDisabled && ov.Target != BootNone && m.BootOverrideSupported() {
		if ov.Mode != "" && ov.Enabled == BootOnce {
			// A one-time override's mode is that boot's; a continuous one
			// boots in the BIOS BootMode, which setting its mode changed.
			res.Mode = ov.Mode
		}
		what := "boot override " + string(ov.Target)
		switch ov.Target {
		case BootUefiBootNext:
			if i, ok := m.optIdx[st.BootNext]; ok {
				st.BootNext = "" // consumed with the override that named it
				why := m.unbootable(m.opts[i], st, res.Mode)
				if why == "" {
					return boot(m.opts[i], "boot override UefiBootNext")
				}
				skip(what+" ("+m.opts[i].Reference+")", why)
			} else {
				skip(what, "no BootNext")
			}
		case BootUefiTarget:
			if o, ok := m.optionByPath(ov.UefiTarget); !ok {
				skip(what, "no boot option at "+ov.UefiTarget)
			} else if why := m.unbootable(o, st, res.Mode); why != "" {
				skip(what+" ("+o.Reference+")", why)
			} else {
				return boot(o, "boot override UefiTarget")
			}
		default:
			cands := m.classOptions(st, ov.Target)
			if len(cands) == 0 {
				// No option of that class (BiosSetup, Diags, or a backend
				// without options): the firmware goes there itself.
				if slot, ok := m.slotFor(ov.Target); ok {
					if md := st.Media[slot]; md.Inserted {
						res.Source, res.Image = ov.Target, md.Image
						return res, "boot override", notes
					}
					skip(what, "no medium in "+slot)
					break
				}
				res.Source = ov.Target
				return res, "boot override", notes
			}
			var whys []string
			for _, o := range cands {
				why := m.unbootable(o, st, res.Mode)
				if why == "" {
					return boot(o, "boot override")
				}
				if !slices.Contains(whys, why) {
					whys = append(whys, why)
				}
			}
			skip(what, strings.Join(whys, ", "))
		}
	}

	if st.BootNext != "" {
		ref := st.BootNext
		st.BootNext = ""
		if i, ok := m.optIdx[ref]; ok {
			why := m.unbootable(m.opts[i], st, res.Mode)
			if why == "" {
				return boot(m.opts[i], "BootNext")
			}
			skip("BootNext "+ref, why)
		}
	}

	if len(m.opts) == 0 {
		res.Source = BootHdd
		return res, "", notes
	}
	for _, ref := range m.orderLocked(st) {
		o := m.opts[m.optIdx[ref]]
		if slices.Contains(st.BootDisabled, ref) {
			continue
		}
		if why := m.unbootable(o, st, res.Mode); why != "" {
			skip(ref, why)
			continue
		}
		return boot(o, "BootOrder")
	}
	res.Source = BootBiosSetup
	notes = append(notes, "nothing bootable in the boot order: entering setup")
	return res, "", notes
}

// classOptions are the options of class b: enabled ones in boot order
// first, then the others in the backend's order.
func (m *Machine) classOptions(st *state, b BootSource) []BootOption {
	var out []BootOption
	seen := map[string]bool{}
	for _, ref := range m.orderLocked(st) {
		if o := m.opts[m.optIdx[ref]]; o.Alias == b && !slices.Contains(st.BootDisabled, ref) {
			out, seen[ref] = append(out, o), true
		}
	}
	for _, o := range m.opts {
		if o.Alias == b && !seen[o.Reference] {
			out = append(out, o)
		}
	}
	return out
}

// unbootable says why o cannot boot now, or "".
func (m *Machine) unbootable(o BootOption, st *state, mode BootMode) string {
	if o.Slot != "" && !st.Media[o.Slot].Inserted {
		return "no medium in " + o.Slot
	}
	if mode == BootModeLegacy && uefiOnly(o.Alias) {
		return "UEFI only, booting in Legacy mode"
	}
	return ""
}

func biosMode(bios map[string]any, def BootMode) BootMode {
	if s, ok := bios["BootMode"].(string); ok && (s == string(BootModeUEFI) || s == string(BootModeLegacy)) {
		return BootMode(s)
	}
	return def
}

func (m *Machine) slotFor(b BootSource) (string, bool) {
	for _, s := range m.caps.MediaSlots {
		if s.Boot == b {
			return s.ID, true
		}
	}
	return "", false
}

// LastBoot is what the firmware booted last (zero Time if never).
func (m *Machine) LastBoot() BootResult {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastBoot
}
