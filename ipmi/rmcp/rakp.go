package rmcp

import "encoding/binary"

// RMCP+ and RAKP status codes (Table 13-15).
const (
	StatusOK                  = 0x00
	StatusNoResources         = 0x01
	StatusInvalidSessionID    = 0x02
	StatusInvalidPayloadType  = 0x03
	StatusInvalidAuthAlg      = 0x04
	StatusInvalidIntegrityAlg = 0x05
	StatusInactiveSessionID   = 0x08
	StatusInvalidRole         = 0x09
	StatusUnauthorizedRole    = 0x0A
	StatusInvalidNameLength   = 0x0C
	StatusUnauthorizedName    = 0x0D
	StatusInvalidIntegrityChk = 0x0F
	StatusInvalidConfAlg      = 0x10
	StatusNoCipherSuiteMatch  = 0x11
	StatusIllegalParameter    = 0x12
)

// MaxUserNameLen is the longest user name RAKP Message 1 can carry.
const MaxUserNameLen = 16

const (
	openSessionRequestLen      = 32
	openSessionResponseLen     = 36
	openSessionResponseErrLen  = 8
	rakp1MinLen                = 28
	rakp2MinLen                = 40
	rakpShortLen               = 8
	algorithmPayloadLen        = 8
	algorithmPayloadAuth       = 0
	algorithmPayloadIntegrity  = 1
	algorithmPayloadConfidence = 2
)

// Proposal is one algorithm payload of an Open Session message.
type Proposal struct {
	Wildcard bool // payload length 0: "BMC picks"
	Alg      byte // 6 bits
}

func parseProposal(b []byte, typ byte) (Proposal, error) {
	if b[0] != typ {
		return Proposal{}, ErrMalformed
	}
	switch b[3] {
	case 0:
		return Proposal{Wildcard: true}, nil
	case algorithmPayloadLen:
		return Proposal{Alg: b[4] & 0x3F}, nil
	}
	return Proposal{}, ErrMalformed
}

func appendProposal(dst []byte, typ byte, p Proposal) []byte {
	if p.Wildcard {
		return append(dst, typ, 0, 0, 0, 0, 0, 0, 0)
	}
	return append(dst, typ, 0, 0, algorithmPayloadLen, p.Alg&0x3F, 0, 0, 0)
}

// OpenSessionRequest is the RMCP+ Open Session Request (Table 13-9).
type OpenSessionRequest struct {
	Tag        byte
	MaxPriv    byte // 4 bits; 0 = highest level matching the proposal
	ConsoleSID uint32
	Auth       Proposal
	Integrity  Proposal
	Conf       Proposal
}

// ParseOpenSessionRequest decodes an Open Session Request payload.
func ParseOpenSessionRequest(b []byte) (OpenSessionRequest, error) {
	if len(b) < openSessionRequestLen {
		if len(b) >= 1 {
			return OpenSessionRequest{Tag: b[0]}, ErrShort
		}
		return OpenSessionRequest{}, ErrShort
	}
	r := OpenSessionRequest{Tag: b[0], MaxPriv: b[1] & 0x0F, ConsoleSID: binary.LittleEndian.Uint32(b[4:8])}
	var err error
	if r.Auth, err = parseProposal(b[8:16], algorithmPayloadAuth); err != nil {
		return r, err
	}
	if r.Integrity, err = parseProposal(b[16:24], algorithmPayloadIntegrity); err != nil {
		return r, err
	}
	if r.Conf, err = parseProposal(b[24:32], algorithmPayloadConfidence); err != nil {
		return r, err
	}
	return r, nil
}

// Append appends the encoded request to dst.
func (r OpenSessionRequest) Append(dst []byte) []byte {
	dst = append(dst, r.Tag, r.MaxPriv&0x0F, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.ConsoleSID)
	dst = appendProposal(dst, algorithmPayloadAuth, r.Auth)
	dst = appendProposal(dst, algorithmPayloadIntegrity, r.Integrity)
	return appendProposal(dst, algorithmPayloadConfidence, r.Conf)
}

// OpenSessionResponse is the RMCP+ Open Session Response (Table 13-10).
// With a non-zero Status only Tag, Status and ConsoleSID go on the wire.
type OpenSessionResponse struct {
	Tag        byte
	Status     byte
	MaxPriv    byte
	ConsoleSID uint32
	BMCSID     uint32
	Auth       byte
	Integrity  byte
	Conf       byte
}

// Append appends the encoded response to dst.
func (r OpenSessionResponse) Append(dst []byte) []byte {
	if r.Status != StatusOK {
		dst = append(dst, r.Tag, r.Status, 0, 0)
		return binary.LittleEndian.AppendUint32(dst, r.ConsoleSID)
	}
	dst = append(dst, r.Tag, r.Status, r.MaxPriv&0x0F, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.ConsoleSID)
	dst = binary.LittleEndian.AppendUint32(dst, r.BMCSID)
	dst = appendProposal(dst, algorithmPayloadAuth, Proposal{Alg: r.Auth})
	dst = appendProposal(dst, algorithmPayloadIntegrity, Proposal{Alg: r.Integrity})
	return appendProposal(dst, algorithmPayloadConfidence, Proposal{Alg: r.Conf})
}

