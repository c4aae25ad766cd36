package ipmi

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/sim"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/store"
	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

const (
	adminUser = "admin"
	adminPass = "admin-pass1"
	operUser  = "oper"
	operPass  = "oper-pass1"
	roUser    = "reader"
	roPass    = "reader-pass1"
	simDelay  = 20 * time.Millisecond
)

type testEnv struct {
	t        testing.TB
	srv      *Server
	m        *hardware.Machine
	accounts *auth.Accounts
	addr     string
}

type envOpt func(*Config)

// newEnv serves one machine (a fast sim unless b is given) on a free
// loopback port with admin, operator and read-only accounts.
func newEnv(t testing.TB, b hardware.Backend, opts ...envOpt) *testEnv {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	accounts, err := auth.Open(db, key)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name, pass string
		role       auth.Role
	}{{adminUser, adminPass, auth.RoleAdministrator}, {operUser, operPass, auth.RoleOperator}, {roUser, roPass, auth.RoleReadOnly}} {
		if _, err := accounts.Create(u.name, u.pass, u.role, true); err != nil {
			t.Fatal(err)
		}
	}
	if b == nil {
		b = sim.New(sim.Config{ID: "0", Seed: "ipmi-test", PowerOnDelay: simDelay, PowerOffDelay: simDelay, ShutdownDelay: simDelay})
	}
	log := slog.New(slog.DiscardHandler)
	m, err := hardware.NewMachine("0", b, db, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	cfg := Config{Addr: "127.0.0.1:0", Machine: m, Accounts: accounts, InstallUUID: "3b5e1a2c-0d4f-4a8e-9c7b-1f2e3d4c5b6a", Version: "1.23.4", Log: log}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(context.Background()) }()
	t.Cleanup(func() { srv.Close(); srv.Wait() })
	return &testEnv{t: t, srv: srv, m: m, accounts: accounts, addr: srv.Addr().String()}
}

// client is a minimal IPMI console: enough RMCP+ and IPMI v1.5 to drive
// the server from tests, independent of the server's session code.
type client struct {
	t    testing.TB
	conn *net.UDPConn

	suite      cipher.Suite
	consoleSID uint32
	bmcSID     uint32
	mac        *cipher.MAC
	aes        *cipher.AES
	seq        uint32
	rqSeq      byte
	last       []byte        // the last packet sent
	wait       time.Duration // how long to wait for an answer

	// IPMI v1.5.
	v15      bool
	password [16]byte
	outSeq   uint32 // next sequence number to send
}

func (e *testEnv) dial() *client {
	e.t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { conn.Close() })
	return &client{t: e.t, conn: conn, consoleSID: 0xC0FFEE00 | randomUint32()&0xFF, wait: answerWait}
}

var errTimeout = errors.New("no answer")

// exchange sends pkt and returns the next datagram, or errTimeout.
func (c *client) exchange(pkt []byte, wait time.Duration) ([]byte, error) {
	c.last = pkt
	if _, err := c.conn.Write(pkt); err != nil {
		return nil, err
	}
	return c.read(wait)
}

func (c *client) read(wait time.Duration) ([]byte, error) {
	buf := make([]byte, 2048)
	_ = c.conn.SetReadDeadline(time.Now().Add(wait))
	n, err := c.conn.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errTimeout
	}
	return buf[:n], err
}

// answerWait is how long a test waits for an answer; silenceWait how long
// it waits to be sure none comes.
const (
	answerWait  = 2 * time.Second
	silenceWait = 200 * time.Millisecond
)

// silent runs fn with the short wait.
func (c *client) silent(fn func()) {
	c.wait = silenceWait
	defer func() { c.wait = answerWait }()
	fn()
}

