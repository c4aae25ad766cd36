// Package redfish is bmcd's Redfish service: a chi router with one file per
// resource family, and the protocol rules (authentication, privileges,
// ETags, errors) applied once in resource.go.
package redfish

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
)

// Config wires a Service.
type Config struct {
	Machines []*hardware.Machine
	Accounts *auth.Accounts
	// UUID identifies the service (stable across restarts).
	UUID string
	// Version is bmcd's version, reported as the managers' firmware.
	Version        string
	SessionTimeout time.Duration
	Log            *slog.Logger
	// What ManagerNetworkProtocol reports: the Redfish port, whether it is
	// HTTPS, and each system's IPMI port (if IPMI serves it).
	HTTPPort  int
	TLS       bool
	IPMIPorts map[string]int
	// Store keeps event subscriptions across restarts; nil keeps them in
	// memory only.
	Store Store
}

// Service serves the Redfish API. Create it with New; Close stops its
// background work.
type Service struct {
	cfg      Config
	log      *slog.Logger
	accounts *auth.Accounts
	machines map[string]*hardware.Machine
	order    []string
	sessions *sessions
	tasks    *tasks
	cache    renderCache
	logins   *auth.Limiter[loginKey]
	mux      *chi.Mux
	events   *eventService
}

// New builds the service and its routes.
func New(cfg Config) *Service {
	s := &Service{
		cfg:      cfg,
		log:      cfg.Log,
		accounts: cfg.Accounts,
		machines: map[string]*hardware.Machine{},
		sessions: newSessions(cfg.SessionTimeout),
		tasks:    newTasks(),
		logins:   auth.NewLimiter[loginKey](auth.DefaultFailureBurst, auth.DefaultFailureRefill),
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, m := range cfg.Machines {
		s.machines[m.ID()] = m
		s.order = append(s.order, m.ID())
	}
	s.mux = chi.NewMux()
	s.mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("OData-Version", "4.0")
		writeError(w, apiErr(http.StatusNotFound, "ResourceMissingAtURI", r.URL.Path))
	})
	s.mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
	})
	s.events = newEventService(s)
	s.routes()
	return s
}

// ServeHTTP implements http.Handler. A trailing slash is insignificant, as
// the Redfish specification requires.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = strings.TrimRight(p, "/")
		if r.URL.Path == "" {
			r.URL.Path = "/"
		}
		r.URL.RawPath = ""
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends background work.
func (s *Service) Close() {
	s.events.close()
	s.tasks.close()
}

// CloseStreams ends the open event streams, which would otherwise keep an
// HTTP server's graceful shutdown waiting.
func (s *Service) CloseStreams() { s.events.closeStreams() }

func (s *Service) handle(pattern string, res *resource) {
	s.mux.Handle(pattern, s.events.watch(pattern, res, s.serve(res)))
}

// routes registers every resource; each file adds its own family.
func (s *Service) routes() {
	s.rootRoutes()
	s.systemRoutes()
	s.inventoryRoutes()
	s.storageRoutes()
	s.biosRoutes()
	s.managerRoutes()
	s.virtualMediaRoutes()
	s.chassisRoutes()
	s.sessionRoutes()
	s.accountRoutes()
	s.registryRoutes()
	s.taskRoutes()
	s.logRoutes()
	s.eventRoutes()
}

// machine resolves the {sys} URL parameter.
func (s *Service) machine(r *http.Request, typ string) (*hardware.Machine, error) {
	id := chi.URLParam(r, "sys")
	m, ok := s.machines[id]
	if !ok {
		return nil, notFound(typ, id)
	}
	return m, nil
}

func systemPath(id string) string  { return "/redfish/v1/Systems/" + id }
func managerPath(id string) string { return "/redfish/v1/Managers/" + id }
func chassisPath(id string) string { return "/redfish/v1/Chassis/" + id }

func status(state, health string) M { return M{"State": state, "Health": health} }

func enabledStatus() M { return status("Enabled", "OK") }
