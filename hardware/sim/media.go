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
)

// probeBytes is how much of an image the simulation reads: enough to reach
// the ISO 9660 primary volume descriptor at 32 KiB.
const probeBytes = 36 * 1024

// InsertMedia implements hardware.MediaBackend. It fetches the head of the
// image to prove it exists and is readable, as a BMC mounting it would.
func (m *Machine) InsertMedia(ctx context.Context, slot, url string) (int64, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("%v: %w", err, hardware.ErrInvalid)
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=0-%d", probeBytes-1))
	resp, err := m.http.Do(req)
	if err != nil {
		return 0, "", &hardware.MediaError{URL: url, Err: err}
	}
	defer resp.Body.Close()
	size := int64(-1)
	switch resp.StatusCode {
	case http.StatusOK:
		size = resp.ContentLength
	case http.StatusPartialContent:
		size = totalFromContentRange(resp.Header.Get("Content-Range"))
	default:
		return 0, "", &hardware.MediaError{URL: url, HTTPStatus: resp.StatusCode}
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, probeBytes))
	if err != nil {
		return 0, "", &hardware.MediaError{URL: url, Err: err}
	}
	if len(head) == 0 {
		return 0, "", &hardware.MediaError{URL: url, Err: errors.New("image is empty")}
	}
	format := "raw"
	if len(head) >= 32774 && bytes.Equal(head[32769:32774], []byte("CD001")) {
		format = "iso9660"
	}
	return size, format, nil
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

// EjectMedia implements hardware.MediaBackend.
func (m *Machine) EjectMedia(context.Context, string) error { return nil }
