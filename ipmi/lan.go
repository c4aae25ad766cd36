package ipmi

import (
	"net/netip"
	"time"

	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// handlePacket is the entry point for every datagram.
func (s *Server) handlePacket(pkt []byte, from netip.AddrPort) {
	h, body, err := rmcp.ParseHeader(pkt)
	if err != nil || h.Class&rmcp.ClassACK != 0 {
		return
	}
	switch h.Class & 0x1F {
	case rmcp.ClassASF:
		s.handleASF(body, from)
	case rmcp.ClassIPMI:
		if len(body) == 0 {
			return
		}
		if body[0] == rmcp.AuthRMCPPlus {
			s.handle20(body, from)
		} else {
			s.handle15(body, from)
		}
	}
}

// handleASF answers an ASF Presence Ping with a Pong saying IPMI is
// supported.
func (s *Server) handleASF(body []byte, from netip.AddrPort) {
	m, err := rmcp.ParseASF(body)
	if err != nil || m.IANA != rmcp.ASFIANA || m.Type != rmcp.ASFPresencePing {
		return
	}
	pong := rmcp.ASFMessage{IANA: rmcp.ASFIANA, Type: rmcp.ASFPresencePong, Tag: m.Tag, Data: rmcp.PongData()}
	hdr := rmcp.Header{Version: rmcp.Version, Seq: rmcp.SeqNoAck, Class: rmcp.ClassASF}
	s.send(from, pong.Append(hdr.Append(nil)))
}

func (s *Server) newRequest(sess *session, from netip.AddrPort, msg rmcp.Request, v15 bool) *request {
	return &request{ctx: s.ctx, s: s, sess: sess, from: from, v15: v15, msg: msg, now: time.Now()}
}

// IPMI v1.5 framing.

func (s *Server) handle15(body []byte, from netip.AddrPort) {
	p, err := rmcp.ParseSession15(body)
	if err != nil {
		return
	}
	switch {
	case p.AuthType == rmcp.AuthNone && p.ID == 0:
		msg, err := rmcp.ParseRequest(p.Message)
		if err != nil {
			return
		}
		if resp := s.dispatch(s.newRequest(nil, from, msg, true)); resp != nil {
			out := rmcp.Session15{AuthType: rmcp.AuthNone, Message: resp}
			s.send(from, out.Append(rmcp.IPMIHeader.Append(nil)))
		}
	case p.AuthType == rmcp.AuthMD5 && p.ID != 0 && s.cfg.EnableIPMI15:
		s.session15(p, from)
	}
	// Everything else (auth types none, MD2, straight password and OEM
	// inside a session) is dropped.
}

func (s *Server) session15(p rmcp.Session15, from netip.AddrPort) {
	sess := s.sessions.get(p.ID)
	if sess == nil || !sess.v15 {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	want := cipher.AuthCodeMD5(sess.password, p.ID, p.Message, p.Seq)
	if !cipher.Equal(want[:], p.AuthCode[:]) {
		if sess.state() == stateChallenge {
			s.loginFailed(sess, "bad password")
			s.sessions.remove(sess)
		}
		return
	}
	msg, err := rmcp.ParseRequest(p.Message)
	if err != nil {
		return
	}
	activate := msg.NetFn == NetFnApp && msg.Cmd == cmdActivateSession
	switch sess.state() {
	case stateChallenge:
		if p.Seq != 0 || !activate {
			return
		}
	case stateActive:
		if p.Seq == 0 {
			// Activate Session may be retried with a null sequence
			// number until the first sequenced packet arrives.
			if sess.anyInSeq || !activate {
				return
			}
		} else {
			if !sess.in.check(p.Seq) {
				return
			}
			sess.in.accept(p.Seq)
			sess.anyInSeq = true
		}
	default:
		return
	}
	r := s.newRequest(sess, from, msg, true)
	sess.touch(r.now)
	sess.setAddr(from)
	var resp []byte
	if activate && p.Seq == 0 {
		cc, data := activateSession(r)
		if cc != CCOK {
			data = nil
		}
		resp = rmcp.ResponseTo(msg, cc, data).Append(nil)
	} else {
		resp = s.dispatch(r)
	}
	// A closing session leaves the table before its last answer goes out,
	// so a client that has the answer never finds the session still open.
	if r.closeAfter {
		s.dropSession(sess, "closed")
	}
	if resp != nil {
		s.reply15(sess, from, resp)
	}
}

func (s *Server) reply15(sess *session, to netip.AddrPort, msg []byte) {
	seq := sess.out
	sess.out++
	if sess.out == 0 {
		sess.out = 1
	}
	out := rmcp.Session15{AuthType: rmcp.AuthMD5, Seq: seq, ID: sess.id, Message: msg}
	out.AuthCode = cipher.AuthCodeMD5(sess.password, sess.id, msg, seq)
	s.send(to, out.Append(rmcp.IPMIHeader.Append(nil)))
}

// dropSession removes sess from the table; the caller holds sess.mu.
func (s *Server) dropSession(sess *session, why string) {
	if s.sessions.remove(sess) {
		s.log.Debug("ipmi session closed", "session", sess.id, "user", sess.userName, "reason", why)
	}
	s.solSessionGone(sess) // sol.go
}

// RMCP+ framing.

func (s *Server) handle20(body []byte, from netip.AddrPort) {
	p, err := rmcp.ParseSession20(body)
	if err != nil {
		return
	}
	if p.ID != 0 {
		s.session20(p, from)
		return
	}
	// Outside a session packets are neither signed nor encrypted.
	if p.Encrypted || p.Authenticated {
		return
	}
	switch p.PayloadType {
	case rmcp.PayloadIPMI:
		msg, err := rmcp.ParseRequest(p.Payload)
		if err != nil {
			return
		}
		if resp := s.dispatch(s.newRequest(nil, from, msg, false)); resp != nil {
			s.send(from, rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadIPMI, false, 0, 0, resp, nil))
		}
	case rmcp.PayloadOpenSession:
		s.openSession(p.Payload, from)
	case rmcp.PayloadRAKP1:
		s.rakp1(p.Payload, from)
	case rmcp.PayloadRAKP3:
		s.rakp3(p.Payload, from)
	}
}

// sendHandshake sends a session-setup payload outside any session.
func (s *Server) sendHandshake(to netip.AddrPort, payloadType byte, payload []byte) {
	s.send(to, rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), payloadType, false, 0, 0, payload, nil))
}

