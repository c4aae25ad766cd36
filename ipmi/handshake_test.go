package ipmi

import (
	"bytes"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

func TestLoginEverySuite(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.CipherSuites = []byte{17, 3, 16, 2, 8, 7} })
	for _, id := range []byte{17, 3, 16, 2, 8, 7} {
		c := e.mustLogin(id, adminUser, adminPass, PrivAdmin)
		if c.suite.ID != id {
			t.Fatalf("negotiated suite %d, want %d", c.suite.ID, id)
		}
		if cc, d := c.mustCmd(NetFnApp, 0x01); cc != 0 || d[4] != 0x02 {
			t.Fatalf("suite %d: Get Device ID cc=%#x data=% x", id, cc, d)
		}
		if cc, _ := c.mustCmd(NetFnApp, 0x3C, le(c.bmcSID)...); cc != 0 {
			t.Fatalf("close: %#x", cc)
		}
	}
}

func le(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }

func TestDefaultSuitesOnly(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		id     byte
		status byte
	}{
		{0, rmcp.StatusInvalidAuthAlg},       // RAKP-none
		{1, rmcp.StatusInvalidIntegrityAlg},  // no integrity
		{2, rmcp.StatusInvalidConfAlg},       // not offered by default
		{6, rmcp.StatusInvalidAuthAlg},       // HMAC-MD5 not offered
		{15, rmcp.StatusInvalidIntegrityAlg}, // no integrity
		{16, rmcp.StatusInvalidConfAlg},      // not offered by default
	} {
		res, err := e.dial().login(tc.id, adminUser, adminPass, PrivAdmin)
		if err != nil || res.openStatus != tc.status {
			t.Errorf("suite %d: open status %#x (%v), want %#x", tc.id, res.openStatus, err, tc.status)
		}
	}
}

func TestNeverOfferWeakSuites(t *testing.T) {
	for _, id := range []byte{0, 1, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 0x80} {
		if _, err := ParseSuites([]byte{id}); err == nil {
			t.Errorf("suite %d accepted", id)
		}
	}
	if _, err := ParseSuites([]byte{2, 3, 7, 8, 16, 17}); err != nil {
		t.Fatal(err)
	}
}

func TestWildcardProposalPicksStrongest(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	res, err := c.loginWith(rmcp.OpenSessionRequest{Tag: 9, ConsoleSID: c.consoleSID,
		Auth: rmcp.Proposal{Wildcard: true}, Integrity: rmcp.Proposal{Wildcard: true}, Conf: rmcp.Proposal{Wildcard: true}},
		adminUser, adminPass, 0x14)
	if err != nil || res.rakp4Status != 0 || c.suite.ID != 17 {
		t.Fatalf("res %+v err %v suite %d", res, err, c.suite.ID)
	}
}

func TestWrongPasswordUnknownAndNullUser(t *testing.T) {
	e := newEnv(t, nil)
	var codeLen []int
	for _, tc := range []struct{ user, pass string }{
		{adminUser, "not-the-password"},
		{"nobody", adminPass},
		{"", ""},
	} {
		c := e.dial()
		res, err := c.login(17, tc.user, tc.pass, PrivAdmin)
		if err != nil {
			t.Fatal(err)
		}
		// RAKP 2 looks the same for all three: status 0 and a code that
		// only fails to verify; RAKP 3 then fails with 0Fh.
		if res.openStatus != 0 || res.rakp2Status != 0 || res.rakp2Valid || res.rakp4Status != rmcp.StatusInvalidIntegrityChk {
			t.Errorf("%q/%q: %+v", tc.user, tc.pass, res)
		}
		codeLen = append(codeLen, len(c.last))
	}
	if codeLen[0] != codeLen[1] {
		t.Errorf("RAKP 3 sizes differ: %v", codeLen)
	}
}

