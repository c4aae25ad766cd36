package ipmi

import (
	"crypto/rand"
	"encoding/binary"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/ipmi/cipher"
)

// Privilege is an IPMI privilege level.
type Privilege byte

// Privilege levels.
const (
	PrivNone     Privilege = 0
	PrivCallback Privilege = 1
	PrivUser     Privilege = 2
	PrivOperator Privilege = 3
	PrivAdmin    Privilege = 4
	PrivOEM      Privilege = 5
)

func (p Privilege) String() string {
	switch p {
	case PrivCallback:
		return "CALLBACK"
	case PrivUser:
		return "USER"
	case PrivOperator:
		return "OPERATOR"
	case PrivAdmin:
		return "ADMINISTRATOR"
	case PrivOEM:
		return "OEM"
	}
	return "NONE"
}

type sessState int32

const (
	stateOpen      sessState = iota // RMCP+ Open Session answered
	stateRAKP2                      // RAKP 2 sent, waiting for RAKP 3
	stateChallenge                  // v1.5 challenge sent, waiting for Activate Session
	stateActive
)

// session is one IPMI session, from the first handshake message on. mu
// serialises the packets of the session; the table reads only the atomic
// fields, so it never takes mu.
type session struct {
	mu sync.Mutex

	id     uint32 // the BMC's (managed system's) session ID
	handle byte
	v15    bool
	src    netip.AddrPort // where the handshake came from
	st     atomic.Int32
	last   atomic.Int64 // unix nanoseconds of the last valid packet

	charged bool // a failed login was charged for this session

	// infoMu guards the copies other sessions read (Get Session Info);
	// they are written under mu as well.
	infoMu sync.Mutex
	addr   netip.AddrPort // source of the last valid packet
	priv   Privilege      // current privilege

	// The user, once known. known is false for unknown, disabled or null
	// names, whose handshake can never succeed.
	known    bool
	userID   int
	userName string
	limit    Privilege // session privilege limit

	// RMCP+.
	consoleID  uint32
	suite      cipher.Suite
	openMax    Privilege
	hs         cipher.Handshake
	kuid       []byte // user key until the session is active, then nil
	rakp1      []byte // last RAKP 1 payload, to spot retransmissions
	rakp1Tag   byte
	rakp1Count int
	rakp2      []byte // and the answer
	rakp3      []byte
	rakp4      []byte
	mac        *cipher.MAC
	aes        *cipher.AES

	// v1.5.
	challenge [16]byte
	password  [16]byte // zero-padded user key, or random for unknown users

	in       seqWindow
	out      uint32 // RMCP+: last outbound sequence number; v1.5: next one
	anyInSeq bool   // a packet with a non-null sequence number arrived

	recent [8]cachedResponse
	nextRe int
}

func (s *session) state() sessState     { return sessState(s.st.Load()) }
func (s *session) setState(v sessState) { s.st.Store(int32(v)) }
func (s *session) touch(now time.Time)  { s.last.Store(now.UnixNano()) }
func (s *session) lastActive() int64    { return s.last.Load() }

func (s *session) setPriv(p Privilege) {
	s.infoMu.Lock()
	s.priv = p
	s.infoMu.Unlock()
}

func (s *session) setAddr(a netip.AddrPort) {
	s.infoMu.Lock()
	s.addr = a
	s.infoMu.Unlock()
}

// sessionInfo is what Get Session Info reports about a session.
type sessionInfo struct {
	handle byte
	userID int
	priv   Privilege
	v15    bool
	addr   netip.AddrPort
}

func (s *session) info() sessionInfo {
	s.infoMu.Lock()
	defer s.infoMu.Unlock()
	return sessionInfo{handle: s.handle, userID: s.userID, priv: s.priv, v15: s.v15, addr: s.addr}
}

// cachedResponse remembers the answer to a state-changing request so a
// retransmission (same rqSeq, command and data) is answered again instead of
// acted on twice.
type cachedResponse struct {
	key  string
	at   time.Time
	resp []byte // the IPMI response message
}

const responseCacheTTL = 5 * time.Second

func (s *session) cached(key string, now time.Time) []byte {
	for _, c := range s.recent {
		if c.key == key && now.Sub(c.at) < responseCacheTTL {
			return c.resp
		}
	}
	return nil
}

func (s *session) remember(key string, now time.Time, resp []byte) {
	s.recent[s.nextRe] = cachedResponse{key: key, at: now, resp: resp}
	s.nextRe = (s.nextRe + 1) % len(s.recent)
}

