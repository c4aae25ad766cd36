package rfb

import (
	"crypto/des"
	"crypto/subtle"
	"math/bits"
)

// vncKey is the DES key VNC Authentication makes of a password (RFC 6143
// §7.2.2): its first 8 bytes, zero-padded, each byte's bits reversed (the
// protocol's DES takes the lowest bit of a key byte first).
func vncKey(password string) []byte {
	k := make([]byte, 8)
	copy(k, password)
	for i, b := range k {
		k[i] = bits.Reverse8(b)
	}
	return k
}

// VNCResponse is the answer to a VNC Authentication challenge (16 bytes)
// with password: each half DES-encrypted (ECB) under vncKey(password).
func VNCResponse(challenge []byte, password string) []byte {
	c, _ := des.NewCipher(vncKey(password)) // 8 bytes: never fails
	out := make([]byte, 16)
	c.Encrypt(out[:8], challenge[:8])
	c.Encrypt(out[8:], challenge[8:16])
	return out
}

// vncAuthMatch reports in constant time whether response answers
// challenge with password; an empty password never matches.
func vncAuthMatch(challenge, response []byte, password string) bool {
	want := VNCResponse(challenge, password)
	return subtle.ConstantTimeCompare(want, response) == 1 && password != ""
}

// vncPasswdKey is the fixed key vncpasswd obfuscates password files with.
var vncPasswdKey = []byte{23, 82, 107, 6, 35, 78, 88, 7}

// ObfuscatePassword returns password as vncpasswd stores it in a
// password file (~/.vnc/passwd, vncsnapshot -passwd, vncviewer
// -passwd): its first 8 bytes, zero-padded, DES-encrypted under a key
// every VNC implementation knows. It protects nothing; it is for writing
// the files those clients read.
func ObfuscatePassword(password string) []byte {
	k := make([]byte, 8)
	for i, b := range vncPasswdKey {
		k[i] = bits.Reverse8(b)
	}
	c, _ := des.NewCipher(k)
	in := make([]byte, 8)
	copy(in, password)
	out := make([]byte, 8)
	c.Encrypt(out, in)
	return out
}
