// Package rmcp encodes and decodes the wire formats of IPMI over LAN: the
// RMCP header, ASF presence ping/pong, the IPMI v1.5 and v2.0 (RMCP+)
// session wrappers, IPMI LAN messages, and the RMCP+ session-setup
// messages (Open Session, RAKP 1-4). It holds no state and does no
// cryptography: integrity codes are computed by a caller-supplied MAC.
//
// Every parser takes untrusted bytes, never panics and never retains more
// than the slice it was given; the fuzz targets beside this file check both.
package rmcp

import (
	"encoding/binary"
	"errors"
)

// RMCP constants (DMTF ASF 2.0, IPMI v2.0 §13.1).
const (
	Version   = 0x06 // RMCP version 1.0 as ASF 2.0 numbers it
	SeqNoAck  = 0xFF // RMCP sequence number asking for no RMCP ACK
	ClassASF  = 0x06
	ClassIPMI = 0x07
	ClassACK  = 0x80 // bit 7 of the class byte marks an RMCP ACK

	// ASFIANA is the ASF enterprise number carried in ASF messages.
	ASFIANA = 4542

	ASFPresencePong = 0x40
	ASFPresencePing = 0x80
)

// ErrShort and ErrMalformed are the parse errors. Callers drop such
// packets silently, as the specification asks.
var (
	ErrShort     = errors.New("rmcp: packet too short")
	ErrMalformed = errors.New("rmcp: malformed packet")
)

// Header is the 4-byte RMCP header.
type Header struct {
	Version byte
	Seq     byte
	Class   byte // message class, including the ACK bit
}

// HeaderLen is the size of the RMCP header.
const HeaderLen = 4

// ParseHeader splits an RMCP packet into its header and the rest.
func ParseHeader(b []byte) (Header, []byte, error) {
	if len(b) < HeaderLen {
		return Header{}, nil, ErrShort
	}
	h := Header{Version: b[0], Seq: b[2], Class: b[3]}
	if h.Version != Version {
		return h, nil, ErrMalformed
	}
	return h, b[HeaderLen:], nil
}

// Append appends the encoded header to dst.
func (h Header) Append(dst []byte) []byte {
	return append(dst, h.Version, 0, h.Seq, h.Class)
}

// IPMIHeader is the header every IPMI-class packet carries.
var IPMIHeader = Header{Version: Version, Seq: SeqNoAck, Class: ClassIPMI}

// ASFMessage is an ASF message (class 6): Presence Ping and Pong.
type ASFMessage struct {
	IANA uint32
	Type byte
	Tag  byte
	Data []byte
}

// ParseASF decodes the body of an ASF-class RMCP packet.
func ParseASF(b []byte) (ASFMessage, error) {
	if len(b) < 8 {
		return ASFMessage{}, ErrShort
	}
	m := ASFMessage{IANA: binary.BigEndian.Uint32(b[0:4]), Type: b[4], Tag: b[5]}
	n := int(b[7])
	if len(b) < 8+n {
		return m, ErrShort
	}
	m.Data = b[8 : 8+n]
	return m, nil
}

// Append appends the encoded message to dst.
func (m ASFMessage) Append(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, m.IANA)
	dst = append(dst, m.Type, m.Tag, 0, byte(len(m.Data)))
	return append(dst, m.Data...)
}

// PongData is the Presence Pong body of an IPMI-capable managed client
// without OEM extensions: IANA 4542, no OEM data, "IPMI supported, ASF
// version 1.0", no supported interactions (ASF 2.0 Table 25).
func PongData() []byte {
	d := make([]byte, 16)
	binary.BigEndian.PutUint32(d[0:4], ASFIANA)
	d[8] = 0x81
	return d
}
