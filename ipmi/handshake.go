package ipmi

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// pickSuite chooses the offered suite matching a proposal, strongest
// first, or says which algorithm was unacceptable (Table 13-15).
func (s *Server) pickSuite(r rmcp.OpenSessionRequest) (cipher.Suite, byte) {
	match := func(p rmcp.Proposal, alg byte) bool { return p.Wildcard || p.Alg == alg }
	for _, id := range cipher.Preference {
		for _, cs := range s.suites {
			if cs.ID == id && match(r.Auth, byte(cs.Auth)) && match(r.Integrity, byte(cs.Integrity)) && match(r.Conf, byte(cs.Conf)) {
				return cs, rmcp.StatusOK
			}
		}
	}
	authOK, integOK, confOK := false, false, false
	for _, cs := range s.suites {
		authOK = authOK || match(r.Auth, byte(cs.Auth))
		integOK = integOK || match(r.Integrity, byte(cs.Integrity))
		confOK = confOK || match(r.Conf, byte(cs.Conf))
	}
	switch {
	case !authOK:
		return cipher.Suite{}, rmcp.StatusInvalidAuthAlg
	case !integOK:
		return cipher.Suite{}, rmcp.StatusInvalidIntegrityAlg
	case !confOK:
		return cipher.Suite{}, rmcp.StatusInvalidConfAlg
	}
	return cipher.Suite{}, rmcp.StatusNoCipherSuiteMatch
}

// openSession answers an RMCP+ Open Session Request.
func (s *Server) openSession(payload []byte, from netip.AddrPort) {
	req, err := rmcp.ParseOpenSessionRequest(payload)
	fail := func(status byte) {
		resp := rmcp.OpenSessionResponse{Tag: req.Tag, Status: status, ConsoleSID: req.ConsoleSID}
		s.sendHandshake(from, rmcp.PayloadOpenResponse, resp.Append(nil))
	}
	if err != nil || req.ConsoleSID == 0 {
		if len(payload) >= 8 {
			req.ConsoleSID = binary.LittleEndian.Uint32(payload[4:8])
		}
		// A null console session ID would make every answer look like it
		// came from outside a session.
		fail(rmcp.StatusIllegalParameter)
		return
	}
	if !s.limiter.Allow(from.Addr()) {
		s.log.Debug("ipmi login refused: too many failures", "src", from.Addr().String())
		fail(rmcp.StatusNoResources)
		return
	}
	cs, status := s.pickSuite(req)
	if status != rmcp.StatusOK {
		fail(status)
		return
	}
	maxPriv := Privilege(req.MaxPriv)
	switch {
	case maxPriv == PrivNone || maxPriv == PrivOEM:
		maxPriv = PrivAdmin
	case maxPriv > PrivOEM:
		fail(rmcp.StatusInvalidRole)
		return
	}
	sess := &session{
		src: from, consoleID: req.ConsoleSID, suite: cs, openMax: maxPriv,
	}
	sess.addr = from
	sess.setState(stateOpen)
	if ev := s.sessions.add(sess, time.Now()); ev != nil {
		s.log.Debug("ipmi session evicted: table full", "session", ev.id)
		s.ended(ev, "evicted")
	}
	resp := rmcp.OpenSessionResponse{
		Tag: req.Tag, MaxPriv: byte(maxPriv), ConsoleSID: req.ConsoleSID, BMCSID: sess.id,
		Auth: byte(cs.Auth), Integrity: byte(cs.Integrity), Conf: byte(cs.Conf),
	}
	s.sendHandshake(from, rmcp.PayloadOpenResponse, resp.Append(nil))
}

// lookupUser resolves a RAKP/v1.5 user name to an enabled account with a
// non-null name and its password, or reports it unknown.
func (s *Server) lookupUser(name string) (id int, priv Privilege, password []byte, ok bool) {
	if name == "" {
		return 0, PrivNone, nil, false // the null user (ID 1) is always disabled
	}
	acct, pw, ok := s.accounts.Secret(name)
	if !ok || acct.ID < 2 {
		return 0, PrivNone, nil, false
	}
	return acct.ID, rolePrivilege(acct.Role), pw, true
}

