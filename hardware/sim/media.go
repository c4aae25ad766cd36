package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/fetch"
)

// probeBytes is how much of an image the simulation reads: enough to reach
// the ISO 9660 primary volume descriptor at 32 KiB.
const probeBytes = 36 * 1024

// InsertMedia implements hardware.VirtualMedia. It fetches the head of the
// image under the slot's TLS policy to prove it exists and is readable, as
// a BMC mounting it would. A URL that is not http or https is ErrInvalid;
// every fetch failure is a *hardware.MediaError wrapping the *fetch.Error.
func (m *Machine) InsertMedia(ctx context.Context, slot string, img hardware.MediaImage) (int64, string, error) {
	resp, err := m.fetch.Get(ctx, img.URL, img.TLS, http.Header{"Range": {fmt.Sprintf("bytes=0-%d", probeBytes-1)}})
	if err != nil {
		return 0, "", hardware.MediaFetchError(img.URL, err)
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		size = fetch.TotalFromContentRange(resp.Header.Get("Content-Range"))
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, probeBytes))
	if err != nil {
		return 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	if len(head) == 0 {
		return 0, "", &hardware.MediaError{URL: img.URL, Err: errors.New("image is empty")}
	}
	if !img.CheckOnly {
		m.presentMedia(slot, img.URL)
	}
	return size, hardware.MediaFormat(head), nil
}

// ResumeMedia implements hardware.MediaResumer: the host sees url in
// slot again after bmcd restarted, as it did before.
func (m *Machine) ResumeMedia(slot, url string) { m.presentMedia(slot, url) }

// EjectMedia implements hardware.VirtualMedia.
func (m *Machine) EjectMedia(_ context.Context, slot string) error {
	m.presentMedia(slot, "")
	return nil
}
