package redfish

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/internal/auth"
)

// fast shortens the event service's clocks: a retry interval second is a
// millisecond, heartbeats and credential checks come every 50 ms.
func fast(e *env) *env {
	e.svc.events.setTiming(time.Millisecond, 50*time.Millisecond, 20*time.Millisecond)
	return e
}

// sink is an event destination on 127.0.0.1 that records every Event
// posted to it; the first failN posts (or all, with failAll) get a 500.
type sink struct {
	*httptest.Server
	mu      sync.Mutex
	got     []map[string]any
	headers []http.Header
	posts   int
	failN   int
	failAll bool
	arrived chan struct{}
}

func newSink(t *testing.T) *sink {
	s := &sink{arrived: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.posts++
		if s.failAll || s.failN > 0 {
			s.failN--
			s.mu.Unlock()
			http.Error(w, "not now", http.StatusInternalServerError)
			return
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Errorf("sink got non-JSON %q", body)
		}
		s.got = append(s.got, v)
		s.headers = append(s.headers, r.Header.Clone())
		s.mu.Unlock()
		select {
		case s.arrived <- struct{}{}:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) setFail(n int, all bool) {
	s.mu.Lock()
	s.failN, s.failAll = n, all
	s.mu.Unlock()
}

func (s *sink) postCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.posts
}

// events returns what arrived so far.
func (s *sink) events() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.got...)
}

// waitFor waits until an event with MessageId msgID arrived, within d.
func (s *sink) waitFor(t *testing.T, msgID string, d time.Duration) map[string]any {
	t.Helper()
	return s.waitAbout(t, msgID, "", d)
}

// waitAbout waits for an event with MessageId msgID whose
// OriginOfCondition starts with origin.
func (s *sink) waitAbout(t *testing.T, msgID, origin string, d time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, v := range s.events() {
			r := recordOf(v)
			if r["MessageId"] == msgID && strings.HasPrefix(fmt.Sprint(at(r, "OriginOfCondition", "@odata.id")), origin) {
				return v
			}
		}
		select {
		case <-s.arrived:
		case <-time.After(5 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no %s within %s; got %v", msgID, d, messageIDsOf(s.events()))
		}
	}
}

func recordOf(ev map[string]any) map[string]any {
	r, _ := at(ev, "Events", 0).(map[string]any)
	return r
}

func messageIDsOf(evs []map[string]any) []string {
	var out []string
	for _, v := range evs {
		out = append(out, fmt.Sprint(recordOf(v)["MessageId"]))
	}
	return out
}

func (e *env) subscribe(body M) string {
	e.tb.Helper()
	r := e.post(subscriptionsPath, body).want(http.StatusCreated)
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, subscriptionsPath+"/") || r.obj()["@odata.id"] != loc {
		e.tb.Fatalf("201 with Location %q, body %s", loc, r.Body)
	}
	return loc
}

func TestEventServiceResource(t *testing.T) {
	e := newEnv(t)
	if at(e.get("/redfish/v1").obj(), "EventService", "@odata.id") != eventServicePath {
		t.Error("ServiceRoot does not link the EventService")
	}
	v := e.get(eventServicePath).obj()
	for k, want := range map[string]any{
		"ServiceEnabled": true, "DeliveryRetryAttempts": float64(3), "DeliveryRetryIntervalSeconds": float64(30),
		"ServerSentEventUri": sseURI,
	} {
		if v[k] != want {
			t.Errorf("%s = %v, want %v", k, v[k], want)
		}
	}
	if at(v, "Subscriptions", "@odata.id") != subscriptionsPath ||
		at(v, "Actions", "#EventService.SubmitTestEvent", "@Redfish.ActionInfo") != eventServicePath+"/SubmitTestEventActionInfo" ||
		at(v, "SSEFilterPropertiesSupported", "MessageId") != true || !contains(v["RegistryPrefixes"].([]any), any("ResourceEvent")) ||
		!contains(v["ResourceTypes"].([]any), any("ComputerSystem")) || !contains(v["EventFormatTypes"].([]any), any("Event")) {
		t.Errorf("EventService %v", v)
	}
	// The deprecated EventType is not advertised.
	if _, ok := v["SSEFilterPropertiesSupported"].(map[string]any)["EventType"]; ok {
		t.Errorf("SSEFilterPropertiesSupported lists the deprecated EventType: %v", v["SSEFilterPropertiesSupported"])
	}
	e.get(eventServicePath + "/SubmitTestEventActionInfo").want(http.StatusOK)

	e.patch(eventServicePath, M{"DeliveryRetryIntervalSeconds": 5, "DeliveryRetryAttempts": 0}).want(http.StatusNoContent)
	e.patch(eventServicePath, M{"DeliveryRetryIntervalSeconds": 0}).wantError(http.StatusBadRequest, "PropertyValueOutOfRange")
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": 21}).wantError(http.StatusBadRequest, "PropertyValueOutOfRange")
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": "3"}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	e.patch(eventServicePath, M{"ServerSentEventUri": "/x"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(eventServicePath, M{"Bogus": 1}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": 1}, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	v = e.get(eventServicePath).obj()
	if v["DeliveryRetryIntervalSeconds"] != float64(5) || v["DeliveryRetryAttempts"] != float64(0) {
		t.Errorf("after PATCH: %v %v", v["DeliveryRetryIntervalSeconds"], v["DeliveryRetryAttempts"])
	}
	// The settings survive a restart.
	svc := New(Config{Accounts: e.accounts, Store: e.db, Log: e.svc.log})
	defer svc.Close()
	if st := svc.events.settings; st.RetryIntervalSeconds != 5 || st.RetryAttempts != 0 || !st.ServiceEnabled {
		t.Errorf("settings after restart: %+v", st)
	}
}