// maxRAKP1 bounds the RAKP 1 messages one session may receive.
const maxRAKP1 = 8

// rakp1 answers RAKP Message 1 with RAKP Message 2. Unknown, disabled and
// null user names get a well-formed RAKP 2 keyed with a random secret, so
// a console learns nothing until RAKP 3 fails, exactly as with a wrong
// password.
func (s *Server) rakp1(payload []byte, from netip.AddrPort) {
	req, perr := rmcp.ParseRAKP1(payload)
	if perr == rmcp.ErrShort {
		if len(payload) > 0 {
			s.sendHandshake(from, rmcp.PayloadRAKP2, rmcp.RAKP2{Tag: req.Tag, Status: rmcp.StatusIllegalParameter}.Append(nil))
		}
		return
	}
	sess := s.sessions.get(req.BMCSID)
	if sess == nil || sess.v15 {
		s.sendHandshake(from, rmcp.PayloadRAKP2, rmcp.RAKP2{Tag: req.Tag, Status: rmcp.StatusInvalidSessionID}.Append(nil))
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	fail := func(status byte) {
		s.sendHandshake(from, rmcp.PayloadRAKP2, rmcp.RAKP2{Tag: req.Tag, Status: status, ConsoleSID: sess.consoleID}.Append(nil))
	}
	switch sess.state() {
	case stateOpen:
	case stateRAKP2:
		if bytes.Equal(payload, sess.rakp1) {
			s.sendHandshake(from, rmcp.PayloadRAKP2, sess.rakp2) // retransmission
			return
		}
		sess.rakp1Count++
		if sess.rakp1Count > maxRAKP1 {
			s.loginFailed(sess, "too many RAKP 1 messages")
			s.sessions.remove(sess)
			fail(rmcp.StatusNoResources)
			return
		}
		if req.Tag != sess.rakp1Tag {
			// A new tag marks a new attempt (§13.21): the previous
			// one failed.
			s.loginFailed(sess, "handshake restarted")
			sess.charged = false
		}
	default:
		fail(rmcp.StatusInactiveSessionID)
		return
	}
	if perr != nil {
		fail(rmcp.StatusInvalidNameLength)
		return
	}
	if !s.limiter.Allow(from.Addr()) {
		fail(rmcp.StatusNoResources)
		return
	}
	reqPriv := Privilege(req.Role & 0x0F)
	if reqPriv == PrivNone || reqPriv > PrivOEM || req.Role&0xE0 != 0 {
		fail(rmcp.StatusInvalidRole)
		return
	}
	nameOnly := req.Role&0x10 != 0
	id, userMax, pw, known := s.lookupUser(req.User)
	if known && !nameOnly && reqPriv > userMax {
		// Username/privilege lookup finds no entry with that privilege:
		// the same answer as for an unknown name.
		known = false
	}
	limit := min(reqPriv, sess.openMax, PrivAdmin)
	if known {
		limit = min(limit, userMax)
	}
	sess.known, sess.userID, sess.userName, sess.limit = known, id, req.User, limit
	sess.kuid = s.fakeKey
	if known {
		sess.kuid = cipher.UserKey(pw)
	}
	clear(pw)
	sess.hs = cipher.Handshake{
		Auth: sess.suite.Auth, ConsoleSID: sess.consoleID, BMCSID: sess.id,
		ConsoleRand: req.ConsoleRand, GUID: s.systemGUID, Role: req.Role, User: req.User,
	}
	if _, err := rand.Read(sess.hs.BMCRand[:]); err != nil {
		fail(rmcp.StatusNoResources)
		return
	}
	resp := rmcp.RAKP2{
		Tag: req.Tag, ConsoleSID: sess.consoleID, BMCRand: sess.hs.BMCRand, GUID: s.systemGUID,
		AuthCode: sess.hs.RAKP2Code(sess.kuid),
	}
	sess.rakp1, sess.rakp1Tag = slices.Clone(payload), req.Tag
	sess.rakp2 = resp.Append(nil)
	sess.setState(stateRAKP2)
	sess.touch(time.Now())
	s.sendHandshake(from, rmcp.PayloadRAKP2, sess.rakp2)
}

// rakp3 checks RAKP Message 3 and activates the session with RAKP
// Message 4.
func (s *Server) rakp3(payload []byte, from netip.AddrPort) {
	req, err := rmcp.ParseRAKP3(payload)
	if err != nil {
		return
	}
	sess := s.sessions.get(req.BMCSID)
	if sess == nil || sess.v15 {
		s.sendHandshake(from, rmcp.PayloadRAKP4, rmcp.RAKP4{Tag: req.Tag, Status: rmcp.StatusInvalidSessionID}.Append(nil))
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	fail := func(status byte) {
		s.sendHandshake(from, rmcp.PayloadRAKP4, rmcp.RAKP4{Tag: req.Tag, Status: status, ConsoleSID: sess.consoleID}.Append(nil))
	}
	switch sess.state() {
	case stateRAKP2:
	case stateActive:
		// RAKP 4 was lost: answer the identical RAKP 3 again until the
		// session is in use.
		if !sess.anyInSeq && bytes.Equal(payload, sess.rakp3) {
			s.sendHandshake(from, rmcp.PayloadRAKP4, sess.rakp4)
		}
		return
	default:
		fail(rmcp.StatusInactiveSessionID)
		return
	}
	if req.Status != rmcp.StatusOK {
		// The console rejected RAKP 2 (wrong password, most likely): no
		// answer, the exchange is over (§13.22).
		s.loginFailed(sess, "console rejected RAKP 2")
		s.sessions.remove(sess)
		return
	}
	want := sess.hs.RAKP3Code(sess.kuid)
	if !sess.known || !cipher.Equal(want, req.AuthCode) {
		s.loginFailed(sess, "bad password or unknown user")
		s.sessions.remove(sess)
		fail(rmcp.StatusInvalidIntegrityChk)
		return
	}
	// One-key login: KG is all zeros, so the user key stands in for it.
	sik := sess.hs.SIK(sess.kuid)
	k1 := cipher.AdditionalKey(sess.suite.Auth, sik, 1)
	k2 := cipher.AdditionalKey(sess.suite.Auth, sik, 2)
	mac, err := cipher.NewMAC(sess.suite.Integrity, k1)
	if err != nil {
		fail(rmcp.StatusInvalidIntegrityAlg)
		return
	}
	sess.mac = mac
	if sess.suite.Conf == cipher.ConfAESCBC128 {
		if sess.aes, err = cipher.NewAES(k2); err != nil {
			fail(rmcp.StatusInvalidConfAlg)
			return
		}
	}
	clear(sess.kuid)
	sess.kuid = nil
	sess.in = newWindow(0, 15, 16)
	// Sessions start at USER level (or CALLBACK if that is the limit) and
	// are raised with Set Session Privilege Level (§22.18).
	sess.setPriv(min(PrivUser, sess.limit))
	sess.setAddr(from)
	resp := rmcp.RAKP4{Tag: req.Tag, ConsoleSID: sess.consoleID, ICV: sess.hs.RAKP4ICV(sik)}
	clear(sik)
	sess.rakp3 = slices.Clone(payload)
	sess.rakp4 = resp.Append(nil)
	sess.touch(time.Now())
	sess.setState(stateActive)
	s.log.Debug("ipmi session opened", "session", sess.id, "user", sess.userName, "src", from.String(),
		"cipher_suite", sess.suite.ID, "max_privilege", sess.limit.String())
	s.sendHandshake(from, rmcp.PayloadRAKP4, sess.rakp4)
	s.loginEvent(sess.userName, from.Addr(), true)
}
