package ipmi

import (
	"encoding/binary"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// The SEL is the machine's event log, rendered as system event records
// (type 02h). Clearing it over IPMI clears the log Redfish shows.

const selRecordSize = 16

// selRecordID maps an event ID to a 16-bit record ID: stable, never 0000h
// or FFFFh, and distinct for any MaxEvents consecutive events.
// Event IDs start at 1, so the first 65534 events keep their own number
// (the Redfish log entry ID).
func selRecordID(eventID uint64) uint16 { return uint16((eventID-1)%0xFFFE) + 1 }

// selEventCode is how an event kind shows in a SEL record: sensor type,
// event offset and whether it is a deassertion; data2, when hasData2, is
// event data 2 holding a sensor-specific extension code (Table 42-3).
type selEventCode struct {
	sensorType byte
	sensorNum  byte
	offset     byte
	deassert   bool
	hasData2   bool
	data2      byte
}

// restartCauseChassisControl is the restart cause (Get System Restart
// Cause, §28.11) of a reset someone asked for: an IPMI Chassis Control
// command, or its Redfish counterpart, ComputerSystem.Reset.
const restartCauseChassisControl = 0x01

// selCode maps an event kind to a sensor-specific event (Table 42-3).
func selCode(k hardware.EventKind) selEventCode {
	sensor := func(typ byte) byte {
		for _, es := range eventSensors {
			if es.typ == typ {
				return es.num
			}
		}
		return 0
	}
	c := func(typ, off byte, deassert bool) selEventCode {
		return selEventCode{sensorType: typ, sensorNum: sensor(typ), offset: off, deassert: deassert}
	}
	switch k {
	case hardware.EventPowerOff:
		return c(0x09, 0x00, false) // Power Unit: power off / power down
	case hardware.EventPowerOn:
		return c(0x09, 0x00, true) // Power Unit: power off / power down, deasserted
	case hardware.EventReset:
		return c(0x1D, 0x07, false) // System Boot/Restart Initiated: system restart
	case hardware.EventHostReset:
		// System Boot/Restart Initiated: system restart, event data 2 the
		// restart cause (a request), so that it reads apart from a
		// Manager reset's record.
		code := c(0x1D, 0x07, false)
		code.hasData2, code.data2 = true, restartCauseChassisControl
		return code
	case hardware.EventBoot:
		return c(0x1F, 0x06, false) // OS Boot: boot completed, device not specified
	case hardware.EventNmi:
		return c(0x13, 0x00, false) // Critical Interrupt: front panel NMI / diagnostic interrupt
	case hardware.EventMediaInsert:
		return c(0x21, 0x02, false) // Slot/Connector: device installed/attached
	case hardware.EventMediaEject:
		return c(0x21, 0x02, true) // Slot/Connector: device installed/attached, deasserted
	case hardware.EventLogCleared:
		return c(0x10, 0x02, false) // Event Logging Disabled: log area reset/cleared
	case hardware.EventBootOverride, hardware.EventBootOrderSet, hardware.EventBootOrderReset,
		hardware.EventBootNext, hardware.EventBootOptionEnabled, hardware.EventBootOrder, hardware.EventSettings:
		// A changed boot configuration takes effect at the next boot: the
		// system was reconfigured. The SEL has no room for what changed;
		// Redfish's log entry says it.
		return c(0x12, 0x00, false) // System Event: system reconfigured
	}
	// Anything new: System Event, system reconfigured.
	return c(0x12, 0x00, false)
}

// selRecord renders one event as a system event record (§32.1).
func selRecord(e hardware.Event) []byte {
	code := selCode(e.Kind)
	rec := make([]byte, selRecordSize)
	binary.LittleEndian.PutUint16(rec[0:], selRecordID(e.ID))
	rec[2] = 0x02 // system event record
	binary.LittleEndian.PutUint32(rec[3:], ipmiTime(e.Time))
	rec[7], rec[8] = bmcAddress, 0x00 // generator: the BMC, channel 0, LUN 0
	rec[9] = 0x04                     // event message format IPMI 1.5+
	rec[10] = code.sensorType
	rec[11] = code.sensorNum
	rec[12] = 0x6F // sensor-specific
	if code.deassert {
		rec[12] |= 0x80
	}
	rec[13] = code.offset // event data 2 and 3 unspecified
	rec[14], rec[15] = 0xFF, 0xFF
	if code.hasData2 {
		rec[13] |= 0xC0 // event data 2: sensor-specific extension code
		rec[14] = code.data2
	}
	return rec
}

// selLookup finds the event with record ID id (0000h first, FFFFh last)
// and the record ID of the next one (FFFFh after the last).
func selLookup(events []hardware.Event, id uint16) (hardware.Event, uint16, bool) {
	n := len(events)
	i := -1
	switch id {
	case 0x0000:
		if n > 0 {
			i = 0
		}
	case 0xFFFF:
		i = n - 1
	default:
		for j := range events {
			if selRecordID(events[j].ID) == id {
				i = j
				break
			}
		}
	}
	if i < 0 {
		return hardware.Event{}, 0, false
	}
	next := uint16(0xFFFF)
	if i+1 < n {
		next = selRecordID(events[i+1].ID)
	}
	return events[i], next, true
}

// Get SEL Info (§31.2).
func getSELInfo(r *request) (byte, []byte) {
	events := r.s.m.Events()
	out := make([]byte, 14)
	out[0] = sdrVersion
	binary.LittleEndian.PutUint16(out[1:], uint16(len(events)))
	binary.LittleEndian.PutUint16(out[3:], uint16(min((hardware.MaxEvents-len(events))*selRecordSize, 0xFFFE)))
	if len(events) > 0 {
		binary.LittleEndian.PutUint32(out[5:], ipmiTime(events[len(events)-1].Time))
	}
	binary.LittleEndian.PutUint32(out[9:], lastErase(r, events))
	// Operations: reserve SEL and get allocation info supported; no
	// delete, no partial add; the oldest entries are overwritten, so no
	// overflow is ever reported.
	out[13] = 0x02 | 0x01
	return CCOK, out
}

// lastErase is the time of the last clear: the newest "log cleared" entry,
// or the last clear over IPMI.
func lastErase(r *request, events []hardware.Event) uint32 {
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].Kind == hardware.EventLogCleared {
			return ipmiTime(events[i].Time)
		}
	}
	st := r.s.storage
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.lastClear
}

