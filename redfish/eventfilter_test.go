package redfish

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Records every filter test uses.
var (
	recPowerOn = &eventRecord{MessageID: "ResourceEvent.1.4.ResourcePoweredOn", EventType: "Other", Severity: "OK",
		Origin: "/redfish/v1/Systems/0", ResourceType: "ComputerSystem"}
	recMedia = &eventRecord{MessageID: "Bmcd.1.0.VirtualMediaInserted", EventType: "Other", Severity: "OK",
		Origin: "/redfish/v1/Managers/0/VirtualMedia/CD", ResourceType: "VirtualMedia"}
	recNMI = &eventRecord{MessageID: "Bmcd.1.0.DiagnosticInterruptSent", EventType: "Other", Severity: "Warning",
		Origin: "/redfish/v1/Systems/1", ResourceType: "ComputerSystem"}
	recTest = &eventRecord{MessageID: "Alert.1.0.Test", EventType: "Alert", Severity: "Critical"}
	allRecs = []*eventRecord{recPowerOn, recMedia, recNMI, recTest}
)

// selected lists which of allRecs a predicate admits, by index letters.
func selected(admit func(*eventRecord) bool) string {
	var b strings.Builder
	for i, r := range allRecs {
		if admit(r) {
			b.WriteByte(byte('a' + i))
		}
	}
	return b.String()
}

