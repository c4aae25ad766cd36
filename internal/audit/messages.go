package audit

import "github.com/bmcd/bmcd/internal/auth"

// The messages bmcd records. Arguments are as each registry defines them.

// Protocols named in login messages.
const (
	Redfish = "Redfish"
	IPMI    = "IPMI"
	VNC     = "VNC"
	// WebConsole is the console's login form (kvm/web).
	WebConsole = "Web console"
)

// SuccessfulLogin: user logged in from addr (an IP address) over protocol
// (AccountSecurity).
func SuccessfulLogin(user, addr, protocol string) Message {
	return msg("AccountSecurity", "SuccessfulLogin", user, addr, protocol)
}

// InvalidCredentials: someone at addr gave wrong credentials over
// protocol. The registry names no user: a mistyped name is often a
// password (AccountSecurity).
func InvalidCredentials(addr, protocol string) Message {
	return msg("AccountSecurity", "InvalidCredentials", addr, protocol)
}

// AccountCreated (AccountSecurity).
func AccountCreated(user string) Message { return msg("AccountSecurity", "AccountCreated", user) }

// AccountRemoved (AccountSecurity).
func AccountRemoved(user string) Message { return msg("AccountSecurity", "AccountRemoved", user) }

// AccountEnabled (AccountSecurity).
func AccountEnabled(user string) Message { return msg("AccountSecurity", "AccountEnabled", user) }

// AccountDisabled (AccountSecurity).
func AccountDisabled(user string) Message { return msg("AccountSecurity", "AccountDisabled", user) }

// AccountUnlocked: an administrator unlocked user (AccountSecurity).
func AccountUnlocked(user string) Message { return msg("AccountSecurity", "AccountUnlocked", user) }

// PasswordModified (AccountSecurity).
func PasswordModified(user string) Message { return msg("AccountSecurity", "PasswordModified", user) }

// RoleChanged: user's role went from one Redfish role to another
// (AccountSecurity ManagerAccountRoleChanged).
func RoleChanged(user, from, to string) Message {
	return msg("AccountSecurity", "ManagerAccountRoleChanged", user, from, to)
}

// PropertyModified: a client set the property (an RFC 6901 JSON pointer
// into the resource) to value (ResourceEvent PropertyValueModifiedByClient).
func PropertyModified(pointer, value string) Message {
	return msg("ResourceEvent", "PropertyValueModifiedByClient", pointer, value)
}

// ManagerReset: manager (its Id) performed a reset of resetType, a Redfish
// ResetType (ManagerEvent).
func ManagerReset(manager, resetType string) Message {
	return msg("ManagerEvent", "ManagerReset", manager, resetType)
}

// LogCleared: the log named log was cleared (LogService).
func LogCleared(log string) Message { return msg("LogService", "LogCleared", log) }

// AccountChanges are the messages for an account that went from before to
// after, whichever protocol changed it: a rename (PropertyModified of
// /UserName: no AccountSecurity message renames), PasswordModified when
// password says one was set (passwords are never compared), then
// ManagerAccountRoleChanged, AccountEnabled or AccountDisabled, and
// AccountUnlocked, each only if it changed. Messages name the account by
// its new name; nil when nothing changed.
func AccountChanges(before, after auth.Account, password bool) []Message {
	var out []Message
	if after.UserName != before.UserName {
		out = append(out, PropertyModified("/UserName", after.UserName))
	}
	if password {
		out = append(out, PasswordModified(after.UserName))
	}
	if after.Role != before.Role {
		out = append(out, RoleChanged(after.UserName, string(before.Role), string(after.Role)))
	}
	switch {
	case after.Enabled && !before.Enabled:
		out = append(out, AccountEnabled(after.UserName))
	case !after.Enabled && before.Enabled:
		out = append(out, AccountDisabled(after.UserName))
	}
	if before.Locked && !after.Locked {
		out = append(out, AccountUnlocked(after.UserName))
	}
	return out
}
