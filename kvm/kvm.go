// Package kvm is bmcd's console (KVM over IP): for every machine with a
// screen, one video pipeline (kvm/video), one input hub (kvm/input) and,
// with the VNC server, one RFB listener, served under /kvm/{SystemId}/
// behind the same front door as Redfish (internal/auth):
//
//	/kvm/{SystemId}/stream.mjpeg   MJPEG (multipart/x-mixed-replace)
//	/kvm/{SystemId}/snapshot.jpg   the picture now, JPEG
//	/kvm/{SystemId}/snapshot.png   the picture now, PNG
//	/kvm/{SystemId}/state          JSON: resolution, fps, viewers
//	/kvm/{SystemId}/hid            WebSocket: keyboard and mouse
//	/kvm/{SystemId}/serial         WebSocket: the host serial console
//	/kvm/{SystemId}/vnc            WebSocket: RFB (VNC), for noVNC
//
// and a VNC (RFB 3.8) TCP listener per system (Config.VNCAddr).
//
// Reading (video, state, serial output) needs Login; typing, pointing and
// writing to the serial line need ConfigureComponents, the privilege of a
// reset (Operator, Administrator). docs/console.md describes it.
package kvm

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/video"
)

// Config sets up the console.
type Config struct {
	// Fleet is every machine, as machines come and go (a console is
	// built for each that joins, and ended when it leaves); nil: a
	// fleet of Machines.
	Fleet    *hardware.Fleet
	Machines []*hardware.Machine
	// Gate is the HTTP front door shared with Redfish: Basic
	// credentials, a session token (header, cookie, WebSocket
	// subprotocol).
	Gate *auth.Gate
	// Quality (1..100) and FPS (1..60) of every pipeline at start; 0:
	// kvm/video's defaults.
	Quality, FPS int
	// OriginPatterns are other hosts whose pages may open the console's
	// WebSockets (see input.HIDOptions).
	OriginPatterns []string
	Log            *slog.Logger

	// The VNC server (kvm/rfb) of every system: Accounts and TLS for
	// VeNCrypt X509Plain (bmcd's accounts over the service certificate);
	// Logins the failed-login limiter shared with the HTTP gate;
	// Passwords the VNC Authentication passwords (nil: not offered);
	// OnLogin hears of each password check (the audit log).
	Accounts  *auth.Accounts
	TLS       *tls.Config
	Logins    *auth.Limiter[auth.LoginKey]
	Passwords func() rfb.Passwords
	OnLogin   func(user, remote string, ok bool)
	// Layout returns the hosts' keyboard layout ("us", "de", "fr",
	// "ru"; the configuration's console.layout), read once per machine
	// as it joins into its input hub (input.Hub.SetLayout): the
	// browser's paste and VNC cut text are typed through it unless the
	// client names another. Nil or "": us.
	Layout func() string
	// VNCAddr is the VNC listen address of the system in slot 0; the
	// system in slot i (hardware.Member.Slot) listens on port+i, port 0
	// picks free ports. "": no TCP listener (the
	// WebSocket door /kvm/{SystemId}/vnc is always there).
	VNCAddr string
}

// Service is the console of every machine.
type Service struct {
	cfg   Config
	log   *slog.Logger
	fleet *hardware.Fleet
	// vncHost and vncBase are VNCAddr's parts.
	vncHost   string
	vncBase   int
	mu        sync.RWMutex
	systems   map[string]*System // by machine Id
	stopWatch func()
	mux       *http.ServeMux
	served    map[string]bool // the patterns given to Handle
	// streams is cancelled by CloseStreams and Close: every console
	// connection ends with it.
	streams    context.Context
	endStreams context.CancelFunc
}

// System is one machine's console: its pipeline and input hub.
type System struct {
	Machine *hardware.Machine
	Video   *video.Pipeline
	Input   *input.Hub
	VNC     *rfb.Server
	// VNCPort is where VNC listens for this system; 0: no TCP listener.
	VNCPort int
	slot    int
	hid     http.Handler
	vncWS   http.Handler
	// ctx ends every connection to this console when its machine leaves
	// the fleet.
	ctx context.Context
	end context.CancelFunc
}

