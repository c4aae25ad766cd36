package ipmi

import (
	"context"
	"fmt"
	"testing"

	"github.com/bmcd/bmcd/hardware"
)

// TestMachineCC maps every machine-model error kind to its completion code.
func TestMachineCC(t *testing.T) {
	for _, tc := range []struct {
		err error
		cc  byte
	}{
		{nil, CCOK},
		{fmt.Errorf("x: %w", hardware.ErrNotSupported), CCSubFnUnavailable},
		{fmt.Errorf("x: %w", hardware.ErrPoweredOff), CCNotInPresentState},
		{fmt.Errorf("x: %w", hardware.ErrBusy), CCNotInPresentState},
		{fmt.Errorf("x: %w", hardware.ErrInvalid), CCInvalidData},
		{fmt.Errorf("x: %w", hardware.ErrNotFound), CCInvalidData},
		{context.DeadlineExceeded, CCTimeout},
		{fmt.Errorf("set next boot: %w: connection refused", hardware.ErrUnavailable), CCNodeBusy},
		{fmt.Errorf("something else"), CCUnspecified},
	} {
		if got := machineCC(tc.err); got != tc.cc {
			t.Errorf("%v: %#x, want %#x", tc.err, got, tc.cc)
		}
	}
}
