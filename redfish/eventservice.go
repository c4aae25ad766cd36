package redfish

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/queue"
)

// The EventService (DSP0266 "Eventing"; EventService v1_12_0): events
// about the machines (power, boots, media, boot overrides, the event log),
// the accounts and every resource a client creates, changes or removes, sent
// to push subscriptions (eventdestination.go, eventdelivery.go) and
// Server-Sent Events streams (sse.go). Machine events come from the machine
// model's publisher (hardware.Machine.Subscribe), the same entries the event
// log and the IPMI SEL show.

// Store persists what the Redfish service keeps across restarts: the event
// service's settings and subscriptions. internal/store implements it.
type Store interface {
	Get(bucket, key string, v any) (bool, error)
	Put(bucket, key string, v any) error
	Delete(bucket, key string) error
	List(bucket string, fn func(key string, raw []byte) error) error
}

// Event service limits and defaults.
const (
	// MaxSubscriptions bounds the push subscriptions (persisted);
	// MaxSSEStreams the open Server-Sent Events streams.
	MaxSubscriptions = 20
	MaxSSEStreams    = 16
	// ReservedSSEStreams of them are kept for accounts that may manage the
	// BMC (ConfigureManager), so read-only users cannot take them all.
	ReservedSSEStreams = 4
	// DefaultDeliveryRetryAttempts and DefaultDeliveryRetryInterval are
	// the EventService's retry settings until a client changes them.
	DefaultDeliveryRetryAttempts = 3
	DefaultDeliveryRetryInterval = 30 // seconds
	// Each destination queues at most destinationQueueSize events; beyond
	// that the oldest are dropped, counted and reported with Base
	// EventBufferExceeded.
	destinationQueueSize = 256
	machineQueueSize     = 4096
	// replaySize events are kept for SSE clients resuming with
	// Last-Event-ID.
	replaySize = 256
	// DefaultSSEHeartbeat is how often an idle SSE stream gets a comment
	// line, so proxies and clients know it is alive.
	DefaultSSEHeartbeat = 15 * time.Second

	eventServicePath   = "/redfish/v1/EventService"
	subscriptionsPath  = eventServicePath + "/Subscriptions"
	sseURI             = eventServicePath + "/SSE"
	eventServiceBucket = "eventservice"
)

// eventSettings are the EventService's writable properties, persisted.
type eventSettings struct {
	ServiceEnabled       bool   `json:"service_enabled"`
	RetryAttempts        int    `json:"retry_attempts"`
	RetryIntervalSeconds int    `json:"retry_interval_seconds"`
	NextID               uint64 `json:"next_id"` // of subscriptions
}

