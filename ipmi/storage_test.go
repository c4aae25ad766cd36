package ipmi

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
)

// simSensors are the sim backend's sensors, as the tests below expect them.
func simSensors(t *testing.T, m *hardware.Machine) []hardware.Sensor {
	t.Helper()
	ss, err := m.Sensors(context.Background())
	if err != nil || len(ss) == 0 {
		t.Fatalf("sensors: %v %v", ss, err)
	}
	return ss
}

func TestLinearisation(t *testing.T) {
	for _, tc := range []struct {
		s    hardware.Sensor
		want linear
	}{
		{hardware.Sensor{Type: hardware.SensorTemperature, Thresholds: upperCritical(95)}, linear{1, 0}},
		{hardware.Sensor{Type: hardware.SensorFan, Thresholds: upperCritical(16000)}, linear{1, 2}},
		{hardware.Sensor{Type: hardware.SensorPower, Thresholds: upperCritical(750)}, linear{5, 0}},
		{hardware.Sensor{Type: hardware.SensorVoltage, Thresholds: upperCritical(13.2)}, linear{1, -1}},
		{hardware.Sensor{Type: hardware.SensorVoltage, Thresholds: upperCritical(3.6)}, linear{2, -2}},
		{hardware.Sensor{Type: hardware.SensorTemperature}, linear{1, 0}},
		{hardware.Sensor{Type: hardware.SensorFan}, linear{1, 2}},
		// Only a 0 °C limit: the default range, as with none.
		{hardware.Sensor{Type: hardware.SensorTemperature, Thresholds: hardware.Thresholds{LowerCritical: hardware.At(0)}}, linear{1, 0}},
	} {
		if got := factorsFor(tc.s); got != tc.want {
			t.Errorf("%s %+v: %+v, want %+v", tc.s.Type, tc.s.Thresholds, got, tc.want)
		}
	}
}

func upperCritical(v float64) hardware.Thresholds {
	return hardware.Thresholds{UpperCritical: hardware.At(v)}
}

// TestSensorRecordRoundTrip decodes each full sensor record the way a
// console does (y = (M*x + B*10^Bexp) * 10^Rexp) and checks units,
// thresholds and readings against the machine's values.
func TestSensorRecordRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	units := map[hardware.SensorType]byte{hardware.SensorTemperature: 1, hardware.SensorVoltage: 4, hardware.SensorPower: 6, hardware.SensorFan: 18}
	for i, s := range simSensors(t, e.m) {
		rec := fullSensorRecord(byte(i+1), 1, s)
		if int(rec[4]) != len(rec)-5 || rec[3] != 0x01 || rec[2] != 0x51 || rec[7] != byte(i+1) {
			t.Fatalf("%s: header % x", s.ID, rec[:8])
		}
		if rec[21] != units[s.Type] || rec[20] != 0 || rec[23] != 0 {
			t.Errorf("%s: units % x", s.ID, rec[20:24])
		}
		m := int(rec[24]) | int(rec[25]>>6)<<8
		b := int(rec[26]) | int(rec[27]>>6)<<8
		rexp := int(int8(rec[29]) >> 4)
		bexp := int(int8(rec[29]<<4) >> 4)
		decode := func(x byte) float64 {
			return (float64(m)*float64(x) + float64(b)*math.Pow10(bexp)) * math.Pow10(rexp)
		}
		step := decode(1) - decode(0)
		if got := decode(factorsFor(s).toRaw(s.Reading)); math.Abs(got-s.Reading) > step/2+1e-9 {
			t.Errorf("%s: reading %v decodes as %v (step %v)", s.ID, s.Reading, got, step)
		}
		// The sim's thresholds are exact multiples of the step, and each
		// one set (a 0 °C limit too) is readable and in the comparisons
		// returned; an unset one reads as 0.
		for _, th := range []struct {
			byteIdx int
			k       hardware.ThresholdKind
			bit     byte
			cmp     int  // byte of the comparisons returned
			cmpBit  byte // its bit there
		}{
			{37, hardware.UpperCritical, thUC, 17, 0x20}, {38, hardware.UpperCaution, thUNC, 17, 0x10},
			{40, hardware.LowerCritical, thLC, 15, 0x20}, {41, hardware.LowerCaution, thLNC, 15, 0x10},
		} {
			v := s.Thresholds.Get(th.k)
			if set := rec[18]&th.bit != 0; set != v.Set || (rec[th.cmp]&th.cmpBit != 0) != v.Set {
				t.Errorf("%s %s: readable mask %#x, comparisons %#x, set %v", s.ID, th.k, rec[18], rec[th.cmp], v.Set)
			}
			if got := decode(rec[th.byteIdx]); math.Abs(got-v.Value) > 1e-9 {
				t.Errorf("%s %s: %v, want %v", s.ID, th.k, got, v.Value)
			}
		}
		name := rec[48:]
		if rec[47] != 0xC0|byte(len(s.Name)) || string(name) != s.Name {
			t.Errorf("%s: ID string %x %q", s.ID, rec[47], name)
		}
	}
}

