package sim

import (
	"context"

	"github.com/bmcd/bmcd/hardware"
)

// InsertMedia implements hardware.VirtualMedia. It fetches the head of the
// image under the slot's TLS policy to prove it exists and is readable, as
// a BMC mounting it would. A URL that is not http or https is ErrInvalid;
// every fetch failure is a *hardware.MediaError wrapping the *fetch.Error.
func (m *Machine) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	size, format, err := hardware.ProbeMedia(ctx, m.fetch, img)
	if err != nil {
		return 0, "", err
	}
	if !img.CheckOnly {
		m.presentMedia(slot, img.URL)
	}
	return size, format, nil
}

// ResumeMedia implements hardware.MediaResumer: the host sees url in
// slot again after bmcd restarted, as it did before.
func (m *Machine) ResumeMedia(slot, url string) { m.presentMedia(slot, url) }

// EjectMedia implements hardware.VirtualMedia.
func (m *Machine) EjectMedia(_ context.Context, slot string) error {
	m.presentMedia(slot, "")
	return nil
}
