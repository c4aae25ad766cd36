package libvirt

import (
	"context"
	"fmt"
	"net"

	"libvirt.org/go/libvirtxml"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/vnc"
)

// newScreen is the domain's VNC graphics as its screen, keyboard and
// (absolute) pointer, through the RFB client hardware/vnc; nil when the
// definition has no VNC graphics. The client connects only while someone
// watches or types, to the address the running domain's definition says
// its VNC server listens on (read at each connection: autoport gives
// another port at every start), with the definition's VNC password.
func (x *Domain) newScreen(def *libvirtxml.Domain) *vnc.Client {
	pw, ok := vncPassword(def)
	if !ok {
		return nil
	}
	return vnc.New(vnc.Config{Dial: x.dialVNC, Password: pw, Log: x.log.With("vnc", x.dom.Name)})
}

// dialVNC reaches the VNC server of the running domain. Errors:
// ErrPoweredOff when the domain is off; ErrUnavailable when it has no VNC
// server or the daemon cannot tell.
func (x *Domain) dialVNC(ctx context.Context) (net.Conn, error) {
	x.mu.Lock()
	active := x.active
	x.mu.Unlock()
	if !active {
		return nil, fmt.Errorf("vnc: domain %s is off: %w", x.dom.Name, hardware.ErrPoweredOff)
	}
	live, err := x.live(ctx)
	if err != nil {
		return nil, err
	}
	network, addr := vncAddr(live, x.d.ep.host)
	if addr == "" {
		return nil, fmt.Errorf("vnc: domain %s has no VNC server listening: %w", x.dom.Name, hardware.ErrUnavailable)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}