func TestIDStringTruncated(t *testing.T) {
	got := idString(strings.Repeat("x", 20))
	if got[0] != 0xC0|16 || len(got) != 17 {
		t.Fatalf("% x", got)
	}
}

func TestSDRRepository(t *testing.T) {
	e := newEnv(t, nil)
	sensors := simSensors(t, e.m)
	c := e.mustLogin(17, roUser, roPass, PrivUser)
	cc, info := c.mustCmd(netFnStorage, 0x20)
	total := len(sensors) + len(eventSensors) + 1
	if cc != 0 || len(info) != 14 || info[0] != 0x51 || int(binary.LittleEndian.Uint16(info[1:])) != total || info[13]&0x02 == 0 {
		t.Fatalf("repository info %#x % x", cc, info)
	}
	if cc, d := c.mustCmd(netFnStorage, 0x21); cc != 0 || len(d) != 9 {
		t.Fatalf("allocation info %#x % x", cc, d)
	}
	_, resv := c.mustCmd(netFnStorage, 0x22)
	res := binary.LittleEndian.Uint16(resv)
	if res == 0 {
		t.Fatal("reservation 0")
	}
	// Walk the repository as ipmitool does: a 5-byte header, then the
	// rest in 16-byte pieces with the reservation.
	id := uint16(0)
	var types []byte
	for n := 0; id != 0xFFFF; n++ {
		if n > total {
			t.Fatal("repository does not end")
		}
		cc, d := c.mustCmd(netFnStorage, 0x23, resv[0], resv[1], byte(id), byte(id>>8), 0, 5)
		if cc != 0 || len(d) != 7 {
			t.Fatalf("header of %d: %#x % x", id, cc, d)
		}
		next := binary.LittleEndian.Uint16(d)
		rec := append([]byte(nil), d[2:]...)
		for off := 5; off < 5+int(d[6]); off += 16 {
			cc, p := c.mustCmd(netFnStorage, 0x23, resv[0], resv[1], d[2], d[3], byte(off), byte(min(16, 5+int(d[6])-off)))
			if cc != 0 {
				t.Fatalf("record %d offset %d: %#x", id, off, cc)
			}
			rec = append(rec, p[2:]...)
		}
		// The whole record in one read (FFh) matches the pieces.
		_, whole := c.mustCmd(netFnStorage, 0x23, 0, 0, d[2], d[3], 0, 0xFF)
		if !bytes.Equal(whole[2:], rec) {
			t.Fatalf("record %d: pieces % x, whole % x", id, rec, whole[2:])
		}
		types = append(types, rec[3])
		id = next
	}
	if len(types) != total || types[0] != sdrFullSensor || types[len(types)-1] != sdrMCLocator || types[len(sensors)] != sdrEventOnly {
		t.Fatalf("record types % x", types)
	}
	// FFFFh reads the last record.
	if cc, d := c.mustCmd(netFnStorage, 0x23, 0, 0, 0xFF, 0xFF, 0, 0xFF); cc != 0 || d[5] != sdrMCLocator || binary.LittleEndian.Uint16(d) != 0xFFFF {
		t.Fatalf("last record %#x % x", cc, d)
	}
	// A new reservation cancels the old one for partial reads.
	c.mustCmd(netFnStorage, 0x22)
	if cc, _ := c.mustCmd(netFnStorage, 0x23, resv[0], resv[1], 1, 0, 5, 4); cc != ccReservationCanceled {
		t.Fatalf("stale reservation: %#x", cc)
	}
	if cc, _ := c.mustCmd(netFnStorage, 0x23, 0, 0, 1, 0, 5, 4); cc != ccReservationCanceled {
		t.Fatalf("no reservation with an offset: %#x", cc)
	}
	for _, tc := range []struct {
		data []byte
		cc   byte
	}{
		{[]byte{0, 0, 0x00, 0x10, 0, 0xFF}, CCNotPresent},
		{[]byte{0, 0, 1, 0}, CCLengthInvalid},
	} {
		if cc, _ := c.mustCmd(netFnStorage, 0x23, tc.data...); cc != tc.cc {
			t.Errorf("get SDR % x: %#x, want %#x", tc.data, cc, tc.cc)
		}
	}
	_, resv = c.mustCmd(netFnStorage, 0x22)
	if cc, _ := c.mustCmd(netFnStorage, 0x23, resv[0], resv[1], 1, 0, 200, 4); cc != CCOutOfRange {
		t.Fatalf("offset past the end: %#x", cc)
	}
}

