package hardware

import (
	"errors"
	"fmt"
	"testing"
)

// TestErrPoweredOff: the specific state error is still a state error for
// callers that only know ErrState (IPMI's completion codes).
func TestErrPoweredOff(t *testing.T) {
	err := fmt.Errorf("reset GracefulRestart: %w", ErrPoweredOff)
	if !errors.Is(err, ErrPoweredOff) || !errors.Is(err, ErrState) || errors.Is(err, ErrBusy) {
		t.Errorf("%v: Is(ErrPoweredOff)=%v Is(ErrState)=%v", err, errors.Is(err, ErrPoweredOff), errors.Is(err, ErrState))
	}
}
