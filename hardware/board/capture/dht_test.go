package capture

import (
	"bytes"
	"image/jpeg"
	"testing"
)

// stripDHT removes the DHT segments before the SOS of a JPEG, as MJPEG
// devices send it.
func stripDHT(t testing.TB, j []byte) []byte {
	out := append([]byte(nil), j[:2]...)
	for i := 2; i < len(j); {
		m := j[i+1]
		if m == 0xda {
			return append(out, j[i:]...)
		}
		n := int(j[i+2])<<8 | int(j[i+3])
		if m != 0xc4 {
			out = append(out, j[i:i+2+n]...)
		}
		i += 2 + n
	}
	t.Fatal("no SOS")
	return nil
}

func TestWithHuffmanTables(t *testing.T) {
	j := testJPEG(t, 32, 16)
	if out, added := WithHuffmanTables(j); added || !bytes.Equal(out, j) {
		t.Error("a JPEG with its tables was changed")
	}
	bare := stripDHT(t, j)
	if _, err := jpeg.Decode(bytes.NewReader(bare)); err == nil {
		t.Fatal("image/jpeg decodes without tables: the test proves nothing")
	}
	fixed, added := WithHuffmanTables(bare)
	if !added || len(fixed) != len(bare)+len(stdDHT()) {
		t.Fatalf("added %v, %d bytes", added, len(fixed))
	}
	got, err := jpeg.Decode(bytes.NewReader(fixed))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := jpeg.Decode(bytes.NewReader(j))
	if got.Bounds() != want.Bounds() || got.At(5, 5) != want.At(5, 5) {
		t.Error("the repaired frame differs from the original")
	}
	f, err := convert(Format{Pixel: PixMJPEG}, bare)
	if err != nil || !bytes.Equal(f.JPEG, fixed) {
		t.Errorf("convert did not add the tables: %v", err)
	}
	for _, b := range [][]byte{nil, {0xff, 0xd8}, {0xff, 0xd8, 0xff, 0xe0, 0, 1}, {0xff, 0xd8, 0, 0, 0, 0}, {0xff, 0xd8, 0xff, 0xd9}} {
		if out, added := WithHuffmanTables(b); added || !bytes.Equal(out, b) {
			t.Errorf("%x changed", b)
		}
	}
}

func FuzzWithHuffmanTables(f *testing.F) {
	j := testJPEG(f, 16, 16)
	f.Add(j)
	f.Add(stripDHT(f, j))
	f.Add([]byte{0xff, 0xd8, 0xff, 0xff, 0xd0, 0xff, 0xda, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, added := WithHuffmanTables(b)
		if !added {
			if !bytes.Equal(out, b) {
				t.Fatal("changed without adding")
			}
			return
		}
		if len(out) != len(b)+len(stdDHT()) || !bytes.Equal(out[:2], b[:2]) {
			t.Fatalf("%d bytes from %d", len(out), len(b))
		}
		if again, added := WithHuffmanTables(out); added || !bytes.Equal(again, out) {
			t.Fatal("tables added twice")
		}
	})
}
