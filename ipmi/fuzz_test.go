package ipmi

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// FuzzPacket feeds arbitrary datagrams to a live server: nothing may
// panic, and nothing but a pong, an error or a session-setup answer may
// come back to a stranger.
func FuzzPacket(f *testing.F) {
	e := newEnv(f, nil, func(c *Config) { c.EnableIPMI15 = true })
	for _, s := range []string{
		"0600ff07000000000000000000092018c88100388e04b5",
		"0600ff06000011be80c40000",
	} {
		b := make([]byte, len(s)/2)
		for i := range b {
			b[i] = hexVal(s[2*i])<<4 | hexVal(s[2*i+1])
		}
		f.Add(b)
	}
	open := rmcp.OpenSessionRequest{Tag: 1, ConsoleSID: 7, Auth: rmcp.Proposal{Alg: 3}, Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}
	f.Add(rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadOpenSession, false, 0, 0, open.Append(nil), nil))
	f.Add(rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadRAKP1, false, 0, 0, rmcp.RAKP1{BMCSID: 1, Role: 0x14, User: "admin"}.Append(nil), nil))
	f.Add(rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadRAKP3, false, 0, 0, rmcp.RAKP3{BMCSID: 1, AuthCode: make([]byte, 32)}.Append(nil), nil))
	challenge := rmcp.Request{RsAddr: 0x20, NetFn: NetFnApp, RqAddr: 0x81, Cmd: 0x39, Data: append([]byte{2}, name16(adminUser)...)}.Append(nil)
	f.Add(rmcp.Session15{Message: challenge}.Append(rmcp.IPMIHeader.Append(nil)))
	f.Add(rmcp.Session15{AuthType: rmcp.AuthMD5, ID: 5, Message: challenge}.Append(rmcp.IPMIHeader.Append(nil)))
	f.Add(rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadIPMI, true, 5, 1, make([]byte, 32), &fixedMAC{}))
	from := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, pkt []byte) {
		e.srv.handlePacket(pkt, from)
	})
}

type fixedMAC struct{}

func (fixedMAC) Size() int                      { return 16 }
func (fixedMAC) Append(dst, data []byte) []byte { return append(dst, make([]byte, 16)...) }

func hexVal(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

// FuzzCommand runs arbitrary requests through the command table in an
// administrator's encrypted session: every handler must cope with any
// data, answer with a valid completion code, and never panic.
func FuzzCommand(f *testing.F) {
	e := newEnv(f, nil)
	admin, _ := e.accounts.ByName(adminUser)
	aes, _ := cipher.NewAES(make([]byte, 20))
	sess := &session{id: 0x1234, userID: admin.ID, userName: admin.UserName, limit: PrivAdmin, aes: aes}
	sess.setPriv(PrivAdmin)
	sess.setState(stateActive)
	for key := range commands {
		f.Add(byte(key>>8), byte(key), []byte{})
		f.Add(byte(key>>8), byte(key), []byte{0x0E, 0x02, 0x00, 0x00})
	}
	f.Add(byte(NetFnChassis), byte(0x08), []byte{5, 0xE0, 0x04, 0, 0, 0})
	f.Add(byte(NetFnApp), byte(0x47), append([]byte{0x83, 0x03}, make([]byte, 20)...))
	from := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, netfn, cmd byte, data []byte) {
		netfn &= 0x3F
		if netfn == NetFnApp && cmd == 0x45 {
			return // renaming the administrator would end the fuzz session
		}
		sess.recent = [8]cachedResponse{}
		r := e.srv.newRequest(sess, from, rmcp.Request{RsAddr: 0x20, NetFn: netfn, RqAddr: 0x81, Cmd: cmd, Data: data}, false)
		resp := e.srv.dispatch(r)
		if netfn&1 != 0 {
			if resp != nil {
				t.Fatal("answered a response")
			}
			return
		}
		got, err := rmcp.ParseResponse(resp)
		if err != nil || got.Cmd != cmd || got.NetFn != netfn|1 {
			t.Fatalf("bad response % x: %v", resp, err)
		}
		if got.Completion != 0 && len(got.Data) != 0 {
			t.Fatal("data with an error completion code")
		}
		if !bytes.Equal(got.Append(nil), resp) {
			t.Fatal("response does not re-encode")
		}
	})
}
