package ipmi

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bmcd/bmcd/internal/auth"
)

func name16(s string) []byte {
	b := make([]byte, 16)
	copy(b, s)
	return b
}

func pw(size int, s string) []byte {
	b := make([]byte, size)
	copy(b, s)
	return b
}

func TestUserList(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, operUser, operPass, PrivOperator)
	// User 1 is the null user: disabled, no access.
	cc, d := c.mustCmd(NetFnApp, 0x44, 0x0E, 1)
	if cc != 0 || !bytes.Equal(d, []byte{16, 0x80 | 3, 1, 0x0F}) {
		t.Fatalf("user 1: %#x % x", cc, d)
	}
	for id, want := range map[byte][]byte{2: {16, 0x43, 1, 0x14}, 3: {16, 0x43, 1, 0x13}, 4: {16, 0x43, 1, 0x12}, 5: {16, 0x83, 1, 0x0F}} {
		if cc, d := c.mustCmd(NetFnApp, 0x44, 1, id); cc != 0 || !bytes.Equal(d, want) {
			t.Errorf("user %d access: %#x % x", id, cc, d)
		}
	}
	if cc, d := c.mustCmd(NetFnApp, 0x46, 3); cc != 0 || !bytes.Equal(d, name16(operUser)) {
		t.Fatalf("name: % x", d)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x46, 1); cc != 0 || !bytes.Equal(d, make([]byte, 16)) {
		t.Fatalf("null user name: % x", d)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x42, 0x0E); cc != 0 || !bytes.Equal(d, []byte{1, 4, 1, 0x81, 0xF2, 0x1B, 0, 0, 0}) {
		t.Fatalf("channel info % x", d)
	}
	if cc, d := c.mustCmd(NetFnApp, 0x41, 1, 0x80); cc != 0 || !bytes.Equal(d, []byte{0x22, 4}) {
		t.Fatalf("channel access % x", d)
	}
}