// eventService publishes events to destinations. Its goroutines (one
// reading the machines' events, one per push destination) stop on close.
type eventService struct {
	s     *Service
	log   *slog.Logger
	store Store // nil: nothing persists

	// clients post events: insecure (the default, as for virtual media) or
	// verifying the destination's certificate (VerifyCertificate).
	insecure, verifying *http.Client

	mu        sync.Mutex
	retryUnit time.Duration // one DeliveryRetryIntervalSeconds; tests shorten it
	heartbeat time.Duration // SSE comment interval
	recheck   time.Duration // how often an SSE stream re-checks its credentials
	settings  eventSettings
	subs      map[string]*destination
	seq       uint64         // last event number
	recent    []*eventRecord // ring of the last replaySize events, oldest first
	closed    bool

	routes map[string]*resource // by chi pattern, for typeAt; written only while routes are registered

	in      *queue.Queue[hardware.MachineEvent]
	cancels []func() // machine and account subscriptions
	ctx     context.Context
	stop    context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

func newEventService(s *Service) *eventService {
	ctx, stop := context.WithCancel(context.Background())
	ev := &eventService{
		s: s, log: s.log, store: s.cfg.Store,
		insecure:  eventClient(false),
		verifying: eventClient(true),
		retryUnit: time.Second, heartbeat: DefaultSSEHeartbeat, recheck: time.Second,
		settings: eventSettings{ServiceEnabled: true, RetryAttempts: DefaultDeliveryRetryAttempts,
			RetryIntervalSeconds: DefaultDeliveryRetryInterval, NextID: 1},
		subs:   map[string]*destination{},
		routes: map[string]*resource{},
		// Event numbers carry on from about where the last run stopped, so
		// an SSE client's Last-Event-ID never names a later event.
		seq: uint64(time.Now().UnixMilli()),
		in:  queue.New[hardware.MachineEvent](machineQueueSize),
		ctx: ctx, stop: stop,
	}
	ev.load()
	// Every machine's events, as machines join and leave the fleet; a
	// system that joins or leaves while the service runs (a libvirt
	// domain defined or undefined) is a ResourceCreated or
	// ResourceRemoved of its ComputerSystem.
	var subMu sync.Mutex
	machineSubs := map[*hardware.Machine]func(){}
	watching := false
	ev.cancels = append(ev.cancels, s.fleet.Watch(func(c hardware.FleetChange) {
		subMu.Lock()
		defer subMu.Unlock()
		m := c.Member.Machine
		if c.Added {
			machineSubs[m] = m.Subscribe(ev.in)
			if watching {
				ev.publish(resourceEvent("ResourceCreated", systemPath(m.ID()), "ComputerSystem"))
			}
		} else if cancel := machineSubs[m]; cancel != nil {
			cancel()
			delete(machineSubs, m)
			ev.publish(resourceEvent("ResourceRemoved", systemPath(m.ID()), "ComputerSystem"))
		}
	}), func() {
		subMu.Lock()
		defer subMu.Unlock()
		for _, cancel := range machineSubs {
			cancel()
		}
		clear(machineSubs)
	})
	subMu.Lock()
	watching = true
	subMu.Unlock()
	if s.accounts != nil {
		ev.cancels = append(ev.cancels, s.accounts.OnChange(ev.accountChanged))
	}
	ev.wg.Add(1)
	go ev.readMachines()
	return ev
}

// eventClient posts events: no redirects, no proxy for loopback, a bound
// on each attempt.
func eventClient(verify bool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: !verify, MinVersion: tls.VersionTLS12}, //nolint:gosec // VerifyCertificate false, as the schema's default
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// close stops every goroutine and ends every SSE stream. Idempotent.
func (ev *eventService) close() {
	ev.once.Do(func() {
		ev.mu.Lock()
		ev.closed = true
		for _, c := range ev.cancels {
			c()
		}
		for _, d := range ev.subs {
			d.cancel()
		}
		ev.mu.Unlock()
		ev.stop()
		ev.in.Close()
		ev.wg.Wait()
		ev.insecure.CloseIdleConnections()
		ev.verifying.CloseIdleConnections()
	})
}

// setTiming changes the durations behind DeliveryRetryIntervalSeconds,
// SSE heartbeats and credential checks (tests shorten them).
func (ev *eventService) setTiming(retryUnit, heartbeat, recheck time.Duration) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ev.retryUnit, ev.heartbeat, ev.recheck = retryUnit, heartbeat, recheck
}

// closeStreams ends every SSE stream (the HTTP server is shutting down and
// waits for open responses).
func (ev *eventService) closeStreams() {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, d := range ev.subs {
		if d.sse != nil {
			d.cancel()
		}
	}
}

// publish numbers r and hands it to every destination that selects it.
// It never blocks: destinations' queues drop their oldest events when full.
func (ev *eventService) publish(r eventRecord) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.closed || !ev.settings.ServiceEnabled {
		return
	}
	ev.seq++
	r.Seq = ev.seq
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	if r.EventType == "" {
		r.EventType = "Other"
	}
	p := &r
	if len(ev.recent) == replaySize {
		ev.recent = append(ev.recent[:0:0], ev.recent[1:]...)
	}
	ev.recent = append(ev.recent, p)
	for _, d := range ev.subs {
		if d.selects(p) {
			d.q.Push(p)
		}
	}
}

