package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"github.com/bmcd/bmcd/internal/audit"
	"github.com/bmcd/bmcd/internal/auth"
	"github.com/bmcd/bmcd/internal/certs"
	"github.com/bmcd/bmcd/internal/config"
	"github.com/bmcd/bmcd/internal/store"
	"github.com/bmcd/bmcd/kvm"
	"github.com/bmcd/bmcd/kvm/rfb"
	"github.com/bmcd/bmcd/redfish"
)

// shutdownGrace bounds a clean stop, well inside the 2 s users expect.
const shutdownGrace = 1500 * time.Millisecond

func run(ctx context.Context, o *options, log *slog.Logger) error {
	if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	db, err := store.Open(filepath.Join(o.stateDir, "state.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	installID, err := installUUID(db)
	if err != nil {
		return err
	}
	key, err := secretKey(o.stateDir)
	if err != nil {
		return err
	}
	accounts, err := auth.Open(db, key)
	if err != nil {
		return err
	}
	if err := bootstrapAccounts(accounts, o, log); err != nil {
		return err
	}
	auditLog, err := audit.Open(db, log)
	if err != nil {
		return err
	}
	machines, err := buildMachines(o, installID, db, log)
	if err != nil {
		return err
	}
	fleet := hardware.FleetOf(machines...)
	defer func() {
		for _, m := range machines {
			_ = m.Close()
		}
	}()
	// Systems found at run time (-libvirt-uri, the discover list) join
	// after the configured ones; they are listed before bmcd serves, so
	// their slots (and ports) follow the same order from one start to the
	// next.
	stopDiscovery, err := startDiscovery(ctx, o, fleet, installID, db, log)
	if err != nil {
		return err
	}
	defer stopDiscovery()
	ipmiServers, err := startIPMI(o, fleet, accounts, auditLog, installID, log)
	if err != nil {
		return err
	}
	defer ipmiServers.Close()

	imgs, err := openImages(o.stateDir, o.imageMaxSize, fleet, log)
	if err != nil {
		return err
	}
	// One session table and login limiter for every HTTP front door: a
	// Redfish session token opens the image store (and the console) too.
	sessions := auth.NewSessions(accounts, o.sessionTimeout)
	defer sessions.Close()
	logins := auth.NewLimiter[auth.LoginKey](auth.DefaultFailureBurst, auth.DefaultFailureRefill)

	// The service certificate: HTTPS, and VNC's VeNCrypt (with or
	// without HTTPS: a VNC client checks it on its own).
	cert, err := certs.LoadOrCreate(o.stateDir)
	if err != nil {
		return err
	}
	certConfig := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var tlsConfig *tls.Config
	if o.tls {
		tlsConfig = certConfig
	}
	gate := frontDoor(accounts, sessions, logins, log)
	console, err := kvm.New(consoleConfig(o, fleet, gate, certConfig, auditLog, log))
	if err != nil {
		return err
	}
	defer console.Close()
	ln, err := net.Listen("tcp", o.redfishAddr)
	if err != nil {
		return fmt.Errorf("redfish listen: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	svc := redfish.New(redfish.Config{
		Fleet: fleet, Accounts: accounts, UUID: installID, Version: version,
		SessionTimeout: o.sessionTimeout, Log: log, HTTPPort: port, TLS: o.tls,
		IPMIPort: ipmiServers.Port, Audit: auditLog, Store: db,
		Sessions: sessions, Logins: logins, StoredImages: storedImages(imgs),
		VNCPort: console.VNCPort, GraphicalSessions: rfb.DefaultMaxClients,
	})
	defer svc.Close()
	// Now that the protocols listen for events: a host whose power changed
	// while bmcd was down is logged and published as such (a restart of
	// bmcd itself changes no host's power).
	for _, m := range fleet.Machines() {
		if err := m.CheckPower(ctx); err != nil {
			log.Warn("power state at start", "system", m.ID(), "err", err)
		}
	}
	pages, err := consolePages(console, fleet, gate, svc, auditLog)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           withConsole(withImages(svc, imgs, gate), console, pages),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	srv.RegisterOnShutdown(svc.CloseStreams) // event streams would hold Shutdown for its whole grace
	srv.RegisterOnShutdown(console.CloseStreams)
	scheme := "http"
	if tlsConfig != nil {
		srv.TLSConfig = tlsConfig
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("redfish listening", "addr", ln.Addr().String(), "url", fmt.Sprintf("%s://%s/redfish/v1", scheme, ln.Addr()),
		"systems", fleet.Len(), "state_dir", o.stateDir, "version", version)

	select {
	case err := <-errc:
		return fmt.Errorf("redfish server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	return nil
}

// installUUID is this installation's identity: the service UUID, and the
// seed from which simulated machines derive theirs.
func installUUID(db *store.DB) (string, error) {
	var id string
	ok, err := db.Get("meta", "uuid", &id)
	if err != nil || ok {
		return id, err
	}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	id = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	return id, db.Put("meta", "uuid", id)
}

// secretKey is the key that seals stored passwords (IPMI needs them in
// clear, so they cannot be hashed).
func secretKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "secret.key")
	raw, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(string(raw))
		if err != nil || len(key) != 32 {
			return nil, fmt.Errorf("%s is corrupt", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := writeFileSync(path, []byte(hex.EncodeToString(key)), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

func writeFileSync(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bootstrapAccounts makes sure someone can log in: the -user/-password
// administrator (created, or its password reset), the configuration
// file's users, or else a generated admin password shown once.
func bootstrapAccounts(a *auth.Accounts, o *options, log *slog.Logger) error {
	if o.user != "" {
		if acct, ok := a.ByName(o.user); ok {
			role, on := auth.RoleAdministrator, true
			if _, err := a.Update(acct.ID, auth.Update{Password: &o.password, Role: &role, Enabled: &on}); err != nil {
				return fmt.Errorf("-user %s: %w", o.user, err)
			}
		} else if _, err := a.Create(o.user, o.password, auth.RoleAdministrator, true); err != nil {
			return fmt.Errorf("-user %s: %w", o.user, err)
		}
	}
	for _, u := range o.file.Users {
		if _, ok := a.ByName(u.Name); ok {
			continue
		}
		role := auth.Role(u.Role)
		if role == "" {
			role = auth.RoleAdministrator
		}
		if _, err := a.Create(u.Name, u.Password, role, true); err != nil {
			return fmt.Errorf("config user %s: %w", u.Name, err)
		}
	}
	if a.Count() > 0 {
		return nil
	}
	pw := make([]byte, 9)
	if _, err := rand.Read(pw); err != nil {
		return err
	}
	password := hex.EncodeToString(pw) // 18 characters, within IPMI's 20
	if _, err := a.Create("admin", password, auth.RoleAdministrator, true); err != nil {
		return err
	}
	path := filepath.Join(o.stateDir, "initial-password")
	if err := writeFileSync(path, []byte("admin:"+password+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\n  bmcd created the administrator account\n    user:     admin\n    password: %s\n  (also in %s; it is not shown again)\n\n", password, path)
	log.Info("created administrator account", "user", "admin", "password_file", path)
	return nil
}

// The state database writes an event and trims the log in one fsync.
var _ hardware.BatchStore = (*store.DB)(nil)

// buildMachines builds every system of the configuration file, then the
// -sim-systems ones (backend sim, an empty block), each with the backend
// registered under its name (backends.go imports them). Errors name the
// system: an Id used twice, an unknown backend, or the backend's own
// complaint about its block (hardware.NewBackend).
func buildMachines(o *options, seed string, db *store.DB, log *slog.Logger) (machines []*hardware.Machine, err error) {
	systems := o.file.Systems
	for i := 0; i < o.simSystems; i++ {
		systems = append(systems, config.System{ID: strconv.Itoa(i), Backend: "sim"})
	}
	defer func() {
		if err != nil {
			for _, m := range machines {
				_ = m.Close()
			}
			machines = nil
		}
	}()
	seen := map[string]bool{}
	for _, s := range systems {
		if seen[s.ID] {
			return machines, fmt.Errorf("system id %q is used twice (config file and -sim-systems?)", s.ID)
		}
		seen[s.ID] = true
		b, err := hardware.NewBackend(s.Backend, hardware.Setup{
			ID: s.ID, Seed: seed, StateDir: o.stateDir, Log: log.With("system", s.ID),
			Config: backendconfig.New(s.Backend, s.Params),
		})
		if err != nil {
			return machines, err
		}
		m, err := hardware.NewMachine(s.ID, b, db, log)
		if err != nil {
			_ = b.Close()
			return machines, err
		}
		machines = append(machines, m)
	}
	return machines, nil
}
