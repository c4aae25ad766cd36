package capture

import (
	"bytes"
	"image"
	"image/jpeg"
	"sync"
)

// stdDHT is a DHT segment (marker, length, the four tables) holding the
// Huffman tables of ITU-T T.81 Annex K.3, taken from what image/jpeg
// writes (it uses exactly those tables).
var stdDHT = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 8, 8)), nil); err != nil {
		panic("capture: image/jpeg cannot encode 8x8 pixels: " + err.Error())
	}
	j := b.Bytes()
	for i := 2; i+4 <= len(j); {
		n := int(j[i+2])<<8 | int(j[i+3])
		if j[i+1] == 0xc4 {
			return append([]byte(nil), j[i:i+2+n]...)
		}
		i += 2 + n
	}
	panic("capture: image/jpeg wrote no DHT segment")
})

// WithHuffmanTables returns a JPEG that names its Huffman tables. Many
// UVC devices send MJPEG frames without a DHT segment, leaving the
// decoder to assume the standard tables (the AVI1 convention); browsers
// do, Go's image/jpeg does not. A frame with a DHT before its first SOS,
// or one it cannot walk, is returned as it is (added false); otherwise a
// copy with the standard DHT inserted before the SOS.
func WithHuffmanTables(b []byte) (out []byte, added bool) {
	if len(b) < 4 || b[0] != 0xff || b[1] != 0xd8 {
		return b, false
	}
	for i := 2; i < len(b); {
		if b[i] != 0xff {
			return b, false
		}
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return b, false
		}
		m := b[i]
		switch {
		case m == 0xc4: // DHT
			return b, false
		case m == 0xda: // SOS: no table before it
			dht := stdDHT()
			start := i - 1
			out = make([]byte, 0, len(b)+len(dht))
			out = append(out, b[:start]...)
			out = append(out, dht...)
			return append(out, b[start:]...), true
		case m == 0xd9 || m == 0x00: // EOI, or a stuffed byte out of place
			return b, false
		case m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7): // no length
			i++
		default:
			if i+2 >= len(b) {
				return b, false
			}
			n := int(b[i+1])<<8 | int(b[i+2])
			if n < 2 {
				return b, false
			}
			i += 1 + n
		}
	}
	return b, false
}