func TestDisabledAccountCannotLogIn(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.accounts.ByName(operUser)
	off := false
	if _, err := e.accounts.Update(a.ID, authUpdateEnabled(off)); err != nil {
		t.Fatal(err)
	}
	res, err := e.dial().login(17, operUser, operPass, PrivOperator)
	if err != nil || res.rakp2Valid || res.rakp4Status != rmcp.StatusInvalidIntegrityChk {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestRAKPErrors(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	// RAKP 1 for a session that does not exist.
	raw, err := c.handshake(rmcp.PayloadRAKP1, rmcp.RAKP1{Tag: 7, BMCSID: 0x1234, Role: 0x14, User: adminUser}.Append(nil))
	if err != nil {
		t.Fatal(err)
	}
	if r2, _ := rmcp.ParseRAKP2(raw); r2.Status != rmcp.StatusInvalidSessionID || r2.Tag != 7 {
		t.Fatalf("rakp2 %+v", r2)
	}
	// A null console session ID.
	raw, err = c.handshake(rmcp.PayloadOpenSession, rmcp.OpenSessionRequest{Tag: 8,
		Auth: rmcp.Proposal{Alg: 3}, Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}.Append(nil))
	if or, _ := rmcp.ParseOpenSessionResponse(raw); err != nil || or.Status != rmcp.StatusIllegalParameter || or.Tag != 8 {
		t.Fatalf("null console session ID: %+v %v", or, err)
	}
	// Invalid role and over-long names.
	open := func() uint32 {
		raw, err := c.handshake(rmcp.PayloadOpenSession, rmcp.OpenSessionRequest{Tag: 1, ConsoleSID: 5,
			Auth: rmcp.Proposal{Alg: 3}, Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}.Append(nil))
		if err != nil {
			t.Fatal(err)
		}
		or, _ := rmcp.ParseOpenSessionResponse(raw)
		if or.MaxPriv != byte(PrivAdmin) || or.ConsoleSID != 5 {
			t.Fatalf("open %+v", or)
		}
		return or.BMCSID
	}
	sid := open()
	for _, tc := range []struct {
		payload []byte
		status  byte
	}{
		{rmcp.RAKP1{Tag: 1, BMCSID: sid, Role: 0x10, User: adminUser}.Append(nil), rmcp.StatusInvalidRole},
		{rmcp.RAKP1{Tag: 2, BMCSID: sid, Role: 0x16, User: adminUser}.Append(nil), rmcp.StatusInvalidRole},
		{append(rmcp.RAKP1{Tag: 3, BMCSID: sid, Role: 0x14}.Append(nil)[:27], 17), rmcp.StatusInvalidNameLength},
	} {
		raw, err := c.handshake(rmcp.PayloadRAKP1, tc.payload)
		if err != nil {
			t.Fatal(err)
		}
		if r2, _ := rmcp.ParseRAKP2(raw); r2.Status != tc.status || r2.ConsoleSID != 5 {
			t.Errorf("status %#x, want %#x", r2.Status, tc.status)
		}
	}
	// RAKP 3 carrying an error status ends the exchange without RAKP 4.
	raw, _ = c.handshake(rmcp.PayloadRAKP1, rmcp.RAKP1{Tag: 4, BMCSID: sid, Role: 0x14, User: adminUser}.Append(nil))
	if r2, _ := rmcp.ParseRAKP2(raw); r2.Status != 0 {
		t.Fatalf("rakp2 %+v", r2)
	}
	c.silent(func() {
		if _, err := c.handshake(rmcp.PayloadRAKP3, rmcp.RAKP3{Tag: 5, Status: rmcp.StatusInvalidIntegrityChk, BMCSID: sid}.Append(nil)); err != errTimeout {
			t.Fatalf("RAKP 4 after an error RAKP 3: %v", err)
		}
	})
	if e.srv.sessions.get(sid) != nil {
		t.Fatal("session survived a failed handshake")
	}
}

func TestRetransmittedHandshakeMessages(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivUser)
	_ = c
	// A second client repeats RAKP 1 and RAKP 3 as if answers were lost.
	d := e.dial()
	raw, _ := d.handshake(rmcp.PayloadOpenSession, rmcp.OpenSessionRequest{Tag: 1, ConsoleSID: 9,
		Auth: rmcp.Proposal{Alg: 3}, Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}.Append(nil))
	or, _ := rmcp.ParseOpenSessionResponse(raw)
	r1 := rmcp.RAKP1{Tag: 2, BMCSID: or.BMCSID, Role: 0x14, User: adminUser}
	a, _ := d.handshake(rmcp.PayloadRAKP1, r1.Append(nil))
	b, _ := d.handshake(rmcp.PayloadRAKP1, r1.Append(nil))
	if !bytes.Equal(a, b) {
		t.Fatal("retransmitted RAKP 1 got a different RAKP 2")
	}
	r2, _ := rmcp.ParseRAKP2(a)
	hs := cipher.Handshake{Auth: cipher.AuthHMACSHA256, ConsoleSID: 9, BMCSID: or.BMCSID, BMCRand: r2.BMCRand, GUID: r2.GUID, Role: 0x14, User: adminUser}
	r3 := rmcp.RAKP3{Tag: 3, BMCSID: or.BMCSID, AuthCode: hs.RAKP3Code(cipher.UserKey([]byte(adminPass)))}
	x, err1 := d.handshake(rmcp.PayloadRAKP3, r3.Append(nil))
	y, err2 := d.handshake(rmcp.PayloadRAKP3, r3.Append(nil))
	if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
		t.Fatalf("retransmitted RAKP 3: %v %v", err1, err2)
	}
	if r4, _ := rmcp.ParseRAKP4(x); r4.Status != 0 {
		t.Fatalf("rakp4 %+v", r4)
	}
}