func TestSubscriptionCreateErrors(t *testing.T) {
	e := newEnv(t)
	ok := func(extra M) M {
		b := M{"Destination": "http://127.0.0.1:9/events", "Protocol": "Redfish"}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		arg  string // the first message's first argument, when it matters
	}{
		{"no destination", M{"Protocol": "Redfish"}, 400, "CreateFailedMissingReqProperties", "Destination"},
		{"no protocol", M{"Destination": "http://127.0.0.1/"}, 400, "CreateFailedMissingReqProperties", "Protocol"},
		{"protocol FTP", ok(M{"Protocol": "FTP"}), 400, "PropertyValueNotInList", "FTP"},
		{"destination ftp", ok(M{"Destination": "ftp://127.0.0.1/x"}), 400, "PropertyValueFormatError", "ftp://127.0.0.1/x"},
		{"destination relative", ok(M{"Destination": "/events"}), 400, "PropertyValueFormatError", "/events"},
		{"destination with user", ok(M{"Destination": "http://u:p@127.0.0.1/"}), 400, "PropertyValueFormatError", ""},
		{"destination number", ok(M{"Destination": 5}), 400, "PropertyValueTypeError", ""},
		{"unknown registry", ok(M{"RegistryPrefixes": []string{"ResourceEvent", "Nope"}}), 400, "PropertyValueNotInList", "Nope"},
		{"unknown message", ok(M{"MessageIds": []string{"ResourceEvent.NoSuchMessage"}}), 400, "PropertyValueNotInList", "ResourceEvent.NoSuchMessage"},
		{"malformed message", ok(M{"MessageIds": []string{"ResourcePoweredOn"}}), 400, "PropertyValueNotInList", ""},
		{"versioned resource type", ok(M{"ResourceTypes": []string{"ComputerSystem.v1_27_0"}}), 400, "PropertyValueNotInList", ""},
		{"origin outside", ok(M{"OriginResources": []M{{"@odata.id": "http://elsewhere/x"}}}), 400, "PropertyValueFormatError", ""},
		{"origin as string", ok(M{"OriginResources": []string{"/redfish/v1/Systems/0"}}), 400, "PropertyValueTypeError", ""},
		{"severity", ok(M{"Severities": []string{"Informational"}}), 400, "PropertyValueNotInList", "Informational"},
		{"event type", ok(M{"EventTypes": []string{"MetricReport"}}), 400, "PropertyValueNotInList", "MetricReport"},
		{"policy", ok(M{"DeliveryRetryPolicy": "Sometimes"}), 400, "PropertyValueNotInList", "Sometimes"},
		{"format", ok(M{"EventFormatType": "MetricReport"}), 400, "PropertyValueNotInList", ""},
		{"subscription type", ok(M{"SubscriptionType": "SSE"}), 400, "PropertyValueNotInList", ""},
		{"read-only", ok(M{"Status": M{}}), 400, "PropertyNotWritable", ""},
		{"unknown", ok(M{"Bogus": 1}), 400, "PropertyUnknown", ""},
		{"header reserved", ok(M{"HttpHeaders": []M{{"Content-Type": "text/plain"}}}), 400, "PropertyValueFormatError", "Content-Type"},
		{"header newline", ok(M{"HttpHeaders": []M{{"X-A": "1\r\nX-B: 2"}}}), 400, "PropertyValueFormatError", "X-A"},
		{"header name", ok(M{"HttpHeaders": []M{{"X A": "1"}}}), 400, "PropertyValueFormatError", "X A"},
		{"header value type", ok(M{"HttpHeaders": []M{{"X-A": 1}}}), 400, "PropertyValueTypeError", "(not shown)"},
		{"headers not objects", ok(M{"HttpHeaders": "X-A: 1"}), 400, "PropertyValueTypeError", "(not shown)"},
		{"operator", nil, 403, "InsufficientPrivilege", ""},
		{"empty", "", 400, "EmptyJSON", ""},
	} {
		var r *resp
		if tc.body == nil {
			r = e.post(subscriptionsPath, ok(nil), asOperator())
		} else {
			r = e.post(subscriptionsPath, tc.body)
		}
		r.wantError(tc.code, tc.key)
		if tc.arg != "" && r.args()[0] != tc.arg {
			t.Errorf("%s: args %v, want %q first", tc.name, r.args(), tc.arg)
		}
		if strings.Contains(string(r.Body), "1\\r\\nX-B") || strings.Contains(string(r.Body), "text/plain") {
			t.Errorf("%s: a header value is echoed: %s", tc.name, r.Body)
		}
	}
	if n := at(e.get(subscriptionsPath).obj(), "Members@odata.count"); n != float64(0) {
		t.Errorf("%v subscriptions after refused creates", n)
	}
}

