package redfish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/queue"
)

// Event subscriptions (EventDestination v1_16_0): push subscriptions a
// client creates, persisted so they survive a restart, and one entry per
// open SSE stream (SubscriptionType SSE), which lives as long as the
// stream.

const subscriptionsBucket = "eventsubscriptions"

// Delivery retry policies (EventDestination DeliveryRetryPolicy).
const (
	policyTerminate = "TerminateAfterRetries"
	policySuspend   = "SuspendRetries"
	policyForever   = "RetryForever"
	policyBackoff   = "RetryForeverWithBackoff"
)

// httpHeader is one of a subscription's HttpHeaders: sent with every
// event, never shown.
type httpHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// subscriptionRecord is a push subscription as persisted.
type subscriptionRecord struct {
	ID                  string             `json:"id"`
	Destination         string             `json:"destination"`
	Context             string             `json:"context"`
	Protocol            string             `json:"protocol"`
	Filter              subscriptionFilter `json:"filter"`
	HTTPHeaders         []httpHeader       `json:"http_headers,omitempty"`
	DeliveryRetryPolicy string             `json:"delivery_retry_policy"`
	VerifyCertificate   bool               `json:"verify_certificate"`
	Suspended           bool               `json:"suspended"`
	Created             time.Time          `json:"created"`
}

// destination is a subscription at run time: its record, its queue and
// the goroutine (push) or handler (SSE) that empties the queue.
type destination struct {
	rec    subscriptionRecord // guarded by eventService.mu
	sse    *sseClient         // nil for a push subscription
	q      *queue.Queue[*eventRecord]
	ctx    context.Context // ends when the destination goes
	cancel context.CancelFunc
	done   chan struct{} // closed when its goroutine or handler returns
	wake   chan struct{} // a suspended subscription was resumed

	// Guarded by eventService.mu.
	failing     bool      // the last delivery attempt failed
	deleted     bool      // removed by a client or by its retry policy
	resumeAfter time.Time // on resume, older buffered events are not sent
}

func newDestination(parent context.Context, rec subscriptionRecord, sse *sseClient) *destination {
	ctx, cancel := context.WithCancel(parent)
	return &destination{rec: rec, sse: sse, q: queue.New[*eventRecord](destinationQueueSize),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1)}
}

// selects reports whether the destination wants r. Called with
// eventService.mu held.
func (d *destination) selects(r *eventRecord) bool {
	if d.sse != nil {
		return d.sse.filter.matches(r) && d.sse.mayKnow(r)
	}
	return !d.deleted && d.rec.Filter.matches(r)
}

func subscriptionPath(id string) string { return subscriptionsPath + "/" + id }

// render is the EventDestination; HttpHeaders are write-only and always
// read back empty. Called with eventService.mu held.
func (d *destination) render() M {
	f := d.rec.Filter
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	origins := make([]link, len(f.OriginResources))
	for i, o := range f.OriginResources {
		origins[i] = link{o}
	}
	state, health := "Enabled", "OK"
	if d.rec.Suspended {
		state = "Disabled"
	}
	if d.failing || d.rec.Suspended {
		health = "Warning"
	}
	path := subscriptionPath(d.rec.ID)
	v := M{
		"@odata.type":                 "#EventDestination.v1_16_0.EventDestination",
		"@odata.id":                   path,
		"Id":                          d.rec.ID,
		"Name":                        "Event Subscription " + d.rec.ID,
		"Destination":                 d.rec.Destination,
		"Protocol":                    d.rec.Protocol,
		"Context":                     d.rec.Context,
		"SubscriptionType":            "RedfishEvent",
		"EventFormatType":             "Event",
		"RegistryPrefixes":            list(f.RegistryPrefixes),
		"MessageIds":                  list(f.MessageIDs),
		"ExcludeRegistryPrefixes":     list(f.ExcludeRegistryPrefixes),
		"ExcludeMessageIds":           list(f.ExcludeMessageIDs),
		"ResourceTypes":               list(f.ResourceTypes),
		"OriginResources":             origins,
		"OriginResources@odata.count": len(origins),
		"SubordinateResources":        f.SubordinateResources,
		"Severities":                  list(f.Severities),
		"HttpHeaders":                 []any{},
		"Status":                      status(state, health),
	}
	if len(f.EventTypes) > 0 {
		v["EventTypes"] = f.EventTypes
	}
	if d.sse != nil {
		v["SubscriptionType"] = "SSE"
		return v
	}
	v["DeliveryRetryPolicy"] = d.rec.DeliveryRetryPolicy
	v["VerifyCertificate"] = d.rec.VerifyCertificate
	v["Actions"] = M{
		"#EventDestination.ResumeSubscription":  M{"target": path + "/Actions/EventDestination.ResumeSubscription"},
		"#EventDestination.SuspendSubscription": M{"target": path + "/Actions/EventDestination.SuspendSubscription"},
	}
	v["Oem"] = oem("EventDestination", M{"EventsQueued": d.q.Len(), "EventsDropped": d.q.Dropped()})
	return v
}