// ParseOpenSessionResponse decodes an Open Session Response payload.
func ParseOpenSessionResponse(b []byte) (OpenSessionResponse, error) {
	if len(b) < openSessionResponseErrLen {
		return OpenSessionResponse{}, ErrShort
	}
	r := OpenSessionResponse{Tag: b[0], Status: b[1], ConsoleSID: binary.LittleEndian.Uint32(b[4:8])}
	if r.Status != StatusOK {
		return r, nil
	}
	r.MaxPriv = b[2] & 0x0F
	if len(b) < openSessionResponseLen {
		return r, ErrShort
	}
	r.BMCSID = binary.LittleEndian.Uint32(b[8:12])
	for i, p := range []*byte{&r.Auth, &r.Integrity, &r.Conf} {
		pr, err := parseProposal(b[12+8*i:20+8*i], byte(i))
		if err != nil || pr.Wildcard {
			return r, ErrMalformed
		}
		*p = pr.Alg
	}
	return r, nil
}

// RAKP1 is RAKP Message 1 (Table 13-11).
type RAKP1 struct {
	Tag         byte
	BMCSID      uint32
	ConsoleRand [16]byte
	Role        byte // the whole byte: bit 4 name-only lookup, bits 3:0 privilege
	User        string
}

// ParseRAKP1 decodes RAKP Message 1. A name longer than 16 bytes or one
// holding a NUL byte yields ErrMalformed with the other fields filled in,
// so the caller can answer "invalid name length".
func ParseRAKP1(b []byte) (RAKP1, error) {
	if len(b) < rakp1MinLen {
		if len(b) >= 1 {
			return RAKP1{Tag: b[0]}, ErrShort
		}
		return RAKP1{}, ErrShort
	}
	r := RAKP1{Tag: b[0], BMCSID: binary.LittleEndian.Uint32(b[4:8]), Role: b[24]}
	copy(r.ConsoleRand[:], b[8:24])
	n := int(b[27])
	if n > MaxUserNameLen || len(b) < rakp1MinLen+n {
		return r, ErrMalformed
	}
	name := b[rakp1MinLen : rakp1MinLen+n]
	for _, c := range name {
		if c == 0 {
			return r, ErrMalformed
		}
	}
	r.User = string(name)
	return r, nil
}

// Append appends the encoded message to dst.
func (r RAKP1) Append(dst []byte) []byte {
	dst = append(dst, r.Tag, 0, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.BMCSID)
	dst = append(dst, r.ConsoleRand[:]...)
	dst = append(dst, r.Role, 0, 0, byte(len(r.User)))
	return append(dst, r.User...)
}

// RAKP2 is RAKP Message 2 (Table 13-12). With a non-zero Status only Tag,
// Status and ConsoleSID go on the wire.
type RAKP2 struct {
	Tag        byte
	Status     byte
	ConsoleSID uint32
	BMCRand    [16]byte
	GUID       [16]byte
	AuthCode   []byte
}

// Append appends the encoded message to dst.
func (r RAKP2) Append(dst []byte) []byte {
	dst = append(dst, r.Tag, r.Status, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.ConsoleSID)
	if r.Status != StatusOK {
		return dst
	}
	dst = append(dst, r.BMCRand[:]...)
	dst = append(dst, r.GUID[:]...)
	return append(dst, r.AuthCode...)
}

// ParseRAKP2 decodes RAKP Message 2.
func ParseRAKP2(b []byte) (RAKP2, error) {
	if len(b) < rakpShortLen {
		return RAKP2{}, ErrShort
	}
	r := RAKP2{Tag: b[0], Status: b[1], ConsoleSID: binary.LittleEndian.Uint32(b[4:8])}
	if r.Status != StatusOK {
		return r, nil
	}
	if len(b) < rakp2MinLen {
		return r, ErrShort
	}
	copy(r.BMCRand[:], b[8:24])
	copy(r.GUID[:], b[24:40])
	r.AuthCode = b[40:]
	return r, nil
}

// RAKP3 is RAKP Message 3 (Table 13-13).
type RAKP3 struct {
	Tag      byte
	Status   byte
	BMCSID   uint32
	AuthCode []byte
}

// ParseRAKP3 decodes RAKP Message 3.
func ParseRAKP3(b []byte) (RAKP3, error) {
	if len(b) < rakpShortLen {
		if len(b) >= 1 {
			return RAKP3{Tag: b[0]}, ErrShort
		}
		return RAKP3{}, ErrShort
	}
	return RAKP3{Tag: b[0], Status: b[1], BMCSID: binary.LittleEndian.Uint32(b[4:8]), AuthCode: b[8:]}, nil
}

// Append appends the encoded message to dst.
func (r RAKP3) Append(dst []byte) []byte {
	dst = append(dst, r.Tag, r.Status, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.BMCSID)
	return append(dst, r.AuthCode...)
}

// RAKP4 is RAKP Message 4 (Table 13-14).
type RAKP4 struct {
	Tag        byte
	Status     byte
	ConsoleSID uint32
	ICV        []byte
}

// Append appends the encoded message to dst.
func (r RAKP4) Append(dst []byte) []byte {
	dst = append(dst, r.Tag, r.Status, 0, 0)
	dst = binary.LittleEndian.AppendUint32(dst, r.ConsoleSID)
	if r.Status != StatusOK {
		return dst
	}
	return append(dst, r.ICV...)
}

// ParseRAKP4 decodes RAKP Message 4.
func ParseRAKP4(b []byte) (RAKP4, error) {
	if len(b) < rakpShortLen {
		return RAKP4{}, ErrShort
	}
	r := RAKP4{Tag: b[0], Status: b[1], ConsoleSID: binary.LittleEndian.Uint32(b[4:8])}
	if r.Status == StatusOK {
		r.ICV = b[8:]
	}
	return r, nil
}
