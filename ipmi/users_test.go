package ipmi

import (
	"bytes"
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