// Get SEL Allocation Info (§31.3): one 16-byte unit per record.
func getSELAllocInfo(r *request) (byte, []byte) {
	free := hardware.MaxEvents - len(r.s.m.Events())
	out := make([]byte, 9)
	binary.LittleEndian.PutUint16(out[0:], hardware.MaxEvents)
	binary.LittleEndian.PutUint16(out[2:], selRecordSize)
	binary.LittleEndian.PutUint16(out[4:], uint16(free))
	binary.LittleEndian.PutUint16(out[6:], uint16(free))
	out[8] = 1
	return CCOK, out
}

// Reserve SEL (§31.4).
func reserveSEL(r *request) (byte, []byte) {
	id := r.s.storage.reserve(true)
	return CCOK, binary.LittleEndian.AppendUint16(nil, id)
}

// Get SEL Entry (§31.5): as Get SDR, the reservation matters only for
// partial reads with a non-zero offset.
func getSELEntry(r *request) (byte, []byte) {
	id, offset, count, cc := partialRead(r, true)
	if cc != CCOK {
		return cc, nil
	}
	e, next, ok := selLookup(r.s.m.Events(), id)
	if !ok {
		return CCNotPresent, nil
	}
	part, cc := partial(selRecord(e), offset, count)
	if cc != CCOK {
		return cc, nil
	}
	return CCOK, append(binary.LittleEndian.AppendUint16(nil, next), part...)
}

// Clear SEL (§31.9): needs the current reservation (C5h) and 'CLR'
// (CCh); AAh initiates, 00h reads the status. Erasure is immediate: the
// machine's log is emptied and gets its "log cleared" entry.
func clearSEL(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 6 {
		return CCLengthInvalid, nil
	}
	if d[2] != 'C' || d[3] != 'L' || d[4] != 'R' {
		return CCInvalidData, nil
	}
	st := r.s.storage
	if !st.checkReservation(true, binary.LittleEndian.Uint16(d[0:])) {
		return ccReservationCanceled, nil
	}
	switch d[5] {
	case 0x00:
		return CCOK, []byte{0x01} // erasure completed
	case 0xAA:
	default:
		return CCInvalidData, nil
	}
	if err := r.s.m.ClearEvents(); err != nil {
		r.s.log.Error("ipmi clear SEL", "err", err)
		return CCUnspecified, nil
	}
	st.mu.Lock()
	st.lastClear = ipmiTime(r.now)
	st.selRes = 0 // a clear cancels the reservation
	st.mu.Unlock()
	r.s.log.Info("ipmi SEL cleared", "user", r.sess.userName)
	return CCOK, []byte{0x01}
}

// Get SEL Time (§31.10): bmcd's clock.
func getSELTime(r *request) (byte, []byte) {
	return CCOK, binary.LittleEndian.AppendUint32(nil, ipmiTime(r.now))
}

// Set SEL Time (§31.11): the SEL clock is the clock of the host bmcd runs
// on, which IPMI does not set. Setting it to what it already is (within
// 5 s, as "ipmitool sel time set now" does) succeeds; any other time is
// refused with D5h.
func setSELTime(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 4 {
		return CCLengthInvalid, nil
	}
	t := time.Unix(int64(binary.LittleEndian.Uint32(d)), 0)
	if diff := r.now.Sub(t); diff > 5*time.Second || diff < -5*time.Second {
		return CCNotInPresentState, nil
	}
	return CCOK, nil
}

// Get SEL Time UTC Offset (§31.11a): timestamps are UTC.
func getSELTimeUTCOffset(*request) (byte, []byte) { return CCOK, []byte{0x00, 0x00} }