func (s *Server) session20(p rmcp.Session20, from netip.AddrPort) {
	sess := s.sessions.get(p.ID)
	if sess == nil || sess.v15 {
		return
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	// Every in-session packet must be signed, and encrypted if the suite
	// encrypts: an unprotected packet is dropped before any other work.
	if sess.state() != stateActive || (p.PayloadType != rmcp.PayloadIPMI && p.PayloadType != rmcp.PayloadSOL) ||
		!p.Authenticated || p.Encrypted != (sess.aes != nil) {
		s.dropped(sess, "unprotected or unexpected payload", p.Seq)
		return
	}
	if !sess.in.check(p.Seq) {
		s.dropped(sess, "sequence number outside the window or replayed", p.Seq)
		return
	}
	signed, code, err := p.Integrity(sess.mac.Size())
	if err != nil || !sess.mac.Verify(signed, code) {
		s.dropped(sess, "integrity check failed", p.Seq)
		return
	}
	payload := p.Payload
	if sess.aes != nil {
		if payload, err = sess.aes.Decrypt(payload); err != nil {
			s.dropped(sess, "bad encrypted payload", p.Seq)
			return
		}
	}
	sess.in.accept(p.Seq)
	sess.anyInSeq = true
	now := time.Now()
	sess.touch(now)
	sess.setAddr(from)
	if p.PayloadType == rmcp.PayloadSOL {
		s.solInbound(sess, payload) // sol.go
		return
	}
	msg, err := rmcp.ParseRequest(payload)
	if err != nil {
		return
	}
	r := s.newRequest(sess, from, msg, false)
	r.now = now
	resp := s.dispatch(r)
	// A closing session leaves the table before its last answer goes out,
	// so a client that has the answer never finds the session still open.
	if r.closeAfter {
		s.dropSession(sess, "closed")
	}
	if resp != nil {
		s.reply20(sess, from, rmcp.PayloadIPMI, resp)
	}
}

// reply20 protects and sends an in-session payload; the caller holds
// sess.mu.
func (s *Server) reply20(sess *session, to netip.AddrPort, payloadType byte, payload []byte) {
	sess.out++
	if sess.out == 0 {
		sess.out = 1
	}
	if sess.aes != nil {
		payload = sess.aes.Encrypt(payload)
	}
	s.send(to, rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), payloadType, sess.aes != nil, sess.consoleID, sess.out, payload, sess.mac))
}

func (s *Server) dropped(sess *session, why string, seq uint32) {
	s.log.Debug("ipmi packet dropped", "session", sess.id, "reason", why, "seq", seq)
}
