// Package wol is Wake-on-LAN, the board backend's alternative power-on
// (issue 10): a magic packet sent over UDP to a broadcast address wakes
// a server whose network card is armed for it (ethtool's "wol g"), with
// no wire between the board and the server's front panel.
//
// The magic packet is AMD's "Magic Packet Technology" white paper's
// (publication 20213): 6 bytes 0xFF, then the target's 48-bit MAC address
// 16 times, then optionally a SecureOn password of 4 or 6 bytes (the
// extension Intel and others implement). It is sent as one UDP datagram,
// by convention to port 9 (discard; 7 also works on most cards).
package wol

import (
	"bytes"
	"fmt"
	"net"

	"github.com/bmcd/bmcd/hardware"
)

// MagicPacket is the magic packet for mac (6 bytes) with the SecureOn
// password (none, 4 or 6 bytes): 102, 106 or 108 bytes. Errors:
// ErrInvalid for other lengths.
func MagicPacket(mac net.HardwareAddr, password []byte) ([]byte, error) {
	if len(mac) != 6 {
		return nil, fmt.Errorf("wol: MAC address of %d bytes, want 6: %w", len(mac), hardware.ErrInvalid)
	}
	switch len(password) {
	case 0, 4, 6:
	default:
		return nil, fmt.Errorf("wol: SecureOn password of %d bytes, want 4 or 6: %w", len(password), hardware.ErrInvalid)
	}
	p := make([]byte, 0, 6+16*6+len(password))
	p = append(p, bytes.Repeat([]byte{0xff}, 6)...)
	for range 16 {
		p = append(p, mac...)
	}
	return append(p, password...), nil
}
