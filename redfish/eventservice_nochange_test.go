package redfish

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// A PATCH that sets what is already set changes nothing and publishes no
// ResourceChanged; the same PATCH that does change the resource does.
// The event queue to one destination keeps its order, so a ResourceChanged
// from the first PATCH would arrive before the second's.
func TestNoResourceChangedForNoChange(t *testing.T) {
	e := fast(newEnv(t))
	all := newSink(t)
	e.subscribe(M{"Destination": all.URL, "Protocol": "Redfish"})
	acct := e.post(acctsURI, M{"UserName": "idle", "Password": "idle-pw12", "RoleId": "ReadOnly"}).want(http.StatusCreated).Header.Get("Location")
	for _, tc := range []struct {
		name         string
		path         string
		same, change M
	}{
		{"IndicatorLED Off when Off", "/redfish/v1/Chassis/0", M{"IndicatorLED": "Off"}, M{"IndicatorLED": "Lit"}},
		{"SessionTimeout as it is", "/redfish/v1/SessionService", M{"SessionTimeout": 1800}, M{"SessionTimeout": 600}},
		{"Enabled on an enabled account", acct, M{"Enabled": true}, M{"Enabled": false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			count := func() int {
				n := 0
				for _, v := range all.events() {
					r := recordOf(v)
					if r["MessageId"] == "ResourceEvent.1.4.ResourceChanged" && fmt.Sprint(at(r, "OriginOfCondition", "@odata.id")) == tc.path {
						n++
					}
				}
				return n
			}
			before := count()
			tag := e.get(tc.path).obj()["@odata.etag"]
			e.patch(tc.path, tc.same).want(http.StatusNoContent)
			if now := e.get(tc.path).obj()["@odata.etag"]; now != tag {
				t.Fatalf("the no-op PATCH changed the ETag %v -> %v", tag, now)
			}
			e.patch(tc.path, tc.change).want(http.StatusNoContent)
			deadline := time.Now().Add(2 * time.Second)
			for count() == before && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			if got := count() - before; got != 1 {
				t.Errorf("%d ResourceChanged about %s, want 1 (for the real change only); got %v", got, tc.path, messageIDsOf(all.events()))
			}
		})
	}
}