// load restores the settings and the push subscriptions.
func (ev *eventService) load() {
	if ev.store == nil {
		return
	}
	if _, err := ev.store.Get(eventServiceBucket, "settings", &ev.settings); err != nil {
		ev.log.Error("event service settings", "err", err)
	}
	err := ev.store.List(subscriptionsBucket, func(key string, raw []byte) error {
		var rec subscriptionRecord
		if err := json.Unmarshal(raw, &rec); err != nil || rec.ID != key {
			ev.log.Error("skipping unreadable event subscription", "id", key, "err", err)
			return nil
		}
		if n, err := strconv.ParseUint(rec.ID, 10, 64); err == nil && n >= ev.settings.NextID {
			ev.settings.NextID = n + 1
		}
		ev.startPush(rec)
		return nil
	})
	if err != nil {
		ev.log.Error("event subscriptions", "err", err)
	}
}

// startPush adds a push destination and its delivery goroutine. Called
// from New, or with ev.mu held.
func (ev *eventService) startPush(rec subscriptionRecord) *destination {
	d := newDestination(ev.ctx, rec, nil)
	ev.subs[rec.ID] = d
	ev.wg.Add(1)
	go ev.deliver(d)
	return d
}

// nextIDLocked hands out a subscription Id.
func (ev *eventService) nextIDLocked() string {
	id := ev.settings.NextID
	if id == 0 {
		id = 1
	}
	ev.settings.NextID = id + 1
	return strconv.FormatUint(id, 10)
}

func (s *Service) subscriptionRoutes() {
	ev := s.events
	s.handle(subscriptionsPath, &resource{
		get: func(*http.Request) (any, error) {
			ev.mu.Lock()
			ids := make([]string, 0, len(ev.subs))
			for id := range ev.subs {
				ids = append(ids, id)
			}
			ev.mu.Unlock()
			sort.Slice(ids, func(i, j int) bool {
				a, _ := strconv.ParseUint(ids[i], 10, 64)
				b, _ := strconv.ParseUint(ids[j], 10, 64)
				return a < b
			})
			for i, id := range ids {
				ids[i] = subscriptionPath(id)
			}
			return collection("EventDestinationCollection", "Event Subscriptions Collection", subscriptionsPath, ids), nil
		},
		post:     ev.createSubscription,
		postPriv: auth.PrivConfigureManager,
	})
	s.handle(subscriptionsPath+"/{sub}", &resource{
		get: func(r *http.Request) (any, error) {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			d, err := ev.lookupLocked(r)
			if err != nil {
				return nil, err
			}
			return d.render(), nil
		},
		patch:      ev.patchSubscription,
		patchPriv:  auth.PrivConfigureManager,
		delete:     ev.deleteSubscription,
		deletePriv: auth.PrivConfigureManager,
	})
	for _, a := range []string{"ResumeSubscription", "SuspendSubscription"} {
		s.handle(subscriptionsPath+"/{sub}/Actions/EventDestination."+a, &resource{
			post:     ev.suspendAction(a == "SuspendSubscription"),
			postPriv: auth.PrivConfigureManager,
		})
	}
}

