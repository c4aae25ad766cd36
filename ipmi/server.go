// Package ipmi is bmcd's IPMI 2.0 LAN server: one UDP listener per managed
// system, RMCP/ASF presence ping, IPMI v1.5 framing (session-less commands,
// and MD5 sessions when enabled), RMCP+ sessions with RAKP, and the App and
// Chassis commands, all acting on the same hardware.Machine and the same
// accounts as the Redfish service.
//
// The wire formats live in ipmi/rmcp and the cryptography in ipmi/cipher;
// this package owns the security decisions: which cipher suites are offered,
// sessions and their limits, sequence-number windows, the privilege of every
// command, and rate limiting of failed logins.
package ipmi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/ipmi/cipher"
	"github.com/bmcd/bmcd/ipmi/rmcp"
)

// Defaults for Config fields left zero.
const (
	DefaultSessionTimeout = 60 * time.Second
	DefaultMaxSessions    = 64
	// DefaultWorkers bounds the packets one server handles at once.
	DefaultWorkers = 16
	// handshakeTimeout bounds how long a session may stay unauthenticated.
	handshakeTimeout = 10 * time.Second
	maxPacket        = 1024
)

// Config sets up a Server.
type Config struct {
	// Addr is the UDP address to listen on ("127.0.0.1:623"; port 0 picks
	// a free port). Ignored when Conn is set.
	Addr string
	// Conn, if set, is used instead of listening on Addr; the server owns
	// it and closes it.
	Conn net.PacketConn

	Machine  *hardware.Machine
	Accounts *auth.Accounts
	// InstallUUID identifies the bmcd installation; the BMC's identity
	// (device GUID, LAN MAC) is derived from it and the machine ID, as
	// Redfish's manager UUID and MAC are (hardware.DeriveIdentity).
	InstallUUID string
	// Version is bmcd's version, reported as the firmware revision.
	Version string
	Log     *slog.Logger

	// SessionTimeout is the idle timeout of sessions (60 s if zero).
	SessionTimeout time.Duration
	// ChassisAnswerWait is how long Chassis Control waits for its reset
	// before answering (DefaultChassisAnswerWait if zero; see
	// chassisControl).
	ChassisAnswerWait time.Duration
	// MaxSessions caps concurrent sessions (64 if zero); when full, the
	// idlest session makes room.
	MaxSessions int
	// EnableIPMI15 allows IPMI v1.5 sessions (MD5 only). Off by default:
	// v1.5 sessions have no confidentiality and a weak AuthCode.
	EnableIPMI15 bool
	// CipherSuites lists the RMCP+ cipher suites offered, strongest first
	// (cipher.DefaultSuites if empty). Suites without authentication and
	// integrity are rejected by New.
	CipherSuites []byte
	// Limiter rate-limits failed logins per source address. Share one
	// across the servers of a daemon: accounts are shared too. Nil gives
	// the server its own.
	Limiter *Limiter
	// Workers bounds concurrent packet handling (DefaultWorkers if zero).
	Workers int
	// StrictBootPrivilege makes Set System Boot Options demand
	// ADMINISTRATOR for a persistent boot flag, as IPMI 2.0 §28.12 (Table
	// G-1 note 6) does. Off by default: OPERATOR may set it, as OpenBMC and
	// the common BMCs allow and as Ironic needs at the end of a deploy.
	StrictBootPrivilege bool

	// OnLogin, if set, is told of every login: a session activated for
	// user (ok true), or a failed attempt from src (ok false, user "": the
	// name given is not trusted, people type passwords into it). It is
	// called after the reply is sent, from the packet's handler; it
	// changes nothing the console sees.
	OnLogin func(user string, src netip.Addr, ok bool)
	// OnAccountChange, if set, is told of every change a user command
	// (Set User Name, Set User Access, Set User Password) made to the
	// account database, once it is stored and before the reply is sent;
	// a command that changes nothing (a test, enabling an enabled user)
	// tells it nothing. It runs on the packet's handler with the session
	// held, so the reply waits for it (a durable audit entry is fine; a
	// network round trip is not).
	OnAccountChange func(AccountChange)
}

// Server serves IPMI over LAN for one machine.
type Server struct {
	cfg      Config
	m        *hardware.Machine
	accounts *auth.Accounts
	log      *slog.Logger
	conn     net.PacketConn
	limiter  *Limiter
	suites   []cipher.Suite

	sessions *sessionTable
	boot     *bootParams
	storage  *storageState // SDR/SEL reservations and the SDR cache
	sol      *solServer    // Serial over LAN configuration and payload

	systemGUID [16]byte // wire order (SMBIOS byte order)
	deviceGUID [16]byte
	identity   hardware.Identity // the BMC's, shared with Redfish
	fakeKey    []byte            // HMAC key standing in for unknown users' passwords

	mu sync.Mutex

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
	serving atomic.Bool
	served  chan struct{}
	closed  chan struct{}
}

