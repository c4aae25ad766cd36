package redfish

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const acctsURI = "/redfish/v1/AccountService/Accounts"

func TestAccountsCRUD(t *testing.T) {
	e := newEnv(t)
	svc := e.get("/redfish/v1/AccountService").obj()
	if svc["MinPasswordLength"] != float64(8) || svc["MaxPasswordLength"] != float64(20) {
		t.Errorf("AccountService %v", svc)
	}
	r := e.post(acctsURI, M{"UserName": "alice", "Password": "alicepass1", "RoleId": "Operator"}).want(http.StatusCreated)
	loc := r.Header.Get("Location")
	body := r.obj()
	if body["@odata.id"] != loc || body["UserName"] != "alice" || body["RoleId"] != "Operator" || body["Enabled"] != true {
		t.Fatalf("created %v at %s", body, loc)
	}
	if body["Password"] != nil || strings.Contains(string(r.Body), "alicepass1") {
		t.Fatal("the password is shown")
	}
	got := e.get(loc).obj()
	if got["UserName"] != "alice" || at(got, "Links", "Role", "@odata.id") != "/redfish/v1/AccountService/Roles/Operator" {
		t.Errorf("GET %v", got)
	}
	e.get(loc, basic("alice", "alicepass1")).want(http.StatusOK)
	e.post(reset0, M{"ResetType": "On"}, basic("alice", "alicepass1")).want(http.StatusNoContent)

	e.patch(loc, M{"UserName": "alice2", "RoleId": "ReadOnly"}).want(http.StatusNoContent)
	if v := e.get(loc).obj(); v["UserName"] != "alice2" || v["RoleId"] != "ReadOnly" {
		t.Errorf("after PATCH %v", v)
	}
	e.get(loc, basic("alice", "alicepass1")).want(http.StatusUnauthorized)
	e.get(loc, basic("alice2", "alicepass1")).want(http.StatusOK)
	e.patch(loc, M{"Enabled": false}).want(http.StatusNoContent)
	e.get(loc, basic("alice2", "alicepass1")).want(http.StatusUnauthorized)
	e.patch(loc, M{"Enabled": true, "Locked": false}).want(http.StatusNoContent)
	e.get(loc, basic("alice2", "alicepass1")).want(http.StatusOK)

	e.delete(loc).want(http.StatusNoContent)
	e.get(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.delete(loc).wantError(http.StatusNotFound, "ResourceNotFound")
	e.patch(loc, M{"Enabled": true}).want(http.StatusNotFound)
	e.get(loc, basic("alice2", "alicepass1")).want(http.StatusUnauthorized)
	// Created disabled.
	r = e.post(acctsURI, M{"UserName": "bob", "Password": "bobpass12", "RoleId": "ReadOnly", "Enabled": false}).want(http.StatusCreated)
	if r.obj()["Enabled"] != false {
		t.Error("Enabled:false ignored")
	}
	e.get("/redfish/v1", basic("bob", "bobpass12")).want(http.StatusOK)
	e.get(acctsURI, basic("bob", "bobpass12")).want(http.StatusUnauthorized)
}

func TestAccountErrors(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("p", 21)
	for _, tc := range []struct {
		name string
		body any
		code int
		key  string
		args []string
	}{
		{"duplicate", M{"UserName": operUser, "Password": "password1", "RoleId": "Operator"}, 409, "ResourceAlreadyExists", []string{"ManagerAccount", "UserName", operUser}},
		{"no password", M{"UserName": "x1", "RoleId": "Operator"}, 400, "CreateFailedMissingReqProperties", []string{"Password"}},
		{"no user", M{"Password": "password1", "RoleId": "Operator"}, 400, "CreateFailedMissingReqProperties", []string{"UserName"}},
		{"no role", M{"UserName": "x1", "Password": "password1"}, 400, "CreateFailedMissingReqProperties", []string{"RoleId"}},
		{"short password", M{"UserName": "x1", "Password": "short", "RoleId": "Operator"}, 400, "PasswordIncorrectLength", []string{}},
		{"long password", M{"UserName": "x1", "Password": long, "RoleId": "Operator"}, 400, "PasswordIncorrectLength", nil},
		{"bad role", M{"UserName": "x1", "Password": "password1", "RoleId": "Root"}, 400, "PropertyValueNotInList", []string{"Root", "/RoleId"}},
		{"bad name", M{"UserName": "with space", "Password": "password1", "RoleId": "Operator"}, 400, "PropertyValueFormatError", []string{"with space", "/UserName"}},
		{"unicode name", M{"UserName": "jürgen", "Password": "password1", "RoleId": "Operator"}, 400, "PropertyValueFormatError", nil},
		{"colon name", M{"UserName": "a:b", "Password": "password1", "RoleId": "Operator"}, 400, "PropertyValueFormatError", nil},
		{"long name", M{"UserName": strings.Repeat("u", 17), "Password": "password1", "RoleId": "Operator"}, 400, "StringValueTooLong", []string{strings.Repeat("u", 17), "16"}},
		{"empty name", M{"UserName": "", "Password": "password1", "RoleId": "Operator"}, 400, "StringValueTooShort", []string{"", "1"}},
		{"locked", M{"UserName": "x1", "Password": "password1", "RoleId": "Operator", "Locked": true}, 400, "PropertyValueNotInList", nil},
		{"unknown", M{"UserName": "x1", "Password": "password1", "RoleId": "Operator", "Shell": "/bin/sh"}, 400, "PropertyUnknown", []string{"/Shell"}},
		{"wrong type", M{"UserName": "x1", "Password": 12345678, "RoleId": "Operator"}, 400, "PropertyValueTypeError", []string{"12345678", "/Password"}},
		{"empty", "{}", 400, "EmptyJSON", nil},
		{"malformed", "{", 400, "MalformedJSON", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.with(t).post(acctsURI, tc.body).wantError(tc.code, tc.key)
			if tc.args != nil {
				if got := r.args(); strings.Join(got, "|") != strings.Join(tc.args, "|") {
					t.Errorf("MessageArgs %q, want %q", got, tc.args)
				}
			}
		})
	}
	if n := e.accounts.Count(); n != 3 {
		t.Errorf("%d accounts after failed creates", n)
	}
	// With several properties missing, each is reported, in a stable order.
	r := e.post(acctsURI, M{"Enabled": true}).wantError(http.StatusBadRequest, "CreateFailedMissingReqProperties")
	if ids := messageIDs(r.Body); len(ids) != 3 {
		t.Errorf("missing UserName, Password and RoleId: %v", ids)
	}
	if got := r.args(); got[0] != "UserName" {
		t.Errorf("first missing property %q", got)
	}
	// PATCH errors.
	op := accountPath(e.ids[operUser])
	e.patch(op, M{"UserName": roUser}).wantError(http.StatusConflict, "ResourceAlreadyExists")
	e.patch(op, M{"Password": "short"}).wantError(http.StatusBadRequest, "PasswordIncorrectLength")
	e.patch(op, M{"Locked": true}).wantError(http.StatusBadRequest, "PropertyValueNotInList")
	e.patch(op, M{"Id": "9"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
	e.patch(op, M{"RoleId": "God"}).wantError(http.StatusBadRequest, "PropertyValueNotInList")
	e.patch(op, "{}").wantError(http.StatusBadRequest, "EmptyJSON")
	if a, _ := e.accounts.ByName(operUser); a.Role != "Operator" || !a.Enabled {
		t.Errorf("failed PATCHes changed the operator: %+v", a)
	}
	e.get(op, basic(operUser, operPass)).want(http.StatusOK)
}

func TestAccountLimit(t *testing.T) {
	e := newEnv(t)
	for i := e.accounts.Count(); i < 15; i++ {
		e.post(acctsURI, M{"UserName": fmt.Sprintf("user%d", i), "Password": "password1", "RoleId": "ReadOnly"}).want(http.StatusCreated)
	}
	e.post(acctsURI, M{"UserName": "onetoomany", "Password": "password1", "RoleId": "ReadOnly"}).
		wantError(http.StatusBadRequest, "CreateLimitReachedForResource")
	if n := at(e.get(acctsURI).obj(), "Members@odata.count"); n != float64(15) {
		t.Errorf("%v accounts", n)
	}
}

// Id in a create request (some tools send it to pick the slot): a free
// account ID is honoured, a taken one is ResourceAlreadyExists naming Id,
// anything that is not an account ID (2..16) is ignored as DSP0266 allows
// for service-controlled properties.
func TestAccountCreateWithID(t *testing.T) {
	e := newEnv(t)
	create := func(id any, name string) *resp {
		return e.post(acctsURI, M{"Id": id, "UserName": name, "Password": "password1", "RoleId": "Operator"})
	}
	r := create("9", "slot9").want(http.StatusCreated)
	if loc := r.Header.Get("Location"); loc != accountPath(9) || r.obj()["Id"] != "9" {
		t.Fatalf("Id 9: Location %s, body %v", loc, r.obj())
	}
	if a := mustAccount(t, e, "slot9"); a.ID != 9 {
		t.Errorf("slot9 has ID %d", a.ID)
	}
	r = create("9", "again9").wantError(http.StatusConflict, "ResourceAlreadyExists")
	if got := strings.Join(r.args(), "|"); got != "ManagerAccount|Id|9" {
		t.Errorf("taken Id args %q", got)
	}
	if _, ok := e.accounts.ByName("again9"); ok {
		t.Error("an account was created on a taken Id")
	}
	// A taken name is still reported as the name.
	create("10", "slot9").wantError(http.StatusConflict, "ResourceAlreadyExists")
	if _, ok := e.accounts.Get(10); ok {
		t.Error("slot 10 used by a refused create")
	}
	// Not an account ID: ignored, the lowest free slot is used.
	for i, id := range []string{"1", "17", "0", "-3", "09", "alice", ""} {
		name := fmt.Sprintf("ign%d", i)
		r := create(id, name).want(http.StatusCreated)
		a := mustAccount(t, e, name)
		if r.Header.Get("Location") != accountPath(a.ID) || a.ID < 2 || a.ID > 16 || a.ID == 9 {
			t.Errorf("Id %q: created as %d at %s", id, a.ID, r.Header.Get("Location"))
		}
	}
	// The slot is the IPMI user ID too: honoured up to 16.
	create("16", "slot16").want(http.StatusCreated)
	if a := mustAccount(t, e, "slot16"); a.ID != 16 {
		t.Errorf("slot16 has ID %d", a.ID)
	}
	// The rest of the body is checked as without Id.
	e.post(acctsURI, M{"Id": "13", "UserName": "x13", "Password": "short", "RoleId": "Operator"}).wantError(http.StatusBadRequest, "PasswordIncorrectLength")
	e.post(acctsURI, M{"Id": "13", "UserName": "x13"}).wantError(http.StatusBadRequest, "CreateFailedMissingReqProperties")
	e.post(acctsURI, M{"Id": 13, "UserName": "x13", "Password": "password1", "RoleId": "Operator"}).wantError(http.StatusBadRequest, "PropertyValueTypeError")
	if _, ok := e.accounts.Get(13); ok {
		t.Error("slot 13 used by a refused create")
	}
	// PATCH still refuses Id: it is read-only.
	e.patch(accountPath(9), M{"Id": "11"}).wantError(http.StatusBadRequest, "PropertyNotWritable")
}
