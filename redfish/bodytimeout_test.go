package redfish

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// A request body that trickles in is given up at the read deadline: the
// client gets its error answer, and the connection, its memory and any
// slot the request holds are freed, instead of waiting for the body for
// ever (a stalled tool, a slowloris).
func TestSlowBodyTimesOut(t *testing.T) {
	e := newEnv(t)
	old := bodyReadTimeout
	bodyReadTimeout = 300 * time.Millisecond
	t.Cleanup(func() { bodyReadTimeout = old })
	srv := httptest.NewServer(e.svc)
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cred := base64.StdEncoding.EncodeToString([]byte(adminUser + ":" + adminPass))
	fmt.Fprintf(c, "PATCH /redfish/v1/Systems/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{", cred)
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || time.Since(start) > 3*time.Second {
		t.Errorf("stalled body: %d after %v, want 400 soon after the deadline", resp.StatusCode, time.Since(start))
	}
	if e.machines["0"].Identify().On() {
		t.Error("a truncated body changed the system")
	}
}
