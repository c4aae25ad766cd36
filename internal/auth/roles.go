// Package auth holds the BMC's user accounts and roles, shared by every
// protocol: an account made through Redfish logs in over IPMI too. It is
// also the HTTP front door: the login session table (Sessions) and the
// Gate, which authenticates a request by HTTP Basic credentials or a
// session token, checks the Redfish privilege it needs (Authorize) and
// puts the Principal in its context (FromContext), for Redfish and the
// console alike. The role maps (Role.Privileges, IPMIPrivilege) are here,
// once.
package auth

// Role is a predefined Redfish role.
type Role string

// The predefined roles.
const (
	RoleAdministrator Role = "Administrator"
	RoleOperator      Role = "Operator"
	RoleReadOnly      Role = "ReadOnly"
)

// Roles lists the roles in order of decreasing power.
var Roles = []Role{RoleAdministrator, RoleOperator, RoleReadOnly}

// Privilege is a Redfish privilege.
type Privilege string

// The Redfish privileges.
const (
	PrivLogin               Privilege = "Login"
	PrivConfigureManager    Privilege = "ConfigureManager"
	PrivConfigureUsers      Privilege = "ConfigureUsers"
	PrivConfigureSelf       Privilege = "ConfigureSelf"
	PrivConfigureComponents Privilege = "ConfigureComponents"
)

// Privileges returns the privileges a role grants, per the Redfish
// specification's predefined roles.
func (r Role) Privileges() []Privilege {
	switch r {
	case RoleAdministrator:
		return []Privilege{PrivLogin, PrivConfigureManager, PrivConfigureUsers, PrivConfigureSelf, PrivConfigureComponents}
	case RoleOperator:
		return []Privilege{PrivLogin, PrivConfigureSelf, PrivConfigureComponents}
	case RoleReadOnly:
		return []Privilege{PrivLogin, PrivConfigureSelf}
	}
	return nil
}

// Has reports whether r grants p.
func (r Role) Has(p Privilege) bool {
	for _, x := range r.Privileges() {
		if x == p {
			return true
		}
	}
	return false
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r.Privileges() != nil }

// IPMI privilege levels (IPMI 2.0 §6.8 "Channel Privilege Levels"), as the
// numbers the wire carries. The ipmi package names them for its own use;
// these are the levels a role maps to.
const (
	IPMIUser          uint8 = 2
	IPMIOperator      uint8 = 3
	IPMIAdministrator uint8 = 4
)

// IPMIPrivilege is the IPMI privilege limit of role r: Administrator →
// ADMINISTRATOR (4), Operator → OPERATOR (3), ReadOnly → USER (2); 0 (no
// access) for an unknown role.
func IPMIPrivilege(r Role) uint8 {
	switch r {
	case RoleAdministrator:
		return IPMIAdministrator
	case RoleOperator:
		return IPMIOperator
	case RoleReadOnly:
		return IPMIUser
	}
	return 0
}

// RoleForIPMIPrivilege is the role whose IPMI privilege limit is level
// (the inverse of IPMIPrivilege); false for a level no role has (CALLBACK,
// OEM, NO ACCESS).
func RoleForIPMIPrivilege(level uint8) (Role, bool) {
	for _, r := range Roles {
		if IPMIPrivilege(r) == level {
			return r, true
		}
	}
	return "", false
}
