package rmcp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"reflect"
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

// ipmitoolAuthCaps is the first packet ipmitool -I lanplus sends: Get
// Channel Authentication Capabilities in IPMI v1.5 framing.
const ipmitoolAuthCaps = "0600ff07000000000000000000092018c88100388e04b5"

func TestParseIpmitoolPacket(t *testing.T) {
	pkt := unhex(t, ipmitoolAuthCaps)
	h, body, err := ParseHeader(pkt)
	if err != nil || h != IPMIHeader {
		t.Fatalf("%+v %v", h, err)
	}
	s, err := ParseSession15(body)
	if err != nil || s.AuthType != AuthNone || s.ID != 0 || s.Seq != 0 {
		t.Fatalf("%+v %v", s, err)
	}
	r, err := ParseRequest(s.Message)
	want := Request{RsAddr: 0x20, NetFn: 6, RqAddr: 0x81, Cmd: 0x38, Data: []byte{0x8e, 0x04}}
	if err != nil || !reflect.DeepEqual(r, want) {
		t.Fatalf("%+v %v", r, err)
	}
	if got := s.Append(IPMIHeader.Append(nil)); !bytes.Equal(got, pkt) {
		t.Fatalf("re-encoded %x", got)
	}
	// A bad checksum is refused.
	pkt[len(pkt)-1]++
	_, body, _ = ParseHeader(pkt)
	s, _ = ParseSession15(body)
	if _, err := ParseRequest(s.Message); err != ErrMalformed {
		t.Fatal("bad checksum accepted")
	}
}

