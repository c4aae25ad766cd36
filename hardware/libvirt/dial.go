package libvirt

import (
	"fmt"
	"net/url"
	"os/user"
	"strconv"
	"strings"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// DefaultURI is the daemon bmcd talks to when the configuration names
// none: the system instance of the local QEMU driver, as virsh and
// sushy-tools default to.
const DefaultURI = "qemu:///system"

// endpoint is a libvirt connection URI (https://libvirt.org/uri.html)
// resolved into how to reach the daemon and what to ask it for.
type endpoint struct {
	uri    string // as configured
	dialer socket.Dialer
	// remote is the URI the daemon is asked to open once connected
	// (qemu:///system for qemu+ssh://host/system).
	remote golibvirt.ConnectURI
	// host is the daemon's host: where the domains' VNC servers that
	// listen on every address are reached (127.0.0.1 for a local daemon).
	host string
}

// parseURI resolves a libvirt URI. The transports are those go-libvirt
// dials: unix (the default without a host; query parameter socket=),
// tcp, tls (the default with a host; pkipath=, no_verify=1), libssh,
// libssh2 and ssh (keyfile=, known_hosts=, known_hosts_verify=, socket=,
// no_verify=1), each as libvirt's own clients read them.
func parseURI(raw string) (endpoint, error) {
	if raw == "" {
		raw = DefaultURI
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("libvirt URI %q: %w", raw, err)
	}
	if u.Scheme == "" || u.Opaque != "" {
		return endpoint{}, fmt.Errorf("libvirt URI %q: want driver[+transport]://[host]/path, as qemu:///system", raw)
	}
	driver, transport, _ := strings.Cut(u.Scheme, "+")
	if transport == "" {
		transport = "unix"
		if u.Host != "" {
			transport = "tls"
		}
	}
	q := u.Query()
	var d socket.Dialer
	switch transport {
	case "unix":
		var opts []dialers.LocalOption
		if s := q.Get("socket"); s != "" {
			opts = append(opts, dialers.WithSocket(s))
		}
		d = dialers.NewLocal(opts...)
	case "tcp":
		var opts []dialers.RemoteOption
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UsePort(p))
		}
		d = dialers.NewRemote(u.Hostname(), opts...)
	case "tls":
		var opts []dialers.TLSOption
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseTLSPort(p))
		}
		if p := q.Get("pkipath"); p != "" {
			opts = append(opts, dialers.UsePKIPath(p))
		}
		if noVerify(q) {
			opts = append(opts, dialers.WithInsecureNoVerify())
		}
		d = dialers.NewTLS(u.Hostname(), opts...)
	case "ssh", "libssh", "libssh2":
		var opts []dialers.SSHOption
		if transport == "ssh" {
			if cu, err := user.Current(); err == nil {
				opts = append(opts, dialers.WithSystemSSHDefaults(cu))
			}
		}
		if p := u.Port(); p != "" {
			opts = append(opts, dialers.UseSSHPort(p))
		}
		if n := u.User.Username(); n != "" {
			opts = append(opts, dialers.UseSSHUsername(n))
		}
		if pw, ok := u.User.Password(); ok {
			opts = append(opts, dialers.UseSSHPassword(pw))
		}
		if s := q.Get("socket"); s != "" {
			opts = append(opts, dialers.WithRemoteSocket(s))
		}
		if k := q.Get("keyfile"); k != "" {
			opts = append(opts, dialers.UseKeyFile(k))
		}
		if k := q.Get("known_hosts"); k != "" {
			opts = append(opts, dialers.UseKnownHostsFile(k))
		}
		switch q.Get("known_hosts_verify") {
		case "", "normal":
		case "auto":
			opts = append(opts, dialers.WithAcceptUnknownHostKey())
		case "ignore":
			opts = append(opts, dialers.WithInsecureIgnoreHostKey())
		default:
			return endpoint{}, fmt.Errorf("libvirt URI %q: known_hosts_verify is normal, auto or ignore", raw)
		}
		if noVerify(q) {
			opts = append(opts, dialers.WithInsecureIgnoreHostKey())
		}
		d = dialers.NewSSH(u.Hostname(), opts...)
	default:
		return endpoint{}, fmt.Errorf("libvirt URI %q: transport %q is not supported (unix, tcp, tls, ssh, libssh, libssh2)", raw, transport)
	}
	remote := (&url.URL{Scheme: driver, Path: u.Path}).String()
	if n := q.Get("name"); n != "" {
		remote = n
	}
	host := "127.0.0.1"
	if transport != "unix" && u.Hostname() != "" {
		host = u.Hostname()
	}
	return endpoint{uri: raw, dialer: d, remote: golibvirt.ConnectURI(remote), host: host}, nil
}

func noVerify(q url.Values) bool {
	n, err := strconv.Atoi(q.Get("no_verify"))
	return err == nil && n != 0
}
