package ipmi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

func TestSOLPacketCodec(t *testing.T) {
	p := solPacket{Seq: 3, Ack: 15, Accepted: 7, Op: solStBreak, Data: []byte("hello")}
	b := p.append(nil)
	if want := []byte{3, 15, 7, solStBreak, 'h', 'e', 'l', 'l', 'o'}; !bytes.Equal(b, want) {
		t.Fatalf("encoded % x", b)
	}
	q, err := parseSOL(b)
	if err != nil || q.Seq != 3 || q.Ack != 15 || q.Accepted != 7 || q.Op != solStBreak || string(q.Data) != "hello" {
		t.Fatalf("decoded %+v %v", q, err)
	}
	if _, err := parseSOL([]byte{1, 2, 3}); !errors.Is(err, errSOLShort) {
		t.Fatalf("short: %v", err)
	}
	// Reserved bits are ignored.
	q, _ = parseSOL([]byte{0xF1, 0xF2, 0, 0x80})
	if q.Seq != 1 || q.Ack != 2 || q.Op != 0 {
		t.Fatalf("reserved bits: %+v", q)
	}
	seq := byte(0)
	for i := range 40 {
		seq = nextSOLSeq(seq)
		if seq < 1 || seq > 15 || (i > 0 && seq == 0) {
			t.Fatalf("sequence %d", seq)
		}
	}
}

// SOL helpers on the test console.

func (c *client) solPkt(p solPacket) []byte {
	c.seq++
	payload := p.append(nil)
	if c.aes != nil {
		payload = c.aes.Encrypt(payload)
	}
	return rmcp.AppendSession20(rmcp.IPMIHeader.Append(nil), rmcp.PayloadSOL, c.aes != nil, c.bmcSID, c.seq, payload, c.mac)
}

