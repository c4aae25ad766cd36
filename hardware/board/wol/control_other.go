//go:build !linux

package wol

import (
	"errors"
	"syscall"
)

// control sets SO_BROADCAST where the platform has it; binding to an
// interface is Linux's (SO_BINDTODEVICE).
func control(iface string) func(network, address string, c syscall.RawConn) error {
	return func(network, address string, c syscall.RawConn) error {
		if iface != "" {
			return errors.New("binding to an interface needs Linux (SO_BINDTODEVICE)")
		}
		return nil
	}
}