func (ev *eventService) lookupLocked(r *http.Request) (*destination, error) {
	id := chi.URLParam(r, "sub")
	d, ok := ev.subs[id]
	if !ok || d.deleted {
		return nil, notFound("EventDestination", id)
	}
	return d, nil
}

// subscriptionBody is what a client may send to create a subscription.
type subscriptionBody struct {
	Destination             *string         `json:"Destination"`
	Protocol                *string         `json:"Protocol"`
	Context                 *string         `json:"Context"`
	SubscriptionType        *string         `json:"SubscriptionType" validate:"omitempty,oneof=RedfishEvent"`
	EventFormatType         *string         `json:"EventFormatType" validate:"omitempty,oneof=Event"`
	RegistryPrefixes        []string        `json:"RegistryPrefixes"`
	MessageIds              []string        `json:"MessageIds"` //nolint:revive // the Redfish property name
	ExcludeRegistryPrefixes []string        `json:"ExcludeRegistryPrefixes"`
	ExcludeMessageIds       []string        `json:"ExcludeMessageIds"` //nolint:revive // the Redfish property name
	ResourceTypes           []string        `json:"ResourceTypes"`
	OriginResources         []link          `json:"OriginResources"`
	SubordinateResources    *bool           `json:"SubordinateResources"`
	Severities              []string        `json:"Severities"`
	EventTypes              []string        `json:"EventTypes"`
	HTTPHeaders             json.RawMessage `json:"HttpHeaders"`
	DeliveryRetryPolicy     *string         `json:"DeliveryRetryPolicy" validate:"omitempty,oneof=TerminateAfterRetries SuspendRetries RetryForever RetryForeverWithBackoff"`
	VerifyCertificate       *bool           `json:"VerifyCertificate"`
}

// eventDestinationReadOnly are the properties a client reads but may not
// send.
var eventDestinationReadOnly = map[string]bool{
	"Id": true, "Name": true, "Description": true, "Status": true, "Actions": true, "Oem": true,
	"Certificates": true, "ClientCertificates": true, "OriginResources@odata.count": true,
	"Destination": true, "Protocol": true, "SubscriptionType": true, "EventFormatType": true,
	"RegistryPrefixes": true, "MessageIds": true, "ExcludeRegistryPrefixes": true, "ExcludeMessageIds": true,
	"ResourceTypes": true, "OriginResources": true, "SubordinateResources": true, "Severities": true,
	"EventTypes": true, "IncludeOriginOfCondition": true, "HeartbeatIntervalMinutes": true, "SendHeartbeat": true,
	"MetricReportDefinitions": true, "SNMP": true, "SyslogFilters": true, "BackupDestinations": true,
	"OEMProtocol": true, "OEMSubscriptionType": true,
}

// Bounds on HttpHeaders.
const (
	maxHTTPHeaders     = 32
	maxHTTPHeaderBytes = 8 << 10
)

var (
	headerNameRE  = regexp.MustCompile(`^[!#$%&'*+\-.^_|~0-9A-Za-z` + "`" + `]+$`)
	messageIDRule = regexp.MustCompile(`^[A-Za-z0-9]+(\.\d+\.\d+)?\.[A-Za-z0-9]+$`)
	// Headers the service sets itself, or that would break the request.
	reservedHeaders = []string{"connection", "content-length", "content-type", "host", "keep-alive", "proxy-connection",
		"te", "trailer", "transfer-encoding", "upgrade"}
)

// parseHTTPHeaders reads HttpHeaders: an array of objects whose members are
// header names and string values (the schema), or one such object (as
// gofish sends it). Values are never echoed in errors.
func parseHTTPHeaders(raw json.RawMessage) ([]httpHeader, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	typeErr := apiErr(http.StatusBadRequest, "PropertyValueTypeError", "(not shown)", "/HttpHeaders")
	var objs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil {
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil {
			return nil, typeErr
		}
		objs = []map[string]json.RawMessage{one}
	}
	var out []httpHeader
	size := 0
	for _, o := range objs {
		names := make([]string, 0, len(o))
		for n := range o {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			var v string
			if json.Unmarshal(o[n], &v) != nil {
				return nil, typeErr
			}
			if !headerNameRE.MatchString(n) || slices.Contains(reservedHeaders, strings.ToLower(n)) ||
				strings.ContainsAny(v, "\r\n\x00") {
				e := apiErr(http.StatusBadRequest, "PropertyValueFormatError", n, "/HttpHeaders")
				return nil, e
			}
			size += len(n) + len(v)
			out = append(out, httpHeader{Name: http.CanonicalHeaderKey(n), Value: v})
		}
	}
	if len(out) > maxHTTPHeaders || size > maxHTTPHeaderBytes {
		e := apiErr(http.StatusBadRequest, "PropertyValueFormatError", "(not shown)", "/HttpHeaders")
		return nil, e
	}
	return out, nil
}