func TestResponseRoundTrip(t *testing.T) {
	req := Request{RsAddr: BMCAddr, NetFn: 0x06, RqAddr: ConsoleAddr, RqSeq: 0x2A, RqLUN: 2, Cmd: 0x01}
	resp := ResponseTo(req, 0xC1, []byte{1, 2})
	got, err := ParseResponse(resp.Append(nil))
	if err != nil || !reflect.DeepEqual(got, resp) || got.NetFn != 0x07 || got.RqSeq != 0x2A || got.RqLUN != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	if r, err := ParseRequest(req.Append(nil)); err != nil || r.RqSeq != 0x2A || r.RqLUN != 2 || len(r.Data) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestSession15MD5(t *testing.T) {
	s := Session15{AuthType: AuthMD5, Seq: 7, ID: 0xDEADBEEF, Message: []byte{1, 2, 3}}
	copy(s.AuthCode[:], bytes.Repeat([]byte{0xAB}, 16))
	b := s.Append(nil)
	if len(b) != 1+4+4+16+1+3 {
		t.Fatal(len(b))
	}
	got, err := ParseSession15(append(b, 0)) // a legacy pad byte is ignored
	if err != nil || !reflect.DeepEqual(got, s) {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := ParseSession15(b[:len(b)-1]); err != ErrShort {
		t.Fatal("truncated message accepted")
	}
}

type sha1MAC []byte

func (k sha1MAC) Size() int { return 12 }
func (k sha1MAC) Append(dst, data []byte) []byte {
	h := hmac.New(sha1.New, k)
	h.Write(data)
	return append(dst, h.Sum(nil)[:12]...)
}

func TestSession20Integrity(t *testing.T) {
	mac := sha1MAC("k1")
	for n := range 9 {
		payload := bytes.Repeat([]byte{0x5A}, n)
		pkt := AppendSession20(nil, PayloadIPMI, true, 0x01020304, 9, payload, mac)
		s, err := ParseSession20(pkt)
		if err != nil || !s.Encrypted || !s.Authenticated || s.ID != 0x01020304 || s.Seq != 9 || !bytes.Equal(s.Payload, payload) {
			t.Fatalf("%+v %v", s, err)
		}
		signed, code, err := s.Integrity(12)
		if err != nil || len(signed)%4 != 0 || !bytes.Equal(mac.Append(nil, signed), code) {
			t.Fatalf("n=%d: signed %d bytes, %v", n, len(signed), err)
		}
		if _, _, err := s.Integrity(16); err == nil {
			t.Fatal("wrong AuthCode length accepted")
		}
	}
	plain := AppendSession20(nil, PayloadOpenSession, false, 0, 0, []byte{1}, nil)
	s, err := ParseSession20(plain)
	if err != nil || s.Authenticated || s.Encrypted || len(s.Trailer()) != 0 {
		t.Fatalf("%+v %v", s, err)
	}
	if _, _, err := s.Integrity(12); err == nil {
		t.Fatal("integrity on an unsigned packet")
	}
}

func TestOpenSessionAndRAKPRoundTrips(t *testing.T) {
	osr := OpenSessionRequest{Tag: 3, MaxPriv: 4, ConsoleSID: 0xA1A2A3A4, Auth: Proposal{Alg: 3}, Integrity: Proposal{Wildcard: true}, Conf: Proposal{Alg: 1}}
	if got, err := ParseOpenSessionRequest(osr.Append(nil)); err != nil || got != osr {
		t.Fatalf("%+v %v", got, err)
	}
	for _, r := range []OpenSessionResponse{
		{Tag: 3, MaxPriv: 4, ConsoleSID: 1, BMCSID: 2, Auth: 3, Integrity: 4, Conf: 1},
		{Tag: 3, Status: StatusInvalidAuthAlg, ConsoleSID: 1},
	} {
		b := r.Append(nil)
		if got, err := ParseOpenSessionResponse(b); err != nil || got != r {
			t.Fatalf("%+v %v", got, err)
		}
		if r.Status != 0 && len(b) != 8 {
			t.Fatal("error response length")
		}
	}
	r1 := RAKP1{Tag: 1, BMCSID: 5, Role: 0x14, User: "admin"}
	r1.ConsoleRand[3] = 9
	if got, err := ParseRAKP1(r1.Append(nil)); err != nil || got != r1 {
		t.Fatalf("%+v %v", got, err)
	}
	long := RAKP1{User: "seventeen-chars-x"}.Append(nil)
	if _, err := ParseRAKP1(long); err != ErrMalformed {
		t.Fatal("17-byte name accepted")
	}
	nul := RAKP1{User: "a\x00b"}.Append(nil)
	if _, err := ParseRAKP1(nul); err != ErrMalformed {
		t.Fatal("NUL in name accepted")
	}
	r2 := RAKP2{Tag: 1, ConsoleSID: 6, AuthCode: []byte{1, 2, 3}}
	r2.GUID[0], r2.BMCRand[15] = 1, 2
	if got, err := ParseRAKP2(r2.Append(nil)); err != nil || !reflect.DeepEqual(got, r2) {
		t.Fatalf("%+v %v", got, err)
	}
	if b := (RAKP2{Tag: 1, Status: 2, ConsoleSID: 6}).Append(nil); len(b) != 8 {
		t.Fatal("RAKP2 error length")
	}
	r3 := RAKP3{Tag: 1, BMCSID: 7, AuthCode: []byte{9}}
	if got, err := ParseRAKP3(r3.Append(nil)); err != nil || !reflect.DeepEqual(got, r3) {
		t.Fatalf("%+v %v", got, err)
	}
	r4 := RAKP4{Tag: 1, ConsoleSID: 8, ICV: []byte{1, 2}}
	if got, err := ParseRAKP4(r4.Append(nil)); err != nil || !reflect.DeepEqual(got, r4) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestASF(t *testing.T) {
	ping := unhex(t, "0600ff06000011be80c40000")
	h, body, err := ParseHeader(ping)
	if err != nil || h.Class != ClassASF {
		t.Fatal(err)
	}
	m, err := ParseASF(body)
	if err != nil || m.IANA != ASFIANA || m.Type != ASFPresencePing || m.Tag != 0xC4 {
		t.Fatalf("%+v %v", m, err)
	}
	pong := ASFMessage{IANA: ASFIANA, Type: ASFPresencePong, Tag: 0xC4, Data: PongData()}
	if got, err := ParseASF(pong.Append(nil)); err != nil || !reflect.DeepEqual(got, pong) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestIntegrityPad(t *testing.T) {
	for h := 12; h < 20; h++ {
		for p := range 40 {
			if (h+p+IntegrityPad(h, p)+2)%4 != 0 {
				t.Fatalf("h=%d p=%d", h, p)
			}
		}
	}
}
