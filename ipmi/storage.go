package ipmi

import (
	"encoding/binary"
	"time"
)

// Get SDR Repository Info (§33.9). The repository is generated from the
// machine's sensors and cannot be written: no free space, no add, delete
// or partial add, reservations supported, allocation info supported.
func getSDRRepoInfo(r *request) (byte, []byte) {
	repo, err := cachedSDR(r)
	if err != nil {
		return machineCC(err), nil
	}
	out := []byte{sdrVersion, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20 | 0x02 | 0x01}
	binary.LittleEndian.PutUint16(out[1:], uint16(len(repo.records)))
	st := r.s.storage
	st.mu.Lock()
	binary.LittleEndian.PutUint32(out[5:], st.lastSDRAdd)
	st.mu.Unlock()
	return CCOK, out
}

// Get SDR Repository Allocation Info (§33.10): one unit per record, none
// free.
func getSDRRepoAllocInfo(r *request) (byte, []byte) {
	repo, err := cachedSDR(r)
	if err != nil {
		return machineCC(err), nil
	}
	out := make([]byte, 9)
	binary.LittleEndian.PutUint16(out[0:], uint16(len(repo.records)))
	binary.LittleEndian.PutUint16(out[2:], 64) // unit size, bytes
	out[8] = 1                                 // max record size in units
	return CCOK, out
}

// Reserve SDR Repository (§33.11).
func reserveSDR(r *request) (byte, []byte) {
	id := r.s.storage.reserve(false)
	return CCOK, binary.LittleEndian.AppendUint16(nil, id)
}

// Get SDR (§33.12): the reservation is checked only for reads with a
// non-zero offset, where the specification requires one (two consoles
// walking the repository at once would otherwise cancel each other's
// whole-record reads), and must then be the current one (else C5h).
func getSDR(r *request) (byte, []byte) {
	id, offset, count, cc := partialRead(r, false)
	if cc != CCOK {
		return cc, nil
	}
	repo, err := cachedSDR(r)
	if err != nil {
		return machineCC(err), nil
	}
	rec, next, ok := repo.lookup(id)
	if !ok {
		return CCNotPresent, nil
	}
	part, cc := partial(rec, offset, count)
	if cc != CCOK {
		return cc, nil
	}
	return CCOK, append(binary.LittleEndian.AppendUint16(nil, next), part...)
}

// ipmiTime is an IPMI timestamp: seconds since 1970 (§37), 0 for unknown.
func ipmiTime(t time.Time) uint32 {
	if t.IsZero() || t.Unix() < 0 || t.Unix() > 0xFFFFFFFE {
		return 0
	}
	return uint32(t.Unix())
}

// Network functions of the storage, sensor and transport commands.
const (
	netFnSensor    = 0x04
	netFnStorage   = 0x0A
	netFnTransport = 0x0C
)

// partialRead parses a Get SDR or Get SEL Entry request (reservation,
// record ID, offset, count) and checks the reservation, which matters only
// for reads at a non-zero offset.
func partialRead(r *request, sel bool) (id uint16, offset, count, cc byte) {
	d := r.msg.Data
	if len(d) != 6 {
		return 0, 0, 0, CCLengthInvalid
	}
	res := binary.LittleEndian.Uint16(d[0:])
	id = binary.LittleEndian.Uint16(d[2:])
	offset, count = d[4], d[5]
	if offset != 0 && !r.s.storage.checkReservation(sel, res) {
		return 0, 0, 0, ccReservationCanceled
	}
	return id, offset, count, CCOK
}
