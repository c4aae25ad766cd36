package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// fleetBench is a fleet tool reading every system of a bmcd with n
// systems over keep-alive HTTP with a session: one GET of
// /redfish/v1/Systems?$expand=.($levels=1) against n separate GETs, each
// measured reps times in the same run, medians compared.
func fleetBench(bin, tmp string, n, reps int) error {
	cmd, addr, err := start(bin, filepath.Join(tmp, "fleet"), n)
	if err != nil {
		return err
	}
	defer stop(cmd)
	base := "http://" + addr
	c := &fleetClient{http: &http.Client{Timeout: 60 * time.Second}, base: base}
	if err := c.login(); err != nil {
		return err
	}
	expandPath := "/redfish/v1/Systems?$expand=.($levels=1)"
	paths := make([]string, n)
	for i := range paths {
		paths[i] = "/redfish/v1/Systems/" + strconv.Itoa(i)
	}
	// Warm up both ways (the render cache, the connection).
	body, err := c.get(expandPath)
	if err != nil {
		return err
	}
	var coll struct {
		Members []struct {
			ID string `json:"@odata.id"`
			// A field only the expanded member has.
			PowerState string `json:"PowerState"`
		} `json:"Members"`
	}
	if err := json.Unmarshal(body, &coll); err != nil {
		return fmt.Errorf("expanded collection: %w", err)
	}
	if len(coll.Members) != n || coll.Members[0].PowerState == "" {
		return fmt.Errorf("expanded collection: %d members, first %+v", len(coll.Members), coll.Members[0])
	}
	separateBytes := 0
	for _, p := range paths {
		b, err := c.get(p)
		if err != nil {
			return err
		}
		separateBytes += len(b)
	}

	var tExpand, tSeparate []time.Duration
	for range reps {
		st := time.Now()
		if _, err := c.get(expandPath); err != nil {
			return err
		}
		tExpand = append(tExpand, time.Since(st))
		st = time.Now()
		for _, p := range paths {
			if _, err := c.get(p); err != nil {
				return err
			}
		}
		tSeparate = append(tSeparate, time.Since(st))
	}
	me, ms := median(tExpand), median(tSeparate)
	fmt.Printf("\nFleet read of %d systems, keep-alive HTTP, X-Auth-Token session, median of %d runs:\n\n", n, reps)
	fmt.Printf("%-44s %10s %12s\n", "request", "time", "bytes")
	fmt.Printf("%-44s %10s %12d\n", "GET "+expandPath, me.Round(100*time.Microsecond), len(body))
	fmt.Printf("%-44s %10s %12d\n", fmt.Sprintf("%d x GET /redfish/v1/Systems/{id}", n), ms.Round(100*time.Microsecond), separateBytes)
	fmt.Printf("\nseparate/expand time ratio: %.1f  ($expand answers in one request what %d GETs do)\n", float64(ms)/float64(me), n)
	return nil
}

// memoryBench reports bmcd's resident memory with n systems after
// start-up, then after every system was read once (the render cache
// fills to its bound and stops), and the size of the first page of the
// systems collection.
func memoryBench(bin, tmp string, n int) error {
	cmd, addr, err := start(bin, filepath.Join(tmp, "mem"), n)
	if err != nil {
		return err
	}
	defer stop(cmd)
	c := &fleetClient{http: &http.Client{Timeout: 60 * time.Second}, base: "http://" + addr}
	if err := c.login(); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	rssStart, _ := rss(cmd.Process.Pid)
	first, err := c.get("/redfish/v1/Systems")
	if err != nil {
		return err
	}
	var page struct {
		Members []any  `json:"Members"`
		Count   int    `json:"Members@odata.count"`
		Next    string `json:"Members@odata.nextLink"`
	}
	if err := json.Unmarshal(first, &page); err != nil {
		return err
	}
	for i := range n {
		if _, err := c.get("/redfish/v1/Systems/" + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	time.Sleep(300 * time.Millisecond)
	rssRead, _ := rss(cmd.Process.Pid)
	for i := range n {
		if _, err := c.get("/redfish/v1/Systems/" + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	rssTwice, _ := rss(cmd.Process.Pid)
	fmt.Printf("\n%d systems: GET /redfish/v1/Systems is %d bytes (%d of %d members, nextLink %s)\n",
		n, len(first), len(page.Members), page.Count, page.Next)
	fmt.Printf("bmcd resident memory: %.1f MiB after start-up, %.1f MiB after reading every system, %.1f MiB after reading them again\n",
		mib(rssStart), mib(rssRead), mib(rssTwice))
	return nil
}

type fleetClient struct {
	http  *http.Client
	base  string
	token string
}

func (c *fleetClient) login() error {
	body, _ := json.Marshal(map[string]string{"UserName": user, "Password": password})
	resp, err := c.http.Post(c.base+"/redfish/v1/SessionService/Sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	c.token = resp.Header.Get("X-Auth-Token")
	if resp.StatusCode != http.StatusCreated || c.token == "" {
		return fmt.Errorf("login: %s", resp.Status)
	}
	return nil
}

func (c *fleetClient) get(path string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("X-Auth-Token", c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return b, err
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