// Prefix is where the console's endpoints live.
const Prefix = "/kvm/"

// New builds the console of every machine of the fleet that has a screen
// or input, and of each that joins it later. Errors: a malformed
// VNCAddr, a VNC port that cannot be opened for a machine present now (one
// that joins later is logged instead).
func New(cfg Config) (*Service, error) {
	if cfg.Gate == nil {
		return nil, fmt.Errorf("kvm: no auth gate")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log, systems: map[string]*System{}, mux: http.NewServeMux(), served: map[string]bool{}}
	s.fleet = cfg.Fleet
	if s.fleet == nil {
		s.fleet = hardware.FleetOf(cfg.Machines...)
	}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	if cfg.VNCAddr != "" {
		host, p, err := net.SplitHostPort(cfg.VNCAddr)
		if err != nil {
			return nil, fmt.Errorf("vnc address %q: %w", cfg.VNCAddr, err)
		}
		base, err := strconv.Atoi(p)
		if err != nil || base < 0 || base > 65535 {
			return nil, fmt.Errorf("vnc address %q: bad port", cfg.VNCAddr)
		}
		s.vncHost, s.vncBase = host, base
	}
	// A machine present now whose console cannot start stops bmcd; one
	// that joins later is logged.
	var startMu sync.Mutex
	var startErr error
	starting := true
	s.stopWatch = s.fleet.Watch(func(c hardware.FleetChange) {
		if !c.Added {
			s.remove(c.Member.Machine.ID())
			return
		}
		if err := s.add(c.Member); err != nil {
			startMu.Lock()
			if starting && startErr == nil {
				startErr = err
			}
			startMu.Unlock()
			s.log.Error("console not started", "system", c.Member.Machine.ID(), "err", err)
		}
	})
	startMu.Lock()
	starting = false
	startMu.Unlock()
	if startErr != nil {
		s.Close()
		return nil, startErr
	}
	s.routes()
	return s, nil
}

// add builds the console of a machine that joined the fleet, if it has a
// screen, input or a serial console, with its VNC listener.
func (s *Service) add(mem hardware.Member) error {
	m := mem.Machine
	caps := m.Capabilities()
	if !caps.Display && !caps.Keyboard && !caps.Pointer && !m.Console().Available() {
		return nil
	}
	log := s.log.With("system", m.ID())
	sys := &System{
		Machine: m,
		Video:   video.New(m.Display(), video.Options{Quality: s.cfg.Quality, FPS: s.cfg.FPS, Log: log}),
		Input:   input.NewHub(m.Keyboard(), m.Pointer()),
		slot:    mem.Slot,
	}
	if s.cfg.Layout != nil {
		if err := sys.Input.SetLayout(s.cfg.Layout()); err != nil {
			return fmt.Errorf("system %s: keyboard layout: %w", m.ID(), err)
		}
	}
	sys.ctx, sys.end = context.WithCancel(s.streams)
	sys.hid = input.HIDHandler(sys.Input, input.HIDOptions{OriginPatterns: s.cfg.OriginPatterns, Logger: log})
	vnc, err := rfb.New(rfb.Options{
		Name: "bmcd " + m.ID(), Pipeline: sys.Video, Hub: sys.Input,
		Accounts: s.cfg.Accounts, TLS: s.cfg.TLS, Logins: s.cfg.Logins, Passwords: s.cfg.Passwords,
		OnLogin: s.cfg.OnLogin, Logger: log,
	})
	if err != nil {
		sys.end()
		return fmt.Errorf("system %s: vnc: %w", m.ID(), err)
	}
	sys.VNC = vnc
	sys.vncWS = vnc.WebSocketHandler(rfb.WebSocketOptions{OriginPatterns: s.cfg.OriginPatterns})
	if err := s.listenVNC(sys); err != nil {
		_ = vnc.Close()
		sys.end()
		return err
	}
	s.mu.Lock()
	s.systems[m.ID()] = sys
	s.mu.Unlock()
	return nil
}