func TestSubscriptionLifecycle(t *testing.T) {
	e := newEnv(t)
	loc := e.subscribe(M{"Destination": "https://127.0.0.1:9/events", "Protocol": "Redfish", "Context": "ctx-1",
		"RegistryPrefixes": []string{"ResourceEvent"}, "ResourceTypes": []string{"ComputerSystem"},
		"OriginResources": []M{{"@odata.id": "/redfish/v1/Systems/0/"}}, "SubordinateResources": true,
		"MessageIds": []string{"Bmcd.1.0.HostBootStarted"}, "Severities": []string{"OK"},
		"HttpHeaders": []M{{"Authorization": "Bearer s3cret"}}, "DeliveryRetryPolicy": "RetryForever", "VerifyCertificate": true})
	v := e.get(loc).obj()
	for k, want := range map[string]any{
		"Destination": "https://127.0.0.1:9/events", "Context": "ctx-1", "Protocol": "Redfish", "SubscriptionType": "RedfishEvent",
		"EventFormatType": "Event", "SubordinateResources": true, "DeliveryRetryPolicy": "RetryForever", "VerifyCertificate": true,
	} {
		if v[k] != want {
			t.Errorf("%s = %v, want %v", k, v[k], want)
		}
	}
	if len(v["HttpHeaders"].([]any)) != 0 || strings.Contains(string(e.get(loc).Body), "s3cret") {
		t.Errorf("HttpHeaders read back: %v", v["HttpHeaders"])
	}
	if at(v, "OriginResources", 0, "@odata.id") != "/redfish/v1/Systems/0" || at(v, "Status", "State") != "Enabled" {
		t.Errorf("subscription %v", v)
	}
	if at(e.get(subscriptionsPath).obj(), "Members", 0, "@odata.id") != loc {
		t.Error("collection does not list the subscription")
	}
	e.get(loc, asReader()).want(http.StatusOK)

	e.patch(loc, M{"Context": "ctx-2", "DeliveryRetryPolicy": "TerminateAfterRetries", "HttpHeaders": []M{}}).want(http.StatusNoContent)
	e.patch(loc, M{"Destination": "http://127.0.0.1/"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(loc, M{"Context": 1}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	e.patch(loc, M{"Context": "x"}, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	v = e.get(loc).obj()
	if v["Context"] != "ctx-2" || v["DeliveryRetryPolicy"] != "TerminateAfterRetries" {
		t.Errorf("after PATCH %v", v)
	}
	e.get(subscriptionsPath+"/999").wantError(http.StatusNotFound, "ResourceNotFound")

	// A restart keeps it, with its headers.
	svc := New(Config{Accounts: e.accounts, Store: e.db, Log: e.svc.log})
	id := strings.TrimPrefix(loc, subscriptionsPath+"/")
	svc.events.mu.Lock()
	d := svc.events.subs[id]
	svc.events.mu.Unlock()
	if d == nil || d.rec.Context != "ctx-2" || len(d.rec.HTTPHeaders) != 0 || d.rec.Filter.OriginResources[0] != "/redfish/v1/Systems/0" {
		t.Errorf("after restart: %+v", d)
	}
	svc.Close()

	e.delete(loc, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.delete(loc).want(http.StatusNoContent)
	e.get(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.delete(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	svc = New(Config{Accounts: e.accounts, Store: e.db, Log: e.svc.log})
	if n := len(svc.events.subs); n != 0 {
		t.Errorf("%d subscriptions after delete and restart", n)
	}
	svc.Close()

	// At most MaxSubscriptions.
	for i := 0; i < MaxSubscriptions; i++ {
		e.subscribe(M{"Destination": "http://127.0.0.1:9/e" + strconv.Itoa(i), "Protocol": "Redfish"})
	}
	e.post(subscriptionsPath, M{"Destination": "http://127.0.0.1:9/x", "Protocol": "Redfish"}).
		wantError(http.StatusBadRequest, "EventSubscriptionLimitExceeded")
	// New Ids never reuse deleted ones.
	if at(e.get(subscriptionsPath).obj(), "Members", 0, "@odata.id") == loc {
		t.Error("a deleted subscription's Id was reused")
	}
}

// TestPushDelivery: machine, resource and account events reach a
// subscriber on 127.0.0.1 within a second, with the subscription's Context
// and headers, selected by its filter.
func TestPushDelivery(t *testing.T) {
	e := fast(newEnv(t))
	img := newImageServer(t)
	all, power := newSink(t), newSink(t)
	e.subscribe(M{"Destination": all.URL + "/all", "Protocol": "Redfish", "Context": "everything",
		"HttpHeaders": M{"X-Token": "s3cret"}}) // one object, as gofish sends it
	e.subscribe(M{"Destination": power.URL, "Protocol": "Redfish", "RegistryPrefixes": []string{"ResourceEvent"},
		"ResourceTypes": []string{"ComputerSystem"}})

	start := time.Now()
	e.post(reset0, M{"ResetType": "On"}).want(http.StatusNoContent)
	on := all.waitFor(t, "ResourceEvent.1.4.ResourcePoweredOn", time.Second)
	t.Logf("power-on event after %s", time.Since(start))
	rec := recordOf(on)
	if on["@odata.type"] != "#Event.v1_13_0.Event" || on["Context"] != "everything" || rec["EventType"] != "Other" ||
		at(rec, "OriginOfCondition", "@odata.id") != sys0 || rec["MessageSeverity"] != "OK" || rec["EventId"] != on["Id"] ||
		!strings.HasPrefix(fmt.Sprint(at(rec, "LogEntry", "@odata.id")), sys0+"/LogServices/EventLog/Entries/") {
		t.Errorf("power-on event %v", on)
	}
	// The entry it links to states the same.
	entry := e.get(at(rec, "LogEntry", "@odata.id").(string)).obj()
	if entry["MessageId"] != rec["MessageId"] || entry["Message"] != rec["Message"] {
		t.Errorf("log entry %v, event %v", entry, rec)
	}
	all.waitFor(t, "Bmcd.1.0.HostBootStarted", time.Second)
	power.waitFor(t, "ResourceEvent.1.4.ResourcePoweredOn", time.Second)

	e.post(mgrCD+insertA, M{"Image": img.URL + "/ok.iso"}).want(http.StatusNoContent)
	ins := recordOf(all.waitFor(t, "Bmcd.1.0.VirtualMediaInserted", time.Second))
	if at(ins, "OriginOfCondition", "@odata.id") != mgrCD || ins["MessageArgs"].([]any)[0] != img.URL+"/ok.iso" {
		t.Errorf("insert event %v", ins)
	}
	e.post(mgrCD+ejectA, M{}).want(http.StatusNoContent)
	all.waitFor(t, "Bmcd.1.0.VirtualMediaEjected", time.Second)
	e.patch(sys0, M{"Boot": M{"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}}).want(http.StatusNoContent)
	all.waitFor(t, "Bmcd.1.0.BootSourceOverrideSet", time.Second)
	e.patch(sys0+"/BootOptions/Boot0005", M{"BootOptionEnabled": false}).want(http.StatusNoContent)
	if r := recordOf(all.waitFor(t, "Bmcd.1.0.BootOptionEnabledChanged", time.Second)); at(r, "OriginOfCondition", "@odata.id") != sys0+"/BootOptions/Boot0005" {
		t.Errorf("BootOptionEnabledChanged %v", r)
	}
	changed := recordOf(all.waitAbout(t, "ResourceEvent.1.4.ResourceChanged", sys0, time.Second))
	if changed["Message"] != "One or more resource properties have changed." {
		t.Errorf("ResourceChanged %v", changed)
	}
	loc := e.post(acctsURI, M{"UserName": "newbie", "Password": "newbie-pw1", "RoleId": "ReadOnly"}).want(http.StatusCreated).Header.Get("Location")
	all.waitAbout(t, "ResourceEvent.1.4.ResourceCreated", loc, time.Second)
	// The second subscription's creation was an event for the first.
	all.waitAbout(t, "ResourceEvent.1.4.ResourceCreated", subscriptionsPath+"/", time.Second)

	// Headers and content type on every post; event numbers increase.
	all.mu.Lock()
	h := all.headers[0]
	all.mu.Unlock()
	if h.Get("X-Token") != "s3cret" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("posted with headers %v", h)
	}
	last := 0
	for _, v := range all.events() {
		n, _ := strconv.Atoi(fmt.Sprint(v["Id"]))
		if n <= last {
			t.Errorf("event ids not increasing: %v", messageIDsOf(all.events()))
		}
		last = n
	}
	// The filtered subscriber got power events of systems only.
	for _, v := range power.events() {
		if r := recordOf(v); !strings.HasPrefix(fmt.Sprint(r["MessageId"]), "ResourceEvent.") ||
			at(r, "OriginOfCondition", "@odata.id") != sys0 {
			t.Errorf("filtered subscriber got %v", r)
		}
	}
}

func TestSubmitTestEvent(t *testing.T) {
	e := fast(newEnv(t))
	s := newSink(t)
	e.subscribe(M{"Destination": s.URL, "Protocol": "Redfish", "ResourceTypes": []string{"ComputerSystem"}})
	const action = eventServicePath + "/Actions/EventService.SubmitTestEvent"
	e.post(action, M{"MessageId": "ResourceEvent.1.4.ResourceStateChanged", "MessageArgs": []string{"/redfish/v1/Systems/1", "Testing"},
		"OriginOfCondition": "/redfish/v1/Systems/1", "MessageSeverity": "Warning", "EventGroupId": 7,
		"EventTimestamp": "2026-01-02T03:04:05Z", "EventType": "Alert"}).want(http.StatusNoContent)
	rec := recordOf(s.waitFor(t, "ResourceEvent.1.4.ResourceStateChanged", time.Second))
	if rec["Message"] != "The state of resource '/redfish/v1/Systems/1' has changed to Testing." || rec["MessageSeverity"] != "Warning" ||
		rec["EventGroupId"] != float64(7) || rec["EventTimestamp"] != "2026-01-02T03:04:05Z" || rec["EventType"] != "Alert" {
		t.Errorf("test event %v", rec)
	}
	// A test event about no resource does not pass a ResourceTypes filter.
	e.post(action, M{"MessageId": "Contoso.1.0.Hello", "Message": "hi"}).want(http.StatusNoContent)
	for _, tc := range []struct {
		body M
		key  string
	}{
		{M{}, "ActionParameterMissing"},
		{M{"MessageId": "nodots"}, "ActionParameterValueFormatError"},
		{M{"MessageId": "A.1.0.B", "EventType": "Bad"}, "ActionParameterValueNotInList"},
		{M{"MessageId": "A.1.0.B", "MessageSeverity": "Informational"}, "ActionParameterValueNotInList"},
		{M{"MessageId": "A.1.0.B", "EventTimestamp": "yesterday"}, "ActionParameterValueFormatError"},
		{M{"MessageId": "A.1.0.B", "OriginOfCondition": "http://x/y"}, "ActionParameterValueFormatError"},
		{M{"MessageId": "A.1.0.B", "Bogus": 1}, "ActionParameterUnknown"},
		{M{"MessageId": 5}, "ActionParameterValueTypeError"},
	} {
		e.post(action, tc.body).wantError(http.StatusBadRequest, tc.key)
	}
	e.post(action, M{"MessageId": "A.1.0.B"}, asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	time.Sleep(50 * time.Millisecond)
	if ids := messageIDsOf(s.events()); len(ids) != 1 {
		t.Errorf("filtered subscriber got %v", ids)
	}
}

func TestDeliveryRetries(t *testing.T) {
	e := fast(newEnv(t))
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": 2, "DeliveryRetryIntervalSeconds": 1}).want(http.StatusNoContent)
	const test = eventServicePath + "/Actions/EventService.SubmitTestEvent"
	submit := func(n int) {
		t.Helper()
		e.post(test, M{"MessageId": "Test.1.0.Event", "Message": strconv.Itoa(n)}).want(http.StatusNoContent)
	}

	// Two failures, then success: delivered on the third try. (Resource
	// events, such as this subscription's creation, are not wanted here.)
	s := newSink(t)
	s.setFail(2, false)
	loc := e.subscribe(M{"Destination": s.URL, "Protocol": "Redfish", "ExcludeRegistryPrefixes": []string{"ResourceEvent"}})
	submit(1)
	s.waitFor(t, "Test.1.0.Event", 5*time.Second)
	if n := s.postCount(); n != 3 {
		t.Errorf("%d posts for one event after two failures", n)
	}
	eventually(t, "health after a recovered failure", func() bool {
		st := at(e.get(loc).obj(), "Status")
		return at(st, "State") == "Enabled" && at(st, "Health") == "OK"
	})

	// Failing for good: SuspendRetries (the default) suspends; events queue,
	// the oldest dropped beyond the bound; a resume delivers them in order
	// after an EventBufferExceeded.
	s.setFail(0, true)
	submit(2)
	eventually(t, "suspension", func() bool { return at(e.get(loc).obj(), "Status", "State") == "Disabled" })
	if h := at(e.get(loc).obj(), "Status", "Health"); h != "Warning" {
		t.Errorf("suspended with Health %v", h)
	}
	for i := 3; i < 3+destinationQueueSize+10; i++ {
		submit(i)
	}
	v := e.get(loc).obj()
	if at(v, "Oem", "bmcd", "EventsDropped") != float64(10) || at(v, "Oem", "bmcd", "EventsQueued") != float64(destinationQueueSize) {
		t.Errorf("queue while suspended: %v", v["Oem"])
	}
	posts := s.postCount()
	time.Sleep(30 * time.Millisecond)
	if s.postCount() != posts {
		t.Error("posts while suspended")
	}
	s.setFail(0, false)
	e.post(loc+"/Actions/EventDestination.ResumeSubscription", M{}).want(http.StatusNoContent)
	eventually(t, "buffered events", func() bool { return len(s.events()) == 1+1+1+destinationQueueSize })
	// The event being retried, then the gap, then the newest.
	evs := s.events()
	if recordOf(evs[1])["Message"] != "2" || recordOf(evs[2])["MessageId"] != "Base.1.22.EventBufferExceeded" ||
		recordOf(evs[3])["Message"] != "13" || recordOf(evs[len(evs)-1])["Message"] != strconv.Itoa(2+destinationQueueSize+10) {
		t.Errorf("after resume: %v ... %v", evs[1:4], evs[len(evs)-1])
	}
	if at(e.get(loc).obj(), "Status", "State") != "Enabled" {
		t.Error("still suspended after resume")
	}

	// Suspended by hand; a resume with PT0S drops what was buffered.
	e.post(loc+"/Actions/EventDestination.SuspendSubscription", M{}).want(http.StatusNoContent)
	submit(1000)
	e.post(loc+"/Actions/EventDestination.ResumeSubscription", M{"DeliverBufferedEventDuration": "PT0S"}).want(http.StatusNoContent)
	e.post(loc+"/Actions/EventDestination.ResumeSubscription", M{"DeliverBufferedEventDuration": "soon"}).
		wantError(http.StatusBadRequest, "ActionParameterValueFormatError")
	submit(1001)
	eventually(t, "event after resume", func() bool {
		evs := s.events()
		return recordOf(evs[len(evs)-1])["Message"] == "1001"
	})
	for _, v := range s.events() {
		if recordOf(v)["Message"] == "1000" {
			t.Error("PT0S resume delivered a buffered event")
		}
	}

	// TerminateAfterRetries deletes the subscription, and says so.
	watcher := newSink(t)
	e.subscribe(M{"Destination": watcher.URL, "Protocol": "Redfish", "RegistryPrefixes": []string{"ResourceEvent"}})
	e.patch(loc, M{"DeliveryRetryPolicy": "TerminateAfterRetries"}).want(http.StatusNoContent)
	s.setFail(0, true)
	submit(2000)
	eventually(t, "termination", func() bool { return e.get(loc).Code == http.StatusNotFound })
	gone := recordOf(watcher.waitFor(t, "ResourceEvent.1.4.ResourceRemoved", time.Second))
	if at(gone, "OriginOfCondition", "@odata.id") != loc {
		t.Errorf("removal event %v", gone)
	}

	// RetryForever keeps trying past DeliveryRetryAttempts.
	s2 := newSink(t)
	s2.setFail(6, false)
	e.subscribe(M{"Destination": s2.URL, "Protocol": "Redfish", "DeliveryRetryPolicy": "RetryForever",
		"ExcludeRegistryPrefixes": []string{"ResourceEvent"}})
	submit(3000)
	s2.waitFor(t, "Test.1.0.Event", 5*time.Second)
}

// sseStream reads a Server-Sent Events response.
type sseStream struct {
	resp   *http.Response
	frames chan sseEvent
}

type sseEvent struct {
	id      string
	data    map[string]any
	comment string
}

func openSSE(t *testing.T, srv *httptest.Server, query string, hdr map[string]string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+sseURI+query, nil)
	req.SetBasicAuth(adminUser, adminPass)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range hdr {
		if k == "X-Auth-Token" {
			req.Header.Del("Authorization")
		}
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("SSE: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sseStream{resp: resp, frames: make(chan sseEvent, 1024)}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.frames)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				s.frames <- cur
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				cur.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(line[6:]), &cur.data); err != nil {
					t.Errorf("SSE data is not JSON: %q", line)
				}
			default:
				t.Errorf("SSE line %q", line)
			}
		}
	}()
	return s
}

// next returns the next event (skipping comments), or fails after d.
func (s *sseStream) next(t *testing.T, d time.Duration) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatal("SSE stream ended")
			}
			if f.data != nil {
				return f
			}
		case <-deadline:
			t.Fatalf("no SSE event within %s", d)
		}
	}
}

// waitFor skips events until one with msgID.
func (s *sseStream) waitFor(t *testing.T, msgID string, d time.Duration) sseEvent {
	t.Helper()
	end := time.Now().Add(d)
	for {
		f := s.next(t, time.Until(end))
		if recordOf(f.data)["MessageId"] == msgID {
			return f
		}
	}
}

// ends waits for the stream to end, returning the events before the end.
func (s *sseStream) ends(t *testing.T, d time.Duration) []sseEvent {
	t.Helper()
	var got []sseEvent
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return got
			}
			if f.data != nil {
				got = append(got, f)
			}
		case <-deadline:
			t.Fatalf("SSE stream still open after %s", d)
		}
	}
}

