package ipmi

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// Storage and sensor completion codes (§5.2).
const (
	ccReservationCanceled = 0xC5
	ccCannotReturn        = 0xCA // cannot return the number of bytes requested
	ccWriteProtected      = 0x80 // Write FRU Data: write-protected offset
	ccReadOnlyParam       = 0x82 // Set LAN Configuration Parameters
)

// SDR record types (§43).
const (
	sdrFullSensor = 0x01
	sdrEventOnly  = 0x03
	sdrMCLocator  = 0x12
	sdrVersion    = 0x51
	bmcAddress    = 0x20
)

// storageState is the per-server state of the storage commands: the SDR
// and SEL reservations and the SDR cache.
type storageState struct {
	mu         sync.Mutex
	sdrRes     uint16 // current SDR reservation (0: none)
	selRes     uint16 // current SEL reservation (0: none)
	nextRes    uint16
	lastClear  uint32 // SEL: last erase over IPMI (seconds since 1970)
	lastSDRAdd uint32

	// repo caches the SDR repository for the record-by-record reads of a
	// console walking it, so a walk does not ask the backend for its
	// sensors dozens of times.
	repo   *sdrRepo
	repoAt time.Time
}

// sdrCacheTTL bounds how long a cached repository is served.
const sdrCacheTTL = 2 * time.Second

// cachedSDR returns the repository, built at most sdrCacheTTL ago.
func cachedSDR(r *request) (*sdrRepo, error) {
	st := r.s.storage
	st.mu.Lock()
	if st.repo != nil && r.now.Sub(st.repoAt) < sdrCacheTTL && !r.now.Before(st.repoAt) {
		repo := st.repo
		st.mu.Unlock()
		return repo, nil
	}
	st.mu.Unlock()
	repo, err := buildSDR(r.ctx, r.s.m)
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.repo, st.repoAt = repo, r.now
	st.mu.Unlock()
	return repo, nil
}

// reserve returns a new reservation ID (never 0) and cancels the previous
// one of the same repository.
func (st *storageState) reserve(sel bool) uint16 {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.nextRes++
	if st.nextRes == 0 {
		st.nextRes = 1
	}
	if sel {
		st.selRes = st.nextRes
	} else {
		st.sdrRes = st.nextRes
	}
	return st.nextRes
}

// checkReservation reports whether id is the current reservation.
func (st *storageState) checkReservation(sel bool, id uint16) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	cur := st.sdrRes
	if sel {
		cur = st.selRes
	}
	return id != 0 && id == cur
}

// linear holds the linearisation factors of a full sensor record:
// value = M * raw * 10^R (B = 0, unsigned raw readings 0..255).
type linear struct {
	M int // 1..511
	R int // -8..7
}

func (l linear) step() float64 { return float64(l.M) * math.Pow10(l.R) }

// toValue converts a raw reading to units.
func (l linear) toValue(raw byte) float64 { return float64(raw) * l.step() }

// toRaw converts a value to the nearest raw reading, clamped to 0..255.
func (l linear) toRaw(v float64) byte {
	x := math.Round(v / l.step())
	switch {
	case math.IsNaN(x) || x < 0:
		return 0
	case x > 255:
		return 255
	}
	return byte(x)
}

// factorsFor picks the factors of a sensor from its type and thresholds
// (never its reading, so the record does not change as the reading does):
// the finest step among 1, 2 and 5 times a power of ten that still covers
// a quarter above the highest threshold, and no finer than the type's
// natural resolution (1 °C, 1 RPM, 1 W, 0.01 V).
func factorsFor(s hardware.Sensor) linear {
	hi, _ := s.Thresholds.Highest()
	var minStep float64
	switch s.Type {
	case hardware.SensorTemperature:
		minStep = 1
		if hi <= 0 {
			hi = 200
		}
	case hardware.SensorFan:
		minStep = 1
		if hi <= 0 {
			hi = 20000
		}
	case hardware.SensorPower:
		minStep = 1
		if hi <= 0 {
			hi = 2000
		}
	case hardware.SensorVoltage:
		minStep = 0.01
		if hi <= 0 {
			hi = 20
		}
	default:
		minStep = 1
		if hi <= 0 {
			hi = 200
		}
	}
	want := max(hi*1.25/255, minStep)
	for r := -8; r <= 7; r++ {
		for _, m := range []int{1, 2, 5} {
			l := linear{M: m, R: r}
			if l.step() >= want*(1-1e-9) {
				return l
			}
		}
	}
	return linear{M: 500, R: 7}
}

