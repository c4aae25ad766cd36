package ipmi

import "errors"

// SOL payload (payload type 01h) wire format, IPMI v2.0 §15.9.

// solHeaderLen is the fixed part of a SOL payload.
const solHeaderLen = 4

// Operation bits, console to BMC (§15.9, byte 4).
const (
	solOpNACK          = 0x40 // the console cannot accept the acked packet's data now
	solOpRing          = 0x20 // ring/wake-on-ring
	solOpBreak         = 0x10 // generate a break on the serial line
	solOpCTSPause      = 0x08 // deassert CTS: the BMC stops sending
	solOpDropDCD       = 0x04 // drop DCD/DSR
	solOpFlushInbound  = 0x02 // discard console-to-BMC data still queued
	solOpFlushOutbound = 0x01 // discard BMC-to-console data still queued
)

// Status bits, BMC to console.
const (
	solStNACK         = 0x40
	solStUnavailable  = 0x20 // character transfer unavailable
	solStDeactivating = 0x10 // SOL is being deactivated
	solStOverrun      = 0x08 // characters were dropped
	solStBreak        = 0x04 // break detected on the serial line
)

var errSOLShort = errors.New("ipmi: SOL payload shorter than its header")

// solPacket is one SOL payload.
type solPacket struct {
	Seq      byte // 1..15; 0 is an ACK/NACK-only packet
	Ack      byte // sequence number acked or nacked; 0 if none
	Accepted byte // characters of the acked packet accepted
	Op       byte // operation (console) or status (BMC) bits
	Data     []byte
}

// parseSOL decodes a SOL payload; Data aliases b. Reserved bits of the
// sequence numbers are ignored.
func parseSOL(b []byte) (solPacket, error) {
	if len(b) < solHeaderLen {
		return solPacket{}, errSOLShort
	}
	return solPacket{Seq: b[0] & 0x0F, Ack: b[1] & 0x0F, Accepted: b[2], Op: b[3] & 0x7F, Data: b[solHeaderLen:]}, nil
}

// append encodes p after dst.
func (p solPacket) append(dst []byte) []byte {
	dst = append(dst, p.Seq&0x0F, p.Ack&0x0F, p.Accepted, p.Op&0x7F)
	return append(dst, p.Data...)
}

// nextSOLSeq steps a packet sequence number through 1..15.
func nextSOLSeq(s byte) byte {
	if s >= 15 {
		return 1
	}
	return s + 1
}
