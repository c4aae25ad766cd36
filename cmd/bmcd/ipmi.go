package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/ipmi"
)

// ipmiServers are the IPMI LAN servers, one per system of the fleet:
// started as a system joins (at its ipmi_addr from the configuration
// file, else at -ipmi-addr's port plus its slot), closed as it leaves.
type ipmiServers struct {
	make func(m *hardware.Machine, addr string) (*ipmi.Server, error)
	addr func(mem hardware.Member) (string, error) // "": none
	log  *slog.Logger

	mu      sync.Mutex
	servers map[string]*ipmi.Server // by system Id
	ports   map[string]int
	stop    func() // the fleet watch
}

// startIPMI starts the IPMI servers of every system of the fleet, now and
// as systems join. A server that cannot start for a system present now is
// an error; for one that joins later it is logged.
func startIPMI(o *options, fleet *hardware.Fleet, accounts *auth.Accounts, auditLog *audit.Log, installID string, log *slog.Logger) (*ipmiServers, error) {
	c := o.file.IPMI
	timeout := time.Duration(c.SessionTimeout)
	if timeout != 0 && (timeout < 5*time.Second || timeout > time.Hour) {
		return nil, fmt.Errorf("ipmi.session_timeout must be between 5s and 1h")
	}
	suites := make([]byte, 0, len(c.CipherSuites))
	for _, id := range c.CipherSuites {
		suites = append(suites, byte(id))
	}
	if _, err := ipmi.ParseSuites(suites); err != nil {
		return nil, err
	}
	perSystem := map[string]string{}
	for _, s := range o.file.Systems {
		if s.IPMIAddr != "" {
			perSystem[s.ID] = s.IPMIAddr
		}
	}
	var host string
	var base int
	if o.ipmiAddr != "" {
		h, p, err := net.SplitHostPort(o.ipmiAddr)
		if err != nil {
			return nil, fmt.Errorf("-ipmi-addr %q: %w", o.ipmiAddr, err)
		}
		if base, err = strconv.Atoi(p); err != nil || base < 0 || base > 65535 {
			return nil, fmt.Errorf("-ipmi-addr %q: bad port", o.ipmiAddr)
		}
		host = h
	}
	// Accounts are shared by every system, so failed logins are counted
	// across all of them.
	limiter := ipmi.NewLimiter(ipmi.DefaultFailureBurst, ipmi.DefaultFailureRefill)
	s := &ipmiServers{log: log, servers: map[string]*ipmi.Server{}, ports: map[string]int{}}
	s.addr = func(mem hardware.Member) (string, error) {
		if a := perSystem[mem.Machine.ID()]; a != "" && mem.Source == "" {
			return a, nil
		}
		if o.ipmiAddr == "" {
			return "", nil
		}
		port := base
		if base != 0 {
			port = base + mem.Slot
		}
		if port > 65535 {
			return "", fmt.Errorf("-ipmi-addr %s: system %s would need port %d", o.ipmiAddr, mem.Machine.ID(), port)
		}
		return net.JoinHostPort(host, strconv.Itoa(port)), nil
	}
	s.make = func(m *hardware.Machine, addr string) (*ipmi.Server, error) {
		return ipmi.New(ipmi.Config{
			Addr: addr, Machine: m, Accounts: accounts, InstallUUID: installID, Version: version, Log: log,
			SessionTimeout: timeout, MaxSessions: c.MaxSessions, EnableIPMI15: c.EnableIPMI15,
			CipherSuites: suites, Limiter: limiter, StrictBootPrivilege: c.StrictBootPrivilege,
			OnLogin: ipmiLoginAudit(auditLog), OnAccountChange: ipmiAccountAudit(auditLog),
		})
	}
	var startErr error
	starting := true
	s.stop = fleet.Watch(func(ch hardware.FleetChange) {
		if !ch.Added {
			s.remove(ch.Member.Machine.ID())
			return
		}
		if err := s.add(ch.Member); err != nil {
			s.mu.Lock()
			if starting && startErr == nil {
				startErr = err
			}
			s.mu.Unlock()
			log.Error("ipmi not started", "system", ch.Member.Machine.ID(), "err", err)
		}
	})
	s.mu.Lock()
	starting = false
	err := startErr
	s.mu.Unlock()
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *ipmiServers) add(mem hardware.Member) error {
	addr, err := s.addr(mem)
	if err != nil || addr == "" {
		return err
	}
	m := mem.Machine
	srv, err := s.make(m, addr)
	if err != nil {
		return fmt.Errorf("system %s: %w", m.ID(), err)
	}
	s.mu.Lock()
	s.servers[m.ID()] = srv
	if ua, ok := srv.Addr().(*net.UDPAddr); ok {
		s.ports[m.ID()] = ua.Port
	}
	s.mu.Unlock()
	go func() { _ = srv.Serve(context.Background()) }()
	// system=ID addr=... stay side by side (documented, and read by
	// scripts); a found system's name follows.
	if len(mem.Aliases) > 0 {
		s.log.Info("ipmi listening", "system", m.ID(), "addr", srv.Addr().String(), "name", mem.Aliases[0])
	} else {
		s.log.Info("ipmi listening", "system", m.ID(), "addr", srv.Addr().String())
	}
	return nil
}

func (s *ipmiServers) remove(id string) {
	s.mu.Lock()
	srv := s.servers[id]
	delete(s.servers, id)
	delete(s.ports, id)
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()

	}
}

// Port is system id's IPMI port (Redfish's ManagerNetworkProtocol); ok is
// false when IPMI does not serve it.
func (s *ipmiServers) Port(id string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.ports[id]
	return p, ok
}

// Close stops every server and waits for them.
func (s *ipmiServers) Close() {
	s.stop()
	s.mu.Lock()
	servers := s.servers
	s.servers, s.ports = map[string]*ipmi.Server{}, map[string]int{}
	s.mu.Unlock()
	for _, srv := range servers {
		_ = srv.Close()
	}
	for _, srv := range servers {
		srv.Wait()
	}
}

// ipmiLoginAudit records IPMI logins in the BMC's audit log, as Redfish
// records its own: a session activation names the user, a failure only
// where it came from.
func ipmiLoginAudit(l *audit.Log) func(user string, src netip.Addr, ok bool) {
	return func(user string, src netip.Addr, ok bool) {
		a := audit.Actor{Origin: ipmiOrigin(src)}
		if ok {
			a.User = user
			l.Record(audit.SuccessfulLogin(user, src.String(), audit.IPMI), a)
			return
		}
		l.Record(audit.InvalidCredentials(src.String(), audit.IPMI), a)
	}
}

// ipmiAccountAudit records account changes made over IPMI in the audit
// log with the messages Redfish records for the same changes, the
// session's user and source as the actor.
func ipmiAccountAudit(l *audit.Log) func(ipmi.AccountChange) {
	return func(c ipmi.AccountChange) {
		a := audit.Actor{User: c.User, Origin: ipmiOrigin(c.Src)}
		if c.Created {
			l.Record(audit.AccountCreated(c.After.UserName), a)
			return
		}
		for _, m := range audit.AccountChanges(c.Before, c.After, c.PasswordChanged) {
			l.Record(m, a)
		}
	}
}

// ipmiOrigin is "ipmi://192.0.2.7" (bracketed for IPv6), the
// OriginAddress of an IPMI client.
func ipmiOrigin(src netip.Addr) string {
	if src.Is6() {
		return "ipmi://[" + src.String() + "]"
	}
	return "ipmi://" + src.String()
}
