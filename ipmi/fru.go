package ipmi

import (
	"encoding/binary"

	"github.com/bmcd/bmcd/hardware"
)

// The BMC's FRU device 0 is the system's inventory (Platform Management
// FRU Information Storage Definition v1.0): chassis, board and product
// info areas generated from the machine's Info. It is read-only.

// fruField encodes a type/length field: 8-bit ASCII, at most 63 bytes. A
// one-byte string gets a trailing space: C1h is the end-of-fields mark.
func fruField(s string) []byte {
	b := []byte(s)
	if len(b) > 63 {
		b = b[:63]
	}
	if len(b) == 1 {
		b = append(b, ' ')
	}
	return append([]byte{0xC0 | byte(len(b))}, b...)
}

// fruChecksum is the zero checksum of b: the byte that makes the sum 0.
func fruChecksum(b []byte) byte {
	var sum byte
	for _, c := range b {
		sum += c
	}
	return -sum
}

// fruArea finishes an info area: version, length in 8-byte units, the
// fields, the end mark, padding and checksum.
func fruArea(head []byte, fields ...string) []byte {
	a := append([]byte{0x01, 0x00}, head...)
	for _, f := range fields {
		a = append(a, fruField(f)...)
	}
	a = append(a, 0xC1)
	for (len(a)+1)%8 != 0 {
		a = append(a, 0x00)
	}
	a[1] = byte((len(a) + 1) / 8)
	return append(a, fruChecksum(a))
}

// fruImage renders the FRU inventory of a machine.
func fruImage(info hardware.Info) []byte {
	chassis := fruArea([]byte{0x17}, // rack mount chassis
		info.PartNumber, info.SerialNumber)
	board := fruArea([]byte{0x19, 0, 0, 0}, // English, manufacturing date unspecified
		info.Manufacturer, info.Model, info.SerialNumber, info.PartNumber, "")
	productFields := []string{info.Manufacturer, info.Model, info.PartNumber, "", info.SerialNumber, "", ""}
	if info.SKU != "" {
		productFields = append(productFields, info.SKU) // custom field: "Product Extra"
	}
	product := fruArea([]byte{0x19}, productFields...)
	hdr := []byte{0x01, 0x00, 1, 0, 0, 0x00, 0x00}
	hdr[3] = hdr[2] + byte(len(chassis)/8)
	hdr[4] = hdr[3] + byte(len(board)/8)
	hdr = append(hdr, fruChecksum(hdr))
	img := append(hdr, chassis...)
	img = append(img, board...)
	return append(img, product...)
}

// Get FRU Inventory Area Info (§34.1): device 0 only (else CBh), byte
// access.
func getFRUAreaInfo(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 1 {
		return CCLengthInvalid, nil
	}
	if d[0] != 0 {
		return CCNotPresent, nil
	}
	out := binary.LittleEndian.AppendUint16(nil, uint16(len(fruImage(r.s.m.Info()))))
	return CCOK, append(out, 0x00)
}

// Read FRU Data (§34.2): an offset past the end → C9h; a count reaching
// past the end returns what there is.
func readFRUData(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 4 {
		return CCLengthInvalid, nil
	}
	if d[0] != 0 {
		return CCNotPresent, nil
	}
	img := fruImage(r.s.m.Info())
	off := int(binary.LittleEndian.Uint16(d[1:]))
	if off >= len(img) {
		return CCOutOfRange, nil
	}
	n := min(int(d[3]), len(img)-off, maxFRURead)
	return CCOK, append([]byte{byte(n)}, img[off:off+n]...)
}

// maxFRURead bounds one Read FRU Data answer, as a BMC's buffer would.
const maxFRURead = 128

// Write FRU Data (§34.3): the inventory comes from the machine model and
// is write-protected (80h).
func writeFRUData(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	if d[0] != 0 {
		return CCNotPresent, nil
	}
	return ccWriteProtected, nil
}
