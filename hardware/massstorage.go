package hardware

import (
	"context"
	"fmt"
)

// MassStorageImage is a local image file a MassStorage device presents.
type MassStorageImage struct {
	Path string // a file on the BMC
	// CDROM presents it as an optical drive (an ISO 9660 image);
	// otherwise as a removable disk (a USB stick).
	CDROM    bool
	ReadOnly bool
}

// MassStorage is a USB mass-storage device the host sees, whose medium the
// BMC chooses: a USB gadget's mass-storage function on a board wired to the
// server. Virtual media on such a backend presents images through it. A
// machine without one has DisabledMassStorage.
type MassStorage interface {
	// Present makes the host see img, replacing (ejecting at once) what
	// was presented. Errors: ErrNotFound for a missing file, ErrBusy
	// while the host holds the medium locked and cannot be forced.
	Present(ctx context.Context, img MassStorageImage) error
	// Eject takes the medium away; the host sees an empty drive.
	Eject(ctx context.Context) error
	// Presented is what the host sees now; ok false when empty.
	Presented() (img MassStorageImage, ok bool)
}

// DisabledMassStorage is the mass storage of a machine that has none.
type DisabledMassStorage struct{}

// Present implements MassStorage: ErrNotSupported.
func (DisabledMassStorage) Present(context.Context, MassStorageImage) error {
	return fmt.Errorf("mass storage: %w", ErrNotSupported)
}

// Eject implements MassStorage: ErrNotSupported.
func (DisabledMassStorage) Eject(context.Context) error {
	return fmt.Errorf("mass storage: %w", ErrNotSupported)
}

// Presented implements MassStorage: always empty.
func (DisabledMassStorage) Presented() (MassStorageImage, bool) { return MassStorageImage{}, false }
