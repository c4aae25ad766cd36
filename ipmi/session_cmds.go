package ipmi

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"

	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// LANChannel is the channel number of the LAN channel every server is.
const LANChannel = 1

const (
	cmdActivateSession = 0x3A
	currentChannel     = 0x0E
)

// resolveChannel maps a request's channel number to the LAN channel; ok is
// false for any other channel.
func resolveChannel(b byte) (byte, bool) {
	switch b & 0x0F {
	case currentChannel, LANChannel:
		return LANChannel, true
	}
	return 0, false
}

// Get Channel Authentication Capabilities (§22.13).
func getChannelAuthCaps(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 2 {
		return CCLengthInvalid, nil
	}
	ch, ok := resolveChannel(d[0])
	if !ok {
		return CCInvalidData, nil
	}
	if p := Privilege(d[1] & 0x0F); p == PrivNone || p > PrivOEM {
		return CCInvalidData, nil
	}
	v2 := d[0]&0x80 != 0
	var types, ext byte
	if r.s.cfg.EnableIPMI15 {
		types |= 1 << rmcp.AuthMD5
		ext |= 0x01
	}
	if v2 {
		types |= 0x80
		ext |= 0x02
	} else {
		ext = 0
	}
	// Per-message and user-level authentication are always on; KG is
	// the default (one-key logins); users have non-null names only.
	var status byte
	for _, a := range r.s.accounts.List() {
		if a.Enabled && !a.Locked {
			status = 0x04
			break
		}
	}
	return CCOK, []byte{ch, types, status, ext, 0, 0, 0, 0}
}

// Get Channel Cipher Suites (§22.15).
func getChannelCipherSuites(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	ch, ok := resolveChannel(d[0])
	if !ok {
		return CCInvalidData, nil
	}
	if pt := d[1] & 0x3F; pt != rmcp.PayloadIPMI && pt != rmcp.PayloadSOL {
		return CCInvalidData, nil
	}
	var list []byte
	if d[2]&0x80 != 0 {
		for _, cs := range r.s.suites {
			list = append(list, 0xC0, cs.ID, byte(cs.Auth), 0x40|byte(cs.Integrity), 0x80|byte(cs.Conf))
		}
	} else {
		seen := map[byte]bool{}
		add := func(b byte) {
			if !seen[b] {
				seen[b] = true
				list = append(list, b)
			}
		}
		for _, cs := range r.s.suites {
			add(byte(cs.Auth))
		}
		for _, cs := range r.s.suites {
			add(0x40 | byte(cs.Integrity))
		}
		for _, cs := range r.s.suites {
			add(0x80 | byte(cs.Conf))
		}
	}
	resp := []byte{ch}
	if start := int(d[2]&0x3F) * 16; start < len(list) {
		resp = append(resp, list[start:min(start+16, len(list))]...)
	}
	return CCOK, resp
}

// Get Session Challenge (§22.16), IPMI v1.5 only. Unknown names get a
// challenge too; Activate Session then fails as with a wrong password.
func getSessionChallenge(r *request) (byte, []byte) {
	if !r.s.cfg.EnableIPMI15 || !r.v15 {
		return CCInvalidCommand, nil
	}
	if r.sess != nil {
		// Only outside a session; this also keeps the session table's
		// eviction away from a session whose lock is held.
		return CCNotInPresentState, nil
	}
	d := r.msg.Data
	if len(d) < 17 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x0F != rmcp.AuthMD5 {
		return CCInvalidData, nil // none, MD2, straight password and OEM are refused
	}
	if !r.s.limiter.Allow(r.from.Addr()) {
		return CCNodeBusy, nil
	}
	name := d[1:17]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	sess := &session{v15: true, src: r.from, userName: string(name)}
	id, userMax, pw, known := r.s.lookupUser(sess.userName)
	if known && len(pw) > 16 {
		known = false // a 20-byte key cannot be used for IPMI v1.5 (§22.30)
	}
	if known {
		copy(sess.password[:], pw)
	} else if _, err := rand.Read(sess.password[:]); err != nil {
		return CCUnspecified, nil
	}
	clear(pw)
	sess.known, sess.userID, sess.limit = known, id, userMax
	if _, err := rand.Read(sess.challenge[:]); err != nil {
		return CCUnspecified, nil
	}
	sess.addr = r.from
	sess.setState(stateChallenge)
	if ev := r.s.sessions.add(sess, r.now); ev != nil {
		r.s.ended(ev, "evicted")
	}
	out := binary.LittleEndian.AppendUint32(nil, sess.id)
	return CCOK, append(out, sess.challenge[:]...)
}

