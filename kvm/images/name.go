package images

import (
	"errors"
	"fmt"
)

// The errors of the store. Every error a Store returns wraps one of them
// (errors.Is), and the HTTP handlers map each to one status.
var (
	// ErrInvalid: a name outside the rules of CheckName, an empty image,
	// or a request that contradicts itself (a body longer than declared).
	// HTTP 400.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no image (or pending upload) of that name. HTTP 404.
	ErrNotFound = errors.New("not found")
	// ErrTooLarge: the image is over the store's MaxSize. HTTP 413.
	ErrTooLarge = errors.New("image too large")
	// ErrNoSpace: the disk has less free space than the upload declares,
	// or filled up during it. HTTP 507.
	ErrNoSpace = errors.New("not enough free disk space")
	// ErrBusy: the image is inserted in a virtual media slot (InUse), or
	// another upload of the same name is in progress. HTTP 409.
	ErrBusy = errors.New("busy")
	// ErrIncomplete: the body ended before the declared length (a client
	// that went away). With a known total the bytes received are kept, so
	// the upload can be resumed. HTTP 400.
	ErrIncomplete = errors.New("upload incomplete")
)

// MaxNameLength is the longest image name, in bytes: a file name's limit
// on Linux (NAME_MAX).
const MaxNameLength = 255

// CheckName checks an image name: 1 to MaxNameLength bytes of ASCII
// letters, digits, '.', '_', '-' and '+', not starting with '.' (so never
// "." or "..", and never one of the store's own hidden files). A name is
// used as it is in a file name and in URL paths, so it can hold no path
// separator, no escape and nothing a shell or URL would read specially.
// Errors wrap ErrInvalid.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("image name is empty: %w", ErrInvalid)
	case len(name) > MaxNameLength:
		return fmt.Errorf("image name is longer than %d bytes: %w", MaxNameLength, ErrInvalid)
	case name[0] == '.':
		return fmt.Errorf("image name %q starts with '.': %w", name, ErrInvalid)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			return fmt.Errorf("image name %q: byte %q at %d is not a letter, digit, '.', '_', '-' or '+': %w", name, name[i], i, ErrInvalid)
		}
	}
	return nil
}

func nameByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '.' || c == '_' || c == '-' || c == '+'
}
