// Package redfish is bmcd's Redfish service: a chi router with one file per
// resource family, and the protocol rules (authentication, privileges,
// ETags, errors) applied once in resource.go.
package redfish

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

// Config wires a Service.
type Config struct {
	// Fleet is every machine served, as they come and go; nil: a fleet of
	// Machines, in their order.
	Fleet    *hardware.Fleet
	Machines []*hardware.Machine
	Accounts *auth.Accounts
	// UUID identifies the service (stable across restarts).
	UUID string
	// Version is bmcd's version, reported as the managers' firmware.
	Version        string
	SessionTimeout time.Duration
	Log            *slog.Logger
	// What ManagerNetworkProtocol reports: the Redfish port, whether it is
	// HTTPS, and a system's IPMI port (ok false: IPMI does not serve
	// it). nil: no IPMI.
	HTTPPort int
	TLS      bool
	IPMIPort func(systemID string) (port int, ok bool)
	// VNCPort is a system's VNC (RFB) port: where the graphical console
	// (KVM-IP) listens (Manager and ComputerSystem GraphicalConsole,
	// ManagerNetworkProtocol KVMIP). A system without one has no
	// graphical console. nil: none has.
	VNCPort func(systemID string) (port int, ok bool)
	// GraphicalSessions is how many console sessions a system takes at
	// once (MaxConcurrentSessions).
	GraphicalSessions int
	// Audit is the BMC's own log (logins, account and configuration
	// changes), served under every Manager's LogServices; nil for none.
	Audit *audit.Log
	// Store keeps service-wide state across restarts (event
	// subscriptions, UpdateService settings and certificates); nil keeps
	// it in memory only.
	Store Store
	// Sessions is the session table, to share it with other HTTP front
	// doors (a Redfish session token then opens them too); nil: a table
	// of the service's own over Accounts, with SessionTimeout.
	Sessions *auth.Sessions
	// Logins limits failed logins per client address and user name, to
	// share it likewise; nil: a limiter of the service's own
	// (auth.DefaultFailureBurst, auth.DefaultFailureRefill).
	Logins *auth.Limiter[auth.LoginKey]
	// StoredImages lists the images of bmcd's image store (kvm/images),
	// each with the URL InsertMedia takes for it as the client of r
	// reaches bmcd; every slot's InsertMediaActionInfo shows them
	// (Oem.bmcd.StoredImages). nil: there is no image store.
	StoredImages func(r *http.Request) []StoredImage
}

// Service serves the Redfish API. Create it with New; Close stops its
// background work.
type Service struct {
	// now is the clock the DateTime properties read; tests stop it, so
	// two renderings of one resource agree even across a second's tick.
	now func() time.Time

	cfg      Config
	log      *slog.Logger
	accounts *auth.Accounts
	fleet    *hardware.Fleet
	sessions *auth.Sessions
	// gate authenticates requests and checks privileges (auth.go).
	gate  *auth.Gate
	tasks *tasks
	cache renderCache
	mux   *chi.Mux
	// resources maps each route pattern to its resource, for requests the
	// service makes to itself ($expand, only) and for Allow headers.
	resources map[string]*resource
	// Bounds of query answers (tests lower them): members per collection
	// response, and the bounds of $expand (expand.go).
	pageSize int
	expand   expandLimits
	events   *eventService
	// ownSessions: the session table is the service's own, closed with it.
	ownSessions bool
}

// New builds the service and its routes.
func New(cfg Config) *Service {
	s := &Service{
		cfg:       cfg,
		log:       cfg.Log,
		accounts:  cfg.Accounts,
		resources: map[string]*resource{},
		pageSize:  collectionPageSize,
		expand:    newExpandLimits(),
		sessions:  cfg.Sessions,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.sessions == nil {
		// A session lives no longer than its credentials, whichever
		// protocol changed them (a Redfish PATCH, IPMI Set User Password):
		// the table watches the accounts.
		s.sessions, s.ownSessions = auth.NewSessions(s.accounts, cfg.SessionTimeout), true
	}
	logins := cfg.Logins
	if logins == nil {
		logins = auth.NewLimiter[auth.LoginKey](auth.DefaultFailureBurst, auth.DefaultFailureRefill)
	}
	s.gate = s.newGate(logins)
	s.tasks = newTasks(s.log, cfg.Store)
	s.fleet = cfg.Fleet
	if s.fleet == nil {
		s.fleet = hardware.FleetOf(cfg.Machines...)
	}
	s.resumeVolumeTasks()
	s.mux = chi.NewMux()
	s.mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("OData-Version", "4.0")
		writeError(w, apiErr(http.StatusNotFound, "ResourceMissingAtURI", r.URL.Path))
	})
	// chi answers here for methods it does not know (FOO): the resource's
	// methods still go in Allow, as for every 405.
	s.mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("OData-Version", "4.0")
		res, _ := s.lookup(r.URL.Path)
		if res == nil {
			writeError(w, apiErr(http.StatusNotFound, "ResourceMissingAtURI", r.URL.Path))
			return
		}
		w.Header().Set("Allow", res.allow())
		writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
	})
	s.events = newEventService(s)
	s.routes()
	return s
}

