// Package web is bmcd's web console: the pages a browser opens, embedded
// in the binary, behind the same login and session table as Redfish
// (internal/auth). docs/console.md ("Web console") describes them.
//
//	GET  /console/                 every system: thumbnail, power, health, a filter
//	GET  /console/{SystemId}       one machine: screen, keyboard, mouse, power,
//	                               identify LED, virtual media, screenshot, serial console
//	GET  /console/login            the login form (no credentials needed)
//	POST /console/login            user + password → session, cookie, redirect
//	POST /console/logout           ends the session
//	GET  /console/static/...       scripts, styles, vendored noVNC and xterm.js
//	*    /console/redfish/v1/...   Redfish for the pages' scripts, authenticated
//	                               by the session cookie
//	GET  /kvm/{SystemId}/viewers   JSON: who watches the console, who controls it
//
// The pages use the console's own endpoints (kvm: /kvm/{SystemId}/...),
// the image store (/images/) and Redfish; they add no operation of their
// own, so a page can do exactly what its account may do through Redfish.
package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/kvm"
)

// Prefix is where the pages live.
const Prefix = "/console/"

//go:embed static templates
var files embed.FS

// Vendored files: copied from npm packages into static/vendor by `make`
// (see kvm/web/package.json); a build without them serves the pages with
// the MJPEG view and a plain serial pane, and says what is missing.
const (
	noVNCModule = "vendor/novnc/core/rfb.js"
	xtermModule = "vendor/xterm/xterm.mjs"
)

// Config sets up the console's pages.
type Config struct {
	// Console serves /kvm/{SystemId}/... (video, input, serial); the
	// pages add the viewers endpoint to it.
	Console *kvm.Service
	// Fleet is every system, as systems come and go: the index lists them
	// all, with or without a console. nil: a fleet of Machines.
	Fleet    *hardware.Fleet
	Machines []*hardware.Machine
	// Gate is the front door shared with Redfish (its Sessions must be
	// set: the login creates sessions there).
	Gate *auth.Gate
	// Redfish serves /redfish/v1/; the pages' scripts reach it through
	// /console/redfish/v1/ with their session cookie.
	Redfish http.Handler
	// OnLogin, if set, hears of each login through the form (the audit
	// log).
	OnLogin func(r *http.Request, a auth.Account)
	Log     *slog.Logger
}

// Handler serves the pages.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	static fs.FS
	etags  map[string]string
	pages  *template.Template
	fleet  *hardware.Fleet
}

// New builds the pages and adds the viewers endpoint to cfg.Console.
func New(cfg Config) (*Handler, error) {
	return newHandler(cfg, files)
}

func newHandler(cfg Config, fsys fs.FS) (*Handler, error) {
	if cfg.Gate == nil || cfg.Gate.Sessions == nil {
		return nil, errors.New("web: the gate has no session table")
	}
	if cfg.Redfish == nil {
		return nil, errors.New("web: no Redfish handler")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	static, err := fs.Sub(fsys, "static")
	if err != nil {
		return nil, err
	}
	pages, err := template.ParseFS(fsys, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	h := &Handler{cfg: cfg, log: log, mux: http.NewServeMux(), static: static, pages: pages, fleet: cfg.Fleet}
	if h.fleet == nil {
		h.fleet = hardware.FleetOf(cfg.Machines...)
	}
	if h.etags, err = etags(static); err != nil {
		return nil, err
	}
	if cfg.Console != nil {
		cfg.Console.Handle("viewers", auth.PrivLogin, http.HandlerFunc(serveViewers))
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	csrf := http.NewCrossOriginProtection()
	root := strings.TrimSuffix(Prefix, "/")
	h.mux.Handle("GET "+root, http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	h.mux.Handle("GET "+Prefix+"{$}", h.page(h.serveIndex))
	h.mux.Handle("GET "+Prefix+"{sys}", h.page(h.serveMachine))
	h.mux.HandleFunc("GET "+Prefix+"login", h.serveLoginForm)
	h.mux.Handle("POST "+Prefix+"login", csrf.Handler(http.HandlerFunc(h.login)))
	h.mux.Handle("POST "+Prefix+"logout", csrf.Handler(http.HandlerFunc(h.logout)))
	h.mux.HandleFunc("GET "+Prefix+"static/", h.serveStatic)
	h.mux.Handle(Prefix+"redfish/", csrf.Handler(http.HandlerFunc(h.bridge)))
}

// Owns reports whether the pages serve path.
func (h *Handler) Owns(path string) bool {
	return path == strings.TrimSuffix(Prefix, "/") || strings.HasPrefix(path, Prefix)
}

// ServeHTTP serves the pages, with headers that keep other sites from
// framing them (the console types into machines: no clickjacking) and
// limit what they load to bmcd itself.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; "+
		"style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.mux.ServeHTTP(w, r)
}

// serveStatic serves the embedded scripts and styles, revalidated by
// ETag (the SHA-256 of the file) so an upgraded bmcd is never mixed with
// cached files.
func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix+"static/")
	tag, ok := h.etags[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Cache-Control", "no-cache")
	if strings.HasSuffix(name, ".mjs") {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	}
	http.ServeFileFS(w, r, h.static, name)
}

// etags is the ETag of every file of fsys, by path.
func etags(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = `"` + hex.EncodeToString(sum[:12]) + `"`
		return nil
	})
	return out, err
}

// vendored says which vendored libraries the build embeds.
func (h *Handler) vendored() (novnc, xterm bool) {
	_, novnc = h.etags[noVNCModule]
	_, xterm = h.etags[xtermModule]
	return novnc, xterm
}

// render writes a page template.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := h.pages.ExecuteTemplate(w, name, data); err != nil {
		h.log.Warn("console page", "page", name, "err", err)
	}
}
