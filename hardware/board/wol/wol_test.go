package wol

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// TestMagicPacketGolden checks the packet byte-exact against the golden
// files (hex, 16 bytes a line): 6×FF, 16× the MAC, the SecureOn password.
func TestMagicPacketGolden(t *testing.T) {
	mac, _ := net.ParseMAC("00:11:22:aa:bb:cc")
	for _, tc := range []struct {
		name string
		pw   []byte
		size int
	}{
		{"plain", nil, 102},
		{"secureon4", []byte{192, 168, 1, 1}, 106},
		{"secureon6", []byte{1, 2, 3, 4, 5, 6}, 108},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := MagicPacket(mac, tc.pw)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != tc.size {
				t.Fatalf("%d bytes, want %d", len(p), tc.size)
			}
			raw, err := os.ReadFile("testdata/" + tc.name + ".hex")
			if err != nil {
				t.Fatal(err)
			}
			want, err := hex.DecodeString(strings.Join(strings.Fields(string(raw)), ""))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p, want) {
				t.Errorf("packet\n%x\nwant\n%x", p, want)
			}
		})
	}
	for _, bad := range []struct {
		mac net.HardwareAddr
		pw  []byte
	}{{mac[:5], nil}, {mac, []byte{1, 2, 3}}, {mac, []byte{1, 2, 3, 4, 5}}, {append(mac, 0, 0), nil}} {
		if _, err := MagicPacket(bad.mac, bad.pw); !errors.Is(err, hardware.ErrInvalid) {
			t.Errorf("MagicPacket(%x, %x): %v, want ErrInvalid", bad.mac, bad.pw, err)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string // "" accepted
	}{
		{"minimal", Config{MAC: "aa:bb:cc:dd:ee:ff"}, ""},
		{"dashes", Config{MAC: "AA-BB-CC-DD-EE-FF"}, ""},
		{"address", Config{MAC: "aa:bb:cc:dd:ee:ff", Address: "192.168.1.255:9"}, ""},
		{"address without port", Config{MAC: "aa:bb:cc:dd:ee:ff", Address: "192.168.1.255"}, ""},
		{"interface", Config{MAC: "aa:bb:cc:dd:ee:ff", Interface: "eth0"}, ""},
		{"password6", Config{MAC: "aa:bb:cc:dd:ee:ff", Password: "01:02:03:04:05:06"}, ""},
		{"password4", Config{MAC: "aa:bb:cc:dd:ee:ff", Password: "1.2.3.4"}, ""},
		{"password4 hex", Config{MAC: "aa:bb:cc:dd:ee:ff", Password: "de-ad-be-ef"}, ""},
		{"no mac", Config{}, "wol.mac: required"},
		{"bad mac", Config{MAC: "aa:bb:cc"}, "wol.mac: "},
		{"EUI-64", Config{MAC: "00:00:00:00:fe:80:00:00"}, "wol.mac: "},
		{"address host name", Config{MAC: "aa:bb:cc:dd:ee:ff", Address: "broadcast:9"}, "wol.address: "},
		{"address ipv6", Config{MAC: "aa:bb:cc:dd:ee:ff", Address: "[ff02::1]:9"}, "wol.address: "},
		{"address port", Config{MAC: "aa:bb:cc:dd:ee:ff", Address: "10.0.0.255:70000"}, "wol.address: port"},
		{"password 5", Config{MAC: "aa:bb:cc:dd:ee:ff", Password: "01:02:03:04:05"}, "wol.password: "},
		{"password text", Config{MAC: "aa:bb:cc:dd:ee:ff", Password: "secret"}, "wol.password: "},
		{"interface", Config{MAC: "aa:bb:cc:dd:ee:ff", Interface: "a/b"}, "wol.interface: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, hardware.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("%v, want %q... wrapping ErrInvalid", err, tc.want)
			}
			if _, err := New(tc.c); !errors.Is(err, hardware.ErrInvalid) {
				t.Errorf("New: %v", err)
			}
		})
	}
}

// listen is a UDP listener on 127.0.0.1 standing in for the server's card.
func listen(t *testing.T) (*net.UDPConn, string) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.LocalAddr().String()
}

func receive(t *testing.T, c *net.UDPConn) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, _, err := c.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestWakeSends(t *testing.T) {
	c, addr := listen(t)
	w, err := New(Config{MAC: "00:11:22:aa:bb:cc", Address: addr, Password: "01:02:03:04:05:06"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Wake(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); !bytes.Equal(got, w.Packet()) || len(got) != 108 {
		t.Errorf("received %x, want %x", got, w.Packet())
	}
}

// TestWakeInterface binds the socket to the loopback interface
// (SO_BINDTODEVICE needs CAP_NET_RAW: skipped without it) and computes an
// interface's broadcast address.
func TestWakeInterface(t *testing.T) {
	lo := loopback(t)
	w, err := New(Config{MAC: "00:11:22:aa:bb:cc", Interface: lo})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := w.Destination()
	if err != nil {
		t.Fatal(err)
	}
	if dst.String() != "127.255.255.255:9" {
		t.Errorf("destination on %s: %s, want 127.255.255.255:9", lo, dst)
	}
	c, addr := listen(t)
	w, _ = New(Config{MAC: "00:11:22:aa:bb:cc", Interface: lo, Address: addr})
	if err := w.Wake(context.Background()); err != nil {
		if strings.Contains(err.Error(), "operation not permitted") {
			t.Skipf("SO_BINDTODEVICE needs CAP_NET_RAW: %v", err)
		}
		t.Fatal(err)
	}
	if got := receive(t, c); !bytes.Equal(got, w.Packet()) {
		t.Errorf("received %x", got)
	}
	w, _ = New(Config{MAC: "00:11:22:aa:bb:cc", Interface: "nosuchif0"})
	if err := w.Wake(context.Background()); !errors.Is(err, hardware.ErrUnavailable) {
		t.Errorf("missing interface: %v, want ErrUnavailable", err)
	}
}

func loopback(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Skip(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 {
			return i.Name
		}
	}
	t.Skip("no loopback interface")
	return ""
}

func TestBroadcast(t *testing.T) {
	for in, want := range map[string]string{
		"192.168.1.17/24": "192.168.1.255", "10.1.2.3/8": "10.255.255.255", "172.16.5.4/20": "172.16.15.255",
		"10.0.0.1/32": "10.0.0.1",
	} {
		ip, n, _ := net.ParseCIDR(in)
		n.IP = ip
		if got := broadcast(n); got.String() != want {
			t.Errorf("broadcast(%s) = %s, want %s", in, got, want)
		}
	}
	_, n6, _ := net.ParseCIDR("fe80::1/64")
	if b := broadcast(n6); b != nil {
		t.Errorf("IPv6 broadcast %s", b)
	}
}
