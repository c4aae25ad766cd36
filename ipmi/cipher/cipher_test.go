package cipher

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seq(from byte) (out [16]byte) {
	for i := range out {
		out[i] = from + byte(i)
	}
	return
}

// The vectors were computed independently with Python's hmac, hashlib
// and cryptography modules over the formulas of IPMI v2.0 §13.31-13.32.
var rakpVectors = []struct {
	auth                               AuthAlg
	integ                              IntegrityAlg
	rakp2, rakp3, sik, k1, k2, icv, ic string
	aes                                string
}{
	{AuthHMACSHA1, IntegrityHMACSHA1_96,
		"2e7fd8a738d32c333efbda301c8586c399efde2b", "4402012e214da511895a399bd77d5396e7998a4d",
		"122c77c4b11ccd93251cbae6c34a9cb6310da154", "e4472be78f9a81fa68297aab696a7be8c97fc9f8",
		"2b6552012a2517cb3b5713901d757a6efc7d8301", "c2046b16cbbd0ccff6e65c49", "9a9715b07b5440beb3ab2043",
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf47b954299c2990e650670e36a6a5aff9"},
	{AuthHMACSHA256, IntegrityHMACSHA256128,
		"745e52259d2e4dbcabfd78edc43348de04be340f218253b94668e3b3799411f0", "e6f17841e92f8c11cbc4fd1cafcc9c21e3d814e713e13e9ee640103b50c0ef15",
		"e5935f7199865ad961063477b0662684e2ce9b1da8f2b8d41c5ce127d37e9bcf", "dc4fe73d075306f6897115dd63257385e845c10404fa1d73991790c6a101bec2",
		"2a4f969ea6dfa83066f36674fdc2fea289fa1a21da90303e9b5269b54ec5adb5", "b67f9b97c9b2cefb65aeebe0633c96d2", "f2c93a26146dd2e80a397208c5b3c662",
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf47ee8fd2d43b8ca8021e0975a0aeaab7"},
	{AuthHMACMD5, IntegrityHMACMD5_128,
		"8ab6777fb36f9d02f25e9724fe08b99f", "58e9be14586d6c196cd3712544a9b11c",
		"f5aecc7e7958555f1a0cff5b39dbdb36", "1a850f03ec7c1413d660cf08648e0be2",
		"a9861046f4b96cf599fad35133e1445c", "12b8d42b3a43943067032ce9ce6b16cb", "abd011a0cf70420894663d4e156a3f62",
		"a0a1a2a3a4a5a6a7a8a9aaabacadaeafcd5b7e3690df6c31ad58b4c911b453f8"},
}

func TestRAKPVectors(t *testing.T) {
	for _, v := range rakpVectors {
		h := Handshake{Auth: v.auth, ConsoleSID: 0x11223344, BMCSID: 0x55667788,
			ConsoleRand: seq(0), BMCRand: seq(16), GUID: seq(32), Role: 0x14, User: "admin"}
		kuid := UserKey([]byte("password"))
		check := func(name string, got []byte, want string) {
			t.Helper()
			if hex.EncodeToString(got) != want {
				t.Errorf("auth %d %s: %x, want %s", v.auth, name, got, want)
			}
		}
		check("RAKP2", h.RAKP2Code(kuid), v.rakp2)
		check("RAKP3", h.RAKP3Code(kuid), v.rakp3)
		sik := h.SIK(kuid)
		check("SIK", sik, v.sik)
		k1, k2 := AdditionalKey(v.auth, sik, 1), AdditionalKey(v.auth, sik, 2)
		check("K1", k1, v.k1)
		check("K2", k2, v.k2)
		check("RAKP4 ICV", h.RAKP4ICV(sik), v.icv)
		if len(h.RAKP2Code(kuid)) != v.auth.CodeLen() || len(h.RAKP4ICV(sik)) != v.auth.ICVLen() {
			t.Error("lengths")
		}
		mac, err := NewMAC(v.integ, k1)
		if err != nil {
			t.Fatal(err)
		}
		data := append([]byte{0x06, 0xC0}, func() []byte {
			b := make([]byte, 30)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}()...)
		check("integrity", mac.Append(nil, data), v.ic)
		if !mac.Verify(data, unhex(t, v.ic)) || mac.Verify(data, unhex(t, v.ic)[1:]) || mac.Verify(data[1:], unhex(t, v.ic)) {
			t.Error("Verify")
		}
		aes, err := NewAES(k2)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := aes.Decrypt(unhex(t, v.aes))
		if err != nil || !bytes.Equal(plain, []byte{0x81, 0x1c, 0x63, 0x20, 0x04, 0x01, 0x00, 0xdb}) {
			t.Errorf("AES decrypt: % x %v", plain, err)
		}
	}
}

// TestRAKP2FromIpmitool checks a RAKP 2 code ipmitool 1.8.19 computed
// itself (printed by -vvv) for cipher suite 17.
func TestRAKP2FromIpmitool(t *testing.T) {
	var h Handshake
	h.Auth, h.ConsoleSID, h.BMCSID, h.Role, h.User = AuthHMACSHA256, 0xa0a2a3a4, 0xcb34257b, 0x14, "admin"
	copy(h.ConsoleRand[:], unhex(t, "162f517c97849aa0dde76097755d4edb"))
	copy(h.BMCRand[:], unhex(t, "c09a3cd7ed556a11d7818a0f92a388d6"))
	copy(h.GUID[:], unhex(t, "bd4ee9117c8a0e5c860d03f9c3c1dabc"))
	want := "79cbdfb870e81db2d286a06f313900b7c15dce832e35e337c11ad058ad5e15c3"
	if got := hex.EncodeToString(h.RAKP2Code(UserKey([]byte("wrong-pass")))); got != want {
		t.Fatalf("%s, want %s", got, want)
	}
}

func TestAESRoundTripAndRejects(t *testing.T) {
	c, err := NewAES(bytes.Repeat([]byte{7}, 20))
	if err != nil {
		t.Fatal(err)
	}
	for n := range 40 {
		plain := bytes.Repeat([]byte{byte(n)}, n)
		enc := c.Encrypt(plain)
		if len(enc)%16 != 0 || len(enc) < 32 {
			t.Fatalf("len %d", len(enc))
		}
		if enc2 := c.Encrypt(plain); bytes.Equal(enc[:16], enc2[:16]) {
			t.Fatal("IV reused")
		}
		got, err := c.Decrypt(enc)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("n=%d: % x %v", n, got, err)
		}
	}
	for _, n := range []int{0, 15, 16, 17, 31, 33, 47} {
		if _, err := c.Decrypt(make([]byte, n)); err == nil {
			t.Errorf("%d bytes accepted", n)
		}
	}
	// A wrong pad byte is caught (§13.29: the receiver checks each one).
	enc := c.Encrypt([]byte{1, 2, 3})
	enc[len(enc)-17] ^= 0x01 // flips a plaintext bit of the last block via CBC
	if _, err := c.Decrypt(enc); err == nil {
		t.Error("bad pad accepted")
	}
	if _, err := NewAES(make([]byte, 8)); err == nil {
		t.Error("short K2 accepted")
	}
}

func TestAuthCodeMD5(t *testing.T) {
	var pw [16]byte
	copy(pw[:], "admin-pass")
	got := AuthCodeMD5(pw, 0x01020304, []byte{0x20, 0x18, 0xc8, 0x81, 0x04, 0x3b, 0x04, 0x3c}, 0x0a0b0c0d)
	if hex.EncodeToString(got[:]) != "dc00465c0e4ff2f1af295bf3a76a3ce6" {
		t.Fatalf("%x", got)
	}
}

func TestSuites(t *testing.T) {
	want := map[byte]bool{2: true, 3: true, 7: true, 8: true, 16: true, 17: true}
	for i, s := range Standard {
		if int(s.ID) != i {
			t.Fatalf("table order at %d", i)
		}
		if s.Implemented() != want[s.ID] {
			t.Errorf("suite %d implemented=%v", s.ID, s.Implemented())
		}
	}
	for _, id := range Preference {
		if !want[id] {
			t.Errorf("preference lists %d", id)
		}
	}
	if _, err := NewMAC(IntegrityMD5_128, nil); err == nil {
		t.Error("MD5-128 integrity available")
	}
	if _, ok := Lookup(20); ok {
		t.Error("suite 20")
	}
}

func FuzzAESDecrypt(f *testing.F) {
	c, _ := NewAES(bytes.Repeat([]byte{3}, 16))
	f.Add(c.Encrypt([]byte("seed")))
	f.Add(make([]byte, 32))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := c.Decrypt(b)
		if err != nil {
			return
		}
		if len(plain) > len(b)-17 {
			t.Fatalf("%d plaintext bytes from %d", len(plain), len(b))
		}
		again, err := c.Decrypt(c.Encrypt(plain))
		if err != nil || !bytes.Equal(again, plain) {
			t.Fatal("round trip")
		}
	})
}