// handshake sends a session-setup payload and returns the answer payload.
func (c *client) handshake(payloadType byte, payload []byte) ([]byte, error) {
	pkt := rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), payloadType, false, 0, 0, payload, nil)
	resp, err := c.exchange(pkt, c.wait)
	if err != nil {
		return nil, err
	}
	_, body, err := rmcp.ParseHeader(resp)
	if err != nil {
		return nil, err
	}
	p, err := rmcp.ParseSession20(body)
	if err != nil {
		return nil, err
	}
	if p.PayloadType != payloadType+1 {
		return nil, fmt.Errorf("answer payload type %#x to %#x", p.PayloadType, payloadType)
	}
	return p.Payload, nil
}

// loginResult says how far a login got.
type loginResult struct {
	openStatus, rakp2Status, rakp4Status byte
	rakp2Valid                           bool // the RAKP 2 code verified with our password
	noRAKP4                              bool
}

// login runs Open Session and RAKP 1-4 with suite id, as user/pass
// requesting priv (name-only lookup).
func (c *client) login(id byte, user, pass string, priv Privilege) (loginResult, error) {
	cs, _ := cipher.Lookup(id)
	return c.loginWith(rmcp.OpenSessionRequest{
		Tag: 1, MaxPriv: byte(priv), ConsoleSID: c.consoleSID,
		Auth: rmcp.Proposal{Alg: byte(cs.Auth)}, Integrity: rmcp.Proposal{Alg: byte(cs.Integrity)}, Conf: rmcp.Proposal{Alg: byte(cs.Conf)},
	}, user, pass, 0x10|byte(priv))
}

func (c *client) loginWith(open rmcp.OpenSessionRequest, user, pass string, role byte) (loginResult, error) {
	var res loginResult
	raw, err := c.handshake(rmcp.PayloadOpenSession, open.Append(nil))
	if err != nil {
		return res, err
	}
	or, err := rmcp.ParseOpenSessionResponse(raw)
	if err != nil {
		return res, err
	}
	if res.openStatus = or.Status; or.Status != 0 {
		return res, nil
	}
	cs := cipher.Suite{Auth: cipher.AuthAlg(or.Auth), Integrity: cipher.IntegrityAlg(or.Integrity), Conf: cipher.ConfAlg(or.Conf)}
	for _, s := range cipher.Standard {
		if s.Auth == cs.Auth && s.Integrity == cs.Integrity && s.Conf == cs.Conf {
			cs.ID = s.ID
		}
	}
	c.suite, c.bmcSID = cs, or.BMCSID
	r1 := rmcp.RAKP1{Tag: 2, BMCSID: or.BMCSID, Role: role, User: user}
	_, _ = rand.Read(r1.ConsoleRand[:])
	raw, err = c.handshake(rmcp.PayloadRAKP1, r1.Append(nil))
	if err != nil {
		return res, err
	}
	r2, err := rmcp.ParseRAKP2(raw)
	if err != nil {
		return res, err
	}
	if res.rakp2Status = r2.Status; r2.Status != 0 {
		return res, nil
	}
	hs := cipher.Handshake{Auth: cs.Auth, ConsoleSID: c.consoleSID, BMCSID: c.bmcSID, ConsoleRand: r1.ConsoleRand,
		BMCRand: r2.BMCRand, GUID: r2.GUID, Role: role, User: user}
	kuid := cipher.UserKey([]byte(pass))
	res.rakp2Valid = cipher.Equal(hs.RAKP2Code(kuid), r2.AuthCode)
	r3 := rmcp.RAKP3{Tag: 3, BMCSID: c.bmcSID, AuthCode: hs.RAKP3Code(kuid)}
	raw, err = c.handshake(rmcp.PayloadRAKP3, r3.Append(nil))
	if errors.Is(err, errTimeout) {
		res.noRAKP4 = true
		return res, nil
	}
	if err != nil {
		return res, err
	}
	r4, err := rmcp.ParseRAKP4(raw)
	if err != nil {
		return res, err
	}
	if res.rakp4Status = r4.Status; r4.Status != 0 {
		return res, nil
	}
	sik := hs.SIK(kuid)
	if !cipher.Equal(hs.RAKP4ICV(sik), r4.ICV) {
		return res, errors.New("RAKP 4 ICV does not verify")
	}
	c.mac, _ = cipher.NewMAC(cs.Integrity, cipher.AdditionalKey(cs.Auth, sik, 1))
	if cs.Conf == cipher.ConfAESCBC128 {
		c.aes, _ = cipher.NewAES(cipher.AdditionalKey(cs.Auth, sik, 2))
	}
	return res, nil
}