// checkList holds every member of list to ok, naming the first that is
// not by its JSON pointer.
func checkList(prop string, list []string, ok func(string) bool) error {
	for i, v := range list {
		if !ok(v) {
			return apiErr(http.StatusBadRequest, "PropertyValueNotInList", v, fmt.Sprintf("/%s/%d", prop, i))
		}
	}
	return nil
}

// knownMessageID accepts "Prefix.Key" or "Prefix.Major.Minor.Key" of a
// message bmcd can send.
func knownMessageID(id string) bool {
	if !messageIDRule.MatchString(id) {
		return false
	}
	reg := registryByPrefix(registryPrefixOf(id))
	if reg == nil || !slices.Contains(subscribablePrefixes(), reg.Prefix) {
		return false
	}
	_, ok := reg.messages[id[strings.LastIndexByte(id, '.')+1:]]
	return ok
}

// subscribablePrefixes are the registries events come from: those of
// machine and resource events, and Base (EventBufferExceeded,
// SubscriptionTerminated).
func subscribablePrefixes() []string { return append([]string{"Base"}, eventRegistryPrefixes()...) }

// filterFromBody validates and collects the filter properties.
func filterFromBody(b *subscriptionBody) (subscriptionFilter, error) {
	f := subscriptionFilter{
		RegistryPrefixes: b.RegistryPrefixes, MessageIDs: b.MessageIds,
		ExcludeRegistryPrefixes: b.ExcludeRegistryPrefixes, ExcludeMessageIDs: b.ExcludeMessageIds,
		ResourceTypes: b.ResourceTypes, Severities: b.Severities, EventTypes: b.EventTypes,
		SubordinateResources: b.SubordinateResources != nil && *b.SubordinateResources,
	}
	prefixes, types := subscribablePrefixes(), servedResourceTypes()
	in := func(l []string) func(string) bool { return func(v string) bool { return slices.Contains(l, v) } }
	for _, c := range []struct {
		prop string
		list []string
		ok   func(string) bool
	}{
		{"RegistryPrefixes", f.RegistryPrefixes, in(prefixes)},
		{"ExcludeRegistryPrefixes", f.ExcludeRegistryPrefixes, in(prefixes)},
		{"MessageIds", f.MessageIDs, knownMessageID},
		{"ExcludeMessageIds", f.ExcludeMessageIDs, knownMessageID},
		{"ResourceTypes", f.ResourceTypes, in(types)},
		{"Severities", f.Severities, in(eventSeverities)},
		{"EventTypes", f.EventTypes, in(eventTypes)},
	} {
		if err := checkList(c.prop, c.list, c.ok); err != nil {
			return f, err
		}
	}
	for i, o := range b.OriginResources {
		if !strings.HasPrefix(o.ID, "/redfish/v1/") {
			return f, apiErr(http.StatusBadRequest, "PropertyValueFormatError", o.ID, fmt.Sprintf("/OriginResources/%d", i))
		}
		f.OriginResources = append(f.OriginResources, strings.TrimRight(o.ID, "/"))
	}
	return f, nil
}

// checkDestination accepts an absolute http or https URL.
func checkDestination(dest string) error {
	u, err := url.Parse(dest)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(dest) > 2048 {
		e := apiErr(http.StatusBadRequest, "PropertyValueFormatError", dest, "/Destination")
		return e
	}
	return nil
}

