// Package cipher implements the cryptography of IPMI over LAN: the RMCP+
// cipher suites, RAKP authentication codes and session key derivation
// (IPMI v2.0 §13.28-13.32), the integrity algorithms, AES-CBC-128 payload
// confidentiality, and the IPMI v1.5 MD5 AuthCode.
//
// Only algorithms worth offering are implemented: RAKP-HMAC-SHA1/MD5/SHA256
// authentication, HMAC-SHA1-96/HMAC-MD5-128/HMAC-SHA256-128 integrity and
// AES-CBC-128. RAKP-none, integrity "none", the keyed MD5-128 integrity
// algorithm and xRC4 are deliberately absent, so no suite built on them can
// be negotiated.
package cipher

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
)

// AuthAlg is an RMCP+ authentication algorithm number (Table 13-17).
type AuthAlg byte

// Authentication algorithms.
const (
	AuthNone       AuthAlg = 0x00
	AuthHMACSHA1   AuthAlg = 0x01
	AuthHMACMD5    AuthAlg = 0x02
	AuthHMACSHA256 AuthAlg = 0x03
)

// IntegrityAlg is an RMCP+ integrity algorithm number (Table 13-18).
type IntegrityAlg byte

// Integrity algorithms.
const (
	IntegrityNone          IntegrityAlg = 0x00
	IntegrityHMACSHA1_96   IntegrityAlg = 0x01
	IntegrityHMACMD5_128   IntegrityAlg = 0x02
	IntegrityMD5_128       IntegrityAlg = 0x03
	IntegrityHMACSHA256128 IntegrityAlg = 0x04
)

// ConfAlg is an RMCP+ confidentiality algorithm number (Table 13-19).
type ConfAlg byte

// Confidentiality algorithms.
const (
	ConfNone      ConfAlg = 0x00
	ConfAESCBC128 ConfAlg = 0x01
	ConfXRC4_128  ConfAlg = 0x02
	ConfXRC4_40   ConfAlg = 0x03
)

// Suite is a standard cipher suite (Table 22-20).
type Suite struct {
	ID        byte
	Auth      AuthAlg
	Integrity IntegrityAlg
	Conf      ConfAlg
}

// Standard lists cipher suites 0-19 by ID.
var Standard = []Suite{
	{0, AuthNone, IntegrityNone, ConfNone},
	{1, AuthHMACSHA1, IntegrityNone, ConfNone},
	{2, AuthHMACSHA1, IntegrityHMACSHA1_96, ConfNone},
	{3, AuthHMACSHA1, IntegrityHMACSHA1_96, ConfAESCBC128},
	{4, AuthHMACSHA1, IntegrityHMACSHA1_96, ConfXRC4_128},
	{5, AuthHMACSHA1, IntegrityHMACSHA1_96, ConfXRC4_40},
	{6, AuthHMACMD5, IntegrityNone, ConfNone},
	{7, AuthHMACMD5, IntegrityHMACMD5_128, ConfNone},
	{8, AuthHMACMD5, IntegrityHMACMD5_128, ConfAESCBC128},
	{9, AuthHMACMD5, IntegrityHMACMD5_128, ConfXRC4_128},
	{10, AuthHMACMD5, IntegrityHMACMD5_128, ConfXRC4_40},
	{11, AuthHMACMD5, IntegrityMD5_128, ConfNone},
	{12, AuthHMACMD5, IntegrityMD5_128, ConfAESCBC128},
	{13, AuthHMACMD5, IntegrityMD5_128, ConfXRC4_128},
	{14, AuthHMACMD5, IntegrityMD5_128, ConfXRC4_40},
	{15, AuthHMACSHA256, IntegrityNone, ConfNone},
	{16, AuthHMACSHA256, IntegrityHMACSHA256128, ConfNone},
	{17, AuthHMACSHA256, IntegrityHMACSHA256128, ConfAESCBC128},
	{18, AuthHMACSHA256, IntegrityHMACSHA256128, ConfXRC4_128},
	{19, AuthHMACSHA256, IntegrityHMACSHA256128, ConfXRC4_40},
}

// Lookup returns standard suite id.
func Lookup(id byte) (Suite, bool) {
	if int(id) < len(Standard) {
		return Standard[id], true
	}
	return Suite{}, false
}

// DefaultSuites are the suites offered unless configured otherwise.
var DefaultSuites = []byte{17, 3}