// mustLogin logs in and raises the session to priv.
func (e *testEnv) mustLogin(id byte, user, pass string, priv Privilege) *client {
	e.t.Helper()
	c := e.dial()
	res, err := c.login(id, user, pass, priv)
	if err != nil || res.openStatus != 0 || res.rakp2Status != 0 || !res.rakp2Valid || res.rakp4Status != 0 || res.noRAKP4 {
		e.t.Fatalf("login %s suite %d: %+v %v", user, id, res, err)
	}
	if priv > PrivUser {
		if cc, _ := c.mustCmd(NetFnApp, 0x3B, byte(priv)); cc != 0 {
			e.t.Fatalf("set session privilege %v: %#x", priv, cc)
		}
	}
	return c
}

// request builds an in-session RMCP+ packet for an IPMI request.
func (c *client) request(netfn, cmd byte, data ...byte) []byte {
	c.rqSeq = (c.rqSeq + 1) & 0x3F
	msg := rmcp.Request{RsAddr: rmcp.BMCAddr, NetFn: netfn, RqAddr: rmcp.ConsoleAddr, RqSeq: c.rqSeq, Cmd: cmd, Data: data}.Append(nil)
	return c.wrap(msg)
}

func (c *client) wrap(msg []byte) []byte {
	if c.v15 {
		pkt := rmcp.Session15{AuthType: rmcp.AuthMD5, Seq: c.outSeq, ID: c.bmcSID, Message: msg}
		pkt.AuthCode = cipher.AuthCodeMD5(c.password, c.bmcSID, msg, c.outSeq)
		c.outSeq++
		return pkt.Append(rmcp.IPMIHeader.Append(nil))
	}
	c.seq++
	payload := msg
	if c.aes != nil {
		payload = c.aes.Encrypt(msg)
	}
	var mac rmcp.MAC
	if c.mac != nil {
		mac = c.mac
	}
	return rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadIPMI, c.aes != nil, c.bmcSID, c.seq, payload, mac)
}

// decode checks an in-session answer and returns the IPMI response.
func (c *client) decode(pkt []byte) (rmcp.Response, error) {
	_, body, err := rmcp.ParseHeader(pkt)
	if err != nil {
		return rmcp.Response{}, err
	}
	if c.v15 || body[0] != rmcp.AuthRMCPPlus {
		p, err := rmcp.ParseSession15(body)
		if err != nil {
			return rmcp.Response{}, err
		}
		if p.AuthType == rmcp.AuthMD5 {
			if want := cipher.AuthCodeMD5(c.password, p.ID, p.Message, p.Seq); want != p.AuthCode {
				return rmcp.Response{}, errors.New("bad v1.5 AuthCode")
			}
		}
		return rmcp.ParseResponse(p.Message)
	}
	p, err := rmcp.ParseSession20(body)
	if err != nil {
		return rmcp.Response{}, err
	}
	payload := p.Payload
	if p.ID != 0 {
		if p.ID != c.consoleSID || !p.Authenticated || c.mac == nil {
			return rmcp.Response{}, errors.New("unexpected session packet")
		}
		signed, code, err := p.Integrity(c.mac.Size())
		if err != nil || !c.mac.Verify(signed, code) {
			return rmcp.Response{}, errors.New("answer fails integrity")
		}
		if c.aes != nil {
			if !p.Encrypted {
				return rmcp.Response{}, errors.New("answer not encrypted")
			}
			if payload, err = c.aes.Decrypt(payload); err != nil {
				return rmcp.Response{}, err
			}
		}
	}
	return rmcp.ParseResponse(payload)
}

