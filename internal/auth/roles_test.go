package auth_test

import (
	"errors"
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
)

// TestIPMIPrivilege is the role ↔ IPMI privilege map, both ways.
func TestIPMIPrivilege(t *testing.T) {
	for _, tc := range []struct {
		role  auth.Role
		level uint8
	}{
		{auth.RoleAdministrator, 4},
		{auth.RoleOperator, 3},
		{auth.RoleReadOnly, 2},
		{"Root", 0},
		{"", 0},
	} {
		if got := auth.IPMIPrivilege(tc.role); got != tc.level {
			t.Errorf("IPMIPrivilege(%q) = %d, want %d", tc.role, got, tc.level)
		}
	}
	for _, tc := range []struct {
		level uint8
		role  auth.Role
		ok    bool
	}{
		{0, "", false}, // reserved / none
		{1, "", false}, // CALLBACK
		{2, auth.RoleReadOnly, true},
		{3, auth.RoleOperator, true},
		{4, auth.RoleAdministrator, true},
		{5, "", false},   // OEM
		{0xF, "", false}, // NO ACCESS (Set User Access)
	} {
		if r, ok := auth.RoleForIPMIPrivilege(tc.level); r != tc.role || ok != tc.ok {
			t.Errorf("RoleForIPMIPrivilege(%d) = %q %v, want %q %v", tc.level, r, ok, tc.role, tc.ok)
		}
	}
	for _, r := range auth.Roles {
		if back, ok := auth.RoleForIPMIPrivilege(auth.IPMIPrivilege(r)); !ok || back != r {
			t.Errorf("%s round-trips to %q", r, back)
		}
	}
}

// TestAuthorize is the privilege check over every role and privilege.
func TestAuthorize(t *testing.T) {
	const (
		login = auth.PrivLogin
		mgr   = auth.PrivConfigureManager
		users = auth.PrivConfigureUsers
		self  = auth.PrivConfigureSelf
		comp  = auth.PrivConfigureComponents
	)
	for _, tc := range []struct {
		role auth.Role
		priv auth.Privilege
		ok   bool
	}{
		{auth.RoleAdministrator, login, true},
		{auth.RoleAdministrator, mgr, true},
		{auth.RoleAdministrator, users, true},
		{auth.RoleAdministrator, self, true},
		{auth.RoleAdministrator, comp, true},
		{auth.RoleOperator, login, true},
		{auth.RoleOperator, mgr, false},
		{auth.RoleOperator, users, false},
		{auth.RoleOperator, self, true},
		{auth.RoleOperator, comp, true},
		{auth.RoleReadOnly, login, true},
		{auth.RoleReadOnly, mgr, false},
		{auth.RoleReadOnly, users, false},
		{auth.RoleReadOnly, self, true},
		{auth.RoleReadOnly, comp, false},
		{auth.RoleReadOnly, "", true}, // authentication only
		{"Root", login, false},
		{"Root", "", true},
	} {
		p := auth.Principal{Account: auth.Account{UserName: "u", Role: tc.role, Enabled: true}}
		err := auth.Authorize(p, tc.priv)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, auth.ErrInsufficientPrivilege)) {
			t.Errorf("Authorize(%s, %q) = %v, want ok %v", tc.role, tc.priv, err, tc.ok)
		}
	}
}
