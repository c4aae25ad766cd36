package rfb

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"net"
	"slices"

	"github.com/bmcd/bmcd/internal/auth"
)

// The handshake (RFC 6143 §7.1, §7.3): protocol version, security, then
// ClientInit and ServerInit.

// serverVersion is the version the server offers.
const serverVersion = "RFB 003.008\n"

// errAuth is a failed authentication (the reason goes to the client).
var errAuth = errors.New("authentication failed")

// handshake runs the handshake up to ServerInit, which it sends with
// size. It sets c.minor, c.name, c.mayControl, c.account and c.shared.
func (c *session) handshake(size image.Point, busy error) error {
	if _, err := io.WriteString(c.nc, serverVersion); err != nil {
		return err
	}
	var v [12]byte
	if _, err := io.ReadFull(c.br, v[:]); err != nil {
		return fmt.Errorf("reading the protocol version: %w", err)
	}
	var major, minor int
	if n, err := fmt.Sscanf(string(v[:]), "RFB %03d.%03d\n", &major, &minor); n != 2 || err != nil || major != 3 {
		return fmt.Errorf("%w: protocol version %q", errProtocol, v[:])
	}
	switch {
	case minor >= 8:
		c.minor = 8
	case minor == 7:
		c.minor = 7
	default: // 3.3, and 3.5 which is to be taken as 3.3
		c.minor = 3
	}
	if busy != nil {
		c.refuse(busy.Error())
		return busy
	}
	if err := c.security(); err != nil {
		return err
	}
	var shared [1]byte
	if _, err := io.ReadFull(c.br, shared[:]); err != nil {
		return fmt.Errorf("reading ClientInit: %w", err)
	}
	c.shared = shared[0] != 0
	name := c.s.o.Name
	if name == "" {
		name = "bmcd"
	}
	b := make([]byte, 0, 24+len(name))
	b = binary.BigEndian.AppendUint16(b, uint16(size.X))
	b = binary.BigEndian.AppendUint16(b, uint16(size.Y))
	b = append(b, ServerPixelFormat.Marshal()...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(name)))
	b = append(b, name...)
	return c.write(b)
}

// refuse ends the handshake before a security type is chosen, with a
// reason the client shows (RFC 6143 §7.1.2: no security types, or 3.3's
// security type 0).
func (c *session) refuse(reason string) {
	var b []byte
	if c.minor >= 7 {
		b = append(b, 0)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(SecInvalid))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(reason)))
	_ = c.write(append(b, reason...))
}

// securityTypes are the types offered: None only behind a door that
// authenticated the client, else VeNCrypt (with accounts and a
// certificate) and VNC Authentication (with a password).
func (c *session) securityTypes() []uint8 {
	if c.principal != nil {
		return []uint8{SecNone}
	}
	var ts []uint8
	if c.s.o.Accounts != nil && c.s.o.TLS != nil {
		ts = append(ts, SecVeNCrypt)
	}
	if c.passwords() != (Passwords{}) {
		ts = append(ts, SecVNC)
	}
	return ts
}

func (c *session) passwords() Passwords {
	if c.s.o.Passwords == nil {
		return Passwords{}
	}
	return c.s.o.Passwords()
}