// remove ends the console of a machine that left the fleet: its VNC
// listener and every connection to it.
func (s *Service) remove(id string) {
	s.mu.Lock()
	sys := s.systems[id]
	delete(s.systems, id)
	s.mu.Unlock()
	if sys == nil {
		return
	}
	sys.end()
	_ = sys.VNC.Close()
}

// listenVNC opens sys's VNC listener: VNCAddr's port + the system's slot
// (as IPMI's ports go), or a free port with port 0.
func (s *Service) listenVNC(sys *System) error {
	if s.cfg.VNCAddr == "" || !sys.Machine.Capabilities().Display {
		return nil
	}
	port := 0
	if s.vncBase != 0 {
		port = s.vncBase + sys.slot
	}
	if port > 65535 {
		return fmt.Errorf("system %s: vnc port %d out of range", sys.Machine.ID(), port)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.vncHost, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("system %s: vnc listen: %w", sys.Machine.ID(), err)
	}
	sys.VNCPort = ln.Addr().(*net.TCPAddr).Port
	s.log.Info("vnc listening", "system", sys.Machine.ID(), "addr", ln.Addr().String())
	go func() { _ = sys.VNC.ServeListener(ln) }()
	return nil
}

// VNCPort is system id's VNC port; ok is false when it has no VNC
// listener.
func (s *Service) VNCPort(id string) (int, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sys := s.systems[id]; sys != nil && sys.VNCPort != 0 {
		return sys.VNCPort, true
	}
	return 0, false
}

// VNCPorts are the systems' VNC ports, by system Id (those listening).
func (s *Service) VNCPorts() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[string]int{}
	for id, sys := range s.systems {
		if sys.VNCPort != 0 {
			out[id] = sys.VNCPort
		}
	}
	return out
}

// System is the console of the machine named name (its Id or an alias);
// nil if it has none.
func (s *Service) System(name string) *System {
	mem, ok := s.fleet.Member(name)
	if !ok {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.systems[mem.Machine.ID()]
}

// Systems lists the machines with a console, in the fleet's order.
func (s *Service) Systems() []*System {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*System
	for _, m := range s.fleet.Machines() {
		if sys := s.systems[m.ID()]; sys != nil {
			out = append(out, sys)
		}
	}
	return out
}

// Handle adds a handler for an endpoint of every system: pattern is
// relative to /kvm/{SystemId}/ ("vnc"), and h finds the system with
// SystemOf. Only the VNC server and the web console add endpoints, while
// bmcd starts (before the first request).
func (s *Service) Handle(pattern string, priv auth.Privilege, h http.Handler) {
	s.served[pattern] = true
	s.mux.Handle("GET "+Prefix+"{sys}/"+pattern, s.cfg.Gate.Require(priv)(s.known(h)))
}

func (s *Service) routes() {
	read := func(f func(*System) http.HandlerFunc) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f(SystemOf(r))(w, r) })
	}
	s.Handle("stream.mjpeg", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.Video.MJPEG }))
	s.Handle("snapshot.jpg", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.Video.Snapshot }))
	s.Handle("snapshot.png", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.Video.Snapshot }))
	s.Handle("state", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.Video.State }))
	// The HID endpoint lets everyone who may log in watch who controls;
	// it decides itself who may type (ConfigureComponents).
	s.Handle("hid", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.hid.ServeHTTP }))
	s.Handle("serial", auth.PrivLogin, read(func(sys *System) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { s.serveSerial(sys, w, r) }
	}))
	// RFB over a WebSocket (noVNC): the account decides control, as for
	// HID.
	s.Handle("vnc", auth.PrivLogin, read(func(sys *System) http.HandlerFunc { return sys.vncWS.ServeHTTP }))
	// People type the console's address: /kvm and /kvm/{SystemId} lead
	// to the web console's pages; anything else under /kvm/ is not found.
	s.mux.HandleFunc("GET /kvm", toConsole)
	s.mux.HandleFunc("GET /kvm/{$}", toConsole)
	s.mux.HandleFunc("GET /kvm/{sys}", toConsole)
	s.mux.HandleFunc("GET /kvm/{sys}/{$}", toConsole)
	s.mux.HandleFunc("GET /kvm/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such console endpoint (the console's pages are at /console/)", http.StatusNotFound)
	})
}

