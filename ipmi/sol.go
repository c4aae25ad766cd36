package ipmi

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// Serial over LAN (IPMI v2.0 §15, §24, §26): one SOL payload instance per
// system, bridged to the machine's serial console (hardware.Console). The
// session that activates it holds the console's writer; a second
// activation, from this or any other session or from another console
// user, is refused with 80h.

// netFnTransportSOL is the Transport network function (SOL configuration).
const netFnTransportSOL = 0x0C

const (
	payloadTypeSOL = rmcp.PayloadSOL
	// solMaxPayload is the largest SOL payload each way (header included),
	// reported by Activate Payload; it keeps a packet well under 1024 bytes.
	solMaxPayload = 204
	solMaxData    = solMaxPayload - solHeaderLen
)

// Completion codes of the payload commands.
const (
	ccPayloadActive       = 0x80 // Activate: already active; Deactivate: already inactive
	ccPayloadDisabled     = 0x81
	ccPayloadLimit        = 0x82
	ccPayloadNeedsNoCrypt = 0x83 // cannot activate with encryption
	ccPayloadNeedsCrypt   = 0x84 // cannot activate without encryption
	ccParamReadOnly       = 0x82 // SOL config: write to a read-only parameter
)

// solConfig is the SOL configuration (§26.2, Table 26-5). Volatile.
type solConfig struct {
	setInProgress byte
	enabled       bool
	forceCrypt    bool
	forceAuth     bool
	priv          Privilege
	accumulate    byte // 5 ms units, 1..255
	threshold     byte // characters, 1..255
	retryCount    byte // 0..7
	retryInterval byte // 10 ms units; 0 = retry at once
	nvBitRate     byte
	vBitRate      byte
}

func defaultSOLConfig() solConfig {
	return solConfig{enabled: true, forceAuth: true, priv: PrivUser, accumulate: 10, threshold: 96,
		retryCount: 7, retryInterval: 50, nvBitRate: 0x0A, vBitRate: 0x0A}
}

// solServer is a Server's SOL state.
type solServer struct {
	mu     sync.Mutex
	cfg    solConfig
	active *solInstance
}

// current is the active SOL instance, if any.
func (ss *solServer) current() *solInstance {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.active
}

func (ss *solServer) config() solConfig {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.cfg
}

// instanceFor returns sess's active SOL instance, if any.
func (ss *solServer) instanceFor(sess *session) *solInstance {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.active != nil && ss.active.sess == sess {
		return ss.active
	}
	return nil
}

// deactivate ends in if it is still the active instance.
func (ss *solServer) deactivate(in *solInstance, why string) bool {
	return ss.end(in, why, false)
}

// end ends in if it is still the active instance; with notify the console
// is told (status "SOL deactivating") before the pump stops.
func (ss *solServer) end(in *solInstance, why string, notify bool) bool {
	ss.mu.Lock()
	if ss.active != in || in == nil {
		ss.mu.Unlock()
		return false
	}
	ss.active = nil
	ss.mu.Unlock()
	in.notify = notify
	close(in.stop)
	_ = in.w.Close()
	_ = in.view.Close()
	in.s.log.Debug("ipmi sol deactivated", "session", fmt.Sprintf("%08x", in.sess.id), "reason", why)
	return true
}

// solSessionGone deactivates SOL when its session leaves the table.
func (s *Server) solSessionGone(sess *session) {
	s.sol.deactivate(s.sol.instanceFor(sess), "session closed")
}

// solInstance is an active SOL payload. Its protocol state is guarded by
// the owning session's mu: inbound packets arrive with it held, and the
// pump goroutine takes it.
type solInstance struct {
	s    *Server
	sess *session
	view *hardware.ConsoleViewer
	w    *hardware.ConsoleWriter
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	// notify (set before stop closes) makes the pump send a last packet
	// saying SOL is deactivating.
	notify bool

	accumulate time.Duration
	threshold  int
	retries    int
	interval   time.Duration

	// Outbound (BMC to console).
	outSeq    byte
	pending   []byte // unacknowledged data, sent as pendSeq
	pendSeq   byte
	tries     int // transmissions of pending so far
	retryAt   time.Time
	waitSince time.Time // first moment output waited to be accumulated
	paused    bool      // console deasserted CTS
	dropped   uint64

	// Inbound (console to BMC).
	lastInSeq byte
	lastInLen int
	lastAcc   byte
}

