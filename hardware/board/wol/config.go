package wol

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/bmcd/bmcd/hardware"
)

// DefaultPort is the UDP port magic packets go to when the address names
// none (9, discard).
const DefaultPort = 9

// DefaultAddress is where packets go without address and interface: the
// limited broadcast, which the kernel sends out of the default route's
// interface only.
const DefaultAddress = "255.255.255.255:9"

// Config is the `wol:` block of a board's configuration (yaml keys).
type Config struct {
	// MAC is the server's network card: "aa:bb:cc:dd:ee:ff" (or with
	// '-'); required.
	MAC string `yaml:"mac"`
	// Address is the destination, "host:port" or a host alone (port
	// DefaultPort): a broadcast address ("255.255.255.255",
	// "192.168.1.255:9") or a unicast one a router forwards. Empty:
	// Interface's IPv4 broadcast address when Interface is given, else
	// DefaultAddress.
	Address string `yaml:"address"`
	// Interface is the board's network interface the packet leaves by
	// ("eth0"): the socket is bound to it (SO_BINDTODEVICE), and without
	// Address the packet goes to its broadcast address. Optional.
	Interface string `yaml:"interface"`
	// Password is the SecureOn password the card expects: 6 bytes as a MAC
	// ("01:02:03:04:05:06"), or 4 as a MAC-like "01:02:03:04" or dotted
	// "1.2.3.4". Optional.
	Password string `yaml:"password"`
	// Prefer makes a board with both atx: and wol: power on by magic
	// packet instead of the power button (the other resets still press
	// buttons).
	Prefer bool `yaml:"prefer"`
}

// Check reports what is wrong with c, naming the key ("wol.mac: ...").
// Errors: ErrInvalid.
func (c Config) Check() error {
	if _, err := c.mac(); err != nil {
		return err
	}
	if _, err := c.password(); err != nil {
		return err
	}
	if c.Address != "" {
		if _, err := resolve(c.Address); err != nil {
			return err
		}
	}
	if c.Interface != "" && (len(c.Interface) > 15 || strings.ContainsAny(c.Interface, "/ \t\n")) {
		return fmt.Errorf("wol.interface: %q is not an interface name: %w", c.Interface, hardware.ErrInvalid)
	}
	return nil
}

func (c Config) mac() (net.HardwareAddr, error) {
	if c.MAC == "" {
		return nil, fmt.Errorf("wol.mac: required: %w", hardware.ErrInvalid)
	}
	m, err := net.ParseMAC(c.MAC)
	if err != nil || len(m) != 6 {
		return nil, fmt.Errorf("wol.mac: %q is not a 48-bit MAC address (aa:bb:cc:dd:ee:ff): %w", c.MAC, hardware.ErrInvalid)
	}
	return m, nil
}

// password parses the SecureOn password: nil when none.
func (c Config) password() ([]byte, error) {
	if c.Password == "" {
		return nil, nil
	}
	bad := fmt.Errorf("wol.password: give 4 or 6 bytes as hex pairs (01:02:03:04:05:06) or 4 as dotted decimal (1.2.3.4): %w", hardware.ErrInvalid)
	if ip := net.ParseIP(c.Password); ip != nil && ip.To4() != nil && strings.Count(c.Password, ".") == 3 {
		return []byte(ip.To4()), nil
	}
	parts := strings.FieldsFunc(c.Password, func(r rune) bool { return r == ':' || r == '-' })
	if len(parts) != 4 && len(parts) != 6 {
		return nil, bad
	}
	pw := make([]byte, 0, len(parts))
	for _, p := range parts {
		b, err := hex.DecodeString(p)
		if err != nil || len(b) != 1 {
			return nil, bad
		}
		pw = append(pw, b[0])
	}
	return pw, nil
}

// resolve parses "host:port" or "host" (an IPv4 address: magic packets
// are broadcast, which IPv6 lacks). Errors: ErrInvalid naming wol.address.
func resolve(addr string) (*net.UDPAddr, error) {
	host, port := addr, strconv.Itoa(DefaultPort)
	if h, p, err := net.SplitHostPort(addr); err == nil {
		host, port = h, p
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() == nil {
		return nil, fmt.Errorf("wol.address: %q is not an IPv4 address with an optional port: %w", addr, hardware.ErrInvalid)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("wol.address: port %q is not 1..65535: %w", port, hardware.ErrInvalid)
	}
	return &net.UDPAddr{IP: ip.To4(), Port: n}, nil
}