func TestPrivilegeLimits(t *testing.T) {
	e := newEnv(t, nil)
	// An administrator who asks for USER stays at USER.
	c := e.mustLogin(17, adminUser, adminPass, PrivUser)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != CCInsufficientPriv {
		t.Fatalf("power on at USER: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x3B, byte(PrivOperator)); cc != ccPrivLevelNotForUsr {
		t.Fatalf("raise above the session limit: %#x", cc)
	}
	// At OPERATOR it works.
	c = e.mustLogin(17, adminUser, adminPass, PrivOperator)
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatalf("power on at OPERATOR: %#x", cc)
	}
	// An operator asking for ADMINISTRATOR is held to OPERATOR.
	c = e.mustLogin(17, operUser, operPass, PrivOperator)
	if cc, _ := c.mustCmd(NetFnApp, 0x3B, byte(PrivAdmin)); cc != ccPrivLevelExceeds {
		t.Fatalf("operator raising to ADMIN: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{5}, make([]byte, 16)...)...); cc != CCInsufficientPriv {
		t.Fatalf("operator Set User Name: %#x", cc)
	}
	// Privilege 0 reads the present level.
	if cc, d := c.mustCmd(NetFnApp, 0x3B, 0); cc != 0 || d[0] != byte(PrivOperator) {
		t.Fatalf("present level: %#x % x", cc, d)
	}
	// A read-only account cannot leave USER.
	r := e.mustLogin(17, roUser, roPass, PrivUser)
	if cc, _ := r.mustCmd(NetFnApp, 0x3B, byte(PrivOperator)); cc != ccPrivLevelExceeds {
		t.Fatalf("reader raising: %#x", cc)
	}
	if cc, _ := r.mustCmd(NetFnChassis, 0x01); cc != 0 {
		t.Fatalf("reader chassis status: %#x", cc)
	}
	// Username/privilege lookup (role bit 4 clear) for a privilege the
	// user does not have looks like an unknown user.
	res, err := e.dial().loginWith(rmcp.OpenSessionRequest{Tag: 1, ConsoleSID: 3, Auth: rmcp.Proposal{Alg: 3},
		Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}, operUser, operPass, byte(PrivAdmin))
	if err != nil || res.rakp2Valid || res.rakp4Status != rmcp.StatusInvalidIntegrityChk {
		t.Fatalf("privilege lookup: %+v %v", res, err)
	}
}

func TestRoleChangeAndDisableApplyToOpenSessions(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	a, _ := e.accounts.ByName(operUser)
	ro := authRole("ReadOnly")
	if _, err := e.accounts.Update(a.ID, authUpdateRole(ro)); err != nil {
		t.Fatal(err)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != CCInsufficientPriv {
		t.Fatalf("demoted operator: %#x", cc)
	}
	if _, err := e.accounts.Update(a.ID, authUpdateEnabled(false)); err != nil {
		t.Fatal(err)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x01); cc != CCInsufficientPriv {
		t.Fatalf("disabled user: %#x", cc)
	}
	c.silent(func() {
		if _, _, err := c.cmd(NetFnChassis, 0x01); err != errTimeout {
			t.Fatalf("session of a disabled user still answers: %v", err)
		}
	})
}

func TestInSessionPacketChecks(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivUser)
	pkt := c.request(NetFnApp, 0x01)
	if _, err := c.exchange(pkt, answerWait); err != nil {
		t.Fatal(err)
	}
	// The same packet again is a replay.
	if _, err := c.exchange(pkt, silenceWait); err != errTimeout {
		t.Fatalf("replayed packet answered: %v", err)
	}
	// A flipped bit fails integrity.
	bad := c.request(NetFnApp, 0x01)
	bad[len(bad)-1] ^= 1
	if _, err := c.exchange(bad, silenceWait); err != errTimeout {
		t.Fatalf("tampered packet answered: %v", err)
	}
	// Unencrypted in an encrypted session.
	aes := c.aes
	c.aes = nil
	if _, err := c.exchange(c.request(NetFnApp, 0x01), silenceWait); err != errTimeout {
		t.Fatalf("unencrypted packet answered: %v", err)
	}
	c.aes = aes
	// Unauthenticated.
	mac := c.mac
	c.mac = nil
	if _, err := c.exchange(c.request(NetFnApp, 0x01), silenceWait); err != errTimeout {
		t.Fatalf("unsigned packet answered: %v", err)
	}
	c.mac = mac
	// Far ahead of the window.
	c.seq += 100
	if _, err := c.exchange(c.request(NetFnApp, 0x01), silenceWait); err != errTimeout {
		t.Fatalf("out-of-window packet answered: %v", err)
	}
	c.seq -= 100
	// Out of order within the window is fine.
	c.seq += 5
	if cc, _ := c.mustCmd(NetFnApp, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	c.seq -= 3
	if cc, _ := c.mustCmd(NetFnApp, 0x01); cc != 0 {
		t.Fatal(cc)
	}
}

func TestRateLimitFailedLogins(t *testing.T) {
	lim := NewLimiter(2, time.Hour)
	e := newEnv(t, nil, func(c *Config) { c.Limiter = lim })
	for range 2 {
		res, err := e.dial().login(17, adminUser, "wrong-password", PrivAdmin)
		if err != nil || res.rakp4Status != rmcp.StatusInvalidIntegrityChk {
			t.Fatalf("%+v %v", res, err)
		}
	}
	res, err := e.dial().login(17, adminUser, adminPass, PrivAdmin)
	if err != nil || res.openStatus != rmcp.StatusNoResources {
		t.Fatalf("after the burst: %+v %v", res, err)
	}
	// Another source is not affected.
	if !lim.Allow(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("unrelated source limited")
	}
}

func TestAbandonedHandshakeCounts(t *testing.T) {
	lim := NewLimiter(1, time.Hour)
	e := newEnv(t, nil, func(c *Config) { c.Limiter = lim; c.MaxSessions = 1 })
	c := e.dial()
	raw, _ := c.handshake(rmcp.PayloadOpenSession, rmcp.OpenSessionRequest{Tag: 1, ConsoleSID: 3, Auth: rmcp.Proposal{Alg: 3},
		Integrity: rmcp.Proposal{Alg: 4}, Conf: rmcp.Proposal{Alg: 1}}.Append(nil))
	or, _ := rmcp.ParseOpenSessionResponse(raw)
	if _, err := c.handshake(rmcp.PayloadRAKP1, rmcp.RAKP1{Tag: 2, BMCSID: or.BMCSID, Role: 0x14, User: adminUser}.Append(nil)); err != nil {
		t.Fatal(err)
	}
	// A new session evicts the abandoned handshake, which is charged.
	res, err := e.dial().login(17, adminUser, adminPass, PrivAdmin)
	if err != nil || res.openStatus != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if lim.Allow(netip.MustParseAddr("127.0.0.1")) {
		t.Fatal("abandoned handshake not charged")
	}
}

func TestSessionCapEvictsIdlest(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.MaxSessions = 2 })
	a := e.mustLogin(17, adminUser, adminPass, PrivUser)
	time.Sleep(10 * time.Millisecond)
	b := e.mustLogin(17, adminUser, adminPass, PrivUser)
	time.Sleep(10 * time.Millisecond)
	if cc, _ := a.mustCmd(NetFnApp, 0x01); cc != 0 { // a is now the busier one
		t.Fatal(cc)
	}
	c := e.mustLogin(17, adminUser, adminPass, PrivUser)
	b.silent(func() {
		if _, _, err := b.cmd(NetFnApp, 0x01); err != errTimeout {
			t.Fatalf("idlest session survived: %v", err)
		}
	})
	for _, x := range []*client{a, c} {
		if cc, _ := x.mustCmd(NetFnApp, 0x01); cc != 0 {
			t.Fatal(cc)
		}
	}
}

