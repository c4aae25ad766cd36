package libvirt

import (
	"context"
	"fmt"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
)

// BootTargets implements hardware.BootControl: PXE (with a NIC), the CD
// (the media slot and any other CD-ROM drive), the disk, and a boot
// option by device path or reference.
func (x *Domain) BootTargets() []hardware.BootSource { return x.lo.targets() }

// BootModes implements hardware.BootControl: the domain's firmware first,
// then the other one when the hypervisor has it (OVMF for UEFI).
func (x *Domain) BootModes() []hardware.BootMode {
	return append([]hardware.BootMode(nil), x.lo.modes...)
}

// BootOptions implements hardware.BootControl: one option per disk,
// CD-ROM drive and NIC, in that order (the default boot order).
func (x *Domain) BootOptions() []hardware.BootOption { return x.lo.options() }

// BiosRegistry implements hardware.FirmwareSettings: no attributes of its
// own (the Machine keeps BootMode).
func (x *Domain) BiosRegistry() hardware.BiosRegistry { return hardware.BiosRegistry{} }

// SecureBootToggle implements hardware.FirmwareSettings: Secure Boot can
// be switched when an OVMF Secure Boot build is installed and the machine
// is a q35.
func (x *Domain) SecureBootToggle() bool { return x.lo.secureBoot() }

// SetNextBoot implements hardware.BootControl: it writes the plan into the
// domain's persistent definition (applyPlan) and defines it again, when
// anything changed. A running domain goes on with the definition it
// started with; the next start (or a restart: Reset) boots the plan.
// Errors: ErrUnavailable when the daemon cannot be reached or refuses the
// definition.
func (x *Domain) SetNextBoot(ctx context.Context, p hardware.BootPlan) error {
	x.mu.Lock()
	x.plan = &p
	x.mu.Unlock()
	x.planMu.Lock()
	defer x.planMu.Unlock()
	return x.writePlan(ctx, p)
}

// writePlan writes p into the definition; called with planMu held.
func (x *Domain) writePlan(ctx context.Context, p hardware.BootPlan) error {
	return x.editDefinition(ctx, func(def *libvirtxml.Domain) {
		if applyPlan(def, p, x.lo) {
			x.mu.Lock()
			x.resetNVRAM = true
			x.mu.Unlock()
		}
	})
}

// editDefinition reads the persistent definition, applies edit and
// defines the result, if it differs. Called with planMu held.
func (x *Domain) editDefinition(ctx context.Context, edit func(def *libvirtxml.Domain)) error {
	def, err := x.definition(ctx)
	if err != nil {
		return err
	}
	before, err := def.Marshal()
	if err != nil {
		return fmt.Errorf("libvirt: domain %s: %w", x.dom.Name, err)
	}
	edit(def)
	after, err := def.Marshal()
	if err != nil {
		return fmt.Errorf("libvirt: domain %s: %w", x.dom.Name, err)
	}
	if after == before {
		return nil
	}
	return x.d.do(ctx, "define "+x.dom.Name, func(l *golibvirt.Libvirt) error {
		_, err := l.DomainDefineXMLFlags(after, golibvirt.DomainDefineValidate)
		return err
	})
}

// rewrite writes again, after a reconnection, what bmcd holds that the
// daemon may have missed or someone changed while bmcd could not see it:
// the last plan handed (one handed meanwhile failed) and the CD-ROM's
// image (checkMedia).
func (x *Domain) rewrite() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	x.mu.Lock()
	p, closed := x.plan, x.closed
	x.mu.Unlock()
	if closed {
		return
	}
	if p != nil {
		x.planMu.Lock()
		err := x.writePlan(ctx, *p)
		x.planMu.Unlock()
		if err != nil {
			x.log.Warn("libvirt: boot plan not written after reconnecting", "err", err)
		}
	}
	x.checkMedia(ctx)
}