// Implemented reports whether this package implements every algorithm of
// the suite and the suite authenticates both the user and every packet.
// Only such suites may be offered: 2, 3, 7, 8, 16 and 17.
func (s Suite) Implemented() bool {
	return s.Auth.implemented() && s.Integrity.implemented() && (s.Conf == ConfNone || s.Conf == ConfAESCBC128)
}

func (a AuthAlg) implemented() bool {
	return a == AuthHMACSHA1 || a == AuthHMACMD5 || a == AuthHMACSHA256
}

func (i IntegrityAlg) implemented() bool {
	return i == IntegrityHMACSHA1_96 || i == IntegrityHMACMD5_128 || i == IntegrityHMACSHA256128
}

// Preference ranks implemented suites from strongest to weakest; the BMC
// picks the first allowed one when a console leaves the choice to it.
var Preference = []byte{17, 3, 16, 2, 8, 7}

func (a AuthAlg) hash() func() hash.Hash {
	switch a {
	case AuthHMACSHA1:
		return sha1.New
	case AuthHMACMD5:
		return md5.New
	case AuthHMACSHA256:
		return sha256.New
	}
	return nil
}

// HMAC is the algorithm's keyed hash over the concatenation of parts, full
// length (RAKP 2/3 codes, SIK, K1, K2).
func (a AuthAlg) HMAC(key []byte, parts ...[]byte) []byte {
	h := hmac.New(a.hash(), key)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// CodeLen is the length of the RAKP 2 and RAKP 3 authentication codes.
func (a AuthAlg) CodeLen() int {
	switch a {
	case AuthHMACSHA1:
		return sha1.Size
	case AuthHMACMD5:
		return md5.Size
	case AuthHMACSHA256:
		return sha256.Size
	}
	return 0
}

// ICVLen is the length of the RAKP 4 integrity check value: HMAC-SHA1-96,
// HMAC-MD5 (full) or HMAC-SHA256-128 (§13.28.1-13.28.3).
func (a AuthAlg) ICVLen() int {
	switch a {
	case AuthHMACSHA1:
		return 12
	case AuthHMACMD5, AuthHMACSHA256:
		return 16
	}
	return 0
}

// KeyLen is the length of RAKP keys (Kuid, KG): 160 bits.
const KeyLen = 20

// UserKey pads a password to the 20-byte Kuid.
func UserKey(password []byte) []byte {
	k := make([]byte, KeyLen)
	copy(k, password)
	return k
}

// Handshake holds the values both RAKP ends sign.
type Handshake struct {
	Auth        AuthAlg
	ConsoleSID  uint32
	BMCSID      uint32
	ConsoleRand [16]byte
	BMCRand     [16]byte
	GUID        [16]byte
	Role        byte // the whole Requested Maximum Privilege byte of RAKP 1
	User        string
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func (h *Handshake) roleUser() []byte {
	return append([]byte{h.Role, byte(len(h.User))}, h.User...)
}

// RAKP2Code is the Key Exchange Authentication Code of RAKP Message 2:
// HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, RoleM, ULengthM, UNameM).
func (h *Handshake) RAKP2Code(kuid []byte) []byte {
	return h.Auth.HMAC(kuid, le32(h.ConsoleSID), le32(h.BMCSID), h.ConsoleRand[:], h.BMCRand[:], h.GUID[:], h.roleUser())
}

// RAKP3Code is the Key Exchange Authentication Code of RAKP Message 3:
// HMAC_Kuid(Rc, SIDm, RoleM, ULengthM, UNameM).
func (h *Handshake) RAKP3Code(kuid []byte) []byte {
	return h.Auth.HMAC(kuid, h.BMCRand[:], le32(h.ConsoleSID), h.roleUser())
}

// SIK is the Session Integrity Key: HMAC_KG(Rm, Rc, RoleM, ULengthM,
// UNameM), where KG is the user key for one-key logins.
func (h *Handshake) SIK(kg []byte) []byte {
	return h.Auth.HMAC(kg, h.ConsoleRand[:], h.BMCRand[:], h.roleUser())
}

// RAKP4ICV is the Integrity Check Value of RAKP Message 4:
// HMAC_SIK(Rm, SIDc, GUIDc), truncated per the authentication algorithm.
func (h *Handshake) RAKP4ICV(sik []byte) []byte {
	return h.Auth.HMAC(sik, h.ConsoleRand[:], le32(h.BMCSID), h.GUID[:])[:h.Auth.ICVLen()]
}

// AdditionalKey is Kn = HMAC_SIK(const n), the constant being n repeated
// 20 times (§13.32).
func AdditionalKey(a AuthAlg, sik []byte, n byte) []byte {
	c := make([]byte, KeyLen)
	for i := range c {
		c[i] = n
	}
	return a.HMAC(sik, c)
}

// Equal compares authentication codes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// MAC is an RMCP+ session integrity algorithm keyed with K1. It implements
// rmcp.MAC.
type MAC struct {
	alg  IntegrityAlg
	key  []byte
	h    func() hash.Hash
	size int
}

// NewMAC returns the integrity algorithm alg keyed with k1.
func NewMAC(alg IntegrityAlg, k1 []byte) (*MAC, error) {
	m := &MAC{alg: alg, key: append([]byte(nil), k1...)}
	switch alg {
	case IntegrityHMACSHA1_96:
		m.h, m.size = sha1.New, 12
	case IntegrityHMACMD5_128:
		m.h, m.size = md5.New, 16
	case IntegrityHMACSHA256128:
		m.h, m.size = sha256.New, 16
	default:
		return nil, fmt.Errorf("integrity algorithm %d not implemented", alg)
	}
	return m, nil
}

// Size is the AuthCode length.
func (m *MAC) Size() int { return m.size }

// Append appends the AuthCode over data to dst.
func (m *MAC) Append(dst, data []byte) []byte {
	h := hmac.New(m.h, m.key)
	h.Write(data)
	return append(dst, h.Sum(nil)[:m.size]...)
}

// Verify checks code against data in constant time.
func (m *MAC) Verify(data, code []byte) bool {
	if len(code) != m.size {
		return false
	}
	return Equal(m.Append(nil, data), code)
}

// AES-CBC-128 confidentiality (§13.29).

// ErrDecrypt means an encrypted payload is malformed or its padding is
// wrong.
var ErrDecrypt = errors.New("cipher: bad encrypted payload")

// AES is AES-CBC-128 keyed with the first 16 bytes of K2.
type AES struct{ block cipher.Block }

// NewAES returns the confidentiality algorithm keyed from k2.
func NewAES(k2 []byte) (*AES, error) {
	if len(k2) < 16 {
		return nil, errors.New("cipher: K2 shorter than 16 bytes")
	}
	b, err := aes.NewCipher(k2[:16])
	if err != nil {
		return nil, err
	}
	return &AES{block: b}, nil
}

// Encrypt returns IV || AES-CBC(plain || pad || pad length), with a fresh
// random IV and the pad bytes 1, 2, 3, ... the specification requires.
func (c *AES) Encrypt(plain []byte) []byte {
	pad := (16 - (len(plain)+1)%16) % 16
	out := make([]byte, 16, 16+len(plain)+pad+1)
	if _, err := rand.Read(out[:16]); err != nil {
		panic("cipher: crypto/rand failed: " + err.Error())
	}
	out = append(out, plain...)
	for i := 1; i <= pad; i++ {
		out = append(out, byte(i))
	}
	out = append(out, byte(pad))
	body := out[16:]
	cipher.NewCBCEncrypter(c.block, out[:16]).CryptBlocks(body, body)
	return out
}

// Decrypt reverses Encrypt, checking the length and every pad byte.
func (c *AES) Decrypt(payload []byte) ([]byte, error) {
	if len(payload) < 32 || len(payload)%16 != 0 {
		return nil, ErrDecrypt
	}
	out := make([]byte, len(payload)-16)
	cipher.NewCBCDecrypter(c.block, payload[:16]).CryptBlocks(out, payload[16:])
	pad := int(out[len(out)-1])
	if pad > 15 || pad+1 > len(out) {
		return nil, ErrDecrypt
	}
	bad := 0
	for i := 0; i < pad; i++ {
		bad |= int(out[len(out)-1-pad+i] ^ byte(i+1))
	}
	if bad != 0 {
		return nil, ErrDecrypt
	}
	return out[:len(out)-1-pad], nil
}

// AuthCodeMD5 is the IPMI v1.5 multi-session MD5 AuthCode (Table 22-23):
// MD5(password + session ID + message + session seq + password), the
// password zero-padded to 16 bytes.
func AuthCodeMD5(password [16]byte, sessionID uint32, msg []byte, seq uint32) [16]byte {
	h := md5.New()
	h.Write(password[:])
	h.Write(le32(sessionID))
	h.Write(msg)
	h.Write(le32(seq))
	h.Write(password[:])
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}