func TestCloseAndSessionInfo(t *testing.T) {
	e := newEnv(t, nil)
	a := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	o := e.mustLogin(17, operUser, operPass, PrivOperator)
	cc, d := a.mustCmd(NetFnApp, 0x3D, 0)
	if cc != 0 || len(d) != 18 || d[2] != 2 || d[4] != byte(PrivAdmin) || d[5] != 0x11 || !bytes.Equal(d[6:10], []byte{127, 0, 0, 1}) {
		t.Fatalf("session info: %#x % x", cc, d)
	}
	if cc, d := a.mustCmd(NetFnApp, 0x3D, 2); cc != 0 || d[3] == 0 {
		t.Fatalf("session info #2: %#x % x", cc, d)
	}
	if cc, d := a.mustCmd(NetFnApp, 0x3D, 9); cc != 0 || len(d) != 3 || d[0] != 0 {
		t.Fatalf("session info #9: %#x % x", cc, d)
	}
	// An operator cannot close someone else's session.
	if cc, _ := o.mustCmd(NetFnApp, 0x3C, le(a.bmcSID)...); cc != CCInsufficientPriv {
		t.Fatalf("operator closing admin: %#x", cc)
	}
	if cc, _ := o.mustCmd(NetFnApp, 0x3C, le(0x12345678)...); cc != ccInvalidSessionID {
		t.Fatalf("bad session ID: %#x", cc)
	}
	if cc, _ := a.mustCmd(NetFnApp, 0x3C, le(o.bmcSID)...); cc != 0 {
		t.Fatalf("admin closing operator: %#x", cc)
	}
	o.silent(func() {
		if _, _, err := o.cmd(NetFnApp, 0x01); err != errTimeout {
			t.Fatal("closed session answers")
		}
	})
}

