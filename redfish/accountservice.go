package redfish

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
)

func (s *Service) accountRoutes() {
	s.handle("/redfish/v1/AccountService", &resource{get: func(*http.Request) (any, error) {
		return M{
			"@odata.type":             "#AccountService.v1_18_1.AccountService",
			"@odata.id":               "/redfish/v1/AccountService",
			"Id":                      "AccountService",
			"Name":                    "Account Service",
			"ServiceEnabled":          true,
			"LocalAccountAuth":        "Enabled",
			"MinPasswordLength":       auth.MinPasswordLength,
			"MaxPasswordLength":       auth.MaxPasswordLength,
			"AccountLockoutThreshold": 0,
			"Accounts":                link{"/redfish/v1/AccountService/Accounts"},
			"Roles":                   link{"/redfish/v1/AccountService/Roles"},
			"Status":                  enabledStatus(),
		}, nil
	}})
	s.handle("/redfish/v1/AccountService/Accounts", &resource{
		get: func(r *http.Request) (any, error) {
			p, _ := principalFrom(r)
			var ids []string
			for _, a := range s.accounts.List() {
				if p.Account.Role.Has(auth.PrivConfigureUsers) || a.ID == p.Account.ID {
					ids = append(ids, accountPath(a.ID))
				}
			}
			return collection("ManagerAccountCollection", "Accounts Collection", accountsPath, ids), nil
		},
		post:     s.createAccount,
		postPriv: auth.PrivConfigureUsers,
	})
	s.handle("/redfish/v1/AccountService/Accounts/{acct}", &resource{
		get: func(r *http.Request) (any, error) {
			a, err := s.visibleAccount(r)
			if err != nil {
				return nil, err
			}
			return renderAccount(a), nil
		},
		patch:      s.patchAccount,
		patchPriv:  "", // ConfigureUsers, or ConfigureSelf for one's own password: checked in patchAccount
		delete:     s.deleteAccount,
		deletePriv: auth.PrivConfigureUsers,
	})
	s.handle("/redfish/v1/AccountService/Roles", &resource{get: func(*http.Request) (any, error) {
		ids := make([]string, len(auth.Roles))
		for i, r := range auth.Roles {
			ids[i] = rolePath(r)
		}
		return collection("RoleCollection", "Roles Collection", "/redfish/v1/AccountService/Roles", ids), nil
	}})
	s.handle("/redfish/v1/AccountService/Roles/{role}", &resource{get: func(r *http.Request) (any, error) {
		role := auth.Role(chi.URLParam(r, "role"))
		if !role.Valid() {
			return nil, notFound("Role", string(role))
		}
		return M{
			"@odata.type":        "#Role.v1_3_3.Role",
			"@odata.id":          rolePath(role),
			"Id":                 string(role),
			"Name":               string(role) + " Role",
			"RoleId":             string(role),
			"IsPredefined":       true,
			"AssignedPrivileges": role.Privileges(),
		}, nil
	}})
}

func accountPath(id int) string   { return "/redfish/v1/AccountService/Accounts/" + strconv.Itoa(id) }
func rolePath(r auth.Role) string { return "/redfish/v1/AccountService/Roles/" + string(r) }

func renderAccount(a auth.Account) M {
	return M{
		"@odata.type":  "#ManagerAccount.v1_14_1.ManagerAccount",
		"@odata.id":    accountPath(a.ID),
		"Id":           strconv.Itoa(a.ID),
		"Name":         "User Account",
		"UserName":     a.UserName,
		"RoleId":       string(a.Role),
		"Enabled":      a.Enabled,
		"Locked":       a.Locked,
		"Password":     nil,
		"AccountTypes": []string{"Redfish", "IPMI"},
		"Links":        M{"Role": link{rolePath(a.Role)}},
		// Locked takes false only: the service locks, clients unlock.
		writeableKey: []string{"UserName", "Password", "RoleId", "Enabled", "Locked"},
	}
}

// visibleAccount resolves {acct}: any account for ConfigureUsers, one's
// own otherwise; others are reported as absent.
func (s *Service) visibleAccount(r *http.Request) (auth.Account, error) {
	raw := chi.URLParam(r, "acct")
	id, err := strconv.Atoi(raw)
	a, ok := s.accounts.Get(id)
	p, _ := principalFrom(r)
	if err != nil || !ok || (a.ID != p.Account.ID && !p.Account.Role.Has(auth.PrivConfigureUsers)) {
		return auth.Account{}, notFound("ManagerAccount", raw)
	}
	return a, nil
}