func TestSensorReading(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, roUser, roPass, PrivUser)
	sensors := simSensors(t, e.m) // host off: CPU and fan sensors unavailable
	for i, s := range sensors {
		num := byte(i + 1)
		cc, d := c.mustCmd(netFnSensor, 0x2D, num)
		if cc != 0 || len(d) != 4 {
			t.Fatalf("%s: %#x % x", s.ID, cc, d)
		}
		if unavailable := d[1]&0x20 != 0; unavailable == s.Available {
			t.Errorf("%s: available %v, status % x", s.ID, s.Available, d)
		}
		if s.Available {
			if got := factorsFor(s).toValue(d[0]); math.Abs(got-s.Reading) > factorsFor(s).step() {
				t.Errorf("%s: reading %v, want about %v", s.ID, got, s.Reading)
			}
		}
		cc, th := c.mustCmd(netFnSensor, 0x27, num)
		if cc != 0 || len(th) != 7 || th[0] != thresholdMask(s) {
			t.Fatalf("%s thresholds: %#x % x", s.ID, cc, th)
		}
		for i, k := range []hardware.ThresholdKind{hardware.LowerCaution, hardware.LowerCritical, "", hardware.UpperCaution, hardware.UpperCritical} {
			if v := s.Thresholds.Get(k); math.Abs(factorsFor(s).toValue(th[i+1])-v.Value) > 1e-9 {
				t.Errorf("%s: %s % x, want %v", s.ID, k, th, v)
			}
		}
		if s.Type == hardware.SensorTemperature && (th[0]&thLC == 0 || th[2] != 0) {
			t.Errorf("%s: the 0 °C lower critical limit is not readable: % x", s.ID, th)
		}
		if cc, f := c.mustCmd(netFnSensor, 0x23, num, 0x10); cc != 0 || len(f) != 7 || f[1] != byte(factorsFor(s).M) {
			t.Errorf("%s factors: %#x % x", s.ID, cc, f)
		}
	}
	for _, num := range []byte{0, byte(len(sensors) + 1), 0xFF} {
		if cc, _ := c.mustCmd(netFnSensor, 0x2D, num); cc != CCNotPresent {
			t.Errorf("sensor %d: %#x", num, cc)
		}
	}
	// Event-only sensors have no reading.
	if cc, d := c.mustCmd(netFnSensor, 0x2D, sdrFirstEventSensor); cc != 0 || d[1]&0x20 == 0 {
		t.Errorf("event-only sensor: %#x % x", cc, d)
	}
	if cc, _ := c.mustCmd(netFnSensor, 0x2D); cc != CCLengthInvalid {
		t.Errorf("no sensor number: %#x", cc)
	}
}

func TestThresholdStatus(t *testing.T) {
	s := hardware.Sensor{Available: true, Thresholds: hardware.Thresholds{LowerCritical: hardware.At(10.8),
		LowerCaution: hardware.At(11.4), UpperCaution: hardware.At(12.6), UpperCritical: hardware.At(13.2)}}
	for v, want := range map[float64]byte{12: 0, 11: thLNC, 10: thLNC | thLC, 12.6: thUNC, 14: thUNC | thUC} {
		s.Reading = v
		if got := thresholdStatus(s); got != want {
			t.Errorf("%v: %#x, want %#x", v, got, want)
		}
	}
	// A 0 °C lower critical limit is a limit: 0 °C is at it.
	inlet := hardware.Sensor{Available: true, Thresholds: hardware.Thresholds{LowerCritical: hardware.At(0), LowerCaution: hardware.At(5)}}
	for v, want := range map[float64]byte{23: 0, 3: thLNC, 0: thLNC | thLC} {
		inlet.Reading = v
		if got := thresholdStatus(inlet); got != want {
			t.Errorf("inlet %v: %#x, want %#x", v, got, want)
		}
		if thresholdMask(inlet) != thLC|thLNC {
			t.Errorf("inlet mask %#x", thresholdMask(inlet))
		}
	}
	s.Available = false
	if thresholdStatus(s) != 0 {
		t.Error("unavailable sensor with status")
	}
}