func TestSessionlessCommands(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	for _, v15 := range []bool{true, false} {
		cc, d, err := c.sessionless(v15, NetFnApp, 0x38, 0x8E, 0x04)
		if err != nil || cc != 0 || !bytes.Equal(d, []byte{1, 0x80, 0x04, 0x02, 0, 0, 0, 0}) {
			t.Fatalf("auth caps (v15=%v): %#x % x %v", v15, cc, d, err)
		}
	}
	cc, d, _ := c.sessionless(true, NetFnApp, 0x38, 0x0E, 0x04)
	if cc != 0 || d[1] != 0 || d[3] != 0 {
		t.Fatalf("v1.5-only auth caps: % x", d)
	}
	cc, d, _ = c.sessionless(false, NetFnApp, 0x54, 0x0E, 0x00, 0x80)
	if cc != 0 || !bytes.Equal(d, []byte{1, 0xC0, 17, 0x03, 0x44, 0x81, 0xC0, 3, 0x01, 0x41, 0x81}) {
		t.Fatalf("cipher suites: %#x % x", cc, d)
	}
	cc, d, _ = c.sessionless(false, NetFnApp, 0x54, 0x0E, 0x00, 0x81)
	if cc != 0 || len(d) != 1 {
		t.Fatalf("cipher suites index 1: % x", d)
	}
	cc, d, _ = c.sessionless(false, NetFnApp, 0x54, 0x0E, 0x00, 0x00)
	if cc != 0 || !bytes.Equal(d, []byte{1, 0x03, 0x01, 0x44, 0x41, 0x81}) {
		t.Fatalf("algorithms: % x", d)
	}
	cc, d, _ = c.sessionless(false, NetFnApp, 0x37)
	if cc != 0 || len(d) != 16 || bytes.Equal(d, make([]byte, 16)) {
		t.Fatalf("system GUID: % x", d)
	}
	// Anything else needs a session.
	for _, cmd := range [][2]byte{{NetFnChassis, 0x02}, {NetFnApp, 0x01}, {NetFnApp, 0x47}} {
		if cc, _, _ := c.sessionless(false, cmd[0], cmd[1], 1); cc != CCInsufficientPriv {
			t.Errorf("sessionless %#x/%#x: %#x", cmd[0], cmd[1], cc)
		}
	}
	if cc, _, _ := c.sessionless(false, NetFnApp, 0x38, 0x05, 0x04); cc != CCInvalidData {
		t.Errorf("other channel: %#x", cc)
	}
	if cc, _, _ := c.sessionless(false, NetFnApp, 0x38); cc != CCLengthInvalid {
		t.Errorf("short: %#x", cc)
	}
}