func sseSubscriptions(e *env) []string {
	var out []string
	for _, m := range e.get(subscriptionsPath).obj()["Members"].([]any) {
		p := m.(map[string]any)["@odata.id"].(string)
		if e.get(p).obj()["SubscriptionType"] == "SSE" {
			out = append(out, p)
		}
	}
	return out
}

func TestSSE(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)

	all := openSSE(t, srv, "", nil)
	first := <-all.frames
	if !strings.HasPrefix(first.comment, subscriptionsPath+"/") {
		t.Fatalf("first frame %+v", first)
	}
	subs := sseSubscriptions(e)
	if len(subs) != 1 || subs[0] != first.comment {
		t.Fatalf("SSE destinations %v", subs)
	}
	d := e.get(subs[0]).obj()
	if ctx, _ := d["Context"].(string); len(ctx) < 16 || !strings.HasPrefix(d["Destination"].(string), "redfish-sse://127.0.0.1:") {
		t.Errorf("SSE destination %v", d)
	}
	filtered := openSSE(t, srv, "?"+url.Values{"$filter": {"RegistryPrefix eq Bmcd and ResourceType eq VirtualMedia"}}.Encode(), nil)

	start := time.Now()
	e.post(reset0, M{"ResetType": "On"}).want(http.StatusNoContent)
	on := all.waitFor(t, "ResourceEvent.1.4.ResourcePoweredOn", time.Second)
	t.Logf("SSE power-on event after %s", time.Since(start))
	if on.id == "" || on.id != on.data["Id"] || on.data["@odata.type"] != "#Event.v1_13_0.Event" || on.data["Context"] != d["Context"] {
		t.Errorf("SSE event %+v", on)
	}
	img := newImageServer(t)
	e.post(mgrCD+insertA, M{"Image": img.URL + "/ok.iso"}).want(http.StatusNoContent)
	if f := filtered.next(t, time.Second); recordOf(f.data)["MessageId"] != "Bmcd.1.0.VirtualMediaInserted" {
		t.Errorf("filtered stream got %v first", recordOf(f.data))
	}
	all.waitFor(t, "Bmcd.1.0.VirtualMediaInserted", time.Second)

	// A reconnecting client gets what it missed after Last-Event-ID.
	again := openSSE(t, srv, "", map[string]string{"Last-Event-ID": on.id})
	f := again.next(t, time.Second)
	if recordOf(f.data)["MessageId"] == "ResourceEvent.1.4.ResourcePoweredOn" || f.id <= on.id {
		t.Errorf("replay started with %s %v", f.id, recordOf(f.data))
	}
	// (The host may still be POSTing: the boot need not come first.)
	if recordOf(f.data)["MessageId"] != "Bmcd.1.0.VirtualMediaInserted" {
		again.waitFor(t, "Bmcd.1.0.VirtualMediaInserted", time.Second)
	}
	again.resp.Body.Close()
	eventually(t, "closed stream's destination removed", func() bool { return len(sseSubscriptions(e)) == 2 })

	// Heartbeats while idle.
	eventually(t, "heartbeat", func() bool {
		select {
		case f := <-filtered.frames:
			return f.comment == "heartbeat"
		default:
			return false
		}
	})

	// DELETE of its destination ends a stream with SubscriptionTerminated.
	e.delete(subs[0], asOperator()).wantError(http.StatusForbidden, "InsufficientPrivilege")
	e.delete(subs[0]).want(http.StatusNoContent)
	rest := all.ends(t, 2*time.Second)
	if len(rest) == 0 || recordOf(rest[len(rest)-1].data)["MessageId"] != "Base.1.22.SubscriptionTerminated" {
		t.Errorf("stream ended after %v", rest)
	}

	// Disabling the service ends the others and refuses new streams.
	e.patch(eventServicePath, M{"ServiceEnabled": false}).want(http.StatusNoContent)
	filtered.ends(t, 2*time.Second)
	e.get(sseURI).wantError(http.StatusConflict, "ServiceDisabled")
	e.post(eventServicePath+"/Actions/EventService.SubmitTestEvent", M{"MessageId": "A.1.0.B"}).wantError(http.StatusConflict, "ServiceDisabled")
	e.patch(eventServicePath, M{"ServiceEnabled": true}).want(http.StatusNoContent)

	// Closing the service ends streams too.
	last := openSSE(t, srv, "", nil)
	e.svc.CloseStreams()
	last.ends(t, 2*time.Second)
}