func TestSELRecords(t *testing.T) {
	for _, tc := range []struct {
		kind        hardware.EventKind
		typ, offset byte
		deassert    bool
		data2       byte // 0: unspecified (FFh)
	}{
		{hardware.EventPowerOff, 0x09, 0x00, false, 0},
		{hardware.EventPowerOn, 0x09, 0x00, true, 0},
		{hardware.EventReset, 0x1D, 0x07, false, 0},
		// A host reset: the same system restart offset, with the restart
		// cause (chassis control) in event data 2.
		{hardware.EventHostReset, 0x1D, 0x07, false, 0x01},
		{hardware.EventBoot, 0x1F, 0x06, false, 0},
		{hardware.EventNmi, 0x13, 0x00, false, 0},
		{hardware.EventMediaInsert, 0x21, 0x02, false, 0},
		{hardware.EventMediaEject, 0x21, 0x02, true, 0},
		{hardware.EventBootOverride, 0x12, 0x00, false, 0},
		{hardware.EventLogCleared, 0x10, 0x02, false, 0},
		{hardware.EventSettings, 0x12, 0x00, false, 0},
		{hardware.EventBootOrderSet, 0x12, 0x00, false, 0},
		{hardware.EventBootOrderReset, 0x12, 0x00, false, 0},
		{hardware.EventBootNext, 0x12, 0x00, false, 0},
		{hardware.EventBootOptionEnabled, 0x12, 0x00, false, 0},
		{hardware.EventBootOrder, 0x12, 0x00, false, 0},
		{"SomethingNew", 0x12, 0x00, false, 0},
	} {
		ev := hardware.Event{ID: 42, Time: timeUnix(1700000000), Kind: tc.kind}
		rec := selRecord(ev)
		dir := byte(0)
		if tc.deassert {
			dir = 0x80
		}
		want := []byte{42, 0, 0x02, 0x00, 0xF1, 0x53, 0x65, 0x20, 0x00, 0x04, tc.typ, 0, 0x6F | dir, tc.offset, 0xFF, 0xFF}
		if tc.data2 != 0 {
			want[13] |= 0xC0
			want[14] = tc.data2
		}
		want[11] = rec[11]
		if !bytes.Equal(rec, want) {
			t.Errorf("%s: % x, want % x", tc.kind, rec, want)
		}
		// The sensor number is an event-only record of the same type.
		found := false
		for _, es := range eventSensors {
			found = found || (es.num == rec[11] && es.typ == tc.typ)
		}
		if !found {
			t.Errorf("%s: sensor %#x has no record", tc.kind, rec[11])
		}
	}
	for id, want := range map[uint64]uint16{1: 1, 7: 7, 0xFFFE: 0xFFFE, 0xFFFF: 1, 0x1FFFC: 0xFFFE} {
		if got := selRecordID(id); got != want {
			t.Errorf("record ID of %d: %#x, want %#x", id, got, want)
		}
	}
}

