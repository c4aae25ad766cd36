package conformance

// The EventService end to end: a Go HTTP listener on 127.0.0.1 subscribed
// with gofish, Server-Sent Events clients (Go and curl -N), events caused
// with ipmitool and Redfish, and the same story in the SEL and the event
// log.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"

	"github.com/bmcd/bmcd/conformance/schemacheck"
)

// eventBudget is how soon after a change its event must arrive.
const eventBudget = time.Second

// eventSink is an event subscriber on 127.0.0.1: it keeps every Event
// posted to it, with its headers and arrival time.
type eventSink struct {
	*httptest.Server
	mu      sync.Mutex
	events  []receivedEvent
	arrived chan struct{}
}

type receivedEvent struct {
	at     time.Time
	raw    []byte
	doc    map[string]any
	header http.Header
}

func newEventSink(t *testing.T) *eventSink {
	s := &eventSink{arrived: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		ev := receivedEvent{at: time.Now(), raw: raw, header: r.Header.Clone()}
		if err := json.Unmarshal(raw, &ev.doc); err != nil {
			t.Errorf("subscriber got non-JSON %q", raw)
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
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

// record is an Event's first (and only) EventRecord.
func record(doc map[string]any) map[string]any {
	evs, _ := doc["Events"].([]any)
	if len(evs) == 0 {
		return nil
	}
	r, _ := evs[0].(map[string]any)
	return r
}

func origin(r map[string]any) string {
	o, _ := r["OriginOfCondition"].(map[string]any)
	s, _ := o["@odata.id"].(string)
	return s
}

// await waits for an event with MessageId msgID that arrived after since,
// failing unless it comes within budget of since.
func (s *eventSink) await(t *testing.T, msgID string, since time.Time, budget time.Duration) receivedEvent {
	t.Helper()
	for {
		s.mu.Lock()
		for _, e := range s.events {
			if !e.at.Before(since) && record(e.doc)["MessageId"] == msgID {
				s.mu.Unlock()
				if d := e.at.Sub(since); d > budget {
					t.Errorf("%s reached the subscriber %s after the change, want within %s", msgID, d.Round(time.Millisecond), budget)
				}
				return e
			}
		}
		s.mu.Unlock()
		select {
		case <-s.arrived:
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(since) > 10*time.Second {
			t.Fatalf("no %s at the subscriber; got %s", msgID, s.ids())
		}
	}
}

func (s *eventSink) ids() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, e := range s.events {
		ids = append(ids, fmt.Sprint(record(e.doc)["MessageId"]))
	}
	return strings.Join(ids, " ")
}

// eventStream is a Server-Sent Events client of bmcd.
type eventStream struct {
	resp   *http.Response
	mu     sync.Mutex
	frames []streamFrame
	ended  chan struct{}
	more   chan struct{}
}

type streamFrame struct {
	at  time.Time
	id  string
	raw string
	doc map[string]any
}

// openEventStream opens ServerSentEventUri with the administrator's Basic
// credentials (header overrides them), query being "" or "?$filter=...".
func openEventStream(t *testing.T, b *bmc, query string, header map[string]string) *eventStream {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{ // no Timeout: the stream stays open
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Proxy: nil,
	}}
	b.mu.Lock()
	base := b.URL
	b.mu.Unlock()
	req, err := http.NewRequest(http.MethodGet, base+"/redfish/v1/EventService/SSE"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(b.User, b.Password)
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		if k == "X-Auth-Token" {
			req.Header.Del("Authorization")
		}
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("open event stream: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("event stream: %d %s\n%s", resp.StatusCode, ct, raw)
	}
	s := &eventStream{resp: resp, ended: make(chan struct{}), more: make(chan struct{}, 1)}
	t.Cleanup(s.Close)
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var cur streamFrame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.raw != "" {
					cur.at = time.Now()
					if err := json.Unmarshal([]byte(cur.raw), &cur.doc); err != nil {
						t.Errorf("event stream data is not JSON: %q", cur.raw)
					}
					s.mu.Lock()
					s.frames = append(s.frames, cur)
					s.mu.Unlock()
					select {
					case s.more <- struct{}{}:
					default:
					}
				}
				cur = streamFrame{}
			case strings.HasPrefix(line, ":"): // comment: heartbeat, or the stream's EventDestination
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "data: "):
				cur.raw = line[6:]
			default:
				t.Errorf("event stream line %q", line)
			}
		}
	}()
	return s
}

