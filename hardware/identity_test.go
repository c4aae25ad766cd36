package hardware

import (
	"fmt"
	"regexp"
	"testing"
)

// TestIdentityStable pins the values bmcd has always derived: clients and
// inventories keep them (Metal3 BareMetalHosts keep the host's UUID).
func TestIdentityStable(t *testing.T) {
	const seed = "6f1c2a3b-0000-4000-8000-000000000001"
	id := DeriveIdentity(seed, "0")
	host := id.Sum("bmcd-sim")
	for _, tc := range []struct{ name, got, want string }{
		{"manager UUID", id.ManagerUUID, "879546d1-d5e8-5fc1-8454-3804d9a0a8ef"},
		{"manager MAC", id.ManagerMAC.String(), "8a:48:cf:42:96:9e"},
		{"sim host UUID", NameUUID(host), "f2685d90-48d3-5bc8-9ead-469dbb108bd5"},
		{"sim serial", fmt.Sprintf("SIM%X", host[13:18]), "SIM108BD51ED8"},
		{"sim PSU serial", fmt.Sprintf("SIMP%X1", func() []byte { h := id.Sum("bmcd-sim-psu"); return h[0:4] }()), "SIMPFED655E71"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestIdentityDistinct(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]string{}
	for _, seed := range []string{"a", "b"} {
		for _, sys := range []string{"0", "1", "a"} {
			id := DeriveIdentity(seed, sys)
			if !uuid.MatchString(id.ManagerUUID) {
				t.Errorf("%s/%s: manager UUID %q", seed, sys, id.ManagerUUID)
			}
			if len(id.ManagerMAC) != 6 || id.ManagerMAC[0]&0x03 != 0x02 {
				t.Errorf("%s/%s: MAC %s is not locally administered unicast", seed, sys, id.ManagerMAC)
			}
			h := id.Sum("bmcd-sim")
			for _, v := range []string{id.ManagerUUID, id.ManagerMAC.String(), NameUUID(h), NameUUID(id.Sum("other"))} {
				if prev, dup := seen[v]; dup {
					t.Errorf("%s/%s: %s already derived for %s", seed, sys, v, prev)
				}
				seen[v] = seed + "/" + sys
			}
			if DeriveIdentity(seed, sys).ManagerUUID != id.ManagerUUID {
				t.Errorf("%s/%s: not stable", seed, sys)
			}
		}
	}
}