func TestSEL(t *testing.T) {
	e := newEnv(t, nil)
	for _, k := range []hardware.EventKind{hardware.EventPowerOn, hardware.EventBoot, hardware.EventNmi} {
		e.m.AddEvent(k, hardware.SeverityOK, string(k))
	}
	events := e.m.Events()
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	cc, info := c.mustCmd(netFnStorage, 0x40)
	if cc != 0 || len(info) != 14 || info[0] != 0x51 || int(binary.LittleEndian.Uint16(info[1:])) != len(events) || info[13] != 0x03 {
		t.Fatalf("SEL info %#x % x", cc, info)
	}
	if cc, d := c.mustCmd(netFnStorage, 0x41); cc != 0 || binary.LittleEndian.Uint16(d[2:]) != 16 {
		t.Fatalf("allocation info %#x % x", cc, d)
	}
	// Walk the SEL: record IDs are the event IDs.
	id := uint16(0)
	for i, ev := range events {
		cc, d := c.mustCmd(netFnStorage, 0x43, 0, 0, byte(id), byte(id>>8), 0, 0xFF)
		if cc != 0 || len(d) != 18 || !bytes.Equal(d[2:], selRecord(ev)) || binary.LittleEndian.Uint16(d[2:]) != uint16(ev.ID) {
			t.Fatalf("entry %d: %#x % x", i, cc, d)
		}
		id = binary.LittleEndian.Uint16(d)
	}
	if id != 0xFFFF {
		t.Fatalf("next after the last: %#x", id)
	}
	if cc, d := c.mustCmd(netFnStorage, 0x43, 0, 0, 0xFF, 0xFF, 0, 0xFF); cc != 0 || !bytes.Equal(d[2:], selRecord(events[len(events)-1])) {
		t.Fatalf("last entry: %#x % x", cc, d)
	}
	if cc, _ := c.mustCmd(netFnStorage, 0x43, 0, 0, 0x00, 0x80, 0, 0xFF); cc != CCNotPresent {
		t.Fatalf("unknown entry: %#x", cc)
	}
	// Partial reads need the current reservation.
	_, resv := c.mustCmd(netFnStorage, 0x42)
	cc, part := c.mustCmd(netFnStorage, 0x43, resv[0], resv[1], 0, 0, 10, 6)
	if cc != 0 || !bytes.Equal(part[2:], selRecord(events[0])[10:]) {
		t.Fatalf("partial read: %#x % x", cc, part)
	}
	_, resv2 := c.mustCmd(netFnStorage, 0x42)
	if cc, _ := c.mustCmd(netFnStorage, 0x43, resv[0], resv[1], 0, 0, 10, 6); cc != ccReservationCanceled {
		t.Fatalf("stale reservation: %#x", cc)
	}
	// Clear SEL: 'CLR', the reservation, the action.
	for _, tc := range []struct {
		data []byte
		cc   byte
	}{
		{[]byte{resv2[0], resv2[1], 'C', 'L', 'X', 0xAA}, CCInvalidData},
		{[]byte{resv[0], resv[1], 'C', 'L', 'R', 0xAA}, ccReservationCanceled},
		{[]byte{resv2[0], resv2[1], 'C', 'L', 'R', 0x55}, CCInvalidData},
		{[]byte{resv2[0], resv2[1], 'C', 'L', 'R'}, CCLengthInvalid},
	} {
		if cc, _ := c.mustCmd(netFnStorage, 0x47, tc.data...); cc != tc.cc {
			t.Errorf("clear % x: %#x, want %#x", tc.data, cc, tc.cc)
		}
	}
	if len(e.m.Events()) != len(events) {
		t.Fatal("refused clears cleared the log")
	}
	if cc, d := c.mustCmd(netFnStorage, 0x47, resv2[0], resv2[1], 'C', 'L', 'R', 0xAA); cc != 0 || !bytes.Equal(d, []byte{1}) {
		t.Fatalf("clear: %#x % x", cc, d)
	}
	after := e.m.Events()
	if len(after) != 1 || after[0].Kind != hardware.EventLogCleared {
		t.Fatalf("log after clear: %+v", after)
	}
	// The clear cancelled the reservation.
	if cc, _ := c.mustCmd(netFnStorage, 0x47, resv2[0], resv2[1], 'C', 'L', 'R', 0x00); cc != ccReservationCanceled {
		t.Fatalf("status with the cancelled reservation: %#x", cc)
	}
	_, resv = c.mustCmd(netFnStorage, 0x42)
	if cc, d := c.mustCmd(netFnStorage, 0x47, resv[0], resv[1], 'C', 'L', 'R', 0x00); cc != 0 || d[0] != 1 {
		t.Fatalf("status: %#x % x", cc, d)
	}
	cc, info = c.mustCmd(netFnStorage, 0x40)
	if cc != 0 || binary.LittleEndian.Uint16(info[1:]) != 1 || binary.LittleEndian.Uint32(info[9:]) == 0 {
		t.Fatalf("SEL info after clear % x", info)
	}
	// A read-only user cannot clear.
	ro := e.mustLogin(3, roUser, roPass, PrivUser)
	_, resv = ro.mustCmd(netFnStorage, 0x42)
	if cc, _ := ro.mustCmd(netFnStorage, 0x47, resv[0], resv[1], 'C', 'L', 'R', 0xAA); cc != CCInsufficientPriv {
		t.Fatalf("read-only clear: %#x", cc)
	}
}