// ConsolePages is where the web console's pages live (kvm/web).
const ConsolePages = "/console/"

// toConsole redirects /kvm (and /kvm/) to the page of all systems, and
// /kvm/{SystemId} to that system's page.
func toConsole(w http.ResponseWriter, r *http.Request) {
	target := ConsolePages
	if id := r.PathValue("sys"); id != "" {
		target += url.PathEscape(id)
	}
	http.Redirect(w, r, target, http.StatusFound)
}

type systemKey struct{}

// known answers 404 for a system without a console, else passes the
// request on with the System in its context.
func (s *Service) known(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sys := s.System(r.PathValue("sys"))
		if sys == nil {
			http.Error(w, "no console for this system", http.StatusNotFound)
			return
		}
		ctx, cancel := s.revocable(r)
		defer cancel()
		stop := context.AfterFunc(sys.ctx, cancel) // the machine left
		defer stop()
		h.ServeHTTP(w, r.WithContext(withSystem(ctx, sys)))
	})
}

// sessionCheck is how often a long-lived console connection checks that
// the session that opened it still exists.
const sessionCheck = time.Second

// revocable is r's context, cancelled as soon as the access that opened it
// is withdrawn: its account removed, disabled, locked, given a new
// password or another role, or its Redfish session ended. Every console
// connection (MJPEG, HID, serial, VNC over WebSocket) ends with it, as
// the VNC TCP door's sessions do.
func (s *Service) revocable(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stopOnClose := context.AfterFunc(s.streams, cancel) // CloseStreams
	p, ok := auth.FromContext(r.Context())
	if !ok || s.cfg.Gate.Accounts == nil {
		return ctx, func() { stopOnClose(); cancel() }
	}
	stop := s.cfg.Gate.Accounts.OnChange(func(c auth.Change) {
		a := c.Account
		if a.ID == p.Account.ID && (c.Kind == auth.Removed || !a.Enabled || a.Locked || c.PasswordChanged || a.Role != p.Account.Role) {
			cancel()
		}
	})
	if p.Session != "" && s.cfg.Gate.Sessions != nil {
		go func() {
			t := time.NewTicker(sessionCheck)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if _, ok := s.cfg.Gate.Sessions.Get(p.Session); !ok {
						cancel()
						return
					}
				}
			}
		}()
	}
	return ctx, func() { stop(); stopOnClose(); cancel() }
}

// CloseStreams ends every console connection (MJPEG streams, WebSockets)
// at once, for a quick shutdown: http.Server.Shutdown would otherwise wait
// its whole grace for them (register it with RegisterOnShutdown).
func (s *Service) CloseStreams() { s.endStreams() }

// Serves reports whether Handle added pattern ("vnc": the web console
// shows the screen through noVNC when it is served).
func (s *Service) Serves(pattern string) bool { return s.served[pattern] }

// Owns reports whether the console serves path: /kvm and everything
// under /kvm/.
func (s *Service) Owns(path string) bool { return path == "/kvm" || strings.HasPrefix(path, Prefix) }

// ServeHTTP serves the console's endpoints.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends the console's sessions and VNC listeners.
func (s *Service) Close() {
	if s.stopWatch != nil {
		s.stopWatch()
	}
	s.endStreams()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sys := range s.systems {
		_ = sys.VNC.Close()
	}
}