// createSubscription implements POST to the subscriptions collection.
func (ev *eventService) createSubscription(w http.ResponseWriter, r *http.Request) error {
	var b subscriptionBody
	if _, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return eventDestinationReadOnly[n] }}); err != nil {
		return err
	}
	missing := &apiError{status: http.StatusBadRequest}
	if b.Destination == nil {
		missing.msgs = append(missing.msgs, newMessage("CreateFailedMissingReqProperties", "Destination"))
	}
	if b.Protocol == nil {
		missing.msgs = append(missing.msgs, newMessage("CreateFailedMissingReqProperties", "Protocol"))
	}
	if len(missing.msgs) > 0 {
		return missing
	}
	if *b.Protocol != "Redfish" {
		return apiErr(http.StatusBadRequest, "PropertyValueNotInList", *b.Protocol, "/Protocol")
	}
	if err := checkDestination(*b.Destination); err != nil {
		return err
	}
	f, err := filterFromBody(&b)
	if err != nil {
		return err
	}
	headers, err := parseHTTPHeaders(b.HTTPHeaders)
	if err != nil {
		return err
	}
	rec := subscriptionRecord{Destination: *b.Destination, Protocol: "Redfish", Filter: f, HTTPHeaders: headers,
		DeliveryRetryPolicy: policySuspend, Created: time.Now().UTC()}
	if b.Context != nil {
		rec.Context = *b.Context
	}
	if b.DeliveryRetryPolicy != nil {
		rec.DeliveryRetryPolicy = *b.DeliveryRetryPolicy
	}
	if b.VerifyCertificate != nil {
		rec.VerifyCertificate = *b.VerifyCertificate
	}

	ev.mu.Lock()
	defer ev.mu.Unlock()
	push := 0
	for _, d := range ev.subs {
		if d.sse == nil {
			push++
		}
	}
	if push >= MaxSubscriptions {
		return apiErr(http.StatusBadRequest, "EventSubscriptionLimitExceeded")
	}
	st := ev.settings
	rec.ID = ev.nextIDLocked()
	if ev.store != nil {
		if err := ev.store.Put(subscriptionsBucket, rec.ID, &rec); err != nil {
			ev.settings = st
			return internalError(err)
		}
		if err := ev.store.Put(eventServiceBucket, "settings", &ev.settings); err != nil {
			ev.log.Error("event service settings", "err", err) // load recomputes NextID
		}
	}
	d := ev.startPush(rec)
	ev.log.Info("event subscription created", "id", rec.ID, "destination", rec.Destination)
	w.Header().Set("Location", subscriptionPath(rec.ID))
	writeJSON(w, http.StatusCreated, d.render())
	return nil
}

func (ev *eventService) patchSubscription(r *http.Request) error {
	var b struct {
		Context             *string         `json:"Context"`
		DeliveryRetryPolicy *string         `json:"DeliveryRetryPolicy" validate:"omitempty,oneof=TerminateAfterRetries SuspendRetries RetryForever RetryForeverWithBackoff"`
		VerifyCertificate   *bool           `json:"VerifyCertificate"`
		HTTPHeaders         json.RawMessage `json:"HttpHeaders"`
	}
	if _, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return eventDestinationReadOnly[n] }}); err != nil {
		return err
	}
	headers, err := parseHTTPHeaders(b.HTTPHeaders)
	if err != nil {
		return err
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	d, err := ev.lookupLocked(r)
	if err != nil {
		return err
	}
	if d.sse != nil && (b.DeliveryRetryPolicy != nil || b.VerifyCertificate != nil || b.HTTPHeaders != nil) {
		return apiErr(http.StatusBadRequest, "PropertyNotWritable", "/DeliveryRetryPolicy")
	}
	next := d.rec
	if b.Context != nil {
		next.Context = *b.Context
	}
	if b.DeliveryRetryPolicy != nil {
		next.DeliveryRetryPolicy = *b.DeliveryRetryPolicy
	}
	if b.VerifyCertificate != nil {
		next.VerifyCertificate = *b.VerifyCertificate
	}
	if b.HTTPHeaders != nil {
		next.HTTPHeaders = headers
	}
	if d.sse == nil && ev.store != nil {
		if err := ev.store.Put(subscriptionsBucket, next.ID, &next); err != nil {
			return internalError(err)
		}
	}
	d.rec = next
	return nil
}

