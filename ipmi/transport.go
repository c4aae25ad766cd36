package ipmi

import (
	"net"
	"net/netip"
)

// Transport commands (§23): the LAN configuration of the channel, as a
// BMC reports it. Everything is read-only: the address is the listener's.

const lanParamRevision = 0x11

// lanAddr is the IPv4 address the server listens on (0.0.0.0 when it
// listens on every address or on IPv6) and its netmask, if an interface
// has it.
func lanAddr(s *Server) (ip, mask [4]byte) {
	ua, ok := s.conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return
	}
	a, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return
	}
	a = a.Unmap()
	if !a.Is4() || a.IsUnspecified() {
		return
	}
	ip = a.As4()
	ifaces, err := net.InterfaceAddrs()
	if err != nil {
		return
	}
	for _, ia := range ifaces {
		if n, ok := ia.(*net.IPNet); ok && n.IP.Equal(ua.IP) && len(n.Mask) == net.IPv4len {
			copy(mask[:], n.Mask)
		} else if ok && n.IP.Equal(ua.IP) && len(n.Mask) == net.IPv6len {
			copy(mask[:], n.Mask[12:])
		}
	}
	return
}

// lanMAC is the BMC's MAC address (hardware.Identity.ManagerMAC): the
// one Redfish gives the manager's EthernetInterface.
func lanMAC(s *Server) [6]byte {
	var mac [6]byte
	copy(mac[:], s.identity.ManagerMAC)
	return mac
}

// lanParam returns the data of LAN configuration parameter p, or false
// when it is not supported (80h).
func lanParam(s *Server, p byte) ([]byte, bool) {
	var auth byte
	if s.cfg.EnableIPMI15 {
		auth = 0x04 // MD5
	}
	ip, mask := lanAddr(s)
	switch p {
	case 0: // set in progress
		return []byte{0x00}, true
	case 1: // authentication type support
		return []byte{auth}, true
	case 2: // authentication type enables: callback, user, operator, admin, OEM
		return []byte{auth, auth, auth, auth, 0x00}, true
	case 3: // IP address
		return ip[:], true
	case 4: // IP address source: static
		return []byte{0x01}, true
	case 5: // MAC address
		mac := lanMAC(s)
		return mac[:], true
	case 6: // subnet mask
		return mask[:], true
	case 7: // IPv4 header: TTL 64, don't fragment, TOS minimize delay
		return []byte{0x40, 0x40, 0x10}, true
	case 10: // BMC-generated ARP control: none
		return []byte{0x00}, true
	case 11: // gratuitous ARP interval
		return []byte{0x00}, true
	case 12, 14: // default / backup gateway address: none
		return []byte{0, 0, 0, 0}, true
	case 13, 15: // default / backup gateway MAC
		return []byte{0, 0, 0, 0, 0, 0}, true
	case 16: // community string: no SNMP
		return make([]byte, 18), true
	case 17: // number of alert destinations
		return []byte{0x00}, true
	case 20: // 802.1q VLAN ID: disabled
		return []byte{0x00, 0x00}, true
	case 21: // VLAN priority
		return []byte{0x00}, true
	case 22: // RMCP+ cipher suite entry support
		return []byte{byte(len(s.suites))}, true
	case 23: // cipher suite entries
		out := []byte{0x00}
		for _, cs := range s.suites {
			out = append(out, cs.ID)
		}
		return out, true
	case 24: // RMCP+ messaging cipher suite privilege levels
		// Every offered suite allows up to ADMINISTRATOR; the unused
		// entries read 0 ("reserved").
		out := make([]byte, 9)
		for i := range s.suites {
			if i >= 16 {
				break
			}
			out[1+i/2] |= byte(PrivAdmin) << (4 * (i % 2))
		}
		return out, true
	}
	return nil, false
}

// Get LAN Configuration Parameters (§23.2). Channel 1 (or Eh) only, else
// CCh; unsupported parameters → 80h; bit 7 of the channel byte asks for
// the revision only.
func getLANConfig(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 4 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x70 != 0 {
		return CCInvalidData, nil
	}
	if _, ok := resolveChannel(d[0]); !ok {
		return CCInvalidData, nil
	}
	if d[0]&0x80 != 0 {
		return CCOK, []byte{lanParamRevision}
	}
	data, ok := lanParam(r.s, d[1])
	if !ok {
		return ccParamNotSupported, nil
	}
	return CCOK, append([]byte{lanParamRevision}, data...)
}

// Set LAN Configuration Parameters (§23.1). The LAN configuration is
// bmcd's listener configuration and cannot be changed over IPMI: set in
// progress is accepted (set complete, set in progress, commit; 3 → CCh),
// every other supported parameter answers 82h (read-only), unsupported
// ones 80h.
func setLANConfig(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	if d[0]&0xF0 != 0 {
		return CCInvalidData, nil
	}
	if _, ok := resolveChannel(d[0]); !ok {
		return CCInvalidData, nil
	}
	if d[1] == 0 {
		if len(d) != 3 {
			return CCLengthInvalid, nil
		}
		if d[2]&0x03 == 0x03 || d[2]&0xFC != 0 {
			return CCInvalidData, nil
		}
		return CCOK, nil
	}
	if _, ok := lanParam(r.s, d[1]); ok {
		return ccReadOnlyParam, nil
	}
	return ccParamNotSupported, nil
}
