package board

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/store"
)

// countSender counts magic packets.
type countSender struct{ n int }

func (s *countSender) Wake(context.Context) error { s.n++; return nil }

// TestWOLAlone: a board of `wol:` alone powers on by a magic packet that
// reaches a UDP listener on 127.0.0.1, offers On and ForceOn only, and
// the Machine refuses the others as not supported.
func TestWOLAlone(t *testing.T) {
	l, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	b, err := setupWith(t, "wol: {mac: \"00:11:22:aa:bb:cc\", address: \""+l.LocalAddr().String()+"\"}\n")
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := hardware.NewMachine("node1", b, db, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Capabilities().ResetTypes; !slices.Equal(got, []hardware.ResetType{hardware.ResetOn, hardware.ResetForceOn}) {
		t.Errorf("ResetTypes %v, want On, ForceOn", got)
	}
	ctx := context.Background()
	for _, r := range []hardware.ResetType{hardware.ResetForceOff, hardware.ResetGracefulShutdown, hardware.ResetForceRestart, hardware.ResetPowerCycle} {
		if err := m.Reset(ctx, r); !errors.Is(err, hardware.ErrNotSupported) {
			t.Errorf("%s: %v, want ErrNotSupported", r, err)
		}
	}
	if err := m.Reset(ctx, hardware.ResetOn); err != nil {
		t.Fatal(err)
	}
	_ = l.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	n, _, err := l.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Repeat([]byte{0xff}, 6), bytes.Repeat([]byte{0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc}, 16)...)
	if !bytes.Equal(buf[:n], want) {
		t.Errorf("packet %x", buf[:n])
	}
	if ps, _ := m.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("power state %s after On, want On (assumed)", ps)
	}

	// A restart of bmcd keeps the assumed state (PowerResumer).
	m.Close()
	b2, err := setupWith(t, "wol: {mac: \"00:11:22:aa:bb:cc\", address: \""+l.LocalAddr().String()+"\"}\n")
	if err != nil {
		t.Fatal(err)
	}
	m2, err := hardware.NewMachine("node1", b2, db, slog.Default())
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	if ps, _ := m2.PowerState(ctx); ps != hardware.PowerOn {
		t.Errorf("power state %s after a restart, want the recorded On", ps)
	}
}

// TestWOLWithATX: with atx: too, the power button powers on unless
// wol.prefer; with prefer, On from Off sends the packet and presses
// nothing, and the other resets still press buttons.
func TestWOLWithATX(t *testing.T) {
	ctx := context.Background()
	for _, prefer := range []bool{false, true} {
		a, srv, lines := newATX(t)
		s := &countSender{}
		cfg := testConfig(t)
		cfg.WOL, cfg.WOLPrefer = s, prefer
		b, err := New(cfg, a, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := b.Attach(nopHost{})
		if !slices.Equal(p.Power.ResetTypes(), a.ResetTypes()) {
			t.Errorf("prefer %v: ResetTypes %v, want the ATX part's", prefer, p.Power.ResetTypes())
		}
		if err := p.Power.Reset(ctx, hardware.ResetOn); err != nil {
			t.Fatal(err)
		}
		pressed := len(srv.Presses()) > 0
		if prefer && (s.n != 1 || pressed) || !prefer && (s.n != 0 || !pressed) {
			t.Errorf("prefer %v: %d packets, power button pressed %v", prefer, s.n, pressed)
		}
		if err := p.Power.Reset(ctx, hardware.ResetPushPowerButton); err != nil {
			t.Errorf("prefer %v: PushPowerButton: %v", prefer, err)
		}
		if pressed = len(srv.Presses()) > 0; !pressed {
			t.Errorf("prefer %v: PushPowerButton pressed nothing", prefer)
		}
		b.Close()
		if !lines[0].isClosed() {
			t.Error("ATX lines not released")
		}
	}
}