// readMachines turns machine log entries into events.
func (ev *eventService) readMachines() {
	defer ev.wg.Done()
	for {
		select {
		case <-ev.ctx.Done():
			return
		case <-ev.in.Ready():
		}
		for {
			me, ok := ev.in.Pop()
			if !ok {
				break
			}
			msg, ok := machineMessage(me.Machine, me.Event)
			if !ok {
				continue
			}
			ev.publish(eventRecord{
				Time: me.Time, MessageID: msg.ID, Message: msg.Message, Args: msg.Args,
				Severity: string(me.Severity), Resolution: msg.Resolution,
				Origin: msg.Origin, ResourceType: msg.ResourceType, LogEntry: logEntryPath(me.Machine, me.ID),
			})
		}
	}
}

// resourceEvent is a ResourceEvent registry event about the resource at
// origin.
func resourceEvent(key, origin, resourceType string) eventRecord {
	t := resourceEventRegistry.fill(key)
	return eventRecord{MessageID: t.ID, Message: t.Message, Args: t.Args, Severity: t.Severity,
		Origin: origin, ResourceType: resourceType}
}

var accountChangeKeys = map[auth.ChangeKind]string{
	auth.Created: "ResourceCreated", auth.Changed: "ResourceChanged", auth.Removed: "ResourceRemoved",
}

// accountChanged publishes an account change, whichever protocol made it.
// It runs with the account database locked and must not call it.
func (ev *eventService) accountChanged(c auth.Change) {
	r := resourceEvent(accountChangeKeys[c.Kind], accountPath(c.Account.ID), "ManagerAccount")
	r.ownerAccount = c.Account.ID
	ev.publish(r)
}

// publishedElsewhere lists the resources whose changes another source
// reports (the account database, a machine's event log) or that are not
// worth an event (logins).
func publishedElsewhere(path string) bool {
	for _, p := range []string{"/redfish/v1/AccountService/Accounts", "/redfish/v1/SessionService/Sessions"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	// Volumes: the machine's event log says when one is created or
	// deleted, at once or at the host reset that applies a staged change.
	rest, ok := strings.CutPrefix(path, "/redfish/v1/Systems/")
	_, rest, _ = strings.Cut(rest, "/")
	return ok && (rest == "Storage/1/Volumes" || strings.HasPrefix(rest, "Storage/1/Volumes/"))
}

// watch wraps a resource's handler: a successful PATCH publishes
// ResourceChanged if it changed the resource's representation (its ETag,
// as its GET renders it for an administrator, differs before and after:
// a PATCH that sets what is already set changes nothing and publishes
// nothing), a POST that creates a member (201 with Location)
// ResourceCreated, a DELETE ResourceRemoved, each about that resource.
func (ev *eventService) watch(pattern string, res *resource, h http.Handler) http.Handler {
	ev.routes[pattern] = res
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := r.Method
		if (m != http.MethodPatch && m != http.MethodPost && m != http.MethodDelete) || publishedElsewhere(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		var typ, before string
		switch m {
		case http.MethodDelete:
			typ, _ = ev.renderAsAdmin(res, r) // while it is still there
		case http.MethodPatch:
			_, before = ev.renderAsAdmin(res, r)
		}
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		switch {
		case m == http.MethodPatch && rec.status == http.StatusNoContent:
			typ, after := ev.renderAsAdmin(res, r)
			if before == "" || after != before {
				ev.publish(resourceEvent("ResourceChanged", r.URL.Path, typ))
			}
		case m == http.MethodPost && rec.status == http.StatusCreated && w.Header().Get("Location") != "":
			var body struct {
				Type string `json:"@odata.type"`
			}
			_ = json.Unmarshal(rec.body.Bytes(), &body)
			ev.publish(resourceEvent("ResourceCreated", w.Header().Get("Location"), schemaName(body.Type)))
		case m == http.MethodDelete && rec.status == http.StatusNoContent:
			ev.publish(resourceEvent("ResourceRemoved", r.URL.Path, typ))
		}
	})
}

