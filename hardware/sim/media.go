package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

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
		return 0, "", fetchFailed(img.URL, err)
	}
	defer resp.Body.Close()
	size := resp.ContentLength
	if resp.StatusCode == http.StatusPartialContent {
		size = totalFromContentRange(resp.Header.Get("Content-Range"))
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, probeBytes))
	if err != nil {
		return 0, "", &hardware.MediaError{URL: img.URL, Err: err}
	}
	if len(head) == 0 {
		return 0, "", &hardware.MediaError{URL: img.URL, Err: errors.New("image is empty")}
	}
	format := "raw"
	if len(head) >= 32774 && bytes.Equal(head[32769:32774], []byte("CD001")) {
		format = "iso9660"
	}
	if !img.CheckOnly {
		m.presentMedia(slot, img.URL)
	}
	return size, format, nil
}

// ResumeMedia implements hardware.MediaResumer: the host sees url in
// slot again after bmcd restarted, as it did before.
func (m *Machine) ResumeMedia(slot, url string) { m.presentMedia(slot, url) }

// fetchFailed maps a failed m.fetch.Get of rawURL (a media image or a
// firmware image) to what the hardware interfaces promise: a URL that is
// not http or https is ErrInvalid; anything else is a *hardware.MediaError
// wrapping the *fetch.Error, so its class (fetch.ErrCertificate,
// fetch.ErrNotFound, ...) and HTTP status stay visible to protocols.
func fetchFailed(rawURL string, err error) error {
	if errors.Is(err, fetch.ErrUnsupported) {
		return fmt.Errorf("%v: %w", err, hardware.ErrInvalid)
	}
	var fe *fetch.Error
	status := 0
	if errors.As(err, &fe) {
		status = fe.Status
	}
	return &hardware.MediaError{URL: rawURL, HTTPStatus: status, Err: err}
}

// totalFromContentRange parses "bytes 0-1023/4096"; -1 when unknown.
func totalFromContentRange(h string) int64 {
	i := strings.LastIndexByte(h, '/')
	if i < 0 {
		return -1
	}
	n, err := strconv.ParseInt(h[i+1:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// EjectMedia implements hardware.VirtualMedia.
func (m *Machine) EjectMedia(_ context.Context, slot string) error {
	m.presentMedia(slot, "")
	return nil
}