func (c *client) sendSOL(p solPacket) {
	c.t.Helper()
	if _, err := c.conn.Write(c.solPkt(p)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads one in-session packet and returns its payload type and
// decrypted payload.
func (c *client) next(wait time.Duration) (byte, []byte, error) {
	raw, err := c.read(wait)
	if err != nil {
		return 0, nil, err
	}
	_, body, err := rmcp.ParseHeader(raw)
	if err != nil {
		return 0, nil, err
	}
	p, err := rmcp.ParseSession20(body)
	if err != nil {
		return 0, nil, err
	}
	if p.ID != c.consoleSID || !p.Authenticated {
		return 0, nil, errors.New("unexpected packet")
	}
	signed, code, err := p.Integrity(c.mac.Size())
	if err != nil || !c.mac.Verify(signed, code) {
		return 0, nil, errors.New("integrity")
	}
	payload := p.Payload
	if c.aes != nil {
		if !p.Encrypted {
			return 0, nil, errors.New("not encrypted")
		}
		if payload, err = c.aes.Decrypt(payload); err != nil {
			return 0, nil, err
		}
	}
	return p.PayloadType, payload, nil
}

// solCmd runs an IPMI command while SOL traffic may flow; SOL packets
// that arrive meanwhile are returned too.
func (c *client) solCmd(netfn, cmd byte, data ...byte) (byte, []byte, []solPacket) {
	c.t.Helper()
	if _, err := c.conn.Write(c.request(netfn, cmd, data...)); err != nil {
		c.t.Fatal(err)
	}
	var sols []solPacket
	for {
		pt, payload, err := c.next(answerWait)
		if err != nil {
			c.t.Fatalf("command %#x/%#x: %v", netfn, cmd, err)
		}
		if pt == rmcp.PayloadSOL {
			p, _ := parseSOL(payload)
			p.Data = append([]byte(nil), p.Data...)
			sols = append(sols, p)
			continue
		}
		r, err := rmcp.ParseResponse(payload)
		if err != nil || r.Cmd != cmd || r.RqSeq != c.rqSeq {
			continue
		}
		return r.Completion, r.Data, sols
	}
}

// solReader reads SOL packets, acknowledging data unless told not to.
type solReader struct {
	c    *client
	text strings.Builder
	acks []solPacket // ACK/NACK-only packets received
}

func (r *solReader) read(ack bool) solPacket {
	r.c.t.Helper()
	for {
		pt, payload, err := r.c.next(answerWait)
		if err != nil {
			r.c.t.Fatalf("reading SOL: %v; text so far %q", err, r.text.String())
		}
		if pt != rmcp.PayloadSOL {
			continue
		}
		p, err := parseSOL(payload)
		if err != nil {
			r.c.t.Fatal(err)
		}
		p.Data = append([]byte(nil), p.Data...)
		if p.Seq == 0 {
			r.acks = append(r.acks, p)
			return p
		}
		if ack {
			r.text.Write(p.Data)
			r.c.sendSOL(solPacket{Ack: p.Seq, Accepted: byte(len(p.Data))})
		}
		return p
	}
}

func (r *solReader) until(want string) {
	r.c.t.Helper()
	for !strings.Contains(r.text.String(), want) {
		r.read(true)
	}
}

func (r *solReader) waitAck(seq byte) solPacket {
	r.c.t.Helper()
	for {
		for i, a := range r.acks {
			if a.Ack == seq {
				r.acks = append(r.acks[:i], r.acks[i+1:]...)
				return a
			}
		}
		r.read(true)
	}
}

func TestSOLSession(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	// Fast retries, no accumulation delay.
	for _, set := range [][]byte{{1, solParamRetry, 3, 2}, {1, solParamAccumulate, 1, 1}} {
		if cc, _ := c.mustCmd(netFnTransportSOL, 0x21, set...); cc != 0 {
			t.Fatalf("set SOL config %x: %#x", set, cc)
		}
	}
	cc, d := c.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0)
	if cc != 0 || len(d) != 12 {
		t.Fatalf("activate: %#x % x", cc, d)
	}
	port := e.srv.Addr().(*net.UDPAddr).Port
	if got := int(binary.LittleEndian.Uint16(d[8:10])); got != port {
		t.Fatalf("SOL port %d, want %d", got, port)
	}
	if binary.LittleEndian.Uint16(d[4:6]) != solMaxPayload || binary.LittleEndian.Uint16(d[6:8]) != solMaxPayload {
		t.Fatalf("payload sizes % x", d[4:8])
	}

	// A second activation, from any session, is refused.
	o := e.mustLogin(17, operUser, operPass, PrivOperator)
	if cc, _ := o.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != ccPayloadActive {
		t.Fatalf("second activation: %#x", cc)
	}
	if _, err := e.m.Console().Acquire("web"); !errors.Is(err, hardware.ErrBusy) {
		t.Fatalf("console writer while SOL active: %v", err)
	}
	if cc, d := o.mustCmd(NetFnApp, 0x4A, 1); cc != 0 || !bytes.Equal(d, []byte{1, 1, 0}) {
		t.Fatalf("activation status: %#x % x", cc, d)
	}
	if cc, d := o.mustCmd(NetFnApp, 0x4B, 1, 1); cc != 0 || binary.LittleEndian.Uint32(d[0:4]) != c.bmcSID || d[4] != 1 {
		t.Fatalf("instance info: %#x % x", cc, d)
	}
	if cc, _ := o.mustCmd(NetFnApp, 0x49, 1, 1, 0, 0, 0, 0); cc != CCInsufficientPriv {
		t.Fatalf("operator deactivating another session's SOL: %#x", cc)
	}

	// Power on: the boot banner and login prompt come over SOL.
	if cc, _ := o.mustCmd(NetFnChassis, 0x02, 1); cc != 0 {
		t.Fatalf("power on: %#x", cc)
	}
	r := &solReader{c: c}
	r.until("sim-0 login: ")
	if !strings.Contains(r.text.String(), "Booting from Hdd") {
		t.Fatalf("banner: %q", r.text.String())
	}

	// Typed characters are accepted and echoed.
	r.c.sendSOL(solPacket{Seq: 1, Data: []byte("root\r")})
	if a := r.waitAck(1); a.Accepted != 5 || a.Op != 0 {
		t.Fatalf("ack %+v", a)
	}
	r.until("root@sim-0:~# ")
	// A retransmission (same sequence number and length) is acked again
	// but not typed twice.
	r.c.sendSOL(solPacket{Seq: 1, Data: []byte("root\r")})
	if a := r.waitAck(1); a.Accepted != 5 {
		t.Fatalf("re-ack %+v", a)
	}
	r.c.sendSOL(solPacket{Seq: 2, Data: []byte("uname -a\r")})
	r.until("GNU/Linux\r\nroot@sim-0:~# ")
	if strings.Contains(r.text.String(), "command not found") {
		t.Fatalf("retransmission typed twice: %q", r.text.String())
	}

	// Unacknowledged output is sent again with the same sequence number.
	r.c.sendSOL(solPacket{Seq: 3, Data: []byte("echo again\r")})
	var first solPacket
	for first.Seq == 0 {
		first = r.read(false)
	}
	var again solPacket
	for again.Seq == 0 {
		again = r.read(false)
	}
	if again.Seq != first.Seq || !bytes.Equal(again.Data, first.Data) {
		t.Fatalf("retransmission %+v of %+v", again, first)
	}
	r.text.Write(first.Data)
	r.c.sendSOL(solPacket{Ack: first.Seq, Accepted: byte(len(first.Data))})
	r.until("again\r\nroot@sim-0:~# ")

	// A partial ACK makes the BMC resend the rest under a new number.
	r.c.sendSOL(solPacket{Seq: 4, Data: []byte("echo partial\r")})
	var p solPacket
	for p.Seq == 0 || len(p.Data) < 2 {
		if p.Seq != 0 {
			r.text.Write(p.Data)
			r.c.sendSOL(solPacket{Ack: p.Seq, Accepted: byte(len(p.Data))})
		}
		p = r.read(false)
	}
	r.text.Write(p.Data[:1])
	r.c.sendSOL(solPacket{Ack: p.Seq, Accepted: 1})
	var rest solPacket
	for rest.Seq == 0 {
		rest = r.read(false)
	}
	if rest.Seq == p.Seq || !bytes.Equal(rest.Data[:len(p.Data)-1], p.Data[1:]) {
		t.Fatalf("after partial ack of %+v got %+v", p, rest)
	}
	r.text.Write(rest.Data)
	r.c.sendSOL(solPacket{Ack: rest.Seq, Accepted: byte(len(rest.Data))})
	r.until("partial\r\nroot@sim-0:~# ")

	// The owner deactivates; a second deactivation reports 80h.
	if cc, _, _ := c.solCmd(NetFnApp, 0x49, 1, 1, 0, 0, 0, 0); cc != 0 {
		t.Fatalf("deactivate: %#x", cc)
	}
	if cc, _, _ := c.solCmd(NetFnApp, 0x49, 1, 1, 0, 0, 0, 0); cc != ccPayloadActive {
		t.Fatalf("deactivate again: %#x", cc)
	}
	if cc, d := o.mustCmd(NetFnApp, 0x4A, 1); cc != 0 || d[1] != 0 {
		t.Fatalf("activation status after deactivate: %#x % x", cc, d)
	}
	w, err := e.m.Console().Acquire("web")
	if err != nil {
		t.Fatalf("console writer after SOL: %v", err)
	}
	w.Close()

	// Closing the session deactivates SOL.
	if cc, _ := o.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != 0 {
		t.Fatalf("operator activation: %#x", cc)
	}
	id := make([]byte, 4)
	binary.LittleEndian.PutUint32(id, o.bmcSID)
	if cc, _, _ := o.solCmd(NetFnApp, 0x3C, id...); cc != 0 {
		t.Fatalf("close session: %#x", cc)
	}
	if cc, d, _ := c.solCmd(NetFnApp, 0x4A, 1); cc != 0 || d[1] != 0 {
		t.Fatalf("activation status after close: %#x % x", cc, d)
	}
}

func TestSOLActivationRules(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.CipherSuites = []byte{17, 2} })
	a := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	plain := e.mustLogin(2, adminUser, adminPass, PrivAdmin)
	if cc, _ := plain.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != ccPayloadNeedsNoCrypt {
		t.Fatalf("encrypted SOL on a plain session: %#x", cc)
	}
	if cc, _ := a.mustCmd(netFnTransportSOL, 0x21, 1, solParamAuth, 0xC4); cc != 0 {
		t.Fatalf("set SOL auth: %#x", cc)
	}
	if cc, _ := plain.mustCmd(NetFnApp, 0x48, 1, 1, 0x40, 0, 0, 0); cc != ccPayloadNeedsCrypt {
		t.Fatalf("forced encryption: %#x", cc)
	}
	ro := e.mustLogin(17, roUser, roPass, PrivUser)
	if cc, _ := ro.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != CCInsufficientPriv {
		t.Fatalf("USER activating ADMIN-level SOL: %#x", cc)
	}
	if cc, _ := a.mustCmd(netFnTransportSOL, 0x21, 1, solParamEnable, 0); cc != 0 {
		t.Fatalf("disable SOL: %#x", cc)
	}
	if cc, _ := a.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != ccPayloadDisabled {
		t.Fatalf("activation while disabled: %#x", cc)
	}
	for _, tc := range []struct {
		name string
		cmd  byte
		data []byte
		cc   byte
	}{
		{"activate wrong type", 0x48, []byte{2, 1, 0, 0, 0, 0}, CCInvalidData},
		{"activate wrong instance", 0x48, []byte{1, 2, 0, 0, 0, 0}, CCInvalidData},
		{"activate short", 0x48, []byte{1, 1}, CCLengthInvalid},
		{"deactivate inactive", 0x49, []byte{1, 1, 0, 0, 0, 0}, ccPayloadActive},
		{"payload support", 0x4E, []byte{1}, CCOK},
		{"payload version SOL", 0x4F, []byte{1, 1}, CCOK},
		{"payload version OEM", 0x4F, []byte{1, 2}, 0x80},
		{"user payload access", 0x4D, []byte{1, 2}, CCOK},
	} {
		if cc, _ := a.mustCmd(NetFnApp, tc.cmd, tc.data...); cc != tc.cc {
			t.Errorf("%s: %#x, want %#x", tc.name, cc, tc.cc)
		}
	}
}