// seqWindow tracks inbound session sequence numbers: a packet is accepted
// if it is at most ahead numbers past the highest accepted one, or at most
// behind numbers before it and not seen yet (IPMI v2.0 §6.12.14, and
// option 1 of §6.12.11 for v1.5). Sequence number 0 is never valid.
type seqWindow struct {
	high   uint32
	seen   uint64 // bit i: high-i was accepted
	ahead  uint32
	behind uint32
}

func newWindow(start uint32, ahead, behind uint32) seqWindow {
	return seqWindow{high: start, seen: 1, ahead: ahead, behind: behind}
}

func (w *seqWindow) check(seq uint32) bool {
	if seq == 0 {
		return false
	}
	d := int64(int32(seq - w.high))
	switch {
	case d > 0:
		return d <= int64(w.ahead)
	default:
		back := -d
		return back <= int64(w.behind) && w.seen&(1<<uint(back)) == 0
	}
}

// accept records seq, which check accepted.
func (w *seqWindow) accept(seq uint32) {
	d := int64(int32(seq - w.high))
	if d > 0 {
		if d >= 64 {
			w.seen = 0
		} else {
			w.seen <<= uint(d)
		}
		w.seen |= 1
		w.high = seq
		return
	}
	w.seen |= 1 << uint(-d)
}

// sessionTable holds a server's sessions.
type sessionTable struct {
	mu         sync.Mutex
	byID       map[uint32]*session
	max        int
	timeout    time.Duration
	nextHandle byte
}

func newSessionTable(max int, timeout time.Duration) *sessionTable {
	return &sessionTable{byID: map[uint32]*session{}, max: max, timeout: timeout}
}

func randomUint32() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ipmi: crypto/rand failed: " + err.Error())
	}
	return binary.LittleEndian.Uint32(b[:])
}

// add inserts sess with a fresh random ID and handle. When the table is
// full the idlest unauthenticated session goes first, else the idlest
// active one; the evicted session is returned.
func (t *sessionTable) add(sess *session, now time.Time) (evicted *session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.byID) >= t.max {
		evicted = t.idlestLocked()
		if evicted != nil {
			delete(t.byID, evicted.id)
		}
	}
	for {
		id := randomUint32()
		if id != 0 && t.byID[id] == nil {
			sess.id = id
			break
		}
	}
	sess.handle = t.handleLocked()
	sess.touch(now)
	t.byID[sess.id] = sess
	return evicted
}

func (t *sessionTable) idlestLocked() *session {
	var best *session
	bestPending := false
	for _, s := range t.byID {
		pending := s.state() != stateActive
		switch {
		case best == nil:
		case pending && !bestPending:
		case pending == bestPending && s.lastActive() < best.lastActive():
		default:
			continue
		}
		best, bestPending = s, pending
	}
	return best
}

func (t *sessionTable) handleLocked() byte {
	used := make(map[byte]bool, len(t.byID))
	for _, s := range t.byID {
		used[s.handle] = true
	}
	for range 256 {
		t.nextHandle++
		if t.nextHandle == 0 || t.nextHandle == 0xFF {
			t.nextHandle = 1
		}
		if !used[t.nextHandle] {
			return t.nextHandle
		}
	}
	return 0
}

func (t *sessionTable) get(id uint32) *session {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.byID[id]
}

// remove deletes the session with id if it is still sess.
func (t *sessionTable) remove(sess *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byID[sess.id] != sess {
		return false
	}
	delete(t.byID, sess.id)
	return true
}

// sweep removes sessions idle past the timeout, and handshakes older than
// handshakeTimeout, returning them.
func (t *sessionTable) sweep(now time.Time) []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	idle := now.Add(-t.timeout).UnixNano()
	hs := now.Add(-min(t.timeout, handshakeTimeout)).UnixNano()
	var out []*session
	for id, s := range t.byID {
		limit := idle
		if s.state() != stateActive {
			limit = hs
		}
		if s.lastActive() < limit {
			delete(t.byID, id)
			out = append(out, s)
		}
	}
	return out
}

// clear removes every session.
func (t *sessionTable) clear() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*session, 0, len(t.byID))
	for _, s := range t.byID {
		out = append(out, s)
	}
	t.byID = map[uint32]*session{}
	return out
}

// active lists the active sessions ordered by handle.
func (t *sessionTable) active() []*session {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*session
	for _, s := range t.byID {
		if s.state() == stateActive {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].handle < out[j].handle })
	return out
}
