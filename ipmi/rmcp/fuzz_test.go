package rmcp

import (
	"bytes"
	"reflect"
	"testing"
)

// Every parser must survive any input, and whatever it accepts must
// survive an encode/decode round trip unchanged. The seed corpora live in
// testdata/fuzz.

func seedPackets(f *testing.F) {
	for _, s := range []string{
		ipmitoolAuthCaps,
		"0600ff06000011be80c40000",
		"0600ff0706100000000000000000200000000000a4a3a2a00000000801000000010000080100000002000008010000",
		"0600ff07060000000000000000000a002018c881003754",
	} {
		b := make([]byte, len(s)/2)
		for i := range b {
			b[i] = unhexByte(s[2*i])<<4 | unhexByte(s[2*i+1])
		}
		f.Add(b)
	}
	f.Add(AppendSession20(IPMIHeader.Append(nil), PayloadIPMI, true, 9, 3, []byte{1, 2, 3, 4, 5}, sha1MAC("k")))
	f.Add(Session15{AuthType: AuthMD5, Seq: 1, ID: 2, Message: []byte{0x20, 0x18, 0xc8, 0x81, 0x04, 0x3b, 0x04, 0x3c}}.Append(IPMIHeader.Append(nil)))
}

func unhexByte(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func FuzzPacket(f *testing.F) {
	seedPackets(f)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		h, body, err := ParseHeader(pkt)
		if err != nil {
			return
		}
		if !bytes.Equal(h.Append(nil), append([]byte{pkt[0], 0}, pkt[2:4]...)) {
			t.Fatal("header round trip")
		}
		if m, err := ParseASF(body); err == nil {
			if got, err := ParseASF(m.Append(nil)); err != nil || !reflect.DeepEqual(got, m) {
				t.Fatalf("ASF round trip: %+v %v", got, err)
			}
		}
		if s, err := ParseSession15(body); err == nil {
			got, err := ParseSession15(s.Append(nil))
			if err != nil || !reflect.DeepEqual(got, s) {
				t.Fatalf("v1.5 round trip: %+v %v", got, err)
			}
			if r, err := ParseRequest(s.Message); err == nil {
				if !bytes.Equal(r.Append(nil), s.Message) {
					t.Fatal("request round trip")
				}
			}
			if r, err := ParseResponse(s.Message); err == nil {
				if !bytes.Equal(r.Append(nil), s.Message) {
					t.Fatal("response round trip")
				}
			}
		}
		if s, err := ParseSession20(body); err == nil {
			for _, n := range []int{12, 16} {
				if signed, code, err := s.Integrity(n); err == nil {
					if len(code) != n || len(signed)+n != len(body) {
						t.Fatal("integrity split")
					}
				}
			}
			if s.PayloadType != PayloadOEM {
				re := AppendSession20(nil, s.PayloadType, s.Encrypted, s.ID, s.Seq, s.Payload, nil)
				got, err := ParseSession20(re)
				if err != nil || got.ID != s.ID || got.Seq != s.Seq || !bytes.Equal(got.Payload, s.Payload) || got.Encrypted != s.Encrypted {
					t.Fatalf("v2.0 round trip: %+v %v", got, err)
				}
			}
		}
	})
}

func FuzzHandshakeMessages(f *testing.F) {
	f.Add(OpenSessionRequest{Tag: 1, MaxPriv: 4, ConsoleSID: 7, Auth: Proposal{Alg: 3}, Integrity: Proposal{Alg: 4}, Conf: Proposal{Alg: 1}}.Append(nil))
	f.Add(OpenSessionResponse{Tag: 1, MaxPriv: 4, ConsoleSID: 7, BMCSID: 8, Auth: 3, Integrity: 4, Conf: 1}.Append(nil))
	f.Add(RAKP1{Tag: 2, BMCSID: 8, Role: 0x14, User: "admin"}.Append(nil))
	f.Add(RAKP2{Tag: 2, ConsoleSID: 7, AuthCode: make([]byte, 32)}.Append(nil))
	f.Add(RAKP3{Tag: 3, BMCSID: 8, AuthCode: make([]byte, 20)}.Append(nil))
	f.Add(RAKP4{Tag: 3, ConsoleSID: 7, ICV: make([]byte, 12)}.Append(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseOpenSessionRequest(b); err == nil {
			if got, err := ParseOpenSessionRequest(r.Append(nil)); err != nil || got != r {
				t.Fatalf("open request: %+v %v", got, err)
			}
		}
		if r, err := ParseOpenSessionResponse(b); err == nil {
			if got, err := ParseOpenSessionResponse(r.Append(nil)); err != nil || got != r {
				t.Fatalf("open response: %+v %v", got, err)
			}
		}
		if r, err := ParseRAKP1(b); err == nil {
			if len(r.User) > MaxUserNameLen || bytes.IndexByte([]byte(r.User), 0) >= 0 {
				t.Fatal("bad user name accepted")
			}
			if got, err := ParseRAKP1(r.Append(nil)); err != nil || got != r {
				t.Fatalf("RAKP1: %+v %v", got, err)
			}
		}
		if r, err := ParseRAKP2(b); err == nil {
			if got, err := ParseRAKP2(r.Append(nil)); err != nil || got.Tag != r.Tag || !bytes.Equal(got.AuthCode, r.AuthCode) {
				t.Fatalf("RAKP2: %+v %v", got, err)
			}
		}
		if r, err := ParseRAKP3(b); err == nil {
			if got, err := ParseRAKP3(r.Append(nil)); err != nil || !reflect.DeepEqual(got, r) {
				t.Fatalf("RAKP3: %+v %v", got, err)
			}
		}
		if r, err := ParseRAKP4(b); err == nil {
			if got, err := ParseRAKP4(r.Append(nil)); err != nil || got.Tag != r.Tag || !bytes.Equal(got.ICV, r.ICV) {
				t.Fatalf("RAKP4: %+v %v", got, err)
			}
		}
	})
}