// ServeHTTP implements http.Handler. What DSP0266 asks of every request
// before it reaches a resource is done here: a trailing slash is
// insignificant; an OData-Version other than 4.0 is refused with 412 and
// HeaderInvalid ("Request headers"); a POST to a
// collection's Members URI is a POST to the collection ("POST
// (create)").
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		r.URL.Path = cleanPath(p)
		r.URL.RawPath = ""
	}
	if v, ok := r.Header["Odata-Version"]; ok && (len(v) != 1 || strings.TrimSpace(v[0]) != "4.0") {
		w.Header().Set("OData-Version", "4.0")
		writeError(w, apiErr(http.StatusPreconditionFailed, "HeaderInvalid", "OData-Version: "+strings.Join(v, ", ")))
		return
	}
	if r.Method == http.MethodPost {
		if coll, ok := strings.CutSuffix(r.URL.Path, "/Members"); ok {
			if res, pattern := s.lookupPattern(coll); res != nil && res.isCollectionPost(pattern) {
				r.URL.Path, r.URL.RawPath = coll, ""
			}
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Close ends background work.
func (s *Service) Close() {
	if s.ownSessions {
		s.sessions.Close()
	}
	s.events.close()
	s.tasks.close()
}

// CloseStreams ends the open event streams, which would otherwise keep an
// HTTP server's graceful shutdown waiting.
func (s *Service) CloseStreams() { s.events.closeStreams() }

func (s *Service) handle(pattern string, res *resource) {
	s.resources[pattern] = res
	s.mux.Handle(pattern, s.events.watch(pattern, res, s.serve(res)))
}

// lookup routes path as the router would and returns its resource and
// the routing context carrying its URL parameters, or nil.
func (s *Service) lookup(path string) (*resource, *chi.Context) {
	rctx := chi.NewRouteContext()
	pattern := s.mux.Find(rctx, http.MethodGet, path)
	return s.resources[pattern], rctx
}

func (s *Service) lookupPattern(path string) (*resource, string) {
	pattern := s.mux.Find(chi.NewRouteContext(), http.MethodGet, path)
	return s.resources[pattern], pattern
}

// routes registers every resource; each file adds its own family.
func (s *Service) routes() {
	s.rootRoutes()
	s.systemRoutes()
	s.inventoryRoutes()
	s.storageRoutes()
	s.biosRoutes()
	s.bootOptionRoutes()
	s.managerRoutes()
	s.virtualMediaRoutes()
	s.chassisRoutes()
	s.sessionRoutes()
	s.accountRoutes()
	s.registryRoutes()
	s.taskRoutes()
	s.logRoutes()
	s.updateServiceRoutes()
	s.eventRoutes()
}

// machine resolves the {sys} URL parameter: a system's Id, or an alias
// (a libvirt domain's name).
func (s *Service) machine(r *http.Request, typ string) (*hardware.Machine, error) {
	id := chi.URLParam(r, "sys")
	if u, err := url.PathUnescape(id); err == nil {
		id = u // an alias may be any domain name: "web 1", "ü"
	}
	m, ok := s.fleet.Machine(id)
	if !ok {
		return nil, notFound(typ, id)
	}
	return m, nil
}

// ids are the systems' Ids, in the fleet's order.
func (s *Service) ids() []string {
	ms := s.fleet.Machines()
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID()
	}
	return ids
}

// ipmiPort is system id's IPMI port; ok is false when IPMI does not serve
// it.
func (s *Service) ipmiPort(id string) (int, bool) {
	if s.cfg.IPMIPort == nil {
		return 0, false
	}
	return s.cfg.IPMIPort(id)
}

func systemPath(id string) string  { return "/redfish/v1/Systems/" + id }
func managerPath(id string) string { return "/redfish/v1/Managers/" + id }
func chassisPath(id string) string { return "/redfish/v1/Chassis/" + id }

func status(state, health string) M { return M{"State": state, "Health": health} }

func enabledStatus() M { return status("Enabled", "OK") }

// clock is the service's time now: the DateTime properties.
func (s *Service) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}
