package rmcp

import "encoding/binary"

// Authentication types of the IPMI v1.5 session header (Table 13-8). The
// value 6 is not an authentication type but marks the RMCP+ format.
const (
	AuthNone     = 0x00
	AuthMD2      = 0x01
	AuthMD5      = 0x02
	AuthPassword = 0x04
	AuthOEM      = 0x05
	AuthRMCPPlus = 0x06
)

// Session15 is an IPMI v1.5 session wrapper and the IPMI message inside it.
type Session15 struct {
	AuthType byte
	Seq      uint32
	ID       uint32
	AuthCode [16]byte // present on the wire unless AuthType is none
	Message  []byte
}

// ParseSession15 decodes an IPMI v1.5 session wrapper (the bytes after the
// RMCP header). A trailing legacy pad byte is ignored.
func ParseSession15(b []byte) (Session15, error) {
	if len(b) < 10 {
		return Session15{}, ErrShort
	}
	s := Session15{AuthType: b[0] & 0x0F, Seq: binary.LittleEndian.Uint32(b[1:5]), ID: binary.LittleEndian.Uint32(b[5:9])}
	if s.AuthType == AuthRMCPPlus {
		return s, ErrMalformed
	}
	p := 9
	if s.AuthType != AuthNone {
		if len(b) < p+17 {
			return s, ErrShort
		}
		copy(s.AuthCode[:], b[p:p+16])
		p += 16
	}
	n := int(b[p])
	p++
	if len(b) < p+n {
		return s, ErrShort
	}
	s.Message = b[p : p+n]
	return s, nil
}

// Append appends the encoded session wrapper (without RMCP header) to dst.
func (s Session15) Append(dst []byte) []byte {
	dst = append(dst, s.AuthType)
	dst = binary.LittleEndian.AppendUint32(dst, s.Seq)
	dst = binary.LittleEndian.AppendUint32(dst, s.ID)
	if s.AuthType != AuthNone {
		dst = append(dst, s.AuthCode[:]...)
	}
	dst = append(dst, byte(len(s.Message)))
	return append(dst, s.Message...)
}

// RMCP+ payload types (Table 13-16) and the flag bits of the payload type
// byte.
const (
	PayloadIPMI         = 0x00
	PayloadSOL          = 0x01
	PayloadOEM          = 0x02
	PayloadOpenSession  = 0x10
	PayloadOpenResponse = 0x11
	PayloadRAKP1        = 0x12
	PayloadRAKP2        = 0x13
	PayloadRAKP3        = 0x14
	PayloadRAKP4        = 0x15

	FlagEncrypted     = 0x80
	FlagAuthenticated = 0x40

	// NextHeader is the fixed "next header" byte of the RMCP+ trailer.
	NextHeader = 0x07
)

// MAC computes an RMCP+ integrity code (AuthCode).
type MAC interface {
	// Size is the AuthCode length in bytes.
	Size() int
	// Append appends the AuthCode over data to dst.
	Append(dst, data []byte) []byte
}

// Session20 is an RMCP+ (IPMI v2.0) packet after the RMCP header.
type Session20 struct {
	PayloadType   byte // bits 5:0
	Encrypted     bool
	Authenticated bool
	OEMIANA       uint32 // only for PayloadOEM
	OEMPayloadID  uint16 // only for PayloadOEM
	ID            uint32
	Seq           uint32
	Payload       []byte

	raw        []byte // the whole packet after the RMCP header
	payloadEnd int    // offset in raw just past the payload
}

// ParseSession20 decodes an RMCP+ packet (the bytes after the RMCP header).
// The integrity trailer, if any, is left for Integrity to split off.
func ParseSession20(b []byte) (Session20, error) {
	if len(b) < 12 {
		return Session20{}, ErrShort
	}
	if b[0] != AuthRMCPPlus {
		return Session20{}, ErrMalformed
	}
	s := Session20{
		PayloadType:   b[1] & 0x3F,
		Encrypted:     b[1]&FlagEncrypted != 0,
		Authenticated: b[1]&FlagAuthenticated != 0,
	}
	p := 2
	if s.PayloadType == PayloadOEM {
		if len(b) < p+6+10 {
			return s, ErrShort
		}
		s.OEMIANA = binary.LittleEndian.Uint32(b[p:p+4]) & 0xFFFFFF
		s.OEMPayloadID = binary.LittleEndian.Uint16(b[p+4 : p+6])
		p += 6
	}
	s.ID = binary.LittleEndian.Uint32(b[p : p+4])
	s.Seq = binary.LittleEndian.Uint32(b[p+4 : p+8])
	n := int(binary.LittleEndian.Uint16(b[p+8 : p+10]))
	p += 10
	if len(b) < p+n {
		return s, ErrShort
	}
	s.Payload = b[p : p+n]
	s.raw, s.payloadEnd = b, p+n
	return s, nil
}

// Trailer returns the bytes after the payload (integrity pad, pad length,
// next header and AuthCode on an authenticated packet; nothing otherwise,
// or garbage).
func (s Session20) Trailer() []byte {
	if s.raw == nil {
		return nil
	}
	return s.raw[s.payloadEnd:]
}

// Integrity splits off the session trailer of an authenticated packet whose
// AuthCode is authLen bytes long. It returns the bytes the AuthCode covers
// (from the format byte through next header) and the AuthCode itself.
func (s Session20) Integrity(authLen int) (signed, code []byte, err error) {
	t := s.Trailer()
	if authLen <= 0 || len(t) < 2+authLen {
		return nil, nil, ErrShort
	}
	pad := len(t) - 2 - authLen
	if pad > 3 || int(t[pad]) != pad || t[pad+1] != NextHeader {
		return nil, nil, ErrMalformed
	}
	end := s.payloadEnd + pad + 2
	return s.raw[:end], s.raw[end:], nil
}

// IntegrityPad is the number of 0xFF bytes that make the integrity-covered
// range (header, payload, pad, pad length, next header) a multiple of four.
func IntegrityPad(headerLen, payloadLen int) int {
	return (4 - (headerLen+payloadLen+2)%4) % 4
}

// AppendSession20 appends an RMCP+ packet (without RMCP header) to dst. With
// a non-nil mac the packet is marked authenticated and carries the trailer
// and AuthCode. Encrypted only sets the flag: the payload must already be
// encrypted.
func AppendSession20(dst []byte, payloadType byte, encrypted bool, id, seq uint32, payload []byte, mac MAC) []byte {
	start := len(dst)
	t := payloadType & 0x3F
	if encrypted {
		t |= FlagEncrypted
	}
	if mac != nil {
		t |= FlagAuthenticated
	}
	dst = append(dst, AuthRMCPPlus, t)
	dst = binary.LittleEndian.AppendUint32(dst, id)
	dst = binary.LittleEndian.AppendUint32(dst, seq)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(payload)))
	dst = append(dst, payload...)
	if mac == nil {
		return dst
	}
	pad := IntegrityPad(12, len(payload))
	for range pad {
		dst = append(dst, 0xFF)
	}
	dst = append(dst, byte(pad), NextHeader)
	return mac.Append(dst, dst[start:])
}