func TestSSEErrors(t *testing.T) {
	e := fast(newEnv(t))
	e.get(sseURI, header("Accept", "application/json")).wantError(http.StatusNotAcceptable, "HeaderInvalid")
	e.get(sseURI, anonymous()).wantError(http.StatusUnauthorized, "NoValidSession")
	e.get(sseURI+"?%24filter=Bogus+eq+1").wantError(http.StatusBadRequest, "QueryParameterValueFormatError")
	e.get(sseURI+"?%24top=1").wantError(http.StatusBadRequest, "QueryParameterUnsupported")
	e.post(sseURI, M{}).wantError(http.StatusMethodNotAllowed, "OperationNotAllowed")
	for _, a := range []string{"", "*/*", "text/*", "text/event-stream", "application/json, text/event-stream;q=0.5"} {
		if !acceptsEventStream(a) {
			t.Errorf("Accept %q refused", a)
		}
	}
	for _, a := range []string{"application/json", "text/html", "text/event-stream;q=0"} {
		if acceptsEventStream(a) {
			t.Errorf("Accept %q accepted", a)
		}
	}

	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	// Read-only users may hold all streams but the reserved ones; those
	// stay for accounts that manage the BMC.
	var streams []*sseStream
	roTok, _ := e.login(roUser, roPass)
	for i := 0; i < MaxSSEStreams-ReservedSSEStreams; i++ {
		streams = append(streams, openSSE(t, srv, "", map[string]string{"X-Auth-Token": roTok}))
	}
	e.get(sseURI, asReader()).wantError(http.StatusBadRequest, "EventSubscriptionLimitExceeded")
	for i := 0; i < ReservedSSEStreams; i++ {
		streams = append(streams, openSSE(t, srv, "", nil))
	}
	e.get(sseURI).wantError(http.StatusBadRequest, "EventSubscriptionLimitExceeded")
	for _, s := range streams {
		s.resp.Body.Close()
	}
}

