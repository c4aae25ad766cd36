package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ipmiclient "github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/types"
)

// ipmiBench measures in-session requests per second (Get Chassis Status)
// with go-ipmi's client, cipher suite 17, against bmcd serving n systems,
// and bmcd's resident memory after start-up and after the load.
func ipmiBench(bin, state string, n, sessions int, dur time.Duration) error {
	cmd := onCPU("0", bin, "-state-dir", state, "-redfish-addr", "127.0.0.1:0", "-tls=false",
		"-user", user, "-password", password, "-sim-systems", strconv.Itoa(n), "-ipmi-addr", "127.0.0.1:0")
	addrs, err := startIPMI(cmd, n)
	if err != nil {
		return err
	}
	defer stop(cmd)
	time.Sleep(300 * time.Millisecond)
	rssStart, _ := rss(cmd.Process.Pid)

	// Sessions spread over the systems, each used by one goroutine at a
	// time (a go-ipmi client is not safe for concurrent use).
	ctx := context.Background()
	clients := make([]*ipmiclient.Client, sessions)
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	sem := make(chan struct{}, 32)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			host, port, _ := net.SplitHostPort(addrs[i%len(addrs)])
			p, _ := strconv.Atoi(port)
			c, err := ipmiclient.NewClient(host, p, user, password)
			if err != nil {
				errs <- err
				return
			}
			c = c.WithInterface(ipmiclient.InterfaceLanplus).WithCipherSuiteID(types.CipherSuiteID17).
				WithTimeout(2 * time.Second).WithRetry(1)
			if err := c.Connect(ctx); err != nil {
				errs <- fmt.Errorf("connect %s: %w", addrs[i%len(addrs)], err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return err
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close(ctx)
		}
	}()

	const workers = 16
	var ok, failed atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				for i := w; i < len(clients); i += workers {
					if _, err := clients[i].GetChassisStatus(ctx); err != nil {
						failed.Add(1)
					} else {
						ok.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rssLoad, _ := rss(cmd.Process.Pid)
	fmt.Printf("%-10d %9d %12.0f %8d %14.1f %14.1f\n", n, sessions, float64(ok.Load())/elapsed.Seconds(),
		failed.Load(), mib(rssStart), mib(rssLoad))
	return nil
}

// startIPMI starts bmcd and collects the address of each system's IPMI
// listener from its log.
func startIPMI(cmd *exec.Cmd, n int) ([]string, error) {
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	re := regexp.MustCompile(`msg="ipmi listening" system=\S+ addr=(\S+)`)
	found := make(chan []string, 1)
	go func() {
		var addrs []string
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && len(addrs) < n {
				if addrs = append(addrs, m[1]); len(addrs) == n {
					found <- addrs
				}
			}
		}
	}()
	select {
	case a := <-found:
		return a, nil
	case <-time.After(60 * time.Second):
		stop(cmd)
		return nil, fmt.Errorf("bmcd did not start %d IPMI listeners", n)
	}
}
