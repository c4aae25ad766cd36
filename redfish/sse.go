package redfish

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// Server-Sent Events (DSP0266 "Server-sent events"): GET ServerSentEventUri
// with the credentials any resource takes answers text/event-stream and
// keeps the connection open; each event is "id: <EventId>" and "data: <an
// Event object>", a blank line after it. $filter selects events (see
// parseSSEFilter), Last-Event-ID replays the recent events a reconnecting
// client missed. While the stream is open it is an EventDestination
// (SubscriptionType SSE) in the subscriptions collection; deleting that
// resource, disabling the event service, or bmcd shutting down ends the
// stream after a Base SubscriptionTerminated event. The stream also ends
// once its credentials no longer hold (session deleted or expired, account
// disabled, password changed).

// sseClient is what an SSE destination selects events with.
type sseClient struct {
	filter  *sseFilter
	account auth.Account
}

// mayKnow holds account events to those who may read the account.
func (c *sseClient) mayKnow(r *eventRecord) bool {
	return r.ownerAccount == 0 || r.ownerAccount == c.account.ID || c.account.Role.Has(auth.PrivConfigureUsers)
}

// sseWriteTimeout bounds one write to a client that stopped reading.
const sseWriteTimeout = 10 * time.Second

// acceptsEventStream reports whether an Accept header admits
// text/event-stream (no header does).
func acceptsEventStream(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, r := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(r, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") && !strings.Contains(params, "q=0.") {
			continue // q=0: not acceptable
		}
		if mt == "text/event-stream" || mt == "text/*" || mt == "*/*" {
			return true
		}
	}
	return false
}

func (s *Service) serveSSE(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("OData-Version", "4.0")
	h.Set("Allow", "GET")
	h.Set("Cache-Control", "no-cache")
	if r.Method != http.MethodGet {
		writeError(w, apiErr(http.StatusMethodNotAllowed, "OperationNotAllowed"))
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if !acceptsEventStream(r.Header.Get("Accept")) {
		e := apiErr(http.StatusNotAcceptable, "HeaderInvalid", "Accept: "+r.Header.Get("Accept"))
		writeError(w, e)
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "$filter" && strings.HasPrefix(k, "$") {
			writeError(w, apiErr(http.StatusBadRequest, "QueryParameterUnsupported", k))
			return
		}
	}
	filter, err := parseSSEFilter(q.Get("$filter"))
	if err != nil {
		writeError(w, err)
		return
	}
	d, id, replay, err := s.events.openStream(r, p, filter)
	if err != nil {
		writeError(w, err)
		return
	}
	defer s.events.closeStream(d, id)

	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no") // reverse proxies must not buffer the stream
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	write := func(chunk string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)) // unsupported in tests' recorders
		if _, err := io.WriteString(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": " + subscriptionPath(id) + "\n\n") {
		return
	}
	for _, e := range replay {
		if !write(sseFrame(e, s.events.contextOf(d))) {
			return
		}
	}
	s.events.mu.Lock()
	hb, rc2 := s.events.heartbeat, s.events.recheck
	s.events.mu.Unlock()
	heartbeat := time.NewTicker(hb)
	defer heartbeat.Stop()
	recheck := time.NewTicker(rc2)
	defer recheck.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-d.ctx.Done():
			write(sseFrame(s.events.notice("SubscriptionTerminated"), s.events.contextOf(d)))
			return
		case <-d.q.Ready():
			for {
				e, ok := d.q.Pop()
				if !ok {
					break
				}
				if !write(sseFrame(e, s.events.contextOf(d))) {
					return
				}
			}
		case <-heartbeat.C:
			if !write(": heartbeat\n\n") {
				return
			}
		case <-recheck.C:
			if _, err := s.authenticate(r); err != nil {
				return
			}
		}
	}
}

// sseFrame is one event of the stream.
func sseFrame(e *eventRecord, ctx string) string {
	b, err := json.Marshal(e.payload(ctx))
	if err != nil { // cannot happen: the payload is plain data
		return ""
	}
	return fmt.Sprintf("id: %d\ndata: %s\n\n", e.Seq, b)
}

// openStream adds an SSE destination and returns its Id and the recent
// events after the client's Last-Event-ID that it selects, with no gap
// between them and what the destination's queue gets.
func (ev *eventService) openStream(r *http.Request, p auth.Principal, f *sseFilter) (*destination, string, []*eventRecord, error) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if err := ev.enabledLocked(); err != nil {
		return nil, "", nil, err
	}
	streams, unprivileged := 0, 0
	for _, d := range ev.subs {
		if d.sse != nil {
			streams++
			if !d.sse.account.Role.Has(auth.PrivConfigureManager) {
				unprivileged++
			}
		}
	}
	if streams >= MaxSSEStreams ||
		(!p.Account.Role.Has(auth.PrivConfigureManager) && unprivileged >= MaxSSEStreams-ReservedSSEStreams) {
		return nil, "", nil, apiErr(http.StatusBadRequest, "EventSubscriptionLimitExceeded")
	}
	rec := subscriptionRecord{ID: ev.nextIDLocked(), Destination: "redfish-sse://" + r.RemoteAddr, Protocol: "Redfish",
		Context: auth.RandomHex(16), Created: time.Now().UTC()}
	d := newDestination(ev.ctx, rec, &sseClient{filter: f, account: p.Account})
	ev.subs[rec.ID] = d
	var replay []*eventRecord
	if last, err := strconv.ParseUint(strings.TrimSpace(r.Header.Get("Last-Event-ID")), 10, 64); err == nil {
		for _, e := range ev.recent {
			if e.Seq > last && d.selects(e) {
				replay = append(replay, e)
			}
		}
	}
	ev.log.Debug("event stream opened", "subscription", rec.ID, "user", p.Account.UserName, "remote", r.RemoteAddr, "filter", f.String())
	return d, rec.ID, replay, nil
}

// closeStream removes SSE destination id whose handler returns.
func (ev *eventService) closeStream(d *destination, id string) {
	ev.mu.Lock()
	if !d.deleted {
		d.deleted = true
		delete(ev.subs, id)
	}
	ev.mu.Unlock()
	d.cancel()
	close(d.done)
	ev.log.Debug("event stream closed", "subscription", id)
}
