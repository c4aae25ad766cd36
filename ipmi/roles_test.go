package ipmi

import (
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
)

// TestRolePrivilege: the wire's privilege levels are the ones
// internal/auth maps the roles to, both ways.
func TestRolePrivilege(t *testing.T) {
	for _, tc := range []struct {
		role auth.Role
		priv Privilege
	}{
		{auth.RoleAdministrator, PrivAdmin},
		{auth.RoleOperator, PrivOperator},
		{auth.RoleReadOnly, PrivUser},
		{"Root", PrivNone},
	} {
		if got := rolePrivilege(tc.role); got != tc.priv {
			t.Errorf("rolePrivilege(%q) = %s, want %s", tc.role, got, tc.priv)
		}
		if tc.priv == PrivNone {
			continue
		}
		if r, ok := privilegeRole(tc.priv); !ok || r != tc.role {
			t.Errorf("privilegeRole(%s) = %q %v", tc.priv, r, ok)
		}
	}
	for _, p := range []Privilege{PrivNone, PrivCallback, PrivOEM, 0x0F} {
		if r, ok := privilegeRole(p); ok {
			t.Errorf("privilegeRole(%s) = %q: no role has it", p, r)
		}
	}
}