// typeOf is the schema name of the resource r addresses, as its GET
// renders it for an administrator; "" when it cannot be rendered.
func (ev *eventService) typeOf(res *resource, r *http.Request) string {
	typ, _ := ev.renderAsAdmin(res, r)
	return typ
}

// renderAsAdmin renders the resource r addresses as its GET does for an
// administrator and returns its schema name and its ETag; both "" when
// it cannot be rendered.
func (ev *eventService) renderAsAdmin(res *resource, r *http.Request) (typ, etag string) {
	if res.get == nil {
		return "", ""
	}
	admin := auth.Principal{Account: auth.Account{UserName: "bmcd", Role: auth.RoleAdministrator, Enabled: true}}
	v, err := res.get(r.WithContext(auth.NewContext(r.Context(), admin)))
	if err != nil {
		return "", ""
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return "", ""
	}
	var doc struct {
		Type string `json:"@odata.type"`
	}
	_ = json.Unmarshal(raw, &doc)
	return schemaName(doc.Type), etagOf(raw)
}

// typeAt is the schema name of the resource at path; "" when there is none.
func (ev *eventService) typeAt(path string) string {
	path = strings.TrimRight(path, "/")
	rctx := chi.NewRouteContext()
	res := ev.routes[ev.s.mux.Find(rctx, http.MethodGet, path)]
	if res == nil {
		return ""
	}
	r, err := http.NewRequestWithContext(context.WithValue(context.Background(), chi.RouteCtxKey, rctx), http.MethodGet, path, nil)
	if err != nil {
		return ""
	}
	return ev.typeOf(res, r)
}

// messageIDPattern is the MessageId format SubmitTestEvent accepts
// (EventService v1_12_0).
var messageIDPattern = regexp.MustCompile(`^\w+\.\d+\.\d+\.\w+$`)

