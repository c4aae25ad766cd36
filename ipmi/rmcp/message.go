package rmcp

// Addresses of the two ends of an IPMI LAN message.
const (
	BMCAddr     = 0x20 // the BMC's responder address
	ConsoleAddr = 0x81 // the remote console's software ID
)

// Request is an IPMI LAN request message (IPMI v2.0 §13.8).
type Request struct {
	RsAddr byte
	NetFn  byte
	RsLUN  byte
	RqAddr byte
	RqSeq  byte // 6 bits
	RqLUN  byte
	Cmd    byte
	Data   []byte
}

// Checksum is the IPMI two's-complement checksum of b.
func Checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// ParseRequest decodes an IPMI request message and checks both checksums.
func ParseRequest(b []byte) (Request, error) {
	if len(b) < 7 {
		return Request{}, ErrShort
	}
	if Checksum(b[0:2]) != b[2] || Checksum(b[3:len(b)-1]) != b[len(b)-1] {
		return Request{}, ErrMalformed
	}
	return Request{
		RsAddr: b[0], NetFn: b[1] >> 2, RsLUN: b[1] & 3,
		RqAddr: b[3], RqSeq: b[4] >> 2, RqLUN: b[4] & 3,
		Cmd: b[5], Data: b[6 : len(b)-1],
	}, nil
}

// Append appends the encoded request to dst.
func (r Request) Append(dst []byte) []byte {
	s := len(dst)
	dst = append(dst, r.RsAddr, r.NetFn<<2|r.RsLUN&3)
	dst = append(dst, Checksum(dst[s:s+2]))
	m := len(dst)
	dst = append(dst, r.RqAddr, r.RqSeq<<2|r.RqLUN&3, r.Cmd)
	dst = append(dst, r.Data...)
	return append(dst, Checksum(dst[m:]))
}

// Response is an IPMI LAN response message.
type Response struct {
	RqAddr     byte
	NetFn      byte // the response NetFn (request NetFn + 1)
	RqLUN      byte
	RsAddr     byte
	RqSeq      byte
	RsLUN      byte
	Cmd        byte
	Completion byte
	Data       []byte
}

// ResponseTo builds the response header for req.
func ResponseTo(req Request, cc byte, data []byte) Response {
	return Response{
		RqAddr: req.RqAddr, NetFn: req.NetFn | 1, RqLUN: req.RqLUN,
		RsAddr: req.RsAddr, RqSeq: req.RqSeq, RsLUN: req.RsLUN,
		Cmd: req.Cmd, Completion: cc, Data: data,
	}
}

// Append appends the encoded response to dst.
func (r Response) Append(dst []byte) []byte {
	s := len(dst)
	dst = append(dst, r.RqAddr, r.NetFn<<2|r.RqLUN&3)
	dst = append(dst, Checksum(dst[s:s+2]))
	m := len(dst)
	dst = append(dst, r.RsAddr, r.RqSeq<<2|r.RsLUN&3, r.Cmd, r.Completion)
	dst = append(dst, r.Data...)
	return append(dst, Checksum(dst[m:]))
}

// ParseResponse decodes an IPMI response message and checks its checksums.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 8 {
		return Response{}, ErrShort
	}
	if Checksum(b[0:2]) != b[2] || Checksum(b[3:len(b)-1]) != b[len(b)-1] {
		return Response{}, ErrMalformed
	}
	return Response{
		RqAddr: b[0], NetFn: b[1] >> 2, RqLUN: b[1] & 3,
		RsAddr: b[3], RqSeq: b[4] >> 2, RsLUN: b[4] & 3,
		Cmd: b[5], Completion: b[6], Data: b[7 : len(b)-1],
	}, nil
}
