package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/ipmi"
)

// startIPMI starts one IPMI LAN server per system: at the system's
// ipmi_addr from the configuration file, else at -ipmi-addr's port plus
// the system's index. It returns each system's port (for Redfish's
// ManagerNetworkProtocol) and a function that stops every server and waits
// for them.
func startIPMI(o *options, machines []*hardware.Machine, accounts *auth.Accounts, auditLog *audit.Log, installID string, log *slog.Logger) (map[string]int, func(), error) {
	c := o.file.IPMI
	timeout := time.Duration(c.SessionTimeout)
	if timeout != 0 && (timeout < 5*time.Second || timeout > time.Hour) {
		return nil, nil, fmt.Errorf("ipmi.session_timeout must be between 5s and 1h")
	}
	suites := make([]byte, 0, len(c.CipherSuites))
	for _, id := range c.CipherSuites {
		suites = append(suites, byte(id))
	}
	if _, err := ipmi.ParseSuites(suites); err != nil {
		return nil, nil, err
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
			return nil, nil, fmt.Errorf("-ipmi-addr %q: %w", o.ipmiAddr, err)
		}
		if base, err = strconv.Atoi(p); err != nil || base < 0 || base > 65535 {
			return nil, nil, fmt.Errorf("-ipmi-addr %q: bad port", o.ipmiAddr)
		}
		host = h
	}

	var servers []*ipmi.Server
	stop := func() {
		for _, s := range servers {
			_ = s.Close()
		}
		for _, s := range servers {
			s.Wait()
		}
	}
	// Accounts are shared by every system, so failed logins are counted
	// across all of them.
	limiter := ipmi.NewLimiter(ipmi.DefaultFailureBurst, ipmi.DefaultFailureRefill)
	ports := map[string]int{}
	for i, m := range machines {
		addr := perSystem[m.ID()]
		if addr == "" {
			if o.ipmiAddr == "" {
				continue
			}
			port := base
			if base != 0 {
				port = base + i
			}
			if port > 65535 {
				stop()
				return nil, nil, fmt.Errorf("-ipmi-addr %s: system %s would need port %d", o.ipmiAddr, m.ID(), port)
			}
			addr = net.JoinHostPort(host, strconv.Itoa(port))
		}
		srv, err := ipmi.New(ipmi.Config{
			Addr: addr, Machine: m, Accounts: accounts, InstallUUID: installID, Version: version, Log: log,
			SessionTimeout: timeout, MaxSessions: c.MaxSessions, EnableIPMI15: c.EnableIPMI15,
			CipherSuites: suites, Limiter: limiter, StrictBootPrivilege: c.StrictBootPrivilege,
			OnLogin: ipmiLoginAudit(auditLog), OnAccountChange: ipmiAccountAudit(auditLog),
		})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("system %s: %w", m.ID(), err)
		}
		servers = append(servers, srv)
		go func() { _ = srv.Serve(context.Background()) }()
		if ua, ok := srv.Addr().(*net.UDPAddr); ok {
			ports[m.ID()] = ua.Port
		}
		log.Info("ipmi listening", "system", m.ID(), "addr", srv.Addr().String())
	}
	return ports, stop, nil
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