func TestSELTime(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	cc, d := c.mustCmd(netFnStorage, 0x48)
	if cc != 0 || len(d) != 4 {
		t.Fatalf("get: %#x % x", cc, d)
	}
	now := int64(binary.LittleEndian.Uint32(d))
	if diff := now - timeNow().Unix(); diff > 2 || diff < -2 {
		t.Fatalf("SEL time %d", now)
	}
	if cc, _ := c.mustCmd(netFnStorage, 0x49, d...); cc != 0 {
		t.Fatalf("set to now: %#x", cc)
	}
	if cc, _ := c.mustCmd(netFnStorage, 0x49, 0, 0, 0, 0x50); cc != CCNotInPresentState {
		t.Fatalf("set to another time: %#x", cc)
	}
	if cc, d := c.mustCmd(netFnStorage, 0x5C); cc != 0 || !bytes.Equal(d, []byte{0, 0}) {
		t.Fatalf("UTC offset: %#x % x", cc, d)
	}
}

// parseFRUArea checks an info area's length and checksum and returns its
// fields.
func parseFRUArea(t *testing.T, img []byte, off int, skip int) []string {
	t.Helper()
	n := int(img[off+1]) * 8
	area := img[off : off+n]
	if area[0] != 1 {
		t.Fatalf("area at %d: version %d", off, area[0])
	}
	var sum byte
	for _, b := range area {
		sum += b
	}
	if sum != 0 {
		t.Fatalf("area at %d: checksum", off)
	}
	var fields []string
	for i := 2 + skip; ; {
		tl := area[i]
		if tl == 0xC1 {
			break
		}
		if tl>>6 != 3 {
			t.Fatalf("area at %d: type %#x", off, tl)
		}
		l := int(tl & 0x3F)
		fields = append(fields, string(area[i+1:i+1+l]))
		i += 1 + l
	}
	return fields
}

func TestFRUImage(t *testing.T) {
	info := hardware.Info{Manufacturer: "Acme", Model: "X", SerialNumber: "SN1", PartNumber: "PN-2", SKU: "SKU3"}
	img := fruImage(info)
	if len(img)%8 != 0 || img[0] != 1 {
		t.Fatalf("image % x", img)
	}
	var sum byte
	for _, b := range img[:8] {
		sum += b
	}
	if sum != 0 {
		t.Fatal("header checksum")
	}
	ch := parseFRUArea(t, img, int(img[2])*8, 1)
	board := parseFRUArea(t, img, int(img[3])*8, 4)
	prod := parseFRUArea(t, img, int(img[4])*8, 1)
	if strings.Join(ch, "|") != "PN-2|SN1" {
		t.Errorf("chassis %q", ch)
	}
	// A one-character field is padded: C1h would end the area.
	if strings.Join(board, "|") != "Acme|X |SN1|PN-2|" {
		t.Errorf("board %q", board)
	}
	if strings.Join(prod, "|") != "Acme|X |PN-2||SN1|||SKU3" {
		t.Errorf("product %q", prod)
	}
	if img[int(img[2])*8+2] != 0x17 {
		t.Error("chassis type")
	}
	long := fruImage(hardware.Info{Manufacturer: strings.Repeat("m", 100)})
	if got := parseFRUArea(t, long, int(long[3])*8, 4); len(got[0]) != 63 {
		t.Errorf("long field %d", len(got[0]))
	}
}

