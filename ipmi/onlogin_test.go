package ipmi

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// loginLog records what Config.OnLogin is told.
type loginLog struct {
	mu  sync.Mutex
	got []string
}

func (l *loginLog) hook(user string, src netip.Addr, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := "fail " + src.String()
	if ok {
		s = "ok " + user + " " + src.String()
	}
	l.got = append(l.got, s)
}

func (l *loginLog) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		got := append([]string(nil), l.got...)
		l.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOnLogin: an RMCP+ session activation, a wrong password and an
// unknown user each tell the hook once; the user name of a failure is not
// passed on.
func TestOnLogin(t *testing.T) {
	var l loginLog
	e := newEnv(t, nil, func(c *Config) { c.OnLogin = l.hook })
	e.mustLogin(17, adminUser, adminPass, PrivAdmin)
	if _, err := e.dial().login(17, adminUser, "wrong-password", PrivAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dial().login(17, "nobody", "whatever-pw", PrivAdmin); err != nil {
		t.Fatal(err)
	}
	got := l.wait(t, 3)
	want := []string{"ok " + adminUser + " 127.0.0.1", "fail 127.0.0.1", "fail 127.0.0.1"}
	if len(got) != len(want) {
		t.Fatalf("hook told %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %q, want %q", i, got[i], want[i])
		}
	}
}

// TestOnLoginIPMI15: an IPMI v1.5 Activate Session tells the hook too.
func TestOnLoginIPMI15(t *testing.T) {
	var l loginLog
	e := newEnv(t, nil, func(c *Config) { c.OnLogin = l.hook; c.EnableIPMI15 = true })
	if cc, err := e.dial().login15(adminUser, adminPass, PrivAdmin); err != nil || cc != 0 {
		t.Fatalf("v1.5 login: %#x %v", cc, err)
	}
	if got := l.wait(t, 1); len(got) != 1 || got[0] != "ok "+adminUser+" 127.0.0.1" {
		t.Errorf("hook told %q", got)
	}
}