// New validates cfg and binds the UDP socket; Serve starts answering.
func New(cfg Config) (*Server, error) {
	if cfg.Machine == nil || cfg.Accounts == nil {
		return nil, errors.New("ipmi: Machine and Accounts are required")
	}
	if cfg.ChassisAnswerWait <= 0 {
		cfg.ChassisAnswerWait = DefaultChassisAnswerWait
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if len(cfg.CipherSuites) == 0 {
		cfg.CipherSuites = cipher.DefaultSuites
	}
	suites, err := ParseSuites(cfg.CipherSuites)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(DefaultFailureBurst, DefaultFailureRefill)
	}
	conn := cfg.Conn
	if conn == nil {
		conn, err = net.ListenPacket("udp", cfg.Addr)
		if err != nil {
			return nil, fmt.Errorf("ipmi listen %s: %w", cfg.Addr, err)
		}
	}
	s := &Server{
		cfg:      cfg,
		m:        cfg.Machine,
		accounts: cfg.Accounts,
		log:      cfg.Log.With("system", cfg.Machine.ID()),
		conn:     conn,
		limiter:  cfg.Limiter,
		suites:   suites,
		sessions: newSessionTable(cfg.MaxSessions, cfg.SessionTimeout),
		boot:     newBootParams(),
		// The repository's content is fixed for the life of the server:
		// its start is its last addition, so SDR caches (FreeIPMI) built
		// against an earlier server on the same port are invalidated.
		storage: &storageState{lastSDRAdd: ipmiTime(time.Now())},
		sol:     &solServer{cfg: defaultSOLConfig()},
		fakeKey: make([]byte, cipher.KeyLen),
		served:  make(chan struct{}),
		closed:  make(chan struct{}),
	}
	if _, err := rand.Read(s.fakeKey); err != nil {
		conn.Close()
		return nil, err
	}
	s.systemGUID = guidWire(cfg.Machine.Info().UUID)
	s.identity = hardware.DeriveIdentity(cfg.InstallUUID, cfg.Machine.ID())
	s.deviceGUID = guidWire(s.identity.ManagerUUID)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// ParseSuites resolves cipher suite IDs, refusing any this server will not
// offer: suite 0, suites without integrity, keyed MD5 and xRC4.
func ParseSuites(ids []byte) ([]cipher.Suite, error) {
	var out []cipher.Suite
	seen := map[byte]bool{}
	for _, id := range ids {
		cs, ok := cipher.Lookup(id)
		if !ok || !cs.Implemented() {
			return nil, fmt.Errorf("ipmi: cipher suite %d is not offered (allowed: 2, 3, 7, 8, 16, 17)", id)
		}
		if !seen[id] {
			seen[id] = true
			out = append(out, cs)
		}
	}
	return out, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.conn.LocalAddr() }

// Serve answers packets until ctx ends or Close is called. Every goroutine
// it starts has stopped when it returns.
func (s *Server) Serve(ctx context.Context) error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("ipmi: Serve called twice")
	}
	defer close(s.served)
	select {
	case <-s.closed:
		return net.ErrClosed
	default:
	}
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.janitor()
	}()
	defer s.wg.Wait()

	sem := make(chan struct{}, s.cfg.Workers)
	buf := make([]byte, maxPacket)
	for {
		n, addr, err := s.conn.ReadFrom(buf)
		if err != nil {
			select {
			case <-s.closed:
				return nil
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Debug("ipmi read", "err", err)
			time.Sleep(10 * time.Millisecond) // never spin on a failing socket
			continue
		}
		from, ok := addrPort(addr)
		if !ok || n < rmcp.HeaderLen {
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		select {
		case sem <- struct{}{}:
		case <-s.closed:
			return nil
		}
		s.wg.Add(1)
		go func() {
			defer func() { <-sem; s.wg.Done() }()
			s.handlePacket(pkt, from)
		}()
	}
}

// Close stops the server: the socket closes and in-flight commands are
// cancelled. Serve returns once every goroutine it started has stopped; use
// Wait to block until then.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		s.cancel()
		err = s.conn.Close()
	})
	return err
}

// Wait blocks until Serve has returned (or forever if it never ran).
func (s *Server) Wait() { <-s.served }

func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if ua, ok := a.(*net.UDPAddr); ok {
		ap := ua.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

func (s *Server) send(to netip.AddrPort, pkt []byte) {
	if _, err := s.conn.WriteTo(pkt, net.UDPAddrFromAddrPort(to)); err != nil {
		s.log.Debug("ipmi write", "to", to, "err", err)
	}
}

func (s *Server) janitor() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case now := <-t.C:
			for _, sess := range s.sessions.sweep(now) {
				s.ended(sess, "timeout")
			}
		}
	}
}

// ended finishes a session that left the table: handshakes that got as far
// as proving knowledge of the session ID (RAKP 1, Activate Session) but
// never authenticated count as failed logins.
func (s *Server) ended(sess *session, why string) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.state() == stateActive {
		s.log.Debug("ipmi session closed", "session", fmt.Sprintf("%08x", sess.id), "user", sess.userName, "reason", why)
		return
	}
	if sess.state() == stateRAKP2 {
		s.loginFailed(sess, "handshake abandoned ("+why+")")
	}
}

// loginFailed charges a failed login to the session's source, once.
func (s *Server) loginFailed(sess *session, why string) {
	if sess.charged {
		return
	}
	sess.charged = true
	s.limiter.Fail(sess.src.Addr())
	attrs := []any{"src", sess.src.Addr().String(), "reason", why}
	if sess.known {
		attrs = append(attrs, "user", sess.userName)
	} else {
		// The name is not logged: users type passwords into it by mistake.
		attrs = append(attrs, "user_known", false)
	}
	s.log.Warn("ipmi login failed", attrs...)
	s.loginEvent("", sess.src.Addr(), false)
}

// loginEvent tells Config.OnLogin of a login, if it is set.
func (s *Server) loginEvent(user string, src netip.Addr, ok bool) {
	if s.cfg.OnLogin != nil {
		s.cfg.OnLogin(user, src.Unmap(), ok)
	}
}