func TestFRUCommands(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	img := fruImage(e.m.Info())
	cc, d := c.mustCmd(netFnStorage, 0x10, 0)
	if cc != 0 || !bytes.Equal(d, []byte{byte(len(img)), byte(len(img) >> 8), 0}) {
		t.Fatalf("area info %#x % x", cc, d)
	}
	var got []byte
	for off := 0; off < len(img); off += 24 {
		cc, d := c.mustCmd(netFnStorage, 0x11, 0, byte(off), byte(off>>8), 24)
		if cc != 0 || int(d[0]) != len(d)-1 {
			t.Fatalf("read at %d: %#x % x", off, cc, d)
		}
		got = append(got, d[1:]...)
	}
	if !bytes.Equal(got, img) {
		t.Fatalf("read % x\nwant % x", got, img)
	}
	for _, tc := range []struct {
		cmd  byte
		data []byte
		cc   byte
	}{
		{0x10, []byte{1}, CCNotPresent},
		{0x11, []byte{1, 0, 0, 8}, CCNotPresent},
		{0x11, []byte{0, byte(len(img)), byte(len(img) >> 8), 8}, CCOutOfRange},
		{0x11, []byte{0, 0, 0}, CCLengthInvalid},
		{0x12, []byte{0, 0, 0, 0x55}, ccWriteProtected},
		{0x12, []byte{1, 0, 0, 0x55}, CCNotPresent},
	} {
		if cc, _ := c.mustCmd(netFnStorage, tc.cmd, tc.data...); cc != tc.cc {
			t.Errorf("%#x % x: %#x, want %#x", tc.cmd, tc.data, cc, tc.cc)
		}
	}
}

func TestLANConfig(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.CipherSuites = []byte{17, 3, 8} })
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	get := func(p byte) []byte {
		t.Helper()
		cc, d := c.mustCmd(netFnTransport, 0x02, 1, p, 0, 0)
		if cc != 0 || d[0] != 0x11 {
			t.Fatalf("parameter %d: %#x % x", p, cc, d)
		}
		return d[1:]
	}
	if d := get(3); !bytes.Equal(d, []byte{127, 0, 0, 1}) {
		t.Errorf("IP % x", d)
	}
	mac := get(5)
	if len(mac) != 6 || mac[0]&0x03 != 0x02 || !bytes.Equal(mac, get(5)) {
		t.Errorf("MAC % x", mac)
	}
	// The MAC Redfish gives the manager's EthernetInterface.
	if want := hardware.DeriveIdentity(e.srv.cfg.InstallUUID, e.m.ID()).ManagerMAC; !bytes.Equal(mac, want) {
		t.Errorf("MAC % x, want the manager's % x", mac, want)
	}
	other := newEnv(t, nil, func(c *Config) { c.InstallUUID = "another" })
	if m2 := lanMAC(other.srv); bytes.Equal(m2[:], mac) {
		t.Error("same MAC for another installation")
	}
	if d := get(4); !bytes.Equal(d, []byte{1}) {
		t.Errorf("source % x", d)
	}
	if d := get(20); !bytes.Equal(d, []byte{0, 0}) {
		t.Errorf("VLAN % x", d)
	}
	if d := get(22); !bytes.Equal(d, []byte{3}) {
		t.Errorf("suite count % x", d)
	}
	if d := get(23); !bytes.Equal(d, []byte{0, 17, 3, 8}) {
		t.Errorf("suites % x", d)
	}
	if d := get(24); !bytes.Equal(d, []byte{0, 0x44, 0x04, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("suite privileges % x", d)
	}
	if d := get(1); !bytes.Equal(d, []byte{0}) {
		t.Errorf("auth types without IPMI 1.5: % x", d)
	}
	for _, tc := range []struct {
		cmd  byte
		data []byte
		cc   byte
		resp []byte
	}{
		{0x02, []byte{0x81, 3, 0, 0}, 0, []byte{0x11}},
		{0x02, []byte{0x0E, 3, 0, 0}, 0, []byte{0x11, 127, 0, 0, 1}},
		{0x02, []byte{2, 3, 0, 0}, CCInvalidData, nil},
		{0x02, []byte{1, 0xC0, 0, 0}, ccParamNotSupported, nil},
		{0x02, []byte{1, 3}, CCLengthInvalid, nil},
		{0x01, []byte{1, 0, 1}, 0, nil},
		{0x01, []byte{1, 0, 0}, 0, nil},
		{0x01, []byte{1, 0, 3}, CCInvalidData, nil},
		{0x01, []byte{1, 3, 10, 0, 0, 1}, ccReadOnlyParam, nil},
		{0x01, []byte{1, 0xC0, 1}, ccParamNotSupported, nil},
		{0x01, []byte{5, 3, 10, 0, 0, 1}, CCInvalidData, nil},
	} {
		cc, d := c.mustCmd(netFnTransport, tc.cmd, tc.data...)
		if cc != tc.cc || !bytes.Equal(d, tc.resp) {
			t.Errorf("%#x % x: %#x % x, want %#x % x", tc.cmd, tc.data, cc, d, tc.cc, tc.resp)
		}
	}
	v15 := newEnv(t, nil, func(c *Config) { c.EnableIPMI15 = true })
	if d, _ := lanParam(v15.srv, 2); !bytes.Equal(d, []byte{4, 4, 4, 4, 0}) {
		t.Errorf("auth enables with IPMI 1.5: % x", d)
	}
}

