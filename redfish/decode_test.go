package redfish

import (
	"github.com/bmcd/bmcd/hardware"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Redfish property names are case-sensitive, unlike encoding/json's
// matching: a wrongly cased name is unknown, at its full path.
func TestDecodeBodyIsCaseSensitive(t *testing.T) {
	for _, tc := range []struct {
		body, key, arg string
		action         bool
	}{
		{`{"boot":{"BootSourceOverrideTarget":"Cd"}}`, "PropertyUnknown", "/boot", false},
		{`{"Boot":{"bootSourceOverrideTarget":"Cd"}}`, "PropertyUnknown", "/Boot/bootSourceOverrideTarget", false},
		{`{"Boot":{"PowerState":"On"}}`, "PropertyUnknown", "/Boot/PowerState", false},
		{`{"PowerState":"On"}`, "PropertyNotWritable", "/PowerState", false},
		{`{"resetType":"On"}`, "ActionParameterUnknown", "resetType", true},
	} {
		r := httptest.NewRequest("PATCH", "/", strings.NewReader(tc.body))
		kind := bodyKind{readOnly: func(n string) bool { return systemReadOnly[n] }}
		var dst any = &systemPatch{}
		if tc.action {
			kind, dst = bodyKind{action: "ComputerSystem.Reset"}, &resetBody{}
		}
		_, err := decodeBody(r, dst, kind)
		ae, ok := err.(*apiError)
		if !ok {
			t.Fatalf("%s: err = %v, want an apiError", tc.body, err)
		}
		m := ae.msgs[0]
		if m.MessageID != baseMessagePrefix+tc.key || m.MessageArgs[len(m.MessageArgs)-1] != tc.arg {
			t.Errorf("%s: got %s %v, want %s ...%s", tc.body, m.MessageID, m.MessageArgs, tc.key, tc.arg)
		}
	}
}

func TestImagePasswordNeverShown(t *testing.T) {
	md := renderMedia("/x", "/x/Certificates", mediaWithImage("http://user:s3cret@127.0.0.1/boot.iso"))
	if img := md["Image"].(string); strings.Contains(img, "s3cret") || !strings.Contains(img, "user:") {
		t.Fatalf("Image = %q", img)
	}
}

func mediaWithImage(u string) hardware.Media {
	return hardware.Media{SlotSpec: hardware.SlotSpec{ID: "CD"}, Image: u, Inserted: true}
}

// An unknown member inside an array element is reported at its full JSON
// pointer, the element's index included.
func TestUnknownMemberInArray(t *testing.T) {
	for _, tc := range []struct{ body, arg string }{
		{`{"RAIDType":"RAID1","Links":{"Drives":[{"@odata.id":"/x","Extra":1}]}}`, "/Links/Drives/0/Extra"},
		{`{"RAIDType":"RAID1","Links":{"Drives":[{"@odata.id":"/x"},{"@odata.id":"/y","Extra":1}]}}`, "/Links/Drives/1/Extra"},
		{`{"RAIDType":"RAID1","Links":{"Extra":[]}}`, "/Links/Extra"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var b volumeBody
		_, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return volumeReadOnly[n] }})
		ae, ok := err.(*apiError)
		if !ok {
			t.Fatalf("%s: err = %v, want an apiError", tc.body, err)
		}
		m := ae.msgs[0]
		if m.MessageID != baseMessagePrefix+"PropertyUnknown" || m.MessageArgs[0] != tc.arg {
			t.Errorf("%s: got %s %v, want PropertyUnknown %s", tc.body, m.MessageID, m.MessageArgs, tc.arg)
		}
	}
}

// A task whose operation has not reported progress yet shows 0 %, so
// PercentComplete only rises (it once showed 50, then the first report).
func TestTaskPercentStartsAtZero(t *testing.T) {
	for _, tc := range []struct {
		tk   task
		want int
	}{
		{task{State: "Running", Percent: -1}, 0},
		{task{State: "Running", Percent: 8}, 8},
		{task{State: "Completed", Percent: 8}, 100},
	} {
		if got := tc.tk.render()["PercentComplete"]; got != tc.want {
			t.Errorf("%+v: PercentComplete = %v, want %d", tc.tk, got, tc.want)
		}
	}
}

// A body whose Content-Type is not JSON is refused 415 HeaderInvalid
// before anything changes; application/json (with parameters) and no
// Content-Type at all (curl without -H) are taken.
func TestContentTypeOfBody(t *testing.T) {
	e := newEnv(t)
	const ch = "/redfish/v1/Chassis/0"
	for _, tc := range []struct {
		ct   string
		want int
	}{
		{"text/plain", 415},
		{"application/x-www-form-urlencoded", 415},
		{"application/xml", 415},
		{"not a type;;", 415},
		{"application/json", 204},
		{"application/json; charset=utf-8", 204},
		{"Application/JSON", 204},
		{"", 204},
	} {
		r := e.patch(ch, M{"IndicatorLED": "Lit"}, func(r *http.Request) {
			if tc.ct == "" {
				r.Header.Del("Content-Type")
			} else {
				r.Header.Set("Content-Type", tc.ct)
			}
		})
		if tc.want == 415 {
			r.wantError(415, "HeaderInvalid")
			if a := r.args(); len(a) != 1 || a[0] != "Content-Type" {
				t.Errorf("%q: args %v", tc.ct, a)
			}
		} else {
			r.want(tc.want)
		}
	}
	// An action too.
	e.post("/redfish/v1/Systems/0/Actions/ComputerSystem.Reset", M{"ResetType": "On"}, header("Content-Type", "text/plain")).wantError(415, "HeaderInvalid")
}