func (in *solInstance) signal() {
	select {
	case in.kick <- struct{}{}:
	default:
	}
}

// Activate Payload (§24.1).
func activatePayload(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 6 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x3F != payloadTypeSOL {
		return CCInvalidData, nil
	}
	if d[1] != 1 {
		return CCInvalidData, nil
	}
	if r.v15 {
		return CCNotInPresentState, nil // payloads exist only in RMCP+ sessions
	}
	ss := r.s.sol
	cfg := ss.config()
	if !cfg.enabled {
		return ccPayloadDisabled, nil
	}
	if r.priv < cfg.priv {
		return CCInsufficientPriv, nil
	}
	wantCrypt := d[2]&0x80 != 0
	hasCrypt := r.sess.aes != nil
	switch {
	case wantCrypt && !hasCrypt:
		return ccPayloadNeedsNoCrypt, nil
	case cfg.forceCrypt && !hasCrypt:
		return ccPayloadNeedsCrypt, nil
	}
	con := r.s.m.Console()
	if !con.Available() {
		return ccPayloadDisabled, nil
	}
	ss.mu.Lock()
	if ss.active != nil {
		ss.mu.Unlock()
		return ccPayloadActive, nil
	}
	w, err := con.Acquire(fmt.Sprintf("IPMI SOL session %08x", r.sess.id))
	if err != nil {
		ss.mu.Unlock()
		if errors.Is(err, hardware.ErrBusy) {
			return ccPayloadActive, nil
		}
		return ccPayloadDisabled, nil
	}
	in := &solInstance{
		s: r.s, sess: r.sess, w: w, view: con.Watch(false),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		accumulate: time.Duration(cfg.accumulate) * 5 * time.Millisecond,
		threshold:  max(1, int(cfg.threshold)),
		retries:    int(cfg.retryCount),
		interval:   max(time.Duration(cfg.retryInterval)*10*time.Millisecond, 20*time.Millisecond),
	}
	ss.active = in
	ss.mu.Unlock()
	r.s.wg.Add(1)
	go func() {
		defer r.s.wg.Done()
		in.run(ss)
	}()
	r.s.log.Debug("ipmi sol activated", "session", fmt.Sprintf("%08x", r.sess.id), "user", r.sess.userName)
	port := r.s.udpPort()
	return CCOK, []byte{
		0, 0, 0, 0, // auxiliary data
		solMaxPayload & 0xFF, solMaxPayload >> 8, // inbound payload size
		solMaxPayload & 0xFF, solMaxPayload >> 8, // outbound payload size
		byte(port), byte(port >> 8), // payload UDP port
		0xFF, 0xFF, // no VLAN
	}
}

func (s *Server) udpPort() uint16 {
	if a, ok := s.Addr().(*net.UDPAddr); ok {
		return uint16(a.Port)
	}
	return 623
}

// Deactivate Payload (§24.2). The owning session may deactivate its
// payload; an administrator may end anyone's (ipmitool sol deactivate).
func deactivatePayload(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 6 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x3F != payloadTypeSOL || d[1] != 1 {
		return CCInvalidData, nil
	}
	ss := r.s.sol
	in := ss.current()
	if in == nil {
		return ccPayloadActive, nil // already deactivated
	}
	if in.sess != r.sess && r.priv < PrivAdmin {
		return CCInsufficientPriv, nil
	}
	if !ss.end(in, "deactivate payload", in.sess != r.sess) {
		return ccPayloadActive, nil
	}
	return CCOK, nil
}

// Get Payload Activation Status (§24.4).
func getPayloadActivationStatus(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 1 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x3F != payloadTypeSOL {
		return CCInvalidData, nil
	}
	var bits byte
	if r.s.sol.current() != nil {
		bits = 1
	}
	return CCOK, []byte{1, bits, 0}
}

