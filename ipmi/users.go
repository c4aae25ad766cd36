package ipmi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"

	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/ipmi/cipher"
)

// maxUserID is the highest IPMI user ID: user 1 (the null user, always
// disabled) plus one per account slot.
const maxUserID = auth.MaxAccounts + 1

// userID validates the user ID field of a user command; user 1 is allowed
// only where allowNull says so.
func userID(b byte, allowNull bool) (int, bool) {
	id := int(b & 0x3F)
	if id == 0 || id > maxUserID || (id == 1 && !allowNull) {
		return 0, false
	}
	return id, true
}

// AccountChange is one change an IPMI user command made to an account,
// as Config.OnAccountChange is told of it.
type AccountChange struct {
	// User is the name the session logged in with and Src the address the
	// command came from: who made the change.
	User string
	Src  netip.Addr
	// Before and After are the account as it was and as it is now. Before
	// is the zero Account when Created.
	Before, After auth.Account
	// Created: Set User Name filled an empty slot.
	Created bool
	// PasswordChanged: Set User Password set a password (it may be the
	// one the account had; passwords are not compared).
	PasswordChanged bool
}

// accountChanged tells Config.OnAccountChange of c, if it changed
// anything, with the session's user and source.
func (r *request) accountChanged(c AccountChange) {
	if r.s.cfg.OnAccountChange == nil || (!c.Created && !c.PasswordChanged && c.Before == c.After) {
		return
	}
	if r.sess != nil {
		c.User = r.sess.userName
	}
	c.Src = r.from.Addr().Unmap()
	r.s.cfg.OnAccountChange(c)
}

// accountCC maps an account database error to a completion code.
func accountCC(err error) byte {
	switch {
	case err == nil:
		return CCOK
	case errors.Is(err, auth.ErrLastAdmin):
		return CCNotInPresentState
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrExists), errors.Is(err, auth.ErrNotFound):
		return CCInvalidData
	case errors.Is(err, auth.ErrFull):
		return CCOutOfRange
	}
	return CCUnspecified
}

// Get User Access (§22.27). Account slots without an account read as NO
// ACCESS, which ipmitool's "user list" skips.
func getUserAccess(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 2 {
		return CCLengthInvalid, nil
	}
	if _, ok := resolveChannel(d[0]); !ok {
		return CCInvalidData, nil
	}
	id, ok := userID(d[1], true)
	if !ok {
		return CCInvalidData, nil
	}
	enabled := 0
	for _, a := range r.s.accounts.List() {
		if a.Enabled && !a.Locked {
			enabled++
		}
	}
	status, access := byte(0x80), byte(0x0F) // disabled, NO ACCESS
	if a, ok := r.s.accounts.Get(id); ok && id > 1 {
		access = 0x10 | byte(rolePrivilege(a.Role)) // IPMI messaging on
		if a.Enabled && !a.Locked {
			status = 0x40
		}
	}
	return CCOK, []byte{maxUserID, status | byte(enabled), 0x01, access}
}

// Set User Access (§22.26): the privilege limit becomes the account's role
// (ADMINISTRATOR, OPERATOR, USER map to Administrator, Operator,
// ReadOnly). Callback-only access, per-user session limits and switching
// IPMI messaging off are not supported.
func setUserAccess(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 3 {
		return CCLengthInvalid, nil
	}
	if _, ok := resolveChannel(d[0]); !ok {
		return CCInvalidData, nil
	}
	if d[0]&0x80 != 0 && (d[0]&0x40 != 0 || d[0]&0x10 == 0) {
		return CCInvalidData, nil
	}
	if len(d) >= 4 && d[3]&0x0F != 0 {
		return CCInvalidData, nil
	}
	id, ok := userID(d[1], false)
	if !ok {
		return CCInvalidData, nil
	}
	before, ok := r.s.accounts.Get(id)
	if !ok {
		return CCInvalidData, nil
	}
	role, ok := privilegeRole(Privilege(d[2] & 0x0F))
	if !ok {
		return CCInvalidData, nil
	}
	after, err := r.s.accounts.Update(id, auth.Update{Role: &role})
	if err == nil {
		r.s.log.Info("ipmi user access set", "user_id", id, "role", role, "by", r.sess.userName)
		r.accountChanged(AccountChange{Before: before, After: after})
	}
	return accountCC(err), nil
}

