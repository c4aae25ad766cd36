package redfish

import (
	"net/http"
	"testing"
)

func TestDuplicateMember(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{`{"a":1,"b":2}`, ""},
		{`{"a":1,"a":2}`, "/a"},
		{`{"Boot":{"BootNext":"x","BootNext":"y"}}`, "/Boot/BootNext"},
		{`{"a":[{"x":1},{"x":2,"x":3}]}`, "/a/1/x"},
		{`{"a":{"b":1},"c":{"b":1}}`, ""},
		{`{"a~b/c":1,"a~b/c":2}`, "/a~0b~1c"},
		{`{"a":[1,{"k":"v"}],"b":"a"}`, ""},
		{`{"a":1,`, ""},
	} {
		if got := duplicateMember([]byte(tc.raw)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.raw, got, tc.want)
		}
	}
}

// A repeated member is refused, and nothing changes: which value was
// meant is unknown (encoding/json would keep the last one silently).
func TestDuplicateMemberRefused(t *testing.T) {
	e := newEnv(t)
	e.patch(sys0, `{"IndicatorLED":"Lit","IndicatorLED":"Off"}`).want(http.StatusBadRequest).wantMessages("PropertyDuplicate /IndicatorLED")
	if e.machines["0"].Identify().On() {
		t.Error("a refused body changed the system")
	}
	e.post(sys0+"/Actions/ComputerSystem.Reset", `{"ResetType":"On","ResetType":"ForceOff"}`).
		want(http.StatusBadRequest).wantMessages("ActionParameterDuplicate ComputerSystem.Reset|ResetType")
}
