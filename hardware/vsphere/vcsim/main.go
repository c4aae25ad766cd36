// Command vcsim serves govmomi's vCenter simulator (the simulator package
// of github.com/vmware/govmomi, the version bmcd is built with) as a
// process, for bmcd's tests and benchmarks: a datacenter of VMs whose
// power, configuration (boot options, firmware, CD-ROM backing) and
// datastore files behave as vCenter's do, without a guest.
//
// govmomi's own vcsim command is a module of its own that replaces
// govmomi with its parent directory, so `go install
// github.com/vmware/govmomi/vcsim@v0.56.0` cannot build it; this is the
// same simulator, with the flags bmcd's tests use.
//
//	vcsim -l 127.0.0.1:0 -vm 500
//
// prints "vcsim https://user:pass@127.0.0.1:PORT/sdk" once it listens
// (any user name and password log in), writes the server's certificate
// to -cert if given, and serves until SIGINT or SIGTERM.
package main

import (
	"crypto/tls"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	addr := flag.String("l", "127.0.0.1:8989", "address to listen on (port 0: any free port)")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHost := flag.Int("cluster-host", 1, "hosts per cluster")
	host := flag.Int("host", 0, "standalone hosts per datacenter")
	ds := flag.Int("ds", 1, "datastores")
	vms := flag.Int("vm", 2, "VMs per cluster and per standalone host (named DC0_C0_RP0_VM0...)")
	autostart := flag.Bool("autostart", false, "power the VMs on")
	plain := flag.Bool("plain", false, "serve http instead of https")
	cert := flag.String("cert", "", "write the server's certificate (PEM) to this file")
	flag.Parse()

	m := simulator.VPX()
	m.Datacenter, m.Cluster, m.ClusterHost, m.Host, m.Datastore = *dc, *cluster, *clusterHost, *host, *ds
	m.Machine, m.Autostart = *vms, *autostart
	if err := m.Create(); err != nil {
		log.Fatalf("vcsim: %v", err)
	}
	defer m.Remove()
	m.Service.Listen = &url.URL{Host: *addr}
	if !*plain {
		m.Service.TLS = new(tls.Config)
	}
	s := m.Service.NewServer()
	defer s.Close()
	if *cert != "" && !*plain {
		block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
		if err := os.WriteFile(*cert, block, 0o644); err != nil {
			log.Fatalf("vcsim: %v", err)
		}
	}
	fmt.Printf("vcsim %s\n", s.URL)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