// Get User Name (§22.29). Empty slots and the null user read as 16 zero
// bytes.
func getUserName(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 1 {
		return CCLengthInvalid, nil
	}
	id, ok := userID(d[0], true)
	if !ok {
		return CCInvalidData, nil
	}
	name := make([]byte, 16)
	if a, ok := r.s.accounts.Get(id); ok && id > 1 {
		copy(name, a.UserName)
	}
	return CCOK, name
}

// Set User Name (§22.28). Naming an empty slot creates a disabled ReadOnly
// account with a random password in that slot.
func setUserName(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 17 {
		return CCLengthInvalid, nil
	}
	id, ok := userID(d[0], false)
	if !ok {
		return CCInvalidData, nil
	}
	name := d[1:17]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		if !allZero(name[i:]) {
			return CCInvalidData, nil
		}
		name = name[:i]
	}
	if err := auth.CheckUserName(string(name)); err != nil {
		return CCInvalidData, nil
	}
	n := string(name)
	if a, ok := r.s.accounts.Get(id); ok {
		if a.UserName == n {
			return CCOK, nil
		}
		after, err := r.s.accounts.Update(id, auth.Update{UserName: &n})
		if err == nil {
			r.s.log.Info("ipmi user renamed", "user_id", id, "user", n, "by", r.sess.userName)
			r.accountChanged(AccountChange{Before: a, After: after})
		}
		return accountCC(err), nil
	}
	pw := make([]byte, 10)
	if _, err := rand.Read(pw); err != nil {
		return CCUnspecified, nil
	}
	created, err := r.s.accounts.CreateWithID(id, n, hex.EncodeToString(pw), auth.RoleReadOnly, false)
	if err != nil {
		return accountCC(err), nil
	}
	r.s.log.Info("ipmi user created", "user_id", id, "user", n, "by", r.sess.userName)
	r.accountChanged(AccountChange{After: created, Created: true})
	return CCOK, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Set User Password (§22.30): disable, enable, set or test. Passwords
// follow the account rules (8 to 20 bytes, no NUL). Setting or testing a
// password is refused (D4h) on a session without confidentiality, where
// it would cross the network in clear.
func setUserPassword(r *request) (byte, []byte) {
	d := r.msg.Data
	if len(d) < 2 {
		return CCLengthInvalid, nil
	}
	id, ok := userID(d[0], true)
	if !ok {
		return CCInvalidData, nil
	}
	op := d[1] & 0x03
	if id == 1 {
		if op == 0 {
			return CCOK, nil // the null user is disabled already
		}
		return CCInvalidData, nil
	}
	a, ok := r.s.accounts.Get(id)
	if !ok {
		return CCInvalidData, nil
	}
	switch op {
	case 0, 1:
		on := op == 1
		after, err := r.s.accounts.Update(id, auth.Update{Enabled: &on})
		if err == nil {
			r.s.log.Info("ipmi user enabled", "user_id", id, "enabled", on, "by", r.sess.userName)
			r.accountChanged(AccountChange{Before: a, After: after})
		}
		return accountCC(err), nil
	}
	if r.sess.aes == nil {
		return CCInsufficientPriv, nil
	}
	size := 16
	if d[0]&0x80 != 0 {
		size = 20
	}
	if len(d) != 2+size {
		return CCLengthInvalid, nil
	}
	pw := d[2:]
	if i := bytes.IndexByte(pw, 0); i >= 0 {
		if !allZero(pw[i:]) {
			return CCInvalidData, nil
		}
		pw = pw[:i]
	}
	if op == 3 {
		_, stored, ok := r.s.accounts.Secret(a.UserName)
		defer clear(stored)
		switch {
		case !ok:
			return 0x80, nil
		case len(stored) > 16 && size == 16:
			return 0x81, nil // stored as a 20-byte password
		case !cipher.Equal(stored, pw):
			return 0x80, nil
		}
		return CCOK, nil
	}
	p := string(pw)
	if err := auth.CheckPassword(p); err != nil {
		return CCInvalidData, nil
	}
	after, err := r.s.accounts.Update(id, auth.Update{Password: &p})
	if err == nil {
		r.s.log.Info("ipmi user password set", "user_id", id, "by", r.sess.userName)
		r.accountChanged(AccountChange{Before: a, After: after, PasswordChanged: true})
	}
	return accountCC(err), nil
}