func TestASFPing(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	ping := rmcp.ASFMessage{IANA: rmcp.ASFIANA, Type: rmcp.ASFPresencePing, Tag: 0x42}
	resp, err := c.exchange(ping.Append(rmcp.Header{Version: rmcp.Version, Seq: 0xFF, Class: rmcp.ClassASF}.Append(nil)), answerWait)
	if err != nil {
		t.Fatal(err)
	}
	h, body, _ := rmcp.ParseHeader(resp)
	m, err := rmcp.ParseASF(body)
	if err != nil || h.Class != rmcp.ClassASF || m.Type != rmcp.ASFPresencePong || m.Tag != 0x42 || m.Data[8] != 0x81 {
		t.Fatalf("pong %+v %v", m, err)
	}
}

func TestConcurrentSessions(t *testing.T) {
	e := newEnv(t, nil)
	errs := make(chan error, 40)
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			c := e.dial()
			res, err := c.login(17, adminUser, adminPass, PrivAdmin)
			if err == nil && (res.rakp4Status != 0 || res.noRAKP4 || !res.rakp2Valid) {
				err = fmt.Errorf("login %+v", res)
			}
			if err == nil {
				var cc byte
				if cc, _, err = c.cmd(NetFnChassis, 0x01); err == nil && cc != 0 {
					err = fmt.Errorf("chassis status %#x", cc)
				}
			}
			if err == nil {
				_, _, err = c.cmd(NetFnApp, 0x3C, le(c.bmcSID)...)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(e.srv.sessions.active()); n != 0 {
		t.Errorf("%d sessions left open", n)
	}
}