// Activate Session (§22.17), IPMI v1.5 only. The packet's AuthCode has
// already been checked with the user's password.
func activateSession(r *request) (byte, []byte) {
	sess := r.sess
	if sess == nil || !sess.v15 {
		return CCNotInPresentState, nil
	}
	d := r.msg.Data
	if len(d) < 22 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x0F != rmcp.AuthMD5 || !cipher.Equal(d[2:18], sess.challenge[:]) {
		return CCInvalidData, nil
	}
	initOut := binary.LittleEndian.Uint32(d[18:22])
	if initOut == 0 {
		return CCInvalidData, nil
	}
	if sess.state() == stateChallenge {
		priv := Privilege(d[1] & 0x0F)
		if priv == PrivNone || priv > PrivOEM {
			return CCInvalidData, nil
		}
		if !sess.known || priv > sess.limit {
			return 0x86, nil // exceeds the user or channel privilege limit
		}
		start := randomUint32()
		for start <= 1 {
			start = randomUint32()
		}
		sess.in = newWindow(start-1, 8, 8)
		sess.limit = priv
		sess.setPriv(min(PrivUser, priv))
		sess.setState(stateActive)
		r.s.log.Debug("ipmi session opened", "session", sess.id, "user", sess.userName, "src", r.from.String(),
			"protocol", "IPMI v1.5", "max_privilege", priv.String())
		defer r.s.loginEvent(sess.userName, r.from.Addr(), true) // once the reply is built (IPMI v1.5, off by default)
	}
	sess.out = initOut
	resp := []byte{rmcp.AuthMD5}
	resp = binary.LittleEndian.AppendUint32(resp, sess.id)
	resp = binary.LittleEndian.AppendUint32(resp, sess.in.high+1)
	return CCOK, append(resp, byte(sess.limit))
}

// Set Session Privilege Level (§22.18).
func setSessionPrivilege(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	p := Privilege(d[0] & 0x0F)
	sess := r.sess
	if p == PrivNone {
		return CCOK, []byte{byte(r.priv)}
	}
	if p == PrivCallback || p > PrivOEM {
		return CCInvalidData, nil
	}
	acct, ok := r.s.accounts.Get(sess.userID)
	if !ok || p > rolePrivilege(acct.Role) {
		return ccPrivLevelExceeds, nil
	}
	if p > sess.limit {
		return ccPrivLevelNotForUsr, nil
	}
	sess.setPriv(p)
	return CCOK, []byte{byte(p)}
}

// Close Session (§22.19). Anyone may close their own session; closing
// another one takes ADMINISTRATOR.
func closeSession(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 4 {
		return CCLengthInvalid, nil
	}
	id := binary.LittleEndian.Uint32(d[0:4])
	var target *session
	if id == 0 {
		if len(d) < 5 {
			return CCLengthInvalid, nil
		}
		for _, s := range r.s.sessions.active() {
			if s.handle == d[4] {
				target = s
			}
		}
		if target == nil {
			return ccInvalidHandle, nil
		}
	} else if target = r.s.sessions.get(id); target == nil {
		return ccInvalidSessionID, nil
	}
	if target == r.sess {
		r.closeAfter = true
		return CCOK, nil
	}
	if r.priv < PrivAdmin {
		return CCInsufficientPriv, nil
	}
	if r.s.sessions.remove(target) {
		r.s.log.Debug("ipmi session closed", "session", target.id, "reason", "closed by session", "by", r.sess.id)
	}
	return CCOK, nil
}

// Get Session Info (§22.20).
func getSessionInfo(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	act := r.s.sessions.active()
	head := []byte{0, byte(min(r.s.cfg.MaxSessions, 0x3F)), byte(min(len(act), 0x3F))}
	var target *session
	switch idx := d[0]; idx {
	case 0:
		target = r.sess
	case 0xFE:
		if len(d) < 2 {
			return CCLengthInvalid, nil
		}
		for _, s := range act {
			if s.handle == d[1] {
				target = s
			}
		}
	case 0xFF:
		if len(d) < 5 {
			return CCLengthInvalid, nil
		}
		id := binary.LittleEndian.Uint32(d[1:5])
		for _, s := range act {
			if s.id == id {
				target = s
			}
		}
	default:
		if int(idx) <= len(act) {
			target = act[idx-1]
		}
	}
	if target == nil {
		return CCOK, head // no active session at that index
	}
	var in sessionInfo
	if target == r.sess {
		in = sessionInfo{handle: target.handle, userID: target.userID, priv: target.priv, v15: target.v15, addr: target.addr}
	} else {
		in = target.info()
	}
	head[0] = in.handle
	aux := byte(0x10)
	if in.v15 {
		aux = 0
	}
	out := append(head, byte(in.userID)&0x3F, byte(in.priv), aux|LANChannel)
	if ip := in.addr.Addr(); ip.Is4() {
		a := ip.As4()
		out = append(out, a[:]...)
		out = append(out, 0, 0, 0, 0, 0, 0)
		out = binary.LittleEndian.AppendUint16(out, in.addr.Port())
	}
	return CCOK, out
}

// Get Channel Access (§22.23): the LAN channel is always available, with
// alerting off, per-message and user-level authentication on, and an
// ADMINISTRATOR privilege limit.
func getChannelAccess(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 2 {
		return CCLengthInvalid, nil
	}
	if _, ok := resolveChannel(d[0]); !ok {
		return CCInvalidData, nil
	}
	if t := d[1] >> 6; t != 1 && t != 2 {
		return CCInvalidData, nil
	}
	return CCOK, []byte{0x22, byte(PrivAdmin)}
}

// Get Channel Info (§22.24).
func getChannelInfo(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	ch, ok := resolveChannel(d[0])
	if !ok {
		return CCInvalidData, nil
	}
	n := len(r.s.sessions.active())
	// 802.3 LAN, IPMB-1.0 protocol, multi-session, IPMI IANA 7154.
	return CCOK, []byte{ch, 0x04, 0x01, 0x80 | byte(min(n, 0x3F)), 0xF2, 0x1B, 0x00, 0x00, 0x00}
}
