package redfish

import (
	"net"
	"net/http"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// originOf is who sends r, as the machine records what it changes (the
// last reset's origin).
func originOf(r *http.Request) hardware.Origin {
	o := hardware.Origin{Protocol: hardware.ProtocolRedfish}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		o.Address = host
	}
	if p, ok := auth.FromContext(r.Context()); ok {
		o.User = p.Account.UserName
	}
	return o
}
