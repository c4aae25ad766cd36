package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// startConfig runs bmcd on plain HTTP with the systems of a configuration
// file (text: its systems or discover section) and returns its address.
func startConfig(bin, state, text string, extra ...string) (*exec.Cmd, string, error) {
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, "", err
	}
	cfg := filepath.Join(state, "bmcd.yaml")
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		return nil, "", err
	}
	args := append([]string{"-config", cfg, "-state-dir", state, "-redfish-addr", "127.0.0.1:0", "-tls=false",
		"-user", user, "-password", password}, extra...)
	return startCmd(onCPU("0", bin, args...))
}

// post sends a Redfish action and checks it was accepted.
func post(url string, body any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// waitPower polls a system's PowerState until it is want.
func waitPower(url, want string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for time.Since(start) < limit {
		b, _, err := fetch(url)
		if err != nil {
			return 0, err
		}
		var v struct{ PowerState string }
		_ = json.Unmarshal(b, &v)
		if v.PowerState == want {
			return time.Since(start), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s: not %s after %s", url, want, limit)
}

// qemuBench is Redfish GET throughput for a running QEMU VM's System
// against the simulated machine's, in one bmcd, in the same run: the
// backend keeps the VM's state from QMP events, so a GET asks QEMU
// nothing (goal: at least 0.9 of the simulation's).
func qemuBench(bin, tmp string, dur time.Duration, conns, threads int) error {
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		fmt.Println("\nQEMU: skipped, qemu-system-x86_64 not found (make deps installs qemu-system-x86)")
		return nil
	}
	cmd, addr, err := startConfig(bin, filepath.Join(tmp, "qemu"), `
systems:
  - {id: "0", backend: sim}
  - id: vm
    backend: qemu
    qemu: {accel: tcg, memory_mb: 128, networks: []}
`)
	if err != nil {
		return err
	}
	defer stop(cmd)
	base := "http://" + addr + "/redfish/v1/Systems/"
	if err := post(base+"vm/Actions/ComputerSystem.Reset", map[string]string{"ResetType": "On"}); err != nil {
		return err
	}
	took, err := waitPower(base+"vm", "On", time.Minute)
	if err != nil {
		return err
	}
	auth := authHeader()
	fmt.Printf("\nQEMU VM beside the simulation, one bmcd (VM powered on in %s, running under TCG on the server's CPU): wrk -t%d -c%d -d%s, GET /redfish/v1/Systems/{id}\n\n",
		took.Round(time.Millisecond), threads, conns, dur)
	sim, err := wrk(base+"0", auth, dur, conns, threads)
	if err != nil {
		return err
	}
	vm, err := wrk(base+"vm", auth, dur, conns, threads)
	if err != nil {
		return err
	}
	fmt.Printf("%-28s %12s %10s %10s\n", "system", "req/s", "p50", "p99")
	fmt.Printf("%-28s %12.0f %10s %10s\n", "simulated (0)", sim.rps, sim.p50, sim.p99)
	fmt.Printf("%-28s %12.0f %10s %10s\n", "QEMU VM, running (vm)", vm.rps, vm.p50, vm.p99)
	fmt.Printf("\nVM/simulation throughput ratio: %.2f  (goal >= 0.90)\n", vm.rps/sim.rps)
	return post(base+"vm/Actions/ComputerSystem.Reset", map[string]string{"ResetType": "ForceOff"})
}