// accountError maps account-database errors to Base messages. user names
// the account; lastAdmin is the message for the last-administrator guard,
// which depends on the request (see lastAdminError).
func accountError(err error, user string, lastAdmin *apiError) error {
	switch {
	case errors.Is(err, auth.ErrExists):
		return apiErr(http.StatusConflict, "ResourceAlreadyExists", "ManagerAccount", "UserName", user)
	case errors.Is(err, auth.ErrFull):
		return apiErr(http.StatusBadRequest, "CreateLimitReachedForResource")
	case errors.Is(err, auth.ErrLastAdmin) && lastAdmin != nil:
		return withCause(lastAdmin, err)
	case errors.Is(err, auth.ErrNotFound):
		return notFound("ManagerAccount", user)
	case errors.Is(err, auth.ErrInvalid):
		return withCause(apiErr(http.StatusBadRequest, "PropertyValueFormatError", user, "/UserName"), err)
	}
	return err
}

// lastAdminError is the message for a request that would leave no enabled
// Administrator. A DELETE gets ResourceCannotBeDeleted, the Base message
// for a delete the service refuses; a PATCH gets
// PropertyValueResourceConflict, naming the property and value that
// conflict with the configuration of the accounts collection (the
// collection would be left without an Administrator). Both are 409.
func lastAdminError(b *accountBody) *apiError {
	switch {
	case b == nil:
		return apiErr(http.StatusConflict, "ResourceCannotBeDeleted")
	case b.RoleID != nil && *b.RoleID != string(auth.RoleAdministrator):
		return apiErr(http.StatusConflict, "PropertyValueResourceConflict", "RoleId", *b.RoleID, accountsPath)
	case b.Enabled != nil && !*b.Enabled:
		return apiErr(http.StatusConflict, "PropertyValueResourceConflict", "Enabled", "false", accountsPath)
	}
	return nil // the guard fired for a change this body does not make: a bug, answered as such
}

const accountsPath = "/redfish/v1/AccountService/Accounts"

type accountBody struct {
	UserName *string `json:"UserName"`
	Password *string `json:"Password" nullable:"true"` // read as null, so null is no change
	RoleID   *string `json:"RoleId" validate:"omitempty,oneof=Administrator Operator ReadOnly"`
	Enabled  *bool   `json:"Enabled"`
	Locked   *bool   `json:"Locked"`
}

// checkCredentials validates a new user name and password against the
// limits IPMI imposes too.
func (b *accountBody) checkCredentials() error {
	if b.Password != nil {
		if err := auth.CheckPassword(*b.Password); err != nil {
			// The only rule is the length; the message names the limits'
			// properties. The password itself is never logged.
			return withCause(apiErr(http.StatusBadRequest, "PasswordIncorrectLength"), err)
		}
	}
	if b.UserName != nil {
		u := *b.UserName
		switch err := auth.CheckUserName(u); {
		case err == nil:
		case u == "":
			return withCause(apiErr(http.StatusBadRequest, "StringValueTooShort", u, "1"), err)
		case len(u) > auth.MaxUserNameLength:
			return withCause(apiErr(http.StatusBadRequest, "StringValueTooLong", u, strconv.Itoa(auth.MaxUserNameLength)), err)
		default:
			return withCause(apiErr(http.StatusBadRequest, "PropertyValueFormatError", u, "/UserName"), err)
		}
	}
	return nil
}

// newAccountBody is a POST to the Accounts collection: an accountBody
// and Id, which some tools send to pick the account's slot.
type newAccountBody struct {
	ID       *string `json:"Id"`
	UserName *string `json:"UserName"`
	Password *string `json:"Password"`
	RoleID   *string `json:"RoleId" validate:"omitempty,oneof=Administrator Operator ReadOnly"`
	Enabled  *bool   `json:"Enabled"`
	Locked   *bool   `json:"Locked"`
}

// slot is the account ID an Id in a create request names: a number in
// the range of account IDs (the IPMI user IDs 2..16), else 0 (ignored, as
// DSP0266 lets a service ignore the service-controlled Id on create).
func (n newAccountBody) slot() int {
	if n.ID == nil {
		return 0
	}
	id, err := strconv.Atoi(*n.ID)
	if err != nil || strconv.Itoa(id) != *n.ID || id < 2 || id >= 2+auth.MaxAccounts {
		return 0
	}
	return id
}