// statusRecorder notes a response's status and keeps the start of a 201's
// body (the created resource).
type statusRecorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status == http.StatusCreated && w.body.Len() < 64<<10 {
		w.body.Write(b[:min(len(b), 64<<10-w.body.Len())])
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// servedResourceTypes are the schemas whose resources events can be about:
// every non-collection type the service serves.
func servedResourceTypes() []string {
	var out []string
	for _, t := range servedTypes {
		name := schemaName(t)
		if strings.HasSuffix(name, "Collection") || slices.Contains([]string{"ActionInfo", "Message", "MessageRegistry", "MessageRegistryFile", "Event"}, name) ||
			slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// eventRegistryPrefixes are the registries events are stated in.
func eventRegistryPrefixes() []string {
	return []string{resourceEventRegistry.Prefix, logServiceRegistry.Prefix, managerEventRegistry.Prefix,
		updateRegistry.Prefix, bmcdRegistry.Prefix}
}

var eventSeverities = []string{"OK", "Warning", "Critical"}

func (s *Service) eventRoutes() {
	ev := s.events
	s.handle(eventServicePath, &resource{
		get:       ev.getService,
		patch:     ev.patchService,
		patchPriv: auth.PrivConfigureManager,
	})
	s.handle(eventServicePath+"/SubmitTestEventActionInfo", &resource{get: func(*http.Request) (any, error) {
		return submitTestEventActionInfo, nil
	}})
	s.handle(eventServicePath+"/Actions/EventService.SubmitTestEvent", &resource{
		post:     ev.submitTestEvent,
		postPriv: auth.PrivConfigureManager,
	})
	s.subscriptionRoutes()
	s.mux.Handle(sseURI, http.HandlerFunc(s.serveSSE))
}

func (ev *eventService) getService(*http.Request) (any, error) {
	ev.mu.Lock()
	st := ev.settings
	ev.mu.Unlock()
	state := "Enabled"
	if !st.ServiceEnabled {
		state = "Disabled"
	}
	return M{
		"@odata.type":                          "#EventService.v1_12_0.EventService",
		"@odata.id":                            eventServicePath,
		"Id":                                   "EventService",
		"Name":                                 "Event Service",
		"Status":                               status(state, "OK"),
		"ServiceEnabled":                       st.ServiceEnabled,
		"DeliveryRetryAttempts":                st.RetryAttempts,
		"DeliveryRetryIntervalSeconds":         st.RetryIntervalSeconds,
		"EventFormatTypes":                     []string{"Event"},
		"RegistryPrefixes":                     eventRegistryPrefixes(),
		"ResourceTypes":                        servedResourceTypes(),
		"Severities":                           eventSeverities,
		"ExcludeMessageId":                     true,
		"ExcludeRegistryPrefix":                true,
		"OriginResourcesSupported":             true,
		"SubordinateResourcesSupported":        true,
		"IncludeOriginOfConditionSupported":    false,
		"SSEIncludeOriginOfConditionSupported": false,
		"ServerSentEventUri":                   sseURI,
		// EventType is still filtered on but not advertised: the property is
		// deprecated (Event v1_3) and the DMTF Service Validator warns on it.
		"SSEFilterPropertiesSupported": M{
			"EventFormatType": true, "MessageId": true, "MetricReportDefinition": false,
			"OriginResource": true, "RegistryPrefix": true, "ResourceType": true, "SubordinateResources": true,
		},
		"Subscriptions": link{subscriptionsPath},
		"Actions": M{
			"#EventService.SubmitTestEvent": M{
				"target":              eventServicePath + "/Actions/EventService.SubmitTestEvent",
				"@Redfish.ActionInfo": eventServicePath + "/SubmitTestEventActionInfo",
			},
		},
	}, nil
}

// Writable EventService properties and their ranges.
const (
	maxRetryAttempts        = 20
	maxRetryIntervalSeconds = 3600
)

func (ev *eventService) patchService(r *http.Request) error {
	var b struct {
		ServiceEnabled               *bool `json:"ServiceEnabled"`
		DeliveryRetryAttempts        *int  `json:"DeliveryRetryAttempts" validate:"omitempty,min=0,max=20"`
		DeliveryRetryIntervalSeconds *int  `json:"DeliveryRetryIntervalSeconds" validate:"omitempty,min=1,max=3600"`
	}
	readOnly := func(n string) bool { return n != "Oem" }
	if _, err := decodeBody(r, &b, bodyKind{readOnly: readOnly}); err != nil {
		return err
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	next := ev.settings
	if b.ServiceEnabled != nil {
		next.ServiceEnabled = *b.ServiceEnabled
	}
	if b.DeliveryRetryAttempts != nil {
		next.RetryAttempts = *b.DeliveryRetryAttempts
	}
	if b.DeliveryRetryIntervalSeconds != nil {
		next.RetryIntervalSeconds = *b.DeliveryRetryIntervalSeconds
	}
	if err := ev.saveSettingsLocked(next); err != nil {
		return err
	}
	if !next.ServiceEnabled {
		// "existing SSE connections are terminated" (EventService schema)
		for _, d := range ev.subs {
			if d.sse != nil {
				d.cancel()
			}
		}
	}
	return nil
}

func (ev *eventService) saveSettingsLocked(st eventSettings) error {
	if ev.store != nil {
		if err := ev.store.Put(eventServiceBucket, "settings", &st); err != nil {
			return internalError(err)
		}
	}
	ev.settings = st
	return nil
}

// enabledLocked is the 409 for what a disabled (or closed) event service
// refuses: new SSE streams and test events.
func (ev *eventService) enabledLocked() error {
	if !ev.settings.ServiceEnabled || ev.closed {
		return apiErr(http.StatusConflict, "ServiceDisabled", eventServicePath)
	}
	return nil
}

var eventTypes = []string{"StatusChange", "ResourceUpdated", "ResourceAdded", "ResourceRemoved", "Alert", "Other"}

var submitTestEventActionInfo = M{
	"@odata.type": "#ActionInfo.v1_5_0.ActionInfo",
	"@odata.id":   eventServicePath + "/SubmitTestEventActionInfo",
	"Id":          "SubmitTestEventActionInfo",
	"Name":        "SubmitTestEvent Action Info",
	"Parameters": []M{
		{"Name": "MessageId", "Required": true, "DataType": "String"},
		{"Name": "MessageArgs", "Required": false, "DataType": "StringArray"},
		{"Name": "Message", "Required": false, "DataType": "String"},
		{"Name": "MessageSeverity", "Required": false, "DataType": "String", "AllowableValues": eventSeverities},
		{"Name": "Severity", "Required": false, "DataType": "String"},
		{"Name": "OriginOfCondition", "Required": false, "DataType": "String"},
		{"Name": "EventType", "Required": false, "DataType": "String", "AllowableValues": eventTypes},
		{"Name": "EventId", "Required": false, "DataType": "String"},
		{"Name": "EventTimestamp", "Required": false, "DataType": "String"},
		{"Name": "EventGroupId", "Required": false, "DataType": "Number"},
	},
}

// submitTestEvent implements EventService.SubmitTestEvent: the event is
// sent to every destination that selects it. EventId is always the
// service's own.
func (ev *eventService) submitTestEvent(w http.ResponseWriter, r *http.Request) error {
	const action = "EventService.SubmitTestEvent"
	var b struct {
		MessageID         *string  `json:"MessageId" validate:"required"`
		MessageArgs       []string `json:"MessageArgs"`
		Message           *string  `json:"Message"`
		MessageSeverity   *string  `json:"MessageSeverity" validate:"omitempty,oneof=OK Warning Critical"`
		Severity          *string  `json:"Severity"`
		OriginOfCondition *string  `json:"OriginOfCondition"`
		EventType         *string  `json:"EventType" validate:"omitempty,oneof=StatusChange ResourceUpdated ResourceAdded ResourceRemoved Alert Other"`
		EventID           *string  `json:"EventId"`
		EventTimestamp    *string  `json:"EventTimestamp"`
		EventGroupID      *int     `json:"EventGroupId"`
	}
	if _, err := decodeBody(r, &b, bodyKind{action: action}); err != nil {
		return err
	}
	if !messageIDPattern.MatchString(*b.MessageID) {
		return apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", *b.MessageID, "MessageId", action)
	}
	rec := eventRecord{MessageID: *b.MessageID, Args: b.MessageArgs, Severity: "OK", GroupID: b.EventGroupID}
	if b.EventTimestamp != nil {
		t, err := time.Parse(time.RFC3339, *b.EventTimestamp)
		if err != nil {
			return apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", *b.EventTimestamp, "EventTimestamp", action)
		}
		rec.Time = t.UTC()
	}
	if b.MessageSeverity != nil {
		rec.Severity = *b.MessageSeverity
	} else if b.Severity != nil && slices.Contains(eventSeverities, *b.Severity) {
		rec.Severity = *b.Severity
	}
	if b.EventType != nil {
		rec.EventType = *b.EventType
	}
	// The text is the client's, or the registry's when bmcd has the message.
	if b.Message != nil {
		rec.Message = *b.Message
	} else if reg := registryByPrefix(registryPrefixOf(rec.MessageID)); reg != nil {
		key := rec.MessageID[strings.LastIndexByte(rec.MessageID, '.')+1:]
		if _, ok := reg.messages[key]; ok {
			t := reg.fill(key, rec.Args...)
			rec.Message, rec.Args = t.Message, t.Args
		}
	}
	if b.OriginOfCondition != nil && *b.OriginOfCondition != "" {
		o := *b.OriginOfCondition
		if !strings.HasPrefix(o, "/redfish/v1") {
			return apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", o, "OriginOfCondition", action)
		}
		rec.Origin, rec.ResourceType = o, ev.typeAt(o)
	}
	ev.mu.Lock()
	err := ev.enabledLocked()
	ev.mu.Unlock()
	if err != nil {
		return err
	}
	ev.publish(rec)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