// sensorUnit is the SDR base unit code (§43.17) of a sensor type.
func sensorUnit(t hardware.SensorType) byte {
	switch t {
	case hardware.SensorTemperature:
		return 1 // degrees C
	case hardware.SensorVoltage:
		return 4 // Volts
	case hardware.SensorPower:
		return 6 // Watts
	case hardware.SensorFan:
		return 18 // RPM
	}
	return 0
}

// sensorTypeCode is the IPMI sensor type (Table 42-3).
func sensorTypeCode(t hardware.SensorType) byte {
	switch t {
	case hardware.SensorTemperature:
		return 0x01
	case hardware.SensorVoltage:
		return 0x02
	case hardware.SensorFan:
		return 0x04
	case hardware.SensorPower:
		return 0x0B // other units-based sensor (ipmitool: "Other Units Based Sensor")
	}
	return 0x0B
}

// sensorEntity is the entity a sensor belongs to (Table 43-13).
func sensorEntity(s hardware.Sensor) byte {
	switch s.Type {
	case hardware.SensorTemperature:
		n := strings.ToUpper(s.ID + " " + s.Name)
		switch {
		case strings.Contains(n, "CPU"):
			return 0x03 // processor
		case strings.Contains(n, "INLET"):
			return 0x37 // air inlet
		}
		return 0x07 // system board
	case hardware.SensorFan:
		return 0x1D // fan / cooling device
	case hardware.SensorPower:
		return 0x13 // power unit
	}
	return 0x07
}

// threshold bits, as in Get Sensor Thresholds' readable mask and the
// SDR's readable/settable threshold masks.
const (
	thLNC = 1 << 0
	thLC  = 1 << 1
	thLNR = 1 << 2
	thUNC = 1 << 3
	thUC  = 1 << 4
	thUNR = 1 << 5
)

// thresholdBits are the IPMI threshold bits of the machine's threshold
// kinds (non-recoverable thresholds are not modelled).
var thresholdBits = map[hardware.ThresholdKind]byte{
	hardware.LowerCaution:  thLNC,
	hardware.LowerCritical: thLC,
	hardware.UpperCaution:  thUNC,
	hardware.UpperCritical: thUC,
}

// thresholdMask says which of a sensor's thresholds are set.
func thresholdMask(s hardware.Sensor) byte {
	var m byte
	for k, bit := range thresholdBits {
		if s.Thresholds.Get(k).Set {
			m |= bit
		}
	}
	return m
}

// thresholdStatus is byte 3 of Get Sensor Reading: which thresholds the
// reading is at or beyond (hardware.Sensor.Health); none when the reading
// is not available.
func thresholdStatus(s hardware.Sensor) byte {
	var st byte
	for _, k := range s.Health().Crossed {
		st |= thresholdBits[k]
	}
	return st
}

// thresholdRaw is the raw value of threshold k of s in the factors l, 0
// when s has no such threshold.
func thresholdRaw(s hardware.Sensor, l linear, k hardware.ThresholdKind) byte {
	t := s.Thresholds.Get(k)
	if !t.Set {
		return 0
	}
	return l.toRaw(t.Value)
}

// idString encodes an SDR ID string: 8-bit ASCII, at most 16 bytes.
func idString(name string) []byte {
	b := []byte(name)
	if len(b) > 16 {
		b = b[:16]
	}
	return append([]byte{0xC0 | byte(len(b))}, b...)
}

