package wol

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/bmcd/bmcd/hardware"
)

// sendTimeout bounds one packet's send (a UDP write does not wait for the
// network, but a missing route or a full queue should not hang a reset).
const sendTimeout = 2 * time.Second

// Waker sends one server's magic packet. Its methods are safe for
// concurrent use.
type Waker struct {
	packet []byte
	iface  string
	addr   string // as configured; empty: from iface, or DefaultAddress
}

// New makes the Waker of a checked configuration. Errors: ErrInvalid as
// Config.Check says.
func New(c Config) (*Waker, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	mac, _ := c.mac()
	pw, _ := c.password()
	p, err := MagicPacket(mac, pw)
	if err != nil {
		return nil, err
	}
	return &Waker{packet: p, iface: c.Interface, addr: c.Address}, nil
}

// Packet is the magic packet the Waker sends (a copy).
func (w *Waker) Packet() []byte { return append([]byte(nil), w.packet...) }

// Destination is where the packet goes now: the configured address, the
// interface's IPv4 broadcast address, or DefaultAddress. Errors:
// ErrUnavailable when the interface is missing or has no IPv4 broadcast
// address.
func (w *Waker) Destination() (*net.UDPAddr, error) {
	if w.addr != "" {
		return resolve(w.addr)
	}
	if w.iface == "" {
		return resolve(DefaultAddress)
	}
	ifi, err := net.InterfaceByName(w.iface)
	if err != nil {
		return nil, fmt.Errorf("wol.interface %s: %w: %w", w.iface, hardware.ErrUnavailable, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("wol.interface %s: %w: %w", w.iface, hardware.ErrUnavailable, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if b := broadcast(n); b != nil {
				return &net.UDPAddr{IP: b, Port: DefaultPort}, nil
			}
		}
	}
	return nil, fmt.Errorf("wol.interface %s: no IPv4 address: %w", w.iface, hardware.ErrUnavailable)
}

// broadcast is an IPv4 network's directed broadcast address, nil for
// IPv6.
func broadcast(n *net.IPNet) net.IP {
	ip, mask := n.IP.To4(), n.Mask
	if ip == nil {
		return nil
	}
	if len(mask) == net.IPv6len {
		mask = mask[12:]
	}
	if len(mask) != net.IPv4len {
		return nil
	}
	b := make(net.IP, net.IPv4len)
	for i := range b {
		b[i] = ip[i] | ^mask[i]
	}
	return b
}

// Wake sends the magic packet once, from a fresh socket with
// SO_BROADCAST set (and bound to the interface when one is configured).
// It returns once the datagram is handed to the kernel: whether the
// server wakes is not known. Errors: ErrUnavailable when the packet
// cannot be sent (no route, no such interface, no permission to bind to
// it: SO_BINDTODEVICE needs CAP_NET_RAW).
func (w *Waker) Wake(ctx context.Context) error {
	dst, err := w.Destination()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	lc := net.ListenConfig{Control: control(w.iface)}
	conn, err := lc.ListenPacket(ctx, "udp4", ":0")
	if err != nil {
		return fmt.Errorf("wol: socket: %w: %w", hardware.ErrUnavailable, err)
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetWriteDeadline(d)
	}
	if _, err := conn.WriteTo(w.packet, dst); err != nil {
		return fmt.Errorf("wol: send to %s: %w: %w", net.JoinHostPort(dst.IP.String(), strconv.Itoa(dst.Port)), hardware.ErrUnavailable, err)
	}
	return nil
}
