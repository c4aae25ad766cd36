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
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/input"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/kvm/video"
)

// Config sets up the console.
type Config struct {
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
	// at start into its input hub (input.Hub.SetLayout): the browser's
	// paste and VNC cut text are typed through it unless the client
	// names another. Nil or "": us.
	Layout func() string
	// VNCAddr is system 0's VNC listen address; system i listens on
	// port+i, port 0 picks free ports. "": no TCP listener (the
	// WebSocket door /kvm/{SystemId}/vnc is always there).
	VNCAddr string
}

// Service is the console of every machine.
type Service struct {
	cfg     Config
	log     *slog.Logger
	systems map[string]*System
	order   []string
	mux     *http.ServeMux
	served  map[string]bool // the patterns given to Handle
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
	hid     http.Handler
	vncWS   http.Handler
}

// Prefix is where the console's endpoints live.
const Prefix = "/kvm/"

// New builds the console of every machine that has a screen or input.
func New(cfg Config) (*Service, error) {
	if cfg.Gate == nil {
		return nil, fmt.Errorf("kvm: no auth gate")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log, systems: map[string]*System{}, mux: http.NewServeMux(), served: map[string]bool{}}
	s.streams, s.endStreams = context.WithCancel(context.Background())
	for _, m := range cfg.Machines {
		caps := m.Capabilities()
		if !caps.Display && !caps.Keyboard && !caps.Pointer && !m.Console().Available() {
			continue
		}
		sys := &System{
			Machine: m,
			Video:   video.New(m.Display(), video.Options{Quality: cfg.Quality, FPS: cfg.FPS, Log: log.With("system", m.ID())}),
			Input:   input.NewHub(m.Keyboard(), m.Pointer()),
		}
		if cfg.Layout != nil {
			if err := sys.Input.SetLayout(cfg.Layout()); err != nil {
				s.Close()
				return nil, fmt.Errorf("system %s: keyboard layout: %w", m.ID(), err)
			}
		}
		sys.hid = input.HIDHandler(sys.Input, input.HIDOptions{OriginPatterns: cfg.OriginPatterns, Logger: log.With("system", m.ID())})
		vnc, err := rfb.New(rfb.Options{
			Name: "bmcd " + m.ID(), Pipeline: sys.Video, Hub: sys.Input,
			Accounts: cfg.Accounts, TLS: cfg.TLS, Logins: cfg.Logins, Passwords: cfg.Passwords,
			OnLogin: cfg.OnLogin, Logger: log.With("system", m.ID()),
		})
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("system %s: vnc: %w", m.ID(), err)
		}
		sys.VNC = vnc
		s.systems[m.ID()] = sys
		s.order = append(s.order, m.ID())
	}
	if err := s.listenVNC(); err != nil {
		s.Close()
		return nil, err
	}
	s.routes()
	return s, nil
}

// listenVNC opens the VNC listener of every system: VNCAddr's port + the
// system's index among all machines (as IPMI's ports go), or a free port
// each with port 0.
func (s *Service) listenVNC() error {
	if s.cfg.VNCAddr == "" {
		return nil
	}
	host, p, err := net.SplitHostPort(s.cfg.VNCAddr)
	if err != nil {
		return fmt.Errorf("vnc address %q: %w", s.cfg.VNCAddr, err)
	}
	base, err := strconv.Atoi(p)
	if err != nil || base < 0 || base > 65535 {
		return fmt.Errorf("vnc address %q: bad port", s.cfg.VNCAddr)
	}
	for i, m := range s.cfg.Machines {
		sys := s.systems[m.ID()]
		if sys == nil || !m.Capabilities().Display {
			continue
		}
		port := 0
		if base != 0 {
			port = base + i
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("system %s: vnc listen: %w", m.ID(), err)
		}
		sys.VNCPort = ln.Addr().(*net.TCPAddr).Port
		s.log.Info("vnc listening", "system", m.ID(), "addr", ln.Addr().String())
		go func() { _ = sys.VNC.ServeListener(ln) }()
	}
	return nil
}

// VNCPorts are the systems' VNC ports, by system Id (those listening).
func (s *Service) VNCPorts() map[string]int {
	out := map[string]int{}
	for id, sys := range s.systems {
		if sys.VNCPort != 0 {
			out[id] = sys.VNCPort
		}
	}
	return out
}

// System is the console of machine id; nil if it has none.
func (s *Service) System(id string) *System { return s.systems[id] }

// Systems lists the machines with a console, in configuration order.
func (s *Service) Systems() []*System {
	out := make([]*System, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.systems[id])
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
	for _, sys := range s.systems {
		sys.vncWS = sys.VNC.WebSocketHandler(rfb.WebSocketOptions{OriginPatterns: s.cfg.OriginPatterns})
	}
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
		sys := s.systems[r.PathValue("sys")]
		if sys == nil {
			http.Error(w, "no console for this system", http.StatusNotFound)
			return
		}
		ctx, cancel := s.revocable(r)
		defer cancel()
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
	s.endStreams()
	for _, sys := range s.systems {
		if sys.VNC != nil {
			_ = sys.VNC.Close()
		}
	}
}