func (s *eventStream) Close() { s.resp.Body.Close() }

func (s *eventStream) await(t *testing.T, msgID string, since time.Time, budget time.Duration) streamFrame {
	t.Helper()
	for {
		s.mu.Lock()
		for _, f := range s.frames {
			if !f.at.Before(since) && record(f.doc)["MessageId"] == msgID {
				s.mu.Unlock()
				if d := f.at.Sub(since); d > budget {
					t.Errorf("%s reached the SSE client %s after the change, want within %s", msgID, d.Round(time.Millisecond), budget)
				}
				return f
			}
		}
		s.mu.Unlock()
		select {
		case <-s.more:
		case <-s.ended:
			t.Fatalf("event stream ended before %s", msgID)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Since(since) > 10*time.Second {
			t.Fatalf("no %s on the event stream", msgID)
		}
	}
}

// waitEnded waits for the stream to end, returning its last event.
func (s *eventStream) waitEnded(t *testing.T, within time.Duration) map[string]any {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(within):
		t.Fatalf("event stream still open after %s", within)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.frames) == 0 {
		return nil
	}
	return s.frames[len(s.frames)-1].doc
}

// TestEventsEndToEnd is the EventService's acceptance test: a subscriber
// on 127.0.0.1 (created with gofish) and an SSE client receive power
// (ipmitool power on, Redfish reset), boot, boot override, boot order and
// virtual media events within a second of the change; each payload is a valid
// Event; the SEL and the event log state the same events; SubmitTestEvent
// works from gofish; and the subscription survives a restart of bmcd.
func TestEventsEndToEnd(t *testing.T) {
	t.Parallel()
	requireClient(t, "ipmitool", func() error { _, err := exec.LookPath("ipmitool"); return err })
	v, err := schemacheck.Load(schemaDir)
	if err != nil {
		t.Fatal(err)
	}
	ib := startIPMIBMC(t, 1, "")
	img := serveImage(t)
	sink := newEventSink(t)

	c, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: ib.URL, Username: ib.User, Password: ib.Password})
	if err != nil {
		t.Fatalf("gofish.Connect: %v", err)
	}
	defer c.Logout()
	es, err := c.GetService().EventService()
	if err != nil || es == nil {
		t.Fatalf("gofish EventService: %v, %v", es, err)
	}
	if !es.ServiceEnabled || es.ServerSentEventURI != "/redfish/v1/EventService/SSE" || es.SubmitTestEventTarget == "" ||
		!es.SSEFilterPropertiesSupported.MessageID || es.DeliveryRetryAttempts != 3 {
		t.Errorf("gofish reads the EventService as %+v", es)
	}
	subURI, err := es.CreateEventSubscriptionInstance(sink.URL+"/events", nil, nil, map[string]string{"X-Subscriber-Token": "t0k3n"},
		schemas.RedfishEventDestinationProtocol, "e2e", "", nil)
	if err != nil || !strings.HasPrefix(subURI, "/redfish/v1/EventService/Subscriptions/") {
		t.Fatalf("gofish CreateEventSubscriptionInstance: %q, %v", subURI, err)
	}
	sub, err := es.GetEventSubscription(subURI)
	if err != nil || sub.Context != "e2e" || sub.Destination != sink.URL+"/events" || sub.Protocol != schemas.RedfishEventDestinationProtocol {
		t.Fatalf("gofish reads the subscription as %+v, %v", sub, err)
	}
	stream := openEventStream(t, ib.bmc, "", nil)
	// Only what the filter admits: boot override and boot messages.
	bmcdOnly := openEventStream(t, ib.bmc, "?"+url.Values{"$filter": {"RegistryPrefix eq Bmcd and ResourceType eq ComputerSystem"}}.Encode(), nil)

	check := func(name string, raw []byte, doc map[string]any) {
		t.Helper()
		if err := v.Validate(raw); err != nil {
			t.Errorf("%s: the Event does not validate: %v\n%s", name, err, raw)
		}
		if doc["@odata.type"] != "#Event.v1_13_0.Event" {
			t.Errorf("%s: %s", name, raw)
		}
	}
	both := func(msgID string, since time.Time, budget time.Duration) map[string]any {
		t.Helper()
		p := sink.await(t, msgID, since, budget)
		f := stream.await(t, msgID, since, budget)
		check("pushed "+msgID, p.raw, p.doc)
		check("streamed "+msgID, []byte(f.raw), f.doc)
		if p.doc["Context"] != "e2e" || p.header.Get("X-Subscriber-Token") != "t0k3n" {
			t.Errorf("pushed with Context %v, headers %v", p.doc["Context"], p.header)
		}
		if f.id != p.doc["Id"] || record(f.doc)["EventId"] != record(p.doc)["EventId"] {
			t.Errorf("one event, two numbers: SSE id %s, pushed Id %v", f.id, p.doc["Id"])
		}
		return record(p.doc)
	}

	// ipmitool power on: the power is applied at once (the host POSTs,
	// and is On simPowerOnDelay later).
	start := time.Now()
	ib.mustIpmitool(t, "0", nil, "Up/On", "power", "on")
	on := both("ResourceEvent.1.4.ResourcePoweredOn", start, eventBudget+time.Since(start))
	if origin(on) != "/redfish/v1/Systems/0" || on["Message"] != "The resource '/redfish/v1/Systems/0' has powered on." {
		t.Errorf("power-on event %v", on)
	}
	both("Bmcd.1.0.HostBootStarted", time.Now().Add(-simPowerOnDelay-eventBudget), 2*eventBudget)

	// The SEL and the event log tell the same story: the event links its
	// log entry, whose Id is the SEL record ID.
	entryURI := fmt.Sprint(on["LogEntry"].(map[string]any)["@odata.id"])
	entry := ib.Get(t, entryURI)
	if entry["MessageId"] != on["MessageId"] || entry["Message"] != on["Message"] {
		t.Errorf("log entry %v, event %v", entry, on)
	}
	id, _ := strconv.Atoi(fmt.Sprint(entry["Id"]))
	ib.mustIpmitool(t, "0", nil, "Power off/down", "sel", "get", fmt.Sprintf("0x%04x", id))

	// Redfish reset: ForceOff.
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "ForceOff"}})
	both("ResourceEvent.1.4.ResourcePoweredOff", start, eventBudget)

	// Boot override over IPMI, media over Redfish, then a boot from it.
	start = time.Now()
	ib.mustIpmitool(t, "0", nil, "Set Boot Device to cdrom", "chassis", "bootdev", "cdrom")
	ov := both("Bmcd.1.0.BootSourceOverrideSet", start, eventBudget)
	if args, _ := ov["MessageArgs"].([]any); len(args) != 3 || args[0] != "Cd" {
		t.Errorf("boot override event %v", ov)
	}
	bmcdOnly.await(t, "Bmcd.1.0.BootSourceOverrideSet", start, eventBudget)

	// The UEFI boot order and a boot option over Redfish: stated events,
	// about the system and the option; the SEL says the system was
	// reconfigured.
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0",
		Body: map[string]any{"Boot": map[string]any{"BootOrder": []string{"Boot0005", "Boot0002", "Boot0001"}}}})
	order := both("Bmcd.1.0.BootOrderSet", start, eventBudget)
	if args, _ := order["MessageArgs"].([]any); len(args) != 1 || args[0] != "Boot0005, Boot0002, Boot0001" || origin(order) != "/redfish/v1/Systems/0" ||
		order["Message"] != "The boot order is now: Boot0005, Boot0002, Boot0001." {
		t.Errorf("boot order event %v", order)
	}
	bmcdOnly.await(t, "Bmcd.1.0.BootOrderSet", start, eventBudget)
	orderEntry := ib.Get(t, fmt.Sprint(order["LogEntry"].(map[string]any)["@odata.id"]))
	if orderEntry["MessageId"] != order["MessageId"] {
		t.Errorf("boot order log entry %v", orderEntry)
	}
	id, _ = strconv.Atoi(fmt.Sprint(orderEntry["Id"]))
	ib.mustIpmitool(t, "0", nil, "System Reconfigured", "sel", "get", fmt.Sprintf("0x%04x", id))
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPatch, Path: "/redfish/v1/Systems/0/BootOptions/Boot0005",
		Body: map[string]any{"BootOptionEnabled": false}})
	opt := both("Bmcd.1.0.BootOptionEnabledChanged", start, eventBudget)
	if args, _ := opt["MessageArgs"].([]any); len(args) != 2 || args[0] != "Boot0005" || args[1] != "false" ||
		origin(opt) != "/redfish/v1/Systems/0/BootOptions/Boot0005" {
		t.Errorf("boot option event %v", opt)
	}

	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.InsertMedia",
		Body: map[string]any{"Image": img.URL}})
	ins := both("Bmcd.1.0.VirtualMediaInserted", start, eventBudget)
	if origin(ins) != "/redfish/v1/Managers/0/VirtualMedia/CD" {
		t.Errorf("insert event %v", ins)
	}
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "On"}})
	boot := both("Bmcd.1.0.HostBootStartedFromImage", start, simPowerOnDelay+eventBudget)
	if args, _ := boot["MessageArgs"].([]any); len(args) != 3 || args[0] != "Cd" || args[1] != img.URL {
		t.Errorf("boot event %v", boot)
	}
	bmcdOnly.await(t, "Bmcd.1.0.HostBootStartedFromImage", start, simPowerOnDelay+eventBudget)
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Managers/0/VirtualMedia/CD/Actions/VirtualMedia.EjectMedia",
		Body: map[string]any{}})
	both("Bmcd.1.0.VirtualMediaEjected", start, eventBudget)
	bmcdOnly.mu.Lock()
	for _, f := range bmcdOnly.frames {
		if r := record(f.doc); !strings.HasPrefix(fmt.Sprint(r["MessageId"]), "Bmcd.") || origin(r) != "/redfish/v1/Systems/0" {
			t.Errorf("the filtered stream got %v", r)
		}
	}
	bmcdOnly.mu.Unlock()

	// SubmitTestEvent, from gofish.
	start = time.Now()
	if _, err := es.SubmitTestEvent(&schemas.EventServiceSubmitTestEventParameters{
		MessageID: "ResourceEvent.1.4.ResourceStateChanged", MessageArgs: []string{"/redfish/v1/Systems/0", "Tested"},
		OriginOfCondition: "/redfish/v1/Systems/0", MessageSeverity: schemas.WarningHealth,
	}); err != nil {
		t.Fatalf("gofish SubmitTestEvent: %v", err)
	}
	te := both("ResourceEvent.1.4.ResourceStateChanged", start, eventBudget)
	if te["Message"] != "The state of resource '/redfish/v1/Systems/0' has changed to Tested." || te["MessageSeverity"] != "Warning" {
		t.Errorf("test event %v", te)
	}

	// A restart keeps the subscription, which keeps receiving.
	stream.Close()
	bmcdOnly.Close()
	if _, code := ib.Terminate(5 * time.Second); code != 0 {
		t.Fatalf("bmcd exited %d", code)
	}
	ib.Start()
	c2, err := gofish.Connect(gofish.ClientConfig{HTTPClient: gofishHTTP(), Endpoint: ib.URL, Username: ib.User, Password: ib.Password})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Logout()
	es2, err := c2.GetService().EventService()
	if err != nil {
		t.Fatal(err)
	}
	subs, err := es2.Subscriptions()
	if err != nil || len(subs) != 1 || subs[0].ODataID != subURI || subs[0].Context != "e2e" {
		t.Fatalf("after a restart, gofish lists %d subscriptions (%v)", len(subs), err)
	}
	// (A restart of bmcd is not a power loss: the host is still On.)
	if ps := ib.Get(t, "/redfish/v1/Systems/0")["PowerState"]; ps != "On" {
		t.Errorf("after a restart of bmcd the host is %v", ps)
	}
	start = time.Now()
	ib.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/Systems/0/Actions/ComputerSystem.Reset",
		Body: map[string]any{"ResetType": "ForceOff"}})
	p := sink.await(t, "ResourceEvent.1.4.ResourcePoweredOff", start, eventBudget)
	if p.header.Get("X-Subscriber-Token") != "t0k3n" {
		t.Errorf("after a restart the headers are %v", p.header)
	}
	if err := es2.DeleteEventSubscription(subURI); err != nil {
		t.Fatalf("gofish DeleteEventSubscription: %v", err)
	}
	ib.Must(t, http.StatusNotFound, request{Method: http.MethodGet, Path: subURI})
}