// Get Payload Instance Info (§24.5).
func getPayloadInstanceInfo(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 2 {
		return CCLengthInvalid, nil
	}
	if d[0]&0x3F != payloadTypeSOL || d[1] != 1 {
		return CCInvalidData, nil
	}
	in := r.s.sol.current()
	out := make([]byte, 12)
	if in != nil {
		id := in.sess.id
		out[0], out[1], out[2], out[3] = byte(id), byte(id>>8), byte(id>>16), byte(id>>24)
		out[4] = 1 // system serial port 1
	}
	return CCOK, out
}

// Get Channel Payload Support (§24.8).
func getChannelPayloadSupport(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 1 {
		return CCLengthInvalid, nil
	}
	if ch := d[0] & 0x0F; ch != 1 && ch != 0x0E {
		return CCInvalidData, nil
	}
	// IPMI and SOL; session setup payloads 10h-15h.
	return CCOK, []byte{0x03, 0x00, 0x3F, 0x00, 0x00, 0x00, 0x00, 0x00}
}

// Get Channel Payload Version (§24.9).
func getChannelPayloadVersion(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 2 {
		return CCLengthInvalid, nil
	}
	if ch := d[0] & 0x0F; ch != 1 && ch != 0x0E {
		return CCInvalidData, nil
	}
	switch d[1] {
	case rmcp.PayloadIPMI, payloadTypeSOL:
		return CCOK, []byte{0x10}
	}
	return 0x80, nil // payload type not available on this channel
}

// SOL configuration parameters (Table 26-5).
const (
	solParamSetInProgress = 0
	solParamEnable        = 1
	solParamAuth          = 2
	solParamAccumulate    = 3
	solParamRetry         = 4
	solParamNVBitRate     = 5
	solParamVBitRate      = 6
	solParamChannel       = 7
	solParamPort          = 8
	solParamRevision      = 0x11
)

func validBitRate(b byte) bool { return b == 0 || (b >= 6 && b <= 0x0A) }

func solChannelOK(b byte) bool {
	ch := b & 0x0F
	return ch == 1 || ch == 0x0E
}