func TestSubscriptionFilter(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    subscriptionFilter
		want string // a=power on, b=media, c=NMI, d=test alert
	}{
		{"everything", subscriptionFilter{}, "abcd"},
		{"registry prefix", subscriptionFilter{RegistryPrefixes: []string{"ResourceEvent"}}, "a"},
		{"message id without version", subscriptionFilter{MessageIDs: []string{"Bmcd.VirtualMediaInserted"}}, "b"},
		{"message id, other version", subscriptionFilter{MessageIDs: []string{"ResourceEvent.1.0.ResourcePoweredOn"}}, "a"},
		{"prefixes or ids", subscriptionFilter{RegistryPrefixes: []string{"ResourceEvent"}, MessageIDs: []string{"Bmcd.DiagnosticInterruptSent"}}, "ac"},
		{"exclude prefix", subscriptionFilter{ExcludeRegistryPrefixes: []string{"Bmcd"}}, "ad"},
		{"exclude id wins", subscriptionFilter{RegistryPrefixes: []string{"Bmcd"}, ExcludeMessageIDs: []string{"Bmcd.VirtualMediaInserted"}}, "c"},
		{"resource type", subscriptionFilter{ResourceTypes: []string{"ComputerSystem"}}, "ac"},
		{"origin exact", subscriptionFilter{OriginResources: []string{"/redfish/v1/Systems/0"}}, "a"},
		{"origin trailing slash", subscriptionFilter{OriginResources: []string{"/redfish/v1/Systems/1/"}}, "c"},
		{"origin not subordinate", subscriptionFilter{OriginResources: []string{"/redfish/v1/Managers/0"}}, ""},
		{"origin subordinate", subscriptionFilter{OriginResources: []string{"/redfish/v1/Managers/0"}, SubordinateResources: true}, "b"},
		{"origin prefix is not subordinate", subscriptionFilter{OriginResources: []string{"/redfish/v1/Managers/0/Virtual"}, SubordinateResources: true}, ""},
		{"severity", subscriptionFilter{Severities: []string{"Warning", "Critical"}}, "cd"},
		{"event types pass Other", subscriptionFilter{EventTypes: []string{"StatusChange"}}, "abc"},
		{"event types select", subscriptionFilter{EventTypes: []string{"Alert"}}, "abcd"},
		{"all at once", subscriptionFilter{RegistryPrefixes: []string{"ResourceEvent", "Bmcd"}, ResourceTypes: []string{"ComputerSystem"},
			Severities: []string{"OK"}}, "a"},
	} {
		if got := selected(tc.f.matches); got != tc.want {
			t.Errorf("%s: selects %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseSSEFilter(t *testing.T) {
	for _, tc := range []struct {
		in, canon, want string
	}{
		{"", "", "abcd"},
		{"   ", "", "abcd"},
		{"RegistryPrefix eq ResourceEvent", "(RegistryPrefix eq 'ResourceEvent')", "a"},
		{"MessageId eq 'ResourceEvent.1.0.ResourcePoweredOn'", "(MessageId eq 'ResourceEvent.1.0.ResourcePoweredOn')", "a"},
		{"(MessageId eq 'Bmcd.VirtualMediaInserted') or (MessageId eq 'Bmcd.1.0.DiagnosticInterruptSent')",
			"((MessageId eq 'Bmcd.VirtualMediaInserted') or (MessageId eq 'Bmcd.1.0.DiagnosticInterruptSent'))", "bc"},
		{"ResourceType eq ComputerSystem and RegistryPrefix ne Bmcd", "((ResourceType eq 'ComputerSystem') and (RegistryPrefix ne 'Bmcd'))", "a"},
		{"RegistryPrefix eq Bmcd or RegistryPrefix eq ResourceEvent and ResourceType eq VirtualMedia",
			"((RegistryPrefix eq 'Bmcd') or ((RegistryPrefix eq 'ResourceEvent') and (ResourceType eq 'VirtualMedia')))", "bc"},
		{"(RegistryPrefix eq Bmcd or RegistryPrefix eq ResourceEvent) and ResourceType eq ComputerSystem",
			"(((RegistryPrefix eq 'Bmcd') or (RegistryPrefix eq 'ResourceEvent')) and (ResourceType eq 'ComputerSystem'))", "ac"},
		{"not (EventType eq Alert)", "(not (EventType eq 'Alert'))", "abc"},
		{"ResourceType eq '#ComputerSystem.v1_27_0.ComputerSystem'", "(ResourceType eq '#ComputerSystem.v1_27_0.ComputerSystem')", "ac"},
		{"OriginResource eq '/redfish/v1/Managers/0'", "(OriginResource eq '/redfish/v1/Managers/0')", ""},
		{"OriginResource eq '/redfish/v1/Managers/0' and SubordinateResources eq true",
			"((OriginResource eq '/redfish/v1/Managers/0') and (SubordinateResources eq 'true'))", "b"},
		{"SubordinateResources eq true and OriginResource eq /redfish/v1/Systems", "((SubordinateResources eq 'true') and (OriginResource eq '/redfish/v1/Systems'))", "ac"},
		{"EventFormatType eq Event", "(EventFormatType eq 'Event')", "abcd"},
		{"EventFormatType eq MetricReport", "(EventFormatType eq 'MetricReport')", ""},
		{"EventType eq 'it''s'", "(EventType eq 'it''s')", ""},
		{"((((RegistryPrefix eq Bmcd))))", "(RegistryPrefix eq 'Bmcd')", "bc"},
	} {
		f, err := parseSSEFilter(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.canon {
			t.Errorf("%q: canonical %q, want %q", tc.in, got, tc.canon)
		}
		if got := selected(f.matches); got != tc.want {
			t.Errorf("%q: selects %q, want %q", tc.in, got, tc.want)
		}
		// The canonical form means the same.
		g, err := parseSSEFilter(f.String())
		if err != nil || g.String() != f.String() || selected(g.matches) != tc.want {
			t.Errorf("%q: canonical form %q reparses to %v, %v", tc.in, f.String(), g, err)
		}
	}
}

func TestParseSSEFilterErrors(t *testing.T) {
	for _, in := range []string{
		"RegistryPrefix", "RegistryPrefix eq", "RegistryPrefix gt Bmcd", "Bogus eq 1",
		"MetricReportDefinition eq '/x'", "'RegistryPrefix' eq Bmcd", "RegistryPrefix 'eq' Bmcd",
		"(RegistryPrefix eq Bmcd", "RegistryPrefix eq Bmcd)", "RegistryPrefix eq Bmcd or", "and RegistryPrefix eq Bmcd",
		"RegistryPrefix eq 'Bmcd", "RegistryPrefix eq (", "not", "()", "SubordinateResources eq yes",
		"RegistryPrefix eq Bmcd RegistryPrefix eq Bmcd", "registryprefix eq Bmcd", "RegistryPrefix EQ Bmcd",
		strings.Repeat("(", 40) + "RegistryPrefix eq Bmcd" + strings.Repeat(")", 40),
		strings.Repeat("not ", 40) + "RegistryPrefix eq Bmcd",
		"RegistryPrefix eq '" + strings.Repeat("x", maxFilterLength) + "'",
	} {
		f, err := parseSSEFilter(in)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || ae.status != http.StatusBadRequest ||
			ae.msgs[0].MessageID != baseMessagePrefix+"QueryParameterValueFormatError" || ae.msgs[0].MessageArgs[1] != "$filter" {
			t.Errorf("%q: parsed as %v, error %v", in, f, err)
		}
	}
}

func TestMessageIDMatches(t *testing.T) {
	for _, tc := range []struct {
		want, id string
		ok       bool
	}{
		{"ResourceEvent.ResourceCreated", "ResourceEvent.1.4.ResourceCreated", true},
		{"ResourceEvent.1.0.ResourceCreated", "ResourceEvent.1.4.ResourceCreated", true},
		{"ResourceEvent.1.4.ResourceCreated", "ResourceEvent.1.4.ResourceCreated", true},
		{"ResourceEvent.ResourceRemoved", "ResourceEvent.1.4.ResourceCreated", false},
		{"Base.ResourceCreated", "ResourceEvent.1.4.ResourceCreated", false},
		{"ResourceCreated", "ResourceEvent.1.4.ResourceCreated", false},
		{"", "ResourceEvent.1.4.ResourceCreated", false},
	} {
		if got := messageIDMatches(tc.want, tc.id); got != tc.ok {
			t.Errorf("messageIDMatches(%q, %q) = %v", tc.want, tc.id, got)
		}
	}
}

func TestParseISODuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT0S", 0, true}, {"PT30S", 30 * time.Second, true}, {"PT1.5S", 1500 * time.Millisecond, true},
		{"P1D", 24 * time.Hour, true}, {"P1DT2H3M4S", 26*time.Hour + 3*time.Minute + 4*time.Second, true},
		{"PT10M", 10 * time.Minute, true},
		{"", 0, false}, {"P", 0, false}, {"PT", 0, false}, {"1S", 0, false}, {"PT-1S", 0, false}, {"P1W", 0, false},
	} {
		got, ok := parseISODuration(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseISODuration(%q) = %v, %v", tc.in, got, ok)
		}
	}
}

// FuzzSSEFilter: any $filter either parses to a filter whose canonical
// form parses to itself, or is refused with the Base message that names
// $filter; evaluating a parsed filter never panics.
func FuzzSSEFilter(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string) {
		flt, err := parseSSEFilter(in)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.msgs[0].MessageArgs[1] != "$filter" {
				t.Fatalf("%q: error %v", in, err)
			}
			return
		}
		for _, r := range allRecs {
			flt.matches(r)
		}
		again, err := parseSSEFilter(flt.String())
		if err != nil || again.String() != flt.String() || selected(again.matches) != selected(flt.matches) {
			t.Fatalf("%q: canonical %q reparses to %v, %v", in, flt.String(), again, err)
		}
	})
}