func TestSOLConfigParameters(t *testing.T) {
	e := newEnv(t, nil)
	a := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	get := func(param byte) (byte, []byte) {
		return a.mustCmd(netFnTransportSOL, 0x22, 0x0E, param, 0, 0)
	}
	port := e.srv.Addr().(*net.UDPAddr).Port
	for param, want := range map[byte][]byte{
		solParamSetInProgress: {0x11, 0},
		solParamEnable:        {0x11, 1},
		solParamAuth:          {0x11, 0x42},
		solParamAccumulate:    {0x11, 10, 96},
		solParamRetry:         {0x11, 7, 50},
		solParamNVBitRate:     {0x11, 0x0A},
		solParamVBitRate:      {0x11, 0x0A},
		solParamChannel:       {0x11, 1},
		solParamPort:          {0x11, byte(port), byte(port >> 8)},
	} {
		if cc, d := get(param); cc != 0 || !bytes.Equal(d, want) {
			t.Errorf("param %d: %#x % x, want % x", param, cc, d, want)
		}
	}
	if cc, d := a.mustCmd(netFnTransportSOL, 0x22, 0x81, solParamRetry, 0, 0); cc != 0 || !bytes.Equal(d, []byte{0x11}) {
		t.Errorf("revision only: %#x % x", cc, d)
	}
	for _, tc := range []struct {
		name string
		data []byte
		cc   byte
	}{
		{"unknown param", []byte{1, 9, 0}, ccParamNotSupported},
		{"accumulate zero", []byte{1, solParamAccumulate, 0, 5}, CCInvalidData},
		{"bad bit rate", []byte{1, solParamVBitRate, 3}, CCInvalidData},
		{"retry count too big", []byte{1, solParamRetry, 8, 1}, CCInvalidData},
		{"privilege callback", []byte{1, solParamAuth, 0x01}, CCInvalidData},
		{"port read-only", []byte{1, solParamPort, 1, 2}, ccParamReadOnly},
		{"wrong length", []byte{1, solParamRetry, 1}, CCLengthInvalid},
		{"wrong channel", []byte{2, solParamEnable, 1}, CCInvalidData},
		{"set in progress", []byte{1, 0, 1}, CCOK},
		{"set in progress twice", []byte{1, 0, 1}, ccSetInProgress},
		{"bit rate", []byte{1, solParamNVBitRate, 0x09}, CCOK},
		{"set complete", []byte{1, 0, 0}, CCOK},
	} {
		if cc, _ := a.mustCmd(netFnTransportSOL, 0x21, tc.data...); cc != tc.cc {
			t.Errorf("%s: %#x, want %#x", tc.name, cc, tc.cc)
		}
	}
	if _, d := get(solParamNVBitRate); d[1] != 0x09 {
		t.Errorf("bit rate not stored: % x", d)
	}
	ro := e.mustLogin(17, roUser, roPass, PrivUser)
	if cc, _ := ro.mustCmd(netFnTransportSOL, 0x21, 1, solParamEnable, 0); cc != CCInsufficientPriv {
		t.Errorf("USER setting SOL config: %#x", cc)
	}
}

