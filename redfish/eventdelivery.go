package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Push delivery: one goroutine per subscription posts its events, in
// order, to the Destination (DSP0266 "Eventing"). A failed post is retried
// DeliveryRetryAttempts times, DeliveryRetryIntervalSeconds apart; then the
// subscription's DeliveryRetryPolicy decides: SuspendRetries (the default)
// suspends it (Status.State Disabled, events keep queueing until
// EventDestination.ResumeSubscription), TerminateAfterRetries deletes it,
// RetryForever keeps retrying at the interval, RetryForeverWithBackoff
// doubles the interval up to an hour.

var errSuspended = errors.New("subscription suspended")

// maxBackoff caps RetryForeverWithBackoff's interval.
const maxBackoff = time.Hour

// deliver is the goroutine of push destination d; it returns when d's
// context ends (deleted, terminated, or the service closing).
func (ev *eventService) deliver(d *destination) {
	defer ev.wg.Done()
	defer close(d.done)
	var (
		pending  *eventRecord // popped, not yet delivered
		reported uint64       // drops already reported to the destination
	)
	for {
		suspended, since := ev.deliveryState(d)
		if !since.IsZero() {
			// Resumed with DeliverBufferedEventDuration: older buffered
			// events are not delivered.
			for pending == nil || pending.Time.Before(since) {
				var ok bool
				if pending, ok = d.q.Pop(); !ok {
					pending = nil
					break
				}
			}
		}
		if !suspended && pending == nil {
			if n := d.q.Dropped(); n > reported {
				reported = n
				// Best effort, once: the destination learns it missed some.
				_ = ev.post(d.ctx, ev.recordOf(d), ev.notice("EventBufferExceeded"))
			}
			pending, _ = d.q.Pop()
		}
		if suspended || pending == nil {
			select {
			case <-d.ctx.Done():
				return
			case <-d.q.Ready():
			case <-d.wake:
			}
			continue
		}
		err := ev.send(d, pending)
		switch {
		case err == nil:
			pending = nil
		case d.ctx.Err() != nil:
			return
		case errors.Is(err, errSuspended):
			// kept for the resume
		default:
			if ev.retriesExhausted(d, err) {
				return
			}
		}
	}
}

// deliveryState reads whether d is suspended, and takes the cut-off a
// resume set.
func (ev *eventService) deliveryState(d *destination) (suspended bool, since time.Time) {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	since, d.resumeAfter = d.resumeAfter, time.Time{}
	return d.rec.Suspended, since
}

func (ev *eventService) recordOf(d *destination) subscriptionRecord {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return d.rec
}

// notice is a Base registry event for one destination only (not
// published): EventBufferExceeded, SubscriptionTerminated.
func (ev *eventService) notice(key string) *eventRecord {
	m := newMessage(key)
	ev.mu.Lock()
	ev.seq++
	seq := ev.seq
	ev.mu.Unlock()
	return &eventRecord{Seq: seq, Time: time.Now().UTC(), EventType: "Other", MessageID: m.MessageID, Message: m.Message,
		Args: m.MessageArgs, Severity: m.MessageSeverity, Resolution: m.Resolution}
}

// send posts r to d, retrying as the event service's settings and d's
// policy say. It returns nil once delivered, errSuspended if d was
// suspended meanwhile, d's context error, or the last failure once the
// retries are spent.
func (ev *eventService) send(d *destination, r *eventRecord) error {
	for try := 1; ; try++ {
		ev.mu.Lock()
		rec := d.rec
		attempts := 1 + ev.settings.RetryAttempts
		interval := time.Duration(ev.settings.RetryIntervalSeconds) * ev.retryUnit
		ev.mu.Unlock()
		if rec.Suspended {
			return errSuspended
		}
		err := ev.post(d.ctx, rec, r)
		ev.mu.Lock()
		d.failing = err != nil
		ev.mu.Unlock()
		if err == nil {
			return nil
		}
		if d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		level := ev.log.Debug
		if try == 1 {
			level = ev.log.Warn
		}
		level("event delivery failed", "subscription", rec.ID, "destination", rec.Destination, "attempt", try, "err", err)
		forever := rec.DeliveryRetryPolicy == policyForever || rec.DeliveryRetryPolicy == policyBackoff
		if try >= attempts && !forever {
			return err
		}
		wait := interval
		if rec.DeliveryRetryPolicy == policyBackoff {
			wait = min(interval<<min(try-1, 12), maxBackoff)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-d.wake: // suspended or resumed: look again at once
			t.Stop()
		case <-d.ctx.Done():
			t.Stop()
			return d.ctx.Err()
		}
	}
}

// retriesExhausted applies d's policy after a delivery failed for good;
// it reports whether d is gone.
func (ev *eventService) retriesExhausted(d *destination, err error) bool {
	ev.mu.Lock()
	if d.rec.DeliveryRetryPolicy == policyTerminate {
		ev.log.Warn("event subscription terminated after failed deliveries", "subscription", d.rec.ID,
			"destination", d.rec.Destination, "err", err)
		gone := d.deleted
		if !gone {
			if rerr := ev.removeLocked(d); rerr != nil {
				ev.log.Error("terminate event subscription", "subscription", d.rec.ID, "err", rerr)
			}
		}
		id := d.rec.ID
		ev.mu.Unlock()
		if !gone {
			ev.publish(resourceEvent("ResourceRemoved", subscriptionPath(id), "EventDestination"))
		}
		return true
	}
	if serr := ev.setSuspendedLocked(d, true); serr != nil {
		ev.log.Error("suspend event subscription", "subscription", d.rec.ID, "err", serr)
	}
	ev.mu.Unlock()
	return false
}

// post sends one event to rec's Destination: any 2xx answer is success.
func (ev *eventService) post(ctx context.Context, rec subscriptionRecord, r *eventRecord) error {
	body, err := json.Marshal(r.payload(rec.Context))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rec.Destination, bytes.NewReader(body))
	if err != nil {
		return err
	}
	for _, h := range rec.HTTPHeaders {
		req.Header.Set(h.Name, h.Value)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("OData-Version", "4.0")
	req.Header.Set("User-Agent", "bmcd")
	c := ev.insecure
	if rec.VerifyCertificate {
		c = ev.verifying
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP status %d", resp.StatusCode)
	}
	return nil
}