// fullSensorRecord encodes a Full Sensor Record (Table 43-1) without its
// record ID (bytes 1-2 are left zero).
func fullSensorRecord(num, instance byte, s hardware.Sensor) []byte {
	l := factorsFor(s)
	mask := thresholdMask(s)
	var lowerCmp, upperCmp byte // threshold comparisons returned
	if mask&thLNC != 0 {
		lowerCmp |= 0x10
	}
	if mask&thLC != 0 {
		lowerCmp |= 0x20
	}
	if mask&thUNC != 0 {
		upperCmp |= 0x10
	}
	if mask&thUC != 0 {
		upperCmp |= 0x20
	}
	rexp := byte(l.R) & 0x0F
	rec := []byte{
		0, 0, sdrVersion, sdrFullSensor, 0, // header
		bmcAddress, 0x00, num, // key: owner, LUN, number
		sensorEntity(s), instance,
		0x7F, // initialization: scanning, events, thresholds, hysteresis, type; scanning on
		0x47, // capabilities: auto re-arm, no hysteresis, thresholds readable, no events
		sensorTypeCode(s.Type),
		0x01,           // threshold event/reading type
		0x00, lowerCmp, // assertion events (none) / lower threshold comparisons
		0x00, upperCmp, // deassertion events (none) / upper threshold comparisons
		mask, 0x00, // readable / settable thresholds
		0x00, // unsigned, no rate, no modifier, not percentage
		sensorUnit(s.Type),
		0x00,                              // modifier unit
		0x00,                              // linear
		byte(l.M), byte(l.M>>8&0x03) << 6, // M, tolerance 0
		0x00, 0x00, // B = 0, accuracy 0
		0x00,          // accuracy, direction unspecified
		rexp<<4 | 0x0, // R exponent, B exponent 0
		0x00,          // analog characteristics: nothing specified
		0, 0, 0,       // nominal, normal max, normal min
		0xFF, 0x00, // sensor maximum / minimum reading
		0, thresholdRaw(s, l, hardware.UpperCritical), thresholdRaw(s, l, hardware.UpperCaution), // UNR, UC, UNC
		0, thresholdRaw(s, l, hardware.LowerCritical), thresholdRaw(s, l, hardware.LowerCaution), // LNR, LC, LNC
		0, 0, // hysteresis
		0, 0, // reserved
		0, // OEM
	}
	rec = append(rec, idString(s.Name)...)
	rec[4] = byte(len(rec) - 5)
	return rec
}

// eventOnlyRecord encodes an Event-Only Sensor Record (Table 43-3).
func eventOnlyRecord(num byte, sensorType byte, entity byte, name string) []byte {
	rec := []byte{
		0, 0, sdrVersion, sdrEventOnly, 0,
		bmcAddress, 0x00, num,
		entity, 0x01,
		sensorType, 0x6F, // sensor-specific
		0x01, // one sensor, no direction
		0x00,
		0x00, // reserved
		0x00, // OEM
	}
	rec = append(rec, idString(name)...)
	rec[4] = byte(len(rec) - 5)
	return rec
}

// mcLocatorRecord encodes the Management Controller Device Locator record
// (Table 43-7) of the BMC itself.
func mcLocatorRecord() []byte {
	rec := []byte{
		0, 0, sdrVersion, sdrMCLocator, 0,
		bmcAddress, 0x00, // slave address, channel 0
		0x00, // ACPI/power state notification: none
		// Device capabilities: chassis device, FRU inventory, SEL, SDR
		// repository, sensor device.
		0x80 | 0x08 | 0x04 | 0x02 | 0x01,
		0, 0, 0, // reserved
		0x06, 0x01, // entity: system management module, instance 1
		0x00, // OEM
	}
	rec = append(rec, idString("BMC")...)
	rec[4] = byte(len(rec) - 5)
	return rec
}