// Get SOL Configuration Parameters (§26.3).
func getSOLConfig(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 4 {
		return CCLengthInvalid, nil
	}
	if !solChannelOK(d[0]) || d[0]&0x70 != 0 {
		return CCInvalidData, nil
	}
	c := r.s.sol.config()
	var v []byte
	switch d[1] {
	case solParamSetInProgress:
		v = []byte{c.setInProgress}
	case solParamEnable:
		v = []byte{b2i(c.enabled)}
	case solParamAuth:
		x := byte(c.priv) & 0x0F
		if c.forceCrypt {
			x |= 0x80
		}
		if c.forceAuth {
			x |= 0x40
		}
		v = []byte{x}
	case solParamAccumulate:
		v = []byte{c.accumulate, c.threshold}
	case solParamRetry:
		v = []byte{c.retryCount, c.retryInterval}
	case solParamNVBitRate:
		v = []byte{c.nvBitRate}
	case solParamVBitRate:
		v = []byte{c.vBitRate}
	case solParamChannel:
		v = []byte{1}
	case solParamPort:
		p := r.s.udpPort()
		v = []byte{byte(p), byte(p >> 8)}
	default:
		return ccParamNotSupported, nil
	}
	if d[0]&0x80 != 0 {
		return CCOK, []byte{solParamRevision} // revision only
	}
	return CCOK, append([]byte{solParamRevision}, v...)
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// Set SOL Configuration Parameters (§26.2).
func setSOLConfig(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	if !solChannelOK(d[0]) || d[0]&0xF0 != 0 {
		return CCInvalidData, nil
	}
	v := d[2:]
	want := map[byte]int{solParamSetInProgress: 1, solParamEnable: 1, solParamAuth: 1, solParamAccumulate: 2,
		solParamRetry: 2, solParamNVBitRate: 1, solParamVBitRate: 1, solParamChannel: 1, solParamPort: 2}
	n, ok := want[d[1]]
	if !ok {
		return ccParamNotSupported, nil
	}
	if len(v) != n {
		return CCLengthInvalid, nil
	}
	ss := r.s.sol
	ss.mu.Lock()
	c := ss.cfg
	switch d[1] {
	case solParamSetInProgress:
		switch v[0] & 0x03 {
		case 0, 2: // set complete; commit write (no-op: changes apply at once)
			c.setInProgress = 0
		case 1:
			if c.setInProgress == 1 {
				ss.mu.Unlock()
				return ccSetInProgress, nil
			}
			c.setInProgress = 1
		default:
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
	case solParamEnable:
		if v[0]&0xFE != 0 {
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
		c.enabled = v[0] == 1
	case solParamAuth:
		p := Privilege(v[0] & 0x0F)
		if v[0]&0x30 != 0 || p < PrivUser || p > PrivOEM {
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
		c.forceCrypt, c.forceAuth, c.priv = v[0]&0x80 != 0, v[0]&0x40 != 0, p
	case solParamAccumulate:
		if v[0] == 0 || v[1] == 0 {
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
		c.accumulate, c.threshold = v[0], v[1]
	case solParamRetry:
		if v[0]&0xF8 != 0 {
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
		c.retryCount, c.retryInterval = v[0], v[1]
	case solParamNVBitRate, solParamVBitRate:
		if !validBitRate(v[0]) {
			ss.mu.Unlock()
			return CCInvalidData, nil
		}
		if d[1] == solParamNVBitRate {
			c.nvBitRate = v[0]
		} else {
			c.vBitRate = v[0]
		}
	case solParamChannel, solParamPort:
		ss.mu.Unlock()
		return ccParamReadOnly, nil
	}
	ss.cfg = c
	var end *solInstance
	if !c.enabled {
		end = ss.active
	}
	ss.mu.Unlock()
	if end != nil {
		ss.end(end, "SOL disabled", true)
	}
	return CCOK, nil
}

// solInbound handles a SOL payload from sess; the caller holds sess.mu.
func (s *Server) solInbound(sess *session, payload []byte) {
	p, err := parseSOL(payload)
	if err != nil {
		return
	}
	in := s.sol.instanceFor(sess)
	if in == nil {
		return
	}
	in.inbound(p, time.Now())
}

// inbound applies a console packet; the caller holds in.sess.mu.
func (in *solInstance) inbound(p solPacket, now time.Time) {
	if p.Ack != 0 && in.pending != nil && p.Ack == in.pendSeq {
		acc := int(p.Accepted)
		switch {
		case p.Op&solOpNACK != 0 && acc < len(in.pending):
			// The console is busy: keep what it did not take and try
			// again after the retry interval.
			in.pending = in.pending[min(acc, len(in.pending)):]
			in.retryAt = now.Add(in.interval)
			if acc > 0 {
				in.newSeqLocked()
			}
		case acc >= len(in.pending):
			in.pending = nil
		case acc > 0:
			// A partial ACK: the rest goes again as a new packet.
			in.pending = in.pending[acc:]
			in.newSeqLocked()
			in.retryAt = now
		default:
			// ACK of nothing: treat as a NACK.
			in.retryAt = now.Add(in.interval)
		}
		in.signal()
	}
	if paused := p.Op&solOpCTSPause != 0; paused != in.paused {
		in.paused = paused
		in.signal()
	}
	if p.Op&solOpFlushOutbound != 0 {
		in.pending = nil
		in.view.Take(hardware.ConsoleViewerBuffer)
	}
	if p.Seq == 0 {
		return
	}
	if p.Seq == in.lastInSeq && len(p.Data) == in.lastInLen {
		// A retransmission: our ACK was lost. ACK again, deliver nothing.
		in.sendLocked(solPacket{Ack: p.Seq, Accepted: in.lastAcc})
		return
	}
	if p.Op&solOpBreak != 0 {
		in.w.Break()
	}
	data := p.Data
	if p.Op&solOpFlushInbound != 0 {
		data = nil // nothing is queued here; drop what came with the flush
	}
	acc := len(p.Data)
	if len(data) > 0 {
		if _, err := in.w.Write(data); err != nil {
			acc = 0
		}
	}
	in.lastInSeq, in.lastInLen, in.lastAcc = p.Seq, len(p.Data), byte(min(acc, 255))
	ack := solPacket{Ack: p.Seq, Accepted: in.lastAcc}
	if acc == 0 && len(p.Data) > 0 {
		ack.Op = solStNACK
	}
	in.sendLocked(ack)
}

func (in *solInstance) newSeqLocked() {
	in.outSeq = nextSOLSeq(in.outSeq)
	in.pendSeq = in.outSeq
	in.tries = 0
}

// sendLocked sends p in the session; the caller holds in.sess.mu.
func (in *solInstance) sendLocked(p solPacket) {
	if in.s.sessions.get(in.sess.id) != in.sess {
		return
	}
	in.s.reply20(in.sess, in.sess.info().addr, rmcp.PayloadSOL, p.append(nil))
}

// run pumps console output to the console until deactivation.
func (in *solInstance) run(ss *solServer) {
	defer close(in.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	ready := in.view.Ready()
	for {
		select {
		case <-in.stop:
			in.goodbye()
			return
		default:
		}
		select {
		case <-in.stop:
			in.goodbye()
			return
		case <-in.s.ctx.Done():
			ss.deactivate(in, "server closed")
			return
		case <-tick.C:
			if in.s.sessions.get(in.sess.id) != in.sess {
				ss.deactivate(in, "session closed")
				return
			}
		case _, ok := <-ready:
			if !ok {
				ready = nil
			}
		case <-in.kick:
		case <-timer.C:
		}
		next := in.pump(time.Now())
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
	}
}

// pump retransmits or sends output as due; it returns when it next needs
// to run (zero: only on an event).
func (in *solInstance) pump(now time.Time) time.Time {
	in.sess.mu.Lock()
	defer in.sess.mu.Unlock()
	return in.pumpLocked(now)
}

func (in *solInstance) pumpLocked(now time.Time) time.Time {
	select {
	case <-in.stop:
		return time.Time{}
	default:
	}
	if in.pending != nil && !now.Before(in.retryAt) {
		if in.tries > in.retries {
			in.pending = nil // given up: the output is lost, as on a real BMC
		} else {
			in.transmitLocked(now)
		}
	}
	if in.pending == nil && !in.paused {
		if n := in.view.Buffered(); n > 0 {
			if in.waitSince.IsZero() {
				in.waitSince = now
			}
			if n >= in.threshold || now.Sub(in.waitSince) >= in.accumulate {
				in.pending = in.view.Take(solMaxData)
				in.waitSince = time.Time{}
				in.newSeqLocked()
				in.transmitLocked(now)
			}
		}
	}
	var next time.Time
	if in.pending != nil {
		next = in.retryAt
	}
	if !in.waitSince.IsZero() && in.pending == nil {
		if t := in.waitSince.Add(in.accumulate); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next
}

func (in *solInstance) transmitLocked(now time.Time) {
	var st byte
	if d := in.view.Dropped(); d != in.dropped {
		in.dropped, st = d, solStOverrun
	}
	in.tries++
	in.retryAt = now.Add(in.interval)
	in.sendLocked(solPacket{Seq: in.pendSeq, Op: st, Data: in.pending})
}

// Get User Payload Access (§24.7): SOL is open to every enabled user whose
// role reaches the SOL privilege level; nothing else is configurable.
func getUserPayloadAccess(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) != 2 {
		return CCLengthInvalid, nil
	}
	if !solChannelOK(d[0]) || d[0]&0xF0 != 0 {
		return CCInvalidData, nil
	}
	id := int(d[1] & 0x3F)
	if id == 0 || d[1]&0xC0 != 0 {
		return CCInvalidData, nil
	}
	out := make([]byte, 4)
	if a, ok := r.s.accounts.Get(id); ok && id > 1 && a.Enabled && rolePrivilege(a.Role) >= r.s.sol.config().priv {
		out[0] = 1 << payloadTypeSOL
	}
	return CCOK, out
}

// goodbye tells the console SOL was deactivated under it (by another
// session or by configuration), as ipmitool expects ("SOL session closed
// by BMC").
func (in *solInstance) goodbye() {
	if !in.notify {
		return
	}
	in.sess.mu.Lock()
	defer in.sess.mu.Unlock()
	in.outSeq = nextSOLSeq(in.outSeq)
	in.sendLocked(solPacket{Seq: in.outSeq, Op: solStDeactivating | solStUnavailable})
}