// FuzzSOLPayload checks the parser never panics and round-trips.
func FuzzSOLPayload(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 'a'})
	f.Add([]byte{0, 3, 5, solOpNACK})
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseSOL(b)
		if err != nil {
			if len(b) >= solHeaderLen {
				t.Fatalf("rejected %x", b)
			}
			return
		}
		q, err := parseSOL(p.append(nil))
		if err != nil || q.Seq != p.Seq || q.Ack != p.Ack || q.Accepted != p.Accepted || q.Op != p.Op || !bytes.Equal(q.Data, p.Data) {
			t.Fatalf("round trip %+v -> %+v %v", p, q, err)
		}
	})
}

// FuzzSOLInbound feeds arbitrary console packets to an active SOL
// instance: its ACK/retransmit state must stay consistent.
func FuzzSOLInbound(f *testing.F) {
	e := newEnv(f, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != 0 {
		f.Fatalf("activate: %#x", cc)
	}
	ss := e.srv.sol
	ss.mu.Lock()
	in := ss.active
	ss.mu.Unlock()
	f.Add([]byte{1, 0, 0, 0, 'x', '\r'}, []byte("output"))
	f.Add([]byte{0, 1, 3, 0}, []byte("abcdef"))
	f.Add([]byte{0, 1, 0, solOpNACK}, []byte("abc"))
	f.Add([]byte{2, 1, 1, solOpCTSPause | solOpFlushOutbound | solOpBreak}, []byte(""))
	f.Fuzz(func(t *testing.T, pkt, pending []byte) {
		p, err := parseSOL(pkt)
		if err != nil {
			return
		}
		in.sess.mu.Lock()
		defer in.sess.mu.Unlock()
		now := time.Now()
		if len(pending) > 0 && len(pending) <= solMaxData {
			in.pending = append([]byte(nil), pending...)
			in.newSeqLocked()
			in.tries = 1
		}
		in.inbound(p, now)
		in.pumpLocked(now.Add(time.Second))
		if in.pending != nil && (in.pendSeq < 1 || in.pendSeq > 15 || len(in.pending) > solMaxData) {
			t.Fatalf("bad outbound state seq %d len %d", in.pendSeq, len(in.pending))
		}
		in.pending, in.paused = nil, false
	})
}

// TestSOLEndsWithSession checks SOL ends when its session leaves the
// table by another way than Close Session (here a cold reset).
func TestSOLEndsWithSession(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnApp, 0x48, 1, 1, 0xC0, 0, 0, 0); cc != 0 {
		t.Fatalf("activate: %#x", cc)
	}
	if e.m.Console().Owner() == "" {
		t.Fatal("SOL does not hold the console")
	}
	o := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, _ := o.mustCmd(NetFnApp, 0x02); cc != 0 {
		t.Fatalf("cold reset: %#x", cc)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.m.Console().Owner() != "" {
		if time.Now().After(deadline) {
			t.Fatal("SOL still holds the console after its session ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	n := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if cc, d := n.mustCmd(NetFnApp, 0x4A, 1); cc != 0 || d[1] != 0 {
		t.Fatalf("activation status: %#x % x", cc, d)
	}
}