// sdrFirstEventSensor numbers the event-only sensors that SEL entries
// refer to; sensors from the machine are numbered from 1.
const sdrFirstEventSensor = 0xE0

// eventSensor is a sensor that exists only for SEL records.
type eventSensor struct {
	num, typ, entity byte
	name             string
}

var eventSensors = []eventSensor{
	{sdrFirstEventSensor + 0, 0x09, 0x13, "Host Power"},    // power on/off
	{sdrFirstEventSensor + 1, 0x1D, 0x07, "Host Restart"},  // reset
	{sdrFirstEventSensor + 2, 0x1F, 0x22, "Host Boot"},     // boot (entity: BIOS)
	{sdrFirstEventSensor + 3, 0x13, 0x07, "NMI"},           // critical interrupt
	{sdrFirstEventSensor + 4, 0x21, 0x07, "Virtual Media"}, // slot/connector
	{sdrFirstEventSensor + 5, 0x12, 0x07, "Config Change"}, // reconfigured
	{sdrFirstEventSensor + 6, 0x10, 0x06, "SEL"},           // log cleared
}

// sdrRepo is the SDR repository of a machine: one full record per sensor
// (record ID = sensor number = position + 1), event-only records for the
// SEL's sensors, and the BMC's locator record last.
type sdrRepo struct {
	records [][]byte // with record IDs filled in
	sensors []hardware.Sensor
}

// buildSDR renders the repository from the machine's sensors. Records
// depend only on the sensor list and thresholds, not on readings.
func buildSDR(ctx context.Context, m *hardware.Machine) (*sdrRepo, error) {
	ctx, cancel := context.WithTimeout(ctx, machineTimeout)
	defer cancel()
	ss, err := m.Sensors(ctx)
	if err != nil {
		return nil, err
	}
	return sdrFromSensors(ss), nil
}

func sdrFromSensors(ss []hardware.Sensor) *sdrRepo {
	if len(ss) > sdrFirstEventSensor-1 {
		ss = ss[:sdrFirstEventSensor-1]
	}
	repo := &sdrRepo{sensors: ss}
	instances := map[byte]byte{}
	for i, s := range ss {
		ent := sensorEntity(s)
		instances[ent]++
		repo.records = append(repo.records, fullSensorRecord(byte(i+1), instances[ent], s))
	}
	for _, es := range eventSensors {
		repo.records = append(repo.records, eventOnlyRecord(es.num, es.typ, es.entity, es.name))
	}
	repo.records = append(repo.records, mcLocatorRecord())
	for i, rec := range repo.records {
		binary.LittleEndian.PutUint16(rec[0:2], uint16(i+1))
	}
	return repo
}

// sensor returns the machine sensor numbered num.
func (p *sdrRepo) sensor(num byte) (hardware.Sensor, bool) {
	if num == 0 || int(num) > len(p.sensors) {
		return hardware.Sensor{}, false
	}
	return p.sensors[num-1], true
}

// lookup finds a record by ID (0000h first, FFFFh last) and the ID of the
// one after it (FFFFh after the last).
func (p *sdrRepo) lookup(id uint16) (rec []byte, next uint16, ok bool) {
	n := len(p.records)
	i := int(id) - 1
	switch id {
	case 0x0000:
		i = 0
	case 0xFFFF:
		i = n - 1
	}
	if i < 0 || i >= n {
		return nil, 0, false
	}
	next = 0xFFFF
	if i+1 < n {
		next = uint16(i + 2)
	}
	return p.records[i], next, true
}

// partial returns count bytes of rec from offset for Get SDR / Get SEL
// Entry (FFh: to the end).
func partial(rec []byte, offset, count byte) ([]byte, byte) {
	if int(offset) > len(rec) {
		return nil, CCOutOfRange
	}
	rest := rec[offset:]
	if count != 0xFF && int(count) < len(rest) {
		rest = rest[:count]
	}
	// Reading past the end returns what there is: consoles ask for
	// fixed-size chunks.
	return rest, CCOK
}
