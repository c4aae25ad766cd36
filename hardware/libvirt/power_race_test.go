package libvirt

import (
	"errors"
	"fmt"
	"testing"

	golibvirt "github.com/digitalocean/go-libvirt"
)

// TestStartRaced: only QEMU going away during a start is tried again; any
// other refusal stays a refusal.
func TestStartRaced(t *testing.T) {
	raced := golibvirt.Error{Code: uint32(golibvirt.ErrOperationFailed), Message: "operation failed: domain is no longer running"}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{raced, true},
		{fmt.Errorf("start: %w", raced), true},
		{golibvirt.Error{Code: uint32(golibvirt.ErrOperationFailed), Message: "operation failed: Could not open '/x.iso': Permission denied"}, false},
		{golibvirt.Error{Code: uint32(golibvirt.ErrOperationInvalid), Message: "domain is no longer running"}, false},
		{errors.New("domain is no longer running"), false},
		{nil, false},
	} {
		if got := startRaced(tc.err); got != tc.want {
			t.Errorf("startRaced(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
