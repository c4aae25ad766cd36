package vsphere

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"

	"github.com/bmcd/bmcd/hardware"
)

// connConfig says how to reach and log in to one vCenter or ESXi.
type connConfig struct {
	URL      *url.URL // https://host/sdk, without user information
	Username string
	Password string
	// Insecure accepts any server certificate; otherwise it must chain to
	// CAFile's certificates, or to the system roots when CAFile is empty.
	Insecure bool
	CAFile   string
}

// key identifies one session: the same vCenter, user and trust.
func (c connConfig) key() string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%v\x00%s", c.URL, c.Username, c.Password, c.Insecure, c.CAFile)
	return fmt.Sprintf("%x", h.Sum(nil))
}

// conn is one logged-in session with a vCenter (or an ESXi), shared by
// every VM bmcd drives there: each configured system and each discovery
// acquires it and releases it when closed; the last release logs out.
// A session lost (vCenter restarted, session expired) is logged in again
// by the next caller.
type conn struct {
	cfg connConfig
	key string
	log *slog.Logger

	mu      sync.Mutex
	refs    int
	client  *vim25.Client // nil while not logged in
	gen     uint64        // counts logins, so a stale failure does not drop a fresh session
	login   chan struct{} // closed when the login in progress ends; nil when none runs
	lastErr error         // why the last login failed
	retryAt time.Time     // no new login attempt before this, after a failure

	// configured watches the VMs of configured systems (one ListView).
	configured *watch
	cfgVMs     *vmRouter

	// probes remember whether this server has SendNMI and
	// CreateScreenshot_Task (probe.go).
	probeMu sync.Mutex
	probed  map[string]bool

	// tasks bounds the changes (tasks) in flight to this server: a
	// discovery of hundreds of VMs hands each its first boot plan at once.
	tasks chan struct{}

	uploadMu sync.Mutex
	uploads  map[string]*upload // media uploads in flight, by datastore path
}

// maxTasks is how many changes bmcd has in flight on one vCenter.
const maxTasks = 8

// retryDelay is how long a failed login keeps callers from trying again:
// a request meanwhile fails at once (ErrUnavailable) instead of waiting
// for another connection timeout.
const retryDelay = 2 * time.Second

var pool = struct {
	mu    sync.Mutex
	conns map[string]*conn
}{conns: map[string]*conn{}}

// acquire returns the shared session for cfg, creating it (not yet logged
// in) on first use. Each acquire is paired with one release.
func acquire(cfg connConfig, log *slog.Logger) *conn {
	k := cfg.key()
	pool.mu.Lock()
	defer pool.mu.Unlock()
	c := pool.conns[k]
	if c == nil {
		c = &conn{cfg: cfg, key: k, log: log.With("vcenter", cfg.URL.Host),
			tasks: make(chan struct{}, maxTasks), probed: map[string]bool{}, uploads: map[string]*upload{}}
		pool.conns[k] = c
	}
	c.mu.Lock()
	c.refs++
	c.mu.Unlock()
	return c
}

// release drops one reference; the last logs out and forgets the session.
func (c *conn) release() {
	pool.mu.Lock()
	c.mu.Lock()
	c.refs--
	last := c.refs == 0
	vc := c.client
	if last {
		delete(pool.conns, c.key)
		c.client = nil
	}
	c.mu.Unlock()
	pool.mu.Unlock()
	if last && vc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = session.NewManager(vc).Logout(ctx)
		vc.CloseIdleConnections()
	}
}

// get returns a logged-in client and its generation, logging in when
// there is none. A login already running is waited for; after a failed
// one, callers get its error without trying again for retryDelay.
// Errors wrap hardware.ErrUnavailable.
func (c *conn) get(ctx context.Context) (*vim25.Client, uint64, error) {
	for {
		c.mu.Lock()
		if c.client != nil {
			vc, gen := c.client, c.gen
			c.mu.Unlock()
			return vc, gen, nil
		}
		if wait := c.login; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, 0, fmt.Errorf("vsphere %s: %w: %w", c.cfg.URL.Host, hardware.ErrUnavailable, ctx.Err())
			}
		}
		if time.Now().Before(c.retryAt) {
			err := c.lastErr
			c.mu.Unlock()
			return nil, 0, fmt.Errorf("vsphere %s: %w: %w", c.cfg.URL.Host, hardware.ErrUnavailable, err)
		}
		done := make(chan struct{})
		c.login = done
		c.mu.Unlock()

		vc, err := c.dial(ctx)

		c.mu.Lock()
		c.login = nil
		close(done)
		if err != nil {
			c.lastErr, c.retryAt = err, time.Now().Add(retryDelay)
			c.mu.Unlock()
			c.log.Warn("vsphere login failed", "err", err)
			return nil, 0, fmt.Errorf("vsphere %s: %w: %w", c.cfg.URL.Host, hardware.ErrUnavailable, err)
		}
		if c.refs == 0 { // released while logging in
			c.mu.Unlock()
			_ = session.NewManager(vc).Logout(context.Background())
			return nil, 0, fmt.Errorf("vsphere %s: session closed: %w", c.cfg.URL.Host, hardware.ErrUnavailable)
		}
		c.client, c.lastErr = vc, nil
		c.gen++
		gen := c.gen
		c.mu.Unlock()
		c.log.Info("vsphere session opened", "api", vc.ServiceContent.About.ApiVersion, "server", vc.ServiceContent.About.FullName)
		return vc, gen, nil
	}
}

// dial connects and logs in.
func (c *conn) dial(ctx context.Context) (*vim25.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	sc := soap.NewClient(c.cfg.URL, c.cfg.Insecure)
	if c.cfg.CAFile != "" && !c.cfg.Insecure {
		if err := sc.SetRootCAs(c.cfg.CAFile); err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, err
	}
	if err := session.NewManager(vc).Login(ctx, url.UserPassword(c.cfg.Username, c.cfg.Password)); err != nil {
		vc.CloseIdleConnections()
		return nil, err
	}
	return vc, nil
}

// drop forgets the session of generation gen after err showed it is lost
// (the connection broke, or vCenter no longer knows it): the next get
// logs in again. A newer session is kept.
func (c *conn) drop(gen uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client == nil || c.gen != gen {
		return
	}
	c.client.CloseIdleConnections()
	c.client = nil
	c.lastErr = err
	c.log.Warn("vsphere session lost", "err", err)
}

// do runs fn with a logged-in client. A session vCenter no longer knows
// is logged in again and fn retried once; a broken connection drops the
// session. fn's error is classified (faults.go): the machine model's
// errors, ErrUnavailable for what cannot reach vCenter.
func (c *conn) do(ctx context.Context, what string, fn func(vc *vim25.Client) error) error {
	for attempt := 0; ; attempt++ {
		vc, gen, err := c.get(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		err = fn(vc)
		switch {
		case err == nil:
			return nil
		case isNotAuthenticated(err):
			c.drop(gen, err)
			if attempt == 0 {
				continue
			}
		case isTransport(err) && ctx.Err() == nil:
			c.drop(gen, err)
		}
		return classify(what, err)
	}
}

// change runs fn, a change to vCenter (a task), with at most maxTasks of
// them in flight on this server.
func (c *conn) change(ctx context.Context, what string, fn func(vc *vim25.Client) error) error {
	select {
	case c.tasks <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: %w: %w", what, hardware.ErrUnavailable, ctx.Err())
	}
	defer func() { <-c.tasks }()
	return c.do(ctx, what, fn)
}

// errClosed is the error of calls on a backend that was closed.
var errClosed = errors.New("closed")
