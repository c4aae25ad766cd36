package ipmi

import "github.com/bmcd/bmcd/hardware"

// Sensor/Event commands (§35) on the sensors of the SDR repository.

// sensorFor resolves the sensor-number byte of a request.
func sensorFor(r *request) (s sensorRef, cc byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return sensorRef{}, CCLengthInvalid
	}
	repo, err := buildSDR(r.ctx, r.s.m)
	if err != nil {
		return sensorRef{}, machineCC(err)
	}
	if d[0] >= sdrFirstEventSensor && int(d[0]) < sdrFirstEventSensor+len(eventSensors) {
		return sensorRef{eventOnly: true}, CCOK
	}
	hs, ok := repo.sensor(d[0])
	if !ok {
		return sensorRef{}, CCNotPresent
	}
	return sensorRef{s: hs, lin: factorsFor(hs)}, CCOK
}

type sensorRef struct {
	s         hardware.Sensor
	lin       linear
	eventOnly bool
}

// Get Sensor Reading (§35.14): raw reading, scanning enabled, "reading
// unavailable" when the machine says the reading does not apply (host off),
// and the threshold status bits. Event-only sensors have no reading (the
// unavailable bit is set).
func getSensorReading(r *request) (byte, []byte) {
	if len(r.msg.Data) != 1 {
		return CCLengthInvalid, nil
	}
	ref, cc := sensorFor(r)
	if cc != CCOK {
		return cc, nil
	}
	if ref.eventOnly || !ref.s.Available {
		return CCOK, []byte{0x00, 0x40 | 0x20, 0x00, 0x80} // scanning on, reading unavailable
	}
	return CCOK, []byte{ref.lin.toRaw(ref.s.Reading), 0x40, thresholdStatus(ref.s), 0x80}
}

// Get Sensor Thresholds (§35.9).
func getSensorThresholds(r *request) (byte, []byte) {
	if len(r.msg.Data) != 1 {
		return CCLengthInvalid, nil
	}
	ref, cc := sensorFor(r)
	if cc != CCOK {
		return cc, nil
	}
	if ref.eventOnly {
		return CCOK, []byte{0, 0, 0, 0, 0, 0, 0}
	}
	s, l := ref.s, ref.lin
	return CCOK, []byte{thresholdMask(s),
		thresholdRaw(s, l, hardware.LowerCaution), thresholdRaw(s, l, hardware.LowerCritical), 0,
		thresholdRaw(s, l, hardware.UpperCaution), thresholdRaw(s, l, hardware.UpperCritical), 0}
}

// Get Sensor Reading Factors (§35.5): the linear factors for any reading.
func getSensorReadingFactors(r *request) (byte, []byte) {
	if len(r.msg.Data) != 2 {
		return CCLengthInvalid, nil
	}
	ref, cc := sensorFor(r)
	if cc != CCOK {
		return cc, nil
	}
	if ref.eventOnly {
		return CCNotPresent, nil
	}
	l := ref.lin
	return CCOK, []byte{r.msg.Data[1], // next reading: linear, all the same
		byte(l.M), byte(l.M>>8&0x03) << 6, 0x00, 0x00, 0x00, byte(l.R) & 0x0F << 4}
}
