package ipmi

import (
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/bmcd/bmcd/hardware"
)

// Get Device ID (§20.1).
func getDeviceID(r *request) (byte, []byte) {
	major, minor, patch := parseVersion(r.s.cfg.Version)
	return CCOK, []byte{
		0x20,               // device ID
		0x01,               // device revision 1; no device SDRs
		byte(major) & 0x7F, // firmware major; device available
		bcd(minor),         // firmware minor, BCD
		0x02,               // IPMI version 2.0
		0x8F,               // additional device support: chassis, FRU inventory, SEL, SDR repository, sensors
		0x00, 0x00, 0x00,   // manufacturer ID: unspecified
		0x00, 0x00, // product ID
		byte(patch), 0x00, 0x00, 0x00, // auxiliary firmware revision
	}
}

// parseVersion reads "major.minor.patch[-suffix]", leniently.
func parseVersion(v string) (major, minor, patch int) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+ "); i >= 0 {
		v = v[:i]
	}
	parts := strings.SplitN(v, ".", 3)
	n := func(i int, limit int) int {
		if i >= len(parts) {
			return 0
		}
		x, err := strconv.Atoi(parts[i])
		if err != nil || x < 0 {
			return 0
		}
		return min(x, limit)
	}
	return n(0, 127), n(1, 99), n(2, 255)
}

func bcd(n int) byte { return byte(n/10)<<4 | byte(n%10) }

// Cold Reset (§20.2): the BMC side of this system restarts. Sessions end
// (this one once the response is out) and the semi-volatile boot options
// return to their defaults; the machine and its persistent boot override
// are untouched.
func coldReset(r *request) (byte, []byte) {
	r.s.boot.reset()
	// Other sessions are dropped without taking their locks: this one is
	// held, and two concurrent cold resets must not wait on each other.
	n := len(r.s.sessions.clear())
	r.closeAfter = true
	r.s.log.Info("ipmi cold reset", "by", r.sess.userName, "sessions_closed", n)
	return CCOK, nil
}

// Warm Reset (§20.3): accepted; there is nothing a warm reset would clear
// that a cold one should not, and sessions survive it.
func warmReset(*request) (byte, []byte) { return CCOK, nil }

// Get Self Test Results (§20.4): 55h, no error.
func getSelfTest(*request) (byte, []byte) { return CCOK, []byte{0x55, 0x00} }

// Get ACPI Power State (§20.7): S0/G0 while powered, S5/G2 when off; the
// BMC device is always D0.
func getACPIPowerState(r *request) (byte, []byte) {
	ps, err := r.s.m.PowerState(r.ctx)
	if err != nil {
		return machineCC(err), nil
	}
	sys := byte(0x00)
	if ps == hardware.PowerOff {
		sys = 0x05
	}
	return CCOK, []byte{sys, 0x00}
}

// Get Device GUID (§20.8): the BMC's own GUID, the UUID Redfish gives its
// Manager (hardware.Identity.ManagerUUID).
func getDeviceGUID(r *request) (byte, []byte) { return CCOK, r.s.deviceGUID[:] }

// Get System GUID (§22.14): the machine's SMBIOS UUID.
func getSystemGUID(r *request) (byte, []byte) { return CCOK, r.s.systemGUID[:] }

// guidWire encodes a UUID string as IPMI sends a GUID (Table 20-10): the
// RFC 4122 bytes in reverse order, node first. (§20.8 also suggests
// matching the SMBIOS byte order; ipmitool flags that as a violation of
// the table, so the table wins.)
func guidWire(u string) [16]byte {
	var out [16]byte
	raw, err := hex.DecodeString(strings.ReplaceAll(u, "-", ""))
	if err != nil || len(raw) != 16 {
		return out
	}
	for i := range raw {
		out[15-i] = raw[i]
	}
	return out
}
