package ipmi

import (
	"testing"
	"time"

	"github.com/bmcd/bmcd/ipmi/rmcp"
)

func TestSeqWindowRMCPPlus(t *testing.T) {
	w := newWindow(0, 15, 16)
	for _, tc := range []struct {
		seq uint32
		ok  bool
	}{
		{0, false}, {16, false}, {1, true}, {1, false}, {15, true}, {3, true}, {3, false},
		{2, true}, {30, true}, {14, true}, {13, false}, {46, false}, {45, true}, {29, true},
	} {
		if got := w.check(tc.seq); got != tc.ok {
			t.Fatalf("seq %d: %v, want %v (high %d)", tc.seq, got, tc.ok, w.high)
		}
		if tc.ok {
			w.accept(tc.seq)
		}
	}
}

func TestSeqWindowWraps(t *testing.T) {
	w := newWindow(0xFFFFFFF0, 8, 8)
	for _, s := range []uint32{0xFFFFFFF5, 0xFFFFFFFD, 0x00000003, 0xFFFFFFFF} {
		if !w.check(s) {
			t.Fatalf("seq %#x refused (high %#x)", s, w.high)
		}
		w.accept(s)
	}
	if w.check(0) || w.check(0xFFFFFFFD) || w.check(0x0000000C) {
		t.Fatal("accepted zero, a replay or a jump")
	}
	if !w.check(0x0000000B) {
		t.Fatal("refused +8")
	}
}

func TestSessionTableEviction(t *testing.T) {
	tb := newSessionTable(3, time.Minute)
	now := time.Unix(1000, 0)
	active := func(at time.Time) *session {
		s := &session{}
		s.setState(stateActive)
		tb.add(s, at)
		return s
	}
	a := active(now)
	b := active(now.Add(time.Second))
	p := &session{}
	p.setState(stateRAKP2)
	tb.add(p, now.Add(2*time.Second))
	// Full: the pending handshake goes first, even though it is newer.
	if ev := tb.add(&session{}, now.Add(3*time.Second)); ev != p {
		t.Fatalf("evicted %v, want the pending one", ev)
	}
	if tb.get(p.id) != nil {
		t.Fatal("still there")
	}
	// Then the idlest active session.
	for _, s := range tb.byID {
		s.setState(stateActive)
	}
	if ev := tb.add(&session{}, now.Add(4*time.Second)); ev != a {
		t.Fatalf("evicted %v, want the idlest", ev)
	}
	if a.handle == 0 || b.handle == 0 || a.handle == b.handle {
		t.Fatal("handles")
	}
}

func TestSessionTableSweep(t *testing.T) {
	tb := newSessionTable(8, time.Minute)
	now := time.Unix(1000, 0)
	act := &session{}
	act.setState(stateActive)
	tb.add(act, now)
	hs := &session{}
	hs.setState(stateRAKP2)
	tb.add(hs, now)
	if out := tb.sweep(now.Add(handshakeTimeout - time.Second)); len(out) != 0 {
		t.Fatal("swept early")
	}
	if out := tb.sweep(now.Add(handshakeTimeout + time.Second)); len(out) != 1 || out[0] != hs {
		t.Fatalf("handshake sweep: %v", out)
	}
	act.touch(now.Add(30 * time.Second))
	if out := tb.sweep(now.Add(80 * time.Second)); len(out) != 0 {
		t.Fatal("active session swept while used")
	}
	if out := tb.sweep(now.Add(91 * time.Second)); len(out) != 1 || out[0] != act {
		t.Fatalf("idle sweep: %v", out)
	}
}

func TestIPMI15Disabled(t *testing.T) {
	e := newEnv(t, nil)
	c := e.dial()
	if cc, _, err := c.sessionless(true, NetFnApp, 0x39, append([]byte{rmcp.AuthMD5}, name16(adminUser)...)...); err != nil || cc != CCInvalidCommand {
		t.Fatalf("challenge with v1.5 off: %#x %v", cc, err)
	}
}

func TestIPMI15Sessions(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.EnableIPMI15 = true })
	c := e.dial()
	cc, d, _ := c.sessionless(true, NetFnApp, 0x38, 0x0E, 0x04)
	if cc != 0 || d[1] != 0x04 || d[3] != 0 {
		t.Fatalf("auth caps: % x", d)
	}
	_, d, _ = c.sessionless(true, NetFnApp, 0x38, 0x8E, 0x04)
	if d[1] != 0x84 || d[3] != 0x03 {
		t.Fatalf("v2 auth caps: % x", d)
	}
	for _, at := range []byte{rmcp.AuthNone, rmcp.AuthMD2, rmcp.AuthPassword, rmcp.AuthOEM} {
		if cc, _, _ := c.sessionless(true, NetFnApp, 0x39, append([]byte{at}, name16(adminUser)...)...); cc != CCInvalidData {
			t.Errorf("auth type %d: %#x", at, cc)
		}
	}
	if cc, err := c.login15(adminUser, adminPass, PrivAdmin); cc != 0 || err != nil {
		t.Fatalf("login: %#x %v", cc, err)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x3B, byte(PrivAdmin)); cc != 0 {
		t.Fatalf("raise: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnChassis, 0x02, 0x01); cc != 0 {
		t.Fatalf("power on: %#x", cc)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x3D, 0); cc != 0 || d[5] != 0x01 {
		t.Fatalf("session info (v1.5): % x", d)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x39, append([]byte{rmcp.AuthMD5}, name16(adminUser)...)...); cc != CCNotInPresentState {
		t.Fatalf("challenge inside a session: %#x", cc)
	}
	// Replays are dropped.
	pkt := c.request(NetFnApp, 0x01)
	if _, err := c.exchange(pkt, answerWait); err != nil {
		t.Fatal(err)
	}
	if _, err := c.exchange(pkt, silenceWait); err != errTimeout {
		t.Fatal("replay answered")
	}
	// Passwords cannot be set over v1.5.
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x03, 0x02}, pw(16, "new-password1")...)...); cc != CCInsufficientPriv {
		t.Fatalf("password over v1.5: %#x", cc)
	}

	// Wrong password and unknown user: no answer to Activate Session.
	for _, u := range [][2]string{{adminUser, "wrong-password"}, {"nobody", adminPass}} {
		x := e.dial()
		x.wait = silenceWait
		if _, err := x.login15(u[0], u[1], PrivAdmin); err != errTimeout {
			t.Errorf("%s/%s: %v", u[0], u[1], err)
		}
	}
	// A privilege above the user's limit fails with 86h.
	o := e.dial()
	if cc, err := o.login15(operUser, operPass, PrivAdmin); cc != 0x86 || err != nil {
		t.Fatalf("operator as admin: %#x %v", cc, err)
	}
}