// cmd runs a command in the session.
func (c *client) cmd(netfn, cmd byte, data ...byte) (byte, []byte, error) {
	resp, err := c.exchange(c.request(netfn, cmd, data...), c.wait)
	if err != nil {
		return 0, nil, err
	}
	r, err := c.decode(resp)
	if err != nil {
		return 0, nil, err
	}
	if r.Cmd != cmd || r.NetFn != netfn|1 || r.RqSeq != c.rqSeq {
		return 0, nil, fmt.Errorf("answer to %#x/%#x is for %#x/%#x", netfn, cmd, r.NetFn, r.Cmd)
	}
	return r.Completion, r.Data, nil
}

func (c *client) mustCmd(netfn, cmd byte, data ...byte) (byte, []byte) {
	c.t.Helper()
	cc, d, err := c.cmd(netfn, cmd, data...)
	if err != nil {
		c.t.Fatalf("command %#x/%#x: %v", netfn, cmd, err)
	}
	return cc, d
}

// sessionless sends a request outside a session, in v1.5 or RMCP+ framing.
func (c *client) sessionless(v15 bool, netfn, cmd byte, data ...byte) (byte, []byte, error) {
	msg := rmcp.Request{RsAddr: rmcp.BMCAddr, NetFn: netfn, RqAddr: rmcp.ConsoleAddr, RqSeq: 1, Cmd: cmd, Data: data}.Append(nil)
	var pkt []byte
	if v15 {
		pkt = rmcp.Session15{AuthType: rmcp.AuthNone, Message: msg}.Append(rmcp.IPMIHeader.Append(nil))
	} else {
		pkt = rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadIPMI, false, 0, 0, msg, nil)
	}
	resp, err := c.exchange(pkt, answerWait)
	if err != nil {
		return 0, nil, err
	}
	saved := c.v15
	c.v15 = v15
	r, err := c.decode(resp)
	c.v15 = saved
	if err != nil {
		return 0, nil, err
	}
	return r.Completion, r.Data, nil
}

// login15 opens an IPMI v1.5 MD5 session.
func (c *client) login15(user, pass string, priv Privilege) (byte, error) {
	name := make([]byte, 16)
	copy(name, user)
	cc, d, err := c.sessionless(true, NetFnApp, 0x39, append([]byte{rmcp.AuthMD5}, name...)...)
	if err != nil || cc != 0 {
		return cc, err
	}
	c.v15 = true
	copy(c.password[:], pass)
	c.bmcSID = binary.LittleEndian.Uint32(d[0:4])
	initOut := uint32(0x1000)
	req := append([]byte{rmcp.AuthMD5, byte(priv)}, d[4:20]...)
	req = binary.LittleEndian.AppendUint32(req, initOut)
	c.outSeq = 0
	c.rqSeq++
	msg := rmcp.Request{RsAddr: rmcp.BMCAddr, NetFn: NetFnApp, RqAddr: rmcp.ConsoleAddr, RqSeq: c.rqSeq, Cmd: 0x3A, Data: req}.Append(nil)
	resp, err := c.exchange(c.wrap(msg), c.wait)
	if err != nil {
		return 0, err
	}
	r, err := c.decode(resp)
	if err != nil || r.Completion != 0 {
		return r.Completion, err
	}
	c.bmcSID = binary.LittleEndian.Uint32(r.Data[1:5])
	c.outSeq = binary.LittleEndian.Uint32(r.Data[5:9])
	return 0, nil
}

// waitPower polls the machine until it reaches want.
func (e *testEnv) waitPower(want hardware.PowerState) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if ps, _ := e.m.PowerState(context.Background()); ps == want {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.t.Fatalf("machine never reached %s", want)
}

func authUpdateEnabled(on bool) auth.Update  { return auth.Update{Enabled: &on} }
func authUpdateRole(r auth.Role) auth.Update { return auth.Update{Role: &r} }
func authRole(s string) auth.Role            { return auth.Role(s) }