// security negotiates the security type and authenticates the client
// (RFC 6143 §7.1.2, §7.1.3, §7.2).
func (c *session) security() error {
	types := c.securityTypes()
	var chosen uint8
	if c.minor == 3 {
		// 3.3: the server decides, None or VNC Authentication only.
		for _, t := range types {
			if t == SecNone || t == SecVNC {
				chosen = t
				break
			}
		}
		if chosen == 0 {
			c.refuse("this server requires VeNCrypt, which needs RFB 3.7 or later")
			return fmt.Errorf("%w: an RFB 3.3 client, and no VNC password is set", errAuth)
		}
		if err := c.write(binary.BigEndian.AppendUint32(nil, uint32(chosen))); err != nil {
			return err
		}
	} else {
		if len(types) == 0 {
			c.refuse("no authentication is configured for VNC")
			return fmt.Errorf("%w: no security type is configured", errAuth)
		}
		if err := c.write(append([]byte{byte(len(types))}, types...)); err != nil {
			return err
		}
		var t [1]byte
		if _, err := io.ReadFull(c.br, t[:]); err != nil {
			return fmt.Errorf("reading the security type: %w", err)
		}
		chosen = t[0]
		if !slices.Contains(types, chosen) {
			c.result(fmt.Errorf("security type %d was not offered", chosen))
			return fmt.Errorf("%w: the client chose security type %d, which was not offered", errProtocol, chosen)
		}
	}
	var err error
	switch chosen {
	case SecNone:
		c.setAccount(c.principal.Account)
		c.name = c.principal.Account.UserName
		c.mayControl = auth.Authorize(*c.principal, auth.PrivConfigureComponents) == nil
		if c.minor < 8 {
			// No SecurityResult for None before 3.8: a full server
			// can only close the connection.
			return c.s.admit(c)
		}
	case SecVNC:
		err = c.vncAuth()
	case SecVeNCrypt:
		err = c.veNCrypt()
	}
	if err == nil {
		// Logged in: now, and only now, it takes a client's place.
		err = c.s.admit(c)
	}
	if err != nil {
		if errors.Is(err, errAuth) || errors.Is(err, errFull) {
			c.result(err) // a refusal; other errors end the connection as they are
		}
		return err
	}
	return c.result(nil)
}

// result sends SecurityResult: OK for nil, failed otherwise, with the
// reason from 3.8 on (RFC 6143 §7.1.3). Only errAuth's message goes to
// the client as the reason; anything else is "authentication failed".
func (c *session) result(err error) error {
	if err == nil {
		return c.write(binary.BigEndian.AppendUint32(nil, resultOK))
	}
	b := binary.BigEndian.AppendUint32(nil, resultFailed)
	if c.minor >= 8 {
		reason := errAuth.Error()
		switch {
		case errors.Is(err, errTooMany):
			reason = errTooMany.Error()
		case errors.Is(err, errFull):
			reason = err.Error()
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(reason)))
		b = append(b, reason...)
	}
	return c.write(b)
}

// errTooMany: the client and user have failed too often (auth.Limiter).
var errTooMany = errors.New("too many failed attempts; try again later")

// vncAuth is VNC Authentication (RFC 6143 §7.2.2) against the server's
// passwords: Control lets the client control, ViewOnly watch.
func (c *session) vncAuth() error {
	challenge := make([]byte, 16)
	rand.Read(challenge)
	if err := c.write(challenge); err != nil {
		return err
	}
	c.deadline(c.s.o.PasswordTimeout) // the client may ask a person
	response := make([]byte, 16)
	if _, err := io.ReadFull(c.br, response); err != nil {
		return fmt.Errorf("reading the VNC Authentication response: %w", err)
	}
	c.deadline(c.s.o.HandshakeTimeout)
	key := loginKey(c.remote, "")
	if l := c.s.o.Logins; l != nil && !l.Allow(key) {
		c.loginDone("", false)
		return fmt.Errorf("%w: VNC password: %w", errAuth, errTooMany)
	}
	pw := c.passwords()
	control := vncAuthMatch(challenge, response, pw.Control)
	viewOnly := vncAuthMatch(challenge, response, pw.ViewOnly)
	if !control && !viewOnly {
		if l := c.s.o.Logins; l != nil {
			l.Fail(key)
		}
		c.loginDone("", false)
		return fmt.Errorf("%w: wrong VNC password", errAuth)
	}
	c.loginDone("", true)
	c.name = "vnc"
	c.mayControl = control
	return nil
}

// VeNCrypt limits: bmcd's user names and passwords are far shorter.
const maxCredential = 255