// TestSSESessionEnds: a stream opened with a session ends when the session
// is deleted; one with Basic credentials when the account is disabled.
func TestSSESessionEnds(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	tok, ses := e.login(roUser, roPass)
	s := openSSE(t, srv, "", map[string]string{"X-Auth-Token": tok})
	e.delete(ses).want(http.StatusNoContent)
	s.ends(t, 2*time.Second)

	s = openSSE(t, srv, "", nil)
	e.patch(acctsURI+"/"+strconv.Itoa(e.ids[adminUser]), M{"Password": "changed-pw1"}).want(http.StatusNoContent)
	s.ends(t, 2*time.Second)
}

// TestAccountEvents: account changes from any protocol are events; an SSE
// client sees those about accounts it may read only.
func TestAccountEvents(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	admin := openSSE(t, srv, "?%24filter=ResourceType+eq+ManagerAccount", nil)
	reader := openSSE(t, srv, "?%24filter=ResourceType+eq+ManagerAccount", map[string]string{"Authorization": basicAuth(roUser, roPass)})

	loc := e.post(acctsURI, M{"UserName": "newbie", "Password": "newbie-pw1", "RoleId": "ReadOnly"}).want(http.StatusCreated).Header.Get("Location")
	f := admin.waitFor(t, "ResourceEvent.1.4.ResourceCreated", time.Second)
	if at(recordOf(f.data), "OriginOfCondition", "@odata.id") != loc {
		t.Errorf("created %v", f.data)
	}
	// As IPMI would: straight on the account database.
	role := auth.RoleOperator
	if _, err := e.accounts.Update(e.ids[roUser], auth.Update{Role: &role}); err != nil {
		t.Fatal(err)
	}
	f = admin.waitFor(t, "ResourceEvent.1.4.ResourceChanged", time.Second)
	own := acctsURI + "/" + strconv.Itoa(e.ids[roUser])
	if at(recordOf(f.data), "OriginOfCondition", "@odata.id") != own {
		t.Errorf("changed %v", f.data)
	}
	e.delete(loc).want(http.StatusNoContent)
	admin.waitFor(t, "ResourceEvent.1.4.ResourceRemoved", time.Second)
	// The reader saw its own account change and nothing else.
	f = reader.next(t, time.Second)
	if at(recordOf(f.data), "OriginOfCondition", "@odata.id") != own {
		t.Errorf("reader got %v", f.data)
	}
	select {
	case f := <-reader.frames:
		if f.data != nil {
			t.Errorf("reader got %v too", f.data)
		}
	case <-time.After(50 * time.Millisecond):
	}
}