func TestPowerRestorePolicy(t *testing.T) {
	on := newEnv(t, sim.New(sim.Config{ID: "0", Seed: "x", PoweredOn: true}))
	off := newEnv(t, nil)
	for _, tc := range []struct {
		e    *testEnv
		data byte
		cc   byte
		resp []byte
	}{
		{on, 3, 0, []byte{0x04}},
		{on, 2, 0, []byte{0x04}},
		{on, 0, CCSubFnUnavailable, nil},
		{on, 1, CCSubFnUnavailable, nil},
		{off, 3, 0, []byte{0x01}},
		{off, 0, 0, []byte{0x01}},
		{off, 2, CCSubFnUnavailable, nil},
		{off, 4, CCInvalidData, nil},
		{off, 0x08, CCInvalidData, nil},
	} {
		c := tc.e.mustLogin(17, operUser, operPass, PrivOperator)
		if cc, d := c.mustCmd(NetFnChassis, 0x06, tc.data); cc != tc.cc || !bytes.Equal(d, tc.resp) {
			t.Errorf("policy %d: %#x % x, want %#x % x", tc.data, cc, d, tc.cc, tc.resp)
		}
	}
}

// FuzzSensorRecord: any thresholds and reading give a well-formed record
// whose factors fit their fields, and readings in range survive the round
// trip to within a step.
func FuzzSensorRecord(f *testing.F) {
	f.Add(uint8(0), 23.5, 45.0, 40.0, 5.0, 0.0, "Inlet Temp", uint8(0xF))
	f.Add(uint8(1), 5400.0, 16000.0, 14000.0, 1000.0, 500.0, "Fan 1", uint8(0xF))
	f.Add(uint8(2), 185.0, 750.0, 600.0, 0.0, 0.0, "Total Power", uint8(0x3))
	f.Add(uint8(3), 12.05, 13.2, 12.6, 11.4, 10.8, "12V Rail", uint8(0xF))
	f.Add(uint8(3), -1.0, 1e30, -1e30, math.NaN(), math.Inf(1), strings.Repeat("n", 40), uint8(0xF))
	types := []hardware.SensorType{hardware.SensorTemperature, hardware.SensorFan, hardware.SensorPower, hardware.SensorVoltage, "Other"}
	// set: which thresholds are set, bit 0 uc, 1 unc, 2 lnc, 3 lc.
	f.Fuzz(func(t *testing.T, typ uint8, reading, uc, unc, lnc, lc float64, name string, set uint8) {
		th := func(bit uint8, v float64) hardware.Threshold { return hardware.Threshold{Value: v, Set: set&bit != 0} }
		s := hardware.Sensor{Name: name, Type: types[int(typ)%len(types)], Reading: reading, Available: true,
			Thresholds: hardware.Thresholds{UpperCritical: th(1, uc), UpperCaution: th(2, unc), LowerCaution: th(4, lnc), LowerCritical: th(8, lc)}}
		rec := fullSensorRecord(1, 1, s)
		if int(rec[4]) != len(rec)-5 || len(rec) > 64 {
			t.Fatalf("record length %d/%d", rec[4], len(rec))
		}
		l := factorsFor(s)
		if l.M < 1 || l.M > 511 || l.R < -8 || l.R > 7 {
			t.Fatalf("factors %+v", l)
		}
		if reading >= 0 && reading <= l.toValue(255) {
			if got := l.toValue(l.toRaw(reading)); math.Abs(got-reading) > l.step()/2*(1+1e-9) {
				t.Fatalf("%v -> %v (step %v)", reading, got, l.step())
			}
		}
	})
}

func timeUnix(s int64) time.Time { return time.Unix(s, 0) }
func timeNow() time.Time         { return time.Now() }
