package vsphere

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/bmcd/bmcd/hardware"
)

// faulter is what govmomi's errors carry a vSphere fault in: SOAP faults,
// wrapped faults and failed tasks (task.Error).
type faulter interface{ Fault() types.BaseMethodFault }

// vimFault is the vSphere fault err carries, or nil.
func vimFault(err error) types.BaseMethodFault {
	var f faulter
	if errors.As(err, &f) {
		return f.Fault()
	}
	return nil
}

// isNotAuthenticated: vCenter no longer knows the session (it restarted,
// or the session expired).
func isNotAuthenticated(err error) bool {
	switch vimFault(err).(type) {
	case *types.NotAuthenticated:
		return true
	}
	return false
}

// isTransport: no SOAP answer came back (connection refused or reset,
// TLS, timeout).
func isTransport(err error) bool {
	if err == nil || vimFault(err) != nil {
		return false
	}
	var ue *url.Error
	var ne net.Error
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) ||
		strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "EOF")
}

// isMethodNotFound: the server's API has no such method (an older ESXi,
// or vcsim, for SendNMI and CreateScreenshot_Task).
func isMethodNotFound(err error) bool {
	switch vimFault(err).(type) {
	case *types.MethodNotFound, *types.NotImplemented:
		return true
	}
	return false
}

// classify maps a vSphere failure to the machine model's errors, so each
// protocol answers it in its own terms (docs/backends.md, Errors):
//
//	InvalidPowerState, InvalidState, ToolsUnavailable  ErrState
//	TaskInProgress, ConcurrentAccess                   ErrBusy
//	ManagedObjectNotFound                              ErrNotFound (the VM is gone)
//	MethodNotFound, NotImplemented, NotSupported       ErrNotSupported
//	InvalidArgument, InvalidVmConfig                   ErrInvalid
//	anything else, and no answer                       ErrUnavailable
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	f := vimFault(err)
	var class error
	switch f.(type) {
	case nil:
		class = hardware.ErrUnavailable
	case *types.InvalidPowerState, *types.InvalidState, *types.ToolsUnavailable:
		class = hardware.ErrState
	case *types.TaskInProgress, *types.ConcurrentAccess:
		class = hardware.ErrBusy
	case *types.ManagedObjectNotFound:
		class = hardware.ErrNotFound
	case *types.MethodNotFound, *types.NotImplemented, *types.NotSupported:
		class = hardware.ErrNotSupported
	case *types.InvalidArgument, *types.InvalidVmConfig:
		class = hardware.ErrInvalid
	default:
		class = hardware.ErrUnavailable
	}
	if f != nil {
		return fmt.Errorf("%s: %w: %s: %w", what, class, faultName(f), err)
	}
	return fmt.Errorf("%s: %w: %w", what, class, err)
}

// faultName is the fault's vSphere type name ("InvalidPowerState").
func faultName(f types.BaseMethodFault) string {
	s := fmt.Sprintf("%T", f)
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
