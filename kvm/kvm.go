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
// Reading (video, state, serial output) needs Login; typing, pointing and
// writing to the serial line need ConfigureComponents, the privilege of a
// reset (Operator, Administrator). docs/console.md describes it.
package kvm

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm/input"
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
}

// Service is the console of every machine.
type Service struct {
	cfg     Config
	log     *slog.Logger
	systems map[string]*System
	order   []string
	mux     *http.ServeMux
	served  map[string]bool // the patterns given to Handle
}

// System is one machine's console: its pipeline and input hub.
type System struct {
	Machine *hardware.Machine
	Video   *video.Pipeline
	Input   *input.Hub
	hid     http.Handler
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
		sys.hid = input.HIDHandler(sys.Input, input.HIDOptions{OriginPatterns: cfg.OriginPatterns, Logger: log.With("system", m.ID())})
		s.systems[m.ID()] = sys
		s.order = append(s.order, m.ID())
	}
	s.routes()
	return s, nil
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
		h.ServeHTTP(w, r.WithContext(withSystem(r.Context(), sys)))
	})
}

// Serves reports whether Handle added pattern ("vnc": the web console
// shows the screen through noVNC when it is served).
func (s *Service) Serves(pattern string) bool { return s.served[pattern] }

// Owns reports whether the console serves path.
func (s *Service) Owns(path string) bool { return strings.HasPrefix(path, Prefix) }

// ServeHTTP serves the console's endpoints.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Close ends the console's sessions.
func (s *Service) Close() {}