// TestEventStreamCurl reads the stream with curl -N, as a shell user would.
func TestEventStreamCurl(t *testing.T) {
	t.Parallel()
	requireClient(t, "curl", func() error { _, err := exec.LookPath("curl"); return err })
	b := startBMC(t, bmcOpts{Systems: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "curl", "-N", "-s", "-k", "--max-time", "15", "-u", b.User+":"+b.Password,
		"-H", "Accept: text/event-stream",
		b.URL+"/redfish/v1/EventService/SSE?"+url.Values{"$filter": {"MessageId eq 'ResourceEvent.ResourceStateChanged'"}}.Encode())
	cmd.Env = clientEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	// The first line names the stream's EventDestination: it is open.
	select {
	case l := <-lines:
		if !strings.HasPrefix(l, ": /redfish/v1/EventService/Subscriptions/") {
			t.Fatalf("curl read %q first", l)
		}
	case <-ctx.Done():
		t.Fatal("curl read nothing")
	}
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
		Body: map[string]any{"MessageId": "ResourceEvent.1.4.ResourceChanged"}}) // filtered out
	b.Must(t, http.StatusNoContent, request{Method: http.MethodPost, Path: "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent",
		Body: map[string]any{"MessageId": "ResourceEvent.1.4.ResourceStateChanged", "MessageArgs": []string{"curl", "Seen"}}})
	var id, data string
	for id == "" || data == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("curl's stream ended")
			}
			if v, ok := strings.CutPrefix(l, "id: "); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(l, "data: "); ok {
				data = v
			}
		case <-ctx.Done():
			t.Fatal("curl saw no event")
		}
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(data), &ev); err != nil || record(ev)["MessageId"] != "ResourceEvent.1.4.ResourceStateChanged" || ev["Id"] != id {
		t.Errorf("curl read id %q, data %s", id, data)
	}
}

// TestEventStreamShutdown: an open stream neither holds up SIGTERM nor
// ends without saying so.
func TestEventStreamShutdown(t *testing.T) {
	t.Parallel()
	b := startBMC(t, bmcOpts{Systems: 1})
	s := openEventStream(t, b, "", nil)
	took, code := b.Terminate(5 * time.Second)
	if code != 0 || took > 2*time.Second {
		t.Errorf("SIGTERM with an event stream open: exit %d after %s", code, took.Round(time.Millisecond))
	}
	last := s.waitEnded(t, 2*time.Second)
	if record(last)["MessageId"] != "Base.1.22.SubscriptionTerminated" {
		t.Errorf("the stream ended after %v", last)
	}
}