func basicAuth(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// TestSSEStreamIsAnEventDestination follows DSP0266: the stream's
// EventDestination validates as one and goes when the stream closes.
func TestSSEStreamIsAnEventDestination(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	s := openSSE(t, srv, "", nil)
	<-s.frames
	subs := sseSubscriptions(e)
	if len(subs) != 1 {
		t.Fatalf("%v", subs)
	}
	e.patch(subs[0], M{"Context": "mine"}).want(http.StatusNoContent)
	e.patch(subs[0], M{"DeliveryRetryPolicy": "RetryForever"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.post(subs[0]+"/Actions/EventDestination.SuspendSubscription", M{}).wantError(http.StatusBadRequest, "ActionNotSupported")
	s.resp.Body.Close()
	eventually(t, "destination removed", func() bool { return e.get(subs[0]).Code == http.StatusNotFound })
}

// FuzzCreateSubscription sends arbitrary bodies to the subscriptions
// collection.
func FuzzCreateSubscription(f *testing.F) {
	e := fuzzEnv(f)
	// Whatever Destination the fuzzer invents, no event leaves the machine.
	e.svc.events.insecure = &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: loopbackDial}}
	e.svc.events.verifying = e.svc.events.insecure
	f.Fuzz(func(t *testing.T, body []byte) {
		r := e.with(t).post(subscriptionsPath, body)
		checkFuzzResponse(t, r, body)
		switch r.Code {
		case http.StatusCreated:
			loc := r.Header.Get("Location")
			v := e.with(t).get(loc).obj()
			if v["Destination"] != r.obj()["Destination"] || len(v["HttpHeaders"].([]any)) != 0 {
				t.Fatalf("created %v, GET %v", r.obj(), v)
			}
			e.with(t).delete(loc).want(http.StatusNoContent)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if n := at(e.with(t).get(subscriptionsPath).obj(), "Members@odata.count"); n != float64(0) {
				t.Fatalf("%d with %v subscriptions", r.Code, n)
			}
		default:
			t.Fatalf("status %d for body %q", r.Code, body)
		}
	})
}

// TestResourceEvents: a client's POST (201), PATCH and DELETE are
// ResourceEvent events about the resource, with its type; logins are not.
func TestResourceEvents(t *testing.T) {
	e := fast(newEnv(t))
	srv := httptest.NewServer(e.svc)
	t.Cleanup(srv.Close)
	s := openSSE(t, srv, "?"+url.Values{"$filter": {"RegistryPrefix eq ResourceEvent and ResourceType ne ComputerSystem"}}.Encode(), nil)
	e.login(roUser, roPass)
	loc := e.subscribe(M{"Destination": "http://127.0.0.1:9/x", "Protocol": "Redfish"})
	e.patch(loc, M{"Context": "c"}).want(http.StatusNoContent)
	e.patch(loc, M{"Context": 5}).want(http.StatusBadRequest) // refused: no event
	e.delete(loc).want(http.StatusNoContent)
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": 4}).want(http.StatusNoContent)
	for _, want := range []struct{ id, origin string }{
		{"ResourceEvent.1.4.ResourceCreated", loc}, {"ResourceEvent.1.4.ResourceChanged", loc},
		{"ResourceEvent.1.4.ResourceRemoved", loc}, {"ResourceEvent.1.4.ResourceChanged", eventServicePath},
	} {
		r := recordOf(s.next(t, time.Second).data)
		if r["MessageId"] != want.id || at(r, "OriginOfCondition", "@odata.id") != want.origin {
			t.Errorf("got %v %v, want %s about %s", r["MessageId"], at(r, "OriginOfCondition", "@odata.id"), want.id, want.origin)
		}
	}
	// The stream's filter on ResourceType used the types bmcd rendered.
	e.svc.events.mu.Lock()
	var types []string
	for _, r := range e.svc.events.recent {
		types = append(types, r.ResourceType)
	}
	e.svc.events.mu.Unlock()
	if !contains(types, "EventDestination") || !contains(types, "EventService") {
		t.Errorf("resource types %v", types)
	}
}

// TestVerifyCertificate: by default a destination's certificate is not
// checked; VerifyCertificate true refuses one the system does not trust.
func TestVerifyCertificate(t *testing.T) {
	e := fast(newEnv(t))
	var mu sync.Mutex
	got := 0
	tlsSink := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(tlsSink.Close)
	e.patch(eventServicePath, M{"DeliveryRetryAttempts": 0}).want(http.StatusNoContent)
	trusting := e.subscribe(M{"Destination": tlsSink.URL, "Protocol": "Redfish"})
	checking := e.subscribe(M{"Destination": tlsSink.URL, "Protocol": "Redfish", "VerifyCertificate": true})
	e.post(eventServicePath+"/Actions/EventService.SubmitTestEvent", M{"MessageId": "A.1.0.B"}).want(http.StatusNoContent)
	eventually(t, "the checking subscription suspended", func() bool {
		return at(e.get(checking).obj(), "Status", "State") == "Disabled"
	})
	if at(e.get(trusting).obj(), "Status", "State") != "Enabled" {
		t.Error("the default subscription failed on a self-signed certificate")
	}
	mu.Lock()
	defer mu.Unlock()
	if got == 0 {
		t.Error("nothing delivered over TLS")
	}
}
