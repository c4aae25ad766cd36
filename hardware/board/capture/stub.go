//go:build !(linux && cgo)

package capture

import (
	"fmt"
	"log/slog"

	"github.com/bmcd/bmcd/hardware"
)

// Built reports whether this binary can capture: false, it was built
// without cgo or not for Linux.
const Built = false

// Open refuses: capture needs go4vl, which needs cgo and Linux's V4L2
// headers. Errors: hardware.ErrUnavailable ("capture: built without
// cgo").
func Open(cfg Config, log *slog.Logger) (*Display, error) {
	return nil, fmt.Errorf("capture: built without cgo (V4L2 capture needs a Linux build with CGO_ENABLED=1): %w", hardware.ErrUnavailable)
}