// createAccount creates an account (201 with Location): in the slot Id
// names when it is a free account ID, else in the lowest free one. An Id
// naming a taken slot is 409 ResourceAlreadyExists, as a taken UserName
// is: putting the account elsewhere would leave the client addressing
// another user's account.
func (s *Service) createAccount(w http.ResponseWriter, r *http.Request) error {
	var n newAccountBody
	if _, err := decodeBody(r, &n, bodyKind{}); err != nil {
		return err
	}
	b := accountBody{UserName: n.UserName, Password: n.Password, RoleID: n.RoleID, Enabled: n.Enabled, Locked: n.Locked}
	// One message per missing property, in a stable order.
	missing := &apiError{status: http.StatusBadRequest}
	for _, p := range []struct {
		name   string
		absent bool
	}{{"UserName", b.UserName == nil}, {"Password", b.Password == nil}, {"RoleId", b.RoleID == nil}} {
		if p.absent {
			// The argument is the property's name (not a JSON pointer, which
			// the registry asks for in PropertyMissing but not here).
			missing.msgs = append(missing.msgs, newMessage("CreateFailedMissingReqProperties", p.name))
		}
	}
	if len(missing.msgs) > 0 {
		return missing
	}
	if b.Locked != nil && *b.Locked {
		return apiErr(http.StatusBadRequest, "PropertyValueNotInList", "true", "/Locked")
	}
	if err := b.checkCredentials(); err != nil {
		return err
	}
	enabled := b.Enabled == nil || *b.Enabled
	var (
		a   auth.Account
		err error
	)
	if id := n.slot(); id != 0 {
		a, err = s.accounts.CreateWithID(id, *b.UserName, *b.Password, auth.Role(*b.RoleID), enabled)
		if _, taken := s.accounts.Get(id); errors.Is(err, auth.ErrExists) && taken {
			if _, named := s.accounts.ByName(*b.UserName); !named {
				return apiErr(http.StatusConflict, "ResourceAlreadyExists", "ManagerAccount", "Id", *n.ID)
			}
		}
	} else {
		a, err = s.accounts.Create(*b.UserName, *b.Password, auth.Role(*b.RoleID), enabled)
	}
	if err != nil {
		return accountError(err, *b.UserName, nil)
	}
	s.record(r, audit.AccountCreated(a.UserName))
	w.Header().Set("Location", accountPath(a.ID))
	writeJSON(w, http.StatusCreated, renderAccount(a))
	return nil
}

func (s *Service) patchAccount(r *http.Request) error {
	a, err := s.visibleAccount(r)
	if err != nil {
		return err
	}
	var b accountBody
	ro := map[string]bool{"Id": true, "Name": true, "AccountTypes": true, "Links": true}
	if _, err := decodeBody(r, &b, bodyKind{readOnly: func(n string) bool { return ro[n] }}); err != nil {
		return err
	}
	p, _ := principalFrom(r)
	onlyOwnPassword := a.ID == p.Account.ID && b.UserName == nil && b.RoleID == nil && b.Enabled == nil && b.Locked == nil
	if !p.Account.Role.Has(auth.PrivConfigureUsers) && !(onlyOwnPassword && p.Account.Role.Has(auth.PrivConfigureSelf)) {
		return apiErr(http.StatusForbidden, "InsufficientPrivilege")
	}
	if b.Locked != nil && *b.Locked {
		// Only the service locks accounts; clients may unlock them.
		return apiErr(http.StatusBadRequest, "PropertyValueNotInList", "true", "/Locked")
	}
	if err := b.checkCredentials(); err != nil {
		return err
	}
	u := auth.Update{UserName: b.UserName, Password: b.Password, Enabled: b.Enabled, Locked: b.Locked}
	if b.RoleID != nil {
		role := auth.Role(*b.RoleID)
		u.Role = &role
	}
	after, err := s.accounts.Update(a.ID, u)
	if err != nil {
		return accountError(err, a.UserName, lastAdminError(&b))
	}
	for _, m := range audit.AccountChanges(a, after, b.Password != nil) {
		s.record(r, m)
	}
	return nil
}

func (s *Service) deleteAccount(r *http.Request) error {
	a, err := s.visibleAccount(r)
	if err != nil {
		return err
	}
	if err := s.accounts.Delete(a.ID); err != nil {
		return accountError(err, a.UserName, lastAdminError(nil))
	}
	s.record(r, audit.AccountRemoved(a.UserName))
	return nil
}