func (ev *eventService) deleteSubscription(r *http.Request) error {
	ev.mu.Lock()
	d, err := ev.lookupLocked(r)
	if err == nil {
		err = ev.removeLocked(d)
	}
	ev.mu.Unlock()
	if err != nil {
		return err
	}
	if d.sse == nil {
		<-d.done // an HTTP post in flight is cancelled, so this is quick
	}
	return nil
}

// removeLocked deletes a subscription: from the store, from the
// collection, and stops what serves it. An SSE stream ends with a
// SubscriptionTerminated event.
func (ev *eventService) removeLocked(d *destination) error {
	if d.sse == nil && ev.store != nil {
		if err := ev.store.Delete(subscriptionsBucket, d.rec.ID); err != nil {
			return internalError(err)
		}
	}
	d.deleted = true
	delete(ev.subs, d.rec.ID)
	d.cancel()
	ev.log.Info("event subscription removed", "id", d.rec.ID, "destination", d.rec.Destination)
	return nil
}

// contextOf is d's Context as it is now (a client may PATCH it).
func (ev *eventService) contextOf(d *destination) string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return d.rec.Context
}

// suspendAction implements EventDestination.SuspendSubscription and
// EventDestination.ResumeSubscription (DeliverBufferedEventDuration: only
// buffered events younger than this are delivered; absent, all are).
func (ev *eventService) suspendAction(suspend bool) func(http.ResponseWriter, *http.Request) error {
	action := "EventDestination.ResumeSubscription"
	if suspend {
		action = "EventDestination.SuspendSubscription"
	}
	return func(w http.ResponseWriter, r *http.Request) error {
		var b struct {
			DeliverBufferedEventDuration *string `json:"DeliverBufferedEventDuration"`
		}
		if suspend {
			if _, err := decodeBody(r, &struct{}{}, bodyKind{action: action}); err != nil {
				return err
			}
		} else if _, err := decodeBody(r, &b, bodyKind{action: action}); err != nil {
			return err
		}
		var since time.Time
		if b.DeliverBufferedEventDuration != nil {
			dur, ok := parseISODuration(*b.DeliverBufferedEventDuration)
			if !ok {
				return apiErr(http.StatusBadRequest, "ActionParameterValueFormatError", *b.DeliverBufferedEventDuration,
					"DeliverBufferedEventDuration", action)
			}
			since = time.Now().Add(-dur)
		}
		ev.mu.Lock()
		defer ev.mu.Unlock()
		d, err := ev.lookupLocked(r)
		if err != nil {
			return err
		}
		if d.sse != nil {
			return apiErr(http.StatusBadRequest, "ActionNotSupported", action)
		}
		if err := ev.setSuspendedLocked(d, suspend); err != nil {
			return err
		}
		if !suspend {
			d.resumeAfter = since
		}
		select { // the delivery goroutine looks again at once
		case d.wake <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (ev *eventService) setSuspendedLocked(d *destination, on bool) error {
	if d.rec.Suspended == on {
		return nil
	}
	next := d.rec
	next.Suspended = on
	if ev.store != nil {
		if err := ev.store.Put(subscriptionsBucket, next.ID, &next); err != nil {
			return internalError(err)
		}
	}
	d.rec = next
	if on {
		ev.log.Warn("event subscription suspended", "id", d.rec.ID, "destination", d.rec.Destination)
	}
	return nil
}

var isoDurationRE = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads the ISO 8601 durations Redfish uses (PnDTnHnMnS).
func parseISODuration(s string) (time.Duration, bool) {
	m := isoDurationRE.FindStringSubmatch(s)
	if m == nil || s == "P" || strings.HasSuffix(s, "T") {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 32)
			if err != nil {
				return 0, false
			}
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		f, err := strconv.ParseFloat(m[4], 64)
		if err != nil || f > 1e9 {
			return 0, false
		}
		d += time.Duration(f * float64(time.Second))
	}
	return d, true
}