// veNCrypt is VeNCrypt 0.2 with the X509Plain subtype: TLS with the
// service certificate, then a user name and password checked against
// bmcd's accounts (rfbproto "VeNCrypt").
func (c *session) veNCrypt() error {
	if err := c.write([]byte{0, 2}); err != nil {
		return err
	}
	var v [2]byte
	if _, err := io.ReadFull(c.br, v[:]); err != nil {
		return fmt.Errorf("reading the VeNCrypt version: %w", err)
	}
	if v != [2]byte{0, 2} {
		_ = c.write([]byte{1})
		return fmt.Errorf("%w: VeNCrypt version %d.%d (0.2 is supported)", errProtocol, v[0], v[1])
	}
	b := []byte{0, 1}
	b = binary.BigEndian.AppendUint32(b, VeNCryptX509Plain)
	if err := c.write(b); err != nil {
		return err
	}
	var st [4]byte
	if _, err := io.ReadFull(c.br, st[:]); err != nil {
		return fmt.Errorf("reading the VeNCrypt subtype: %w", err)
	}
	if sub := binary.BigEndian.Uint32(st[:]); sub != VeNCryptX509Plain {
		return fmt.Errorf("%w: VeNCrypt subtype %d was not offered", errProtocol, sub)
	}
	if err := c.write([]byte{1}); err != nil {
		return err
	}
	// From here on everything goes through TLS; bytes the client sent
	// after its subtype (its ClientHello) may be in c.br already.
	tc := tls.Server(&bufferedConn{Conn: c.nc, r: c.br}, c.s.o.TLS)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("VeNCrypt TLS handshake: %w", err)
	}
	c.nc = tc
	c.br = bufio.NewReaderSize(tc, 16<<10)
	// The client asks a person for the user name and password now (and
	// whether to trust the certificate).
	c.deadline(c.s.o.PasswordTimeout)
	var lens [8]byte
	if _, err := io.ReadFull(c.br, lens[:]); err != nil {
		return fmt.Errorf("reading the VeNCrypt credentials: %w", err)
	}
	ul, pl := binary.BigEndian.Uint32(lens[:]), binary.BigEndian.Uint32(lens[4:])
	if ul > maxCredential || pl > maxCredential {
		return fmt.Errorf("%w: VeNCrypt credentials of %d and %d bytes", errAuth, ul, pl)
	}
	cred := make([]byte, ul+pl)
	if _, err := io.ReadFull(c.br, cred); err != nil {
		return fmt.Errorf("reading the VeNCrypt credentials: %w", err)
	}
	c.deadline(c.s.o.HandshakeTimeout)
	user, pass := string(cred[:ul]), string(cred[ul:])
	key := loginKey(c.remote, user)
	if l := c.s.o.Logins; l != nil && !l.Allow(key) {
		c.loginDone(user, false)
		return fmt.Errorf("%w: user %q: %w", errAuth, user, errTooMany)
	}
	a, err := c.s.o.Accounts.Authenticate(user, pass)
	if err != nil {
		if l := c.s.o.Logins; l != nil {
			l.Fail(key)
		}
		c.loginDone(user, false)
		return fmt.Errorf("%w: user %q: %w", errAuth, user, err)
	}
	c.loginDone(user, true)
	c.setAccount(a)
	c.name = a.UserName
	c.mayControl = a.Role.Has(auth.PrivConfigureComponents)
	return nil
}

// setAccount records who logged in, for Server.accountChanged (which
// reads it under the server's lock).
func (c *session) setAccount(a auth.Account) {
	c.s.mu.Lock()
	c.account = &a
	c.s.mu.Unlock()
}

func (c *session) loginDone(user string, ok bool) {
	if c.s.o.OnLogin != nil {
		c.s.o.OnLogin(user, c.remote, ok)
	}
	if !ok {
		c.log.Info("vnc login failed", "user", user)
	}
}

// bufferedConn is a net.Conn whose reads come through r, which holds
// what was read ahead from it.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (b *bufferedConn) Read(p []byte) (int, error) { return b.r.Read(p) }
