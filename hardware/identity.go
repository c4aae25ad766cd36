package hardware

import (
	"crypto/sha1"
	"fmt"
	"net"
)

// Identity is what one system's BMC is known by, and what a backend
// derives its host's identity from. It comes from the installation seed
// (bmcd's installation UUID, kept in the state database) and the system's
// id, so it is the same after every restart, and differs between
// installations and systems. Every protocol takes the BMC's values from
// here, so Redfish and IPMI describe the same BMC alike.
//
// The values must not change from one bmcd version to the next: clients
// and inventories keep them. The derivations below are the ones bmcd has
// always used for them.
type Identity struct {
	// ManagerUUID is the BMC's UUID in RFC 4122 text (lower case, name
	// based, version 5): Redfish Manager.UUID and, in the byte order of
	// IPMI Table 20-10, Get Device GUID.
	ManagerUUID string
	// ManagerMAC is the MAC address of the BMC's network interface (6
	// bytes, locally administered, unicast: IEEE 802 bit 1 of the first
	// octet set, bit 0 clear): the Redfish manager EthernetInterface's
	// MACAddress and IPMI LAN configuration parameter 5. bmcd shares the
	// host's NICs, so no switch sees it; it is stable, as a real BMC's is.
	ManagerMAC net.HardwareAddr

	seed, system string
}

// DeriveIdentity derives the identity of system systemID of the
// installation whose seed is seed.
func DeriveIdentity(seed, systemID string) Identity {
	mac := sha1.Sum([]byte(seed + "/manager/" + systemID + "/mac"))
	mac[0] = mac[0]&^0x01 | 0x02
	return Identity{
		ManagerUUID: NameUUID(sha1.Sum([]byte(seed + "/manager/" + systemID))),
		ManagerMAC:  net.HardwareAddr(mac[:6]),
		seed:        seed,
		system:      systemID,
	}
}

// Sum is 20 bytes derived from the installation seed, the system id and
// purpose (SHA-1 of the three, NUL-separated, purpose first): what a
// backend derives a host's UUID, serial numbers and MAC addresses from
// when the host has none of its own (the simulation: "bmcd-sim" for the
// host, "bmcd-sim-psu" for its power supplies). Different purposes give
// unrelated bytes.
func (id Identity) Sum(purpose string) [20]byte {
	return sha1.Sum([]byte(purpose + "\x00" + id.seed + "\x00" + id.system))
}

// NameUUID formats the first 16 bytes of h as an RFC 4122 name-based
// SHA-1 UUID (version 5, RFC 4122 variant): lower-case text,
// "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx".
func NameUUID(h [20]byte) string {
	h[6] = h[6]&0x0F | 0x50
	h[8] = h[8]&0x3F | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
