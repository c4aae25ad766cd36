package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendtest"
)

// testFleet is the "testfleet" discovery of this test binary: it finds
// the machines the test hands it through ops.
var testFleet = struct {
	ops chan func(hardware.DiscoveryHost)
}{ops: make(chan func(hardware.DiscoveryHost))}

type testDiscovery struct{}

func (testDiscovery) Run(ctx context.Context, h hardware.DiscoveryHost) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case op := <-testFleet.ops:
			op(h)
		}
	}
}

func init() {
	hardware.RegisterDiscovery("testfleet", func(hardware.DiscoverySetup) (hardware.Discovery, error) {
		return testDiscovery{}, nil
	})
}

// logAddrs records the addresses bmcd logs as it starts listening.
type logAddrs struct {
	mu    sync.Mutex
	addrs map[string]string // "redfish", "ipmi <system>"
}

func (l *logAddrs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logAddrs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logAddrs) WithGroup(string) slog.Handler            { return l }
func (l *logAddrs) Handle(_ context.Context, r slog.Record) error {
	var addr, system string
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "addr":
			addr = a.Value.String()
		case "system":
			system = a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.Message {
	case "redfish listening":
		l.addrs["redfish"] = addr
	case "ipmi listening":
		l.addrs["ipmi "+system] = addr
	}
	return nil
}

func (l *logAddrs) get(k string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addrs[k]
}

// TestDiscoveredSystems: machines a discovery finds are served by Redfish
// (by Id and by alias) and IPMI from the start, and those found or lost
// while bmcd runs come and go without a restart.
func TestDiscoveredSystems(t *testing.T) {
	o := configure(t, `
systems:
  - {id: cfg, backend: testonly, testonly: {model: Tiny T1}}
discover:
  - backend: testfleet
`, "-user", "admin", "-password", "Passw0rd!", "-tls=false", "-ipmi-addr", "127.0.0.1:0")
	logs := &logAddrs{addrs: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, o, slog.New(logs)) }()
	defer func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Error(err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not end")
		}
	}()
	found := func(ids ...string) {
		testFleet.ops <- func(h hardware.DiscoveryHost) {
			for _, id := range ids {
				if err := h.Found(hardware.Found{ID: id, Aliases: []string{"name-" + id}, Backend: &backendtest.Switch{}}); err != nil {
					t.Error(err)
				}
			}
		}
	}
	found("vm-b", "vm-a")
	testFleet.ops <- func(h hardware.DiscoveryHost) { h.Listed() }
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("bmcd did not start")
		}
		if a := logs.get("redfish"); a != "" {
			base = "http://" + a
		}
	}
	get := func(path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("admin", "Passw0rd!")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	members := func() []string {
		_, v := get("/redfish/v1/Systems")
		var out []string
		for _, m := range v["Members"].([]any) {
			out = append(out, strings.TrimPrefix(m.(map[string]any)["@odata.id"].(string), "/redfish/v1/Systems/"))
		}
		return out
	}
	if got := members(); !slices.Equal(got, []string{"cfg", "vm-b", "vm-a"}) {
		t.Errorf("systems at start = %v", got)
	}
	if code, v := get("/redfish/v1/Systems/name-vm-a"); code != 200 || v["Id"] != "vm-a" {
		t.Errorf("by alias: %d %v", code, v["Id"])
	}
	ipmiPort := func(id string) any {
		_, v := get("/redfish/v1/Managers/" + id + "/NetworkProtocol")
		ipmi, _ := v["IPMI"].(map[string]any)
		return ipmi["Port"]
	}
	for _, id := range []string{"cfg", "vm-a", "vm-b"} {
		a := logs.get("ipmi " + id)
		if a == "" || fmt.Sprint(ipmiPort(id)) != a[strings.LastIndex(a, ":")+1:] {
			t.Errorf("%s: ipmi logged at %q, NetworkProtocol says %v", id, a, ipmiPort(id))
		}
	}

	// While bmcd runs: vm-a goes, vm-c comes (into vm-a's slot).
	testFleet.ops <- func(h hardware.DiscoveryHost) { h.Lost("vm-a") }
	found("vm-c")
	testFleet.ops <- func(hardware.DiscoveryHost) {} // the discovery is done with vm-c
	if got := members(); !slices.Equal(got, []string{"cfg", "vm-b", "vm-c"}) {
		t.Errorf("systems after changes = %v", got)
	}
	if code, _ := get("/redfish/v1/Systems/vm-a"); code != 404 {
		t.Errorf("lost system: %d", code)
	}
	if code, _ := get("/redfish/v1/Systems/name-vm-c"); code != 200 {
		t.Errorf("new system by alias: %d", code)
	}
	if p := ipmiPort("vm-c"); p == nil {
		t.Error("new system has no IPMI port")
	}
}

// TestDiscoveryStartError: a discovery that cannot start stops bmcd with
// its name.
func TestDiscoveryStartError(t *testing.T) {
	o := configure(t, "discover: [{backend: nosuch}]\n", "-user", "admin", "-password", "Passw0rd!")
	err := run(context.Background(), o, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "discover nosuch: unknown discovery") {
		t.Errorf("err = %v", err)
	}
}
