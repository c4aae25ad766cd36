package redfish

import (
	"strconv"
	"testing"
)

// TestThermalPowerMemberIds checks that every member of the Thermal and
// Power arrays is identified by its index: MemberId "i" and @odata.id
// "<resource>#/<array>/i", as the Redfish Specification asks of
// referenceable members (and as validators check).
func TestThermalPowerMemberIds(t *testing.T) {
	e := newEnv(t)
	e.powerOn("0")
	for _, tc := range []struct {
		path   string
		arrays []string
	}{
		{"/redfish/v1/Chassis/0/Thermal", []string{"Temperatures", "Fans"}},
		{"/redfish/v1/Chassis/0/Power", []string{"PowerControl", "Voltages"}},
	} {
		doc := e.get(tc.path).obj()
		for _, a := range tc.arrays {
			members, _ := doc[a].([]any)
			if len(members) == 0 {
				t.Errorf("%s: no %s", tc.path, a)
			}
			for i, m := range members {
				wantID := tc.path + "#/" + a + "/" + strconv.Itoa(i)
				if got := at(m, "@odata.id"); got != wantID {
					t.Errorf("%s %s[%d]: @odata.id %v, want %s", tc.path, a, i, got, wantID)
				}
				if got := at(m, "MemberId"); got != strconv.Itoa(i) {
					t.Errorf("%s %s[%d]: MemberId %v, want %q", tc.path, a, i, got, strconv.Itoa(i))
				}
			}
		}
	}
}