func TestUserManagement(t *testing.T) {
	e := newEnv(t, nil)
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	// Naming slot 9 while 5 is free creates the account in slot 9; slot 5
	// works too.
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{9}, name16("erin")...)...); cc != 0 {
		t.Fatalf("slot 9: %#x", cc)
	}
	if a, ok := e.accounts.Get(9); !ok || a.UserName != "erin" || a.Enabled {
		t.Fatalf("slot 9 account %+v", a)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{10}, name16("erin")...)...); cc != CCInvalidData {
		t.Fatalf("duplicate name: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{5}, name16("carol")...)...); cc != 0 {
		t.Fatalf("slot 5: %#x", cc)
	}
	a, ok := e.accounts.Get(5)
	if !ok || a.UserName != "carol" || a.Enabled || a.Role != auth.RoleReadOnly {
		t.Fatalf("account %+v", a)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x85, 0x02}, pw(20, "carol-secret-20bytes")...)...); cc != 0 {
		t.Fatalf("set password: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x05, 0x02}, pw(16, "short")...)...); cc != CCInvalidData {
		t.Fatalf("too short a password: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, 0x05, 0x01); cc != 0 {
		t.Fatalf("enable: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x43, 0x91, 5, 0x03, 0); cc != 0 {
		t.Fatalf("set access: %#x", cc)
	}
	if a, _ := e.accounts.Get(5); a.Role != auth.RoleOperator || !a.Enabled {
		t.Fatalf("account %+v", a)
	}
	// Test password: match, mismatch, wrong size.
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x85, 0x03}, pw(20, "carol-secret-20bytes")...)...); cc != 0 {
		t.Fatalf("test: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x85, 0x03}, pw(20, "nope")...)...); cc != 0x80 {
		t.Fatalf("test mismatch: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x05, 0x03}, pw(16, "carol-secret-20b")...)...); cc != 0x81 {
		t.Fatalf("test size: %#x", cc)
	}
	// The new account logs in with what IPMI gave it.
	n := e.mustLogin(3, "carol", "carol-secret-20bytes", PrivOperator)
	if cc, _ := n.mustCmd(NetFnChassis, 0x01); cc != 0 {
		t.Fatal(cc)
	}
	// Renames, invalid names, unsupported access settings.
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{5}, name16("dave")...)...); cc != 0 {
		t.Fatalf("rename: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{5}, name16(adminUser)...)...); cc != CCInvalidData {
		t.Fatalf("duplicate name: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{5}, name16("has space")...)...); cc != CCInvalidData {
		t.Fatalf("bad name: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x45, append([]byte{1}, name16("x")...)...); cc != CCInvalidData {
		t.Fatalf("null user name: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x43, 0x01, 5, 0x0F); cc != CCInvalidData {
		t.Fatalf("no access: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x43, 0x01, 5, 0x04, 0x02); cc != CCInvalidData {
		t.Fatalf("session limit: %#x", cc)
	}
	// The last administrator cannot be disabled or demoted.
	if cc, _ := c.mustCmd(NetFnApp, 0x47, 0x02, 0x00); cc != CCNotInPresentState {
		t.Fatalf("disable last admin: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x43, 0x01, 2, 0x03); cc != CCNotInPresentState {
		t.Fatalf("demote last admin: %#x", cc)
	}
}

func TestPasswordsOnlyOverEncryptedSessions(t *testing.T) {
	e := newEnv(t, nil, func(c *Config) { c.CipherSuites = []byte{17, 16} })
	c := e.mustLogin(16, adminUser, adminPass, PrivAdmin)
	if cc, _ := c.mustCmd(NetFnApp, 0x47, append([]byte{0x83, 0x02}, pw(20, "new-oper-password")...)...); cc != CCInsufficientPriv {
		t.Fatalf("password in clear: %#x", cc)
	}
	if cc, _ := c.mustCmd(NetFnApp, 0x47, 0x03, 0x01); cc != 0 {
		t.Fatalf("enable in clear: %#x", cc)
	}
}

// TestOnAccountChange: every user command that changes an account tells
// the hook once, with the session's user, the source and the account
// before and after; refused commands, tests and no-op changes tell it
// nothing.
func TestOnAccountChange(t *testing.T) {
	var (
		mu  sync.Mutex
		got []string
	)
	hook := func(c AccountChange) {
		mu.Lock()
		defer mu.Unlock()
		s := fmt.Sprintf("%s@%s %d %s", c.User, c.Src, c.After.ID, c.After.UserName)
		switch {
		case c.Created:
			s += fmt.Sprintf(" created %s enabled=%v before=%+v", c.After.Role, c.After.Enabled, c.Before)
		case c.PasswordChanged:
			s += " password"
		}
		if !c.Created && c.Before.UserName != c.After.UserName {
			s += " renamed from " + c.Before.UserName
		}
		if !c.Created && c.Before.Role != c.After.Role {
			s += fmt.Sprintf(" role %s->%s", c.Before.Role, c.After.Role)
		}
		if !c.Created && c.Before.Enabled != c.After.Enabled {
			s += fmt.Sprintf(" enabled=%v", c.After.Enabled)
		}
		got = append(got, s)
	}
	e := newEnv(t, nil, func(c *Config) { c.OnAccountChange = hook })
	c := e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	const by = adminUser + "@127.0.0.1 "
	const setName, setAccess, setPassword = 0x45, 0x43, 0x47
	for _, tc := range []struct {
		name string
		cmd  byte
		data []byte
		cc   byte
		want string // "" when the hook is not told
	}{
		{"create", setName, append([]byte{5}, name16("carol")...), 0,
			by + "5 carol created ReadOnly enabled=false before={ID:0 UserName: Role: Enabled:false Locked:false}"},
		{"same name", setName, append([]byte{5}, name16("carol")...), 0, ""},
		{"rename", setName, append([]byte{3}, name16("ipmiuser")...), 0, by + "3 ipmiuser renamed from " + operUser},
		{"duplicate name", setName, append([]byte{5}, name16(adminUser)...), CCInvalidData, ""},
		{"password", setPassword, append([]byte{0x03, 0x02}, pw(16, "new-oper-pass")...), 0, by + "3 ipmiuser password"},
		{"bad password", setPassword, append([]byte{0x03, 0x02}, pw(16, "short")...), CCInvalidData, ""},
		{"test", setPassword, append([]byte{0x03, 0x03}, pw(16, "new-oper-pass")...), 0, ""},
		{"enable enabled", setPassword, []byte{0x03, 0x01}, 0, ""},
		{"disable", setPassword, []byte{0x03, 0x00}, 0, by + "3 ipmiuser enabled=false"},
		{"enable", setPassword, []byte{0x03, 0x01}, 0, by + "3 ipmiuser enabled=true"},
		{"promote", setAccess, []byte{0x91, 3, 0x04, 0}, 0, by + "3 ipmiuser role Operator->Administrator"},
		{"same privilege", setAccess, []byte{0x91, 3, 0x04, 0}, 0, ""},
		{"demote self", setAccess, []byte{0x01, 2, 0x03}, 0, by + "2 " + adminUser + " role Administrator->Operator"},
	} {
		mu.Lock()
		before := len(got)
		mu.Unlock()
		if cc, _ := c.mustCmd(NetFnApp, tc.cmd, tc.data...); cc != tc.cc {
			t.Fatalf("%s: %#x, want %#x", tc.name, cc, tc.cc)
		}
		mu.Lock()
		told := strings.Join(got[before:], "|")
		mu.Unlock()
		if told != tc.want {
			t.Errorf("%s: hook told %q, want %q", tc.name, told, tc.want)
		}
	}
}
