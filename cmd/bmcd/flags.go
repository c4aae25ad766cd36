package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bmcd/bmcd/internal/config"
	"github.com/bmcd/bmcd/kvm/images"
	"gopkg.in/yaml.v3"
)

// options is the resolved configuration: flags over environment over the
// configuration file over defaults.
type options struct {
	configFile     string
	stateDir       string
	redfishAddr    string
	tls            bool
	ipmiAddr       string
	vncAddr        string
	simSystems     int
	libvirtURI     string
	user, password string
	sessionTimeout time.Duration
	imageMaxSize   int64
	logLevel       slog.Level
	showVersion    bool
	checkConfig    bool
	file           *config.File
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "bmcd")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/bmcd"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "bmcd")
	}
	return "bmcd-state"
}

func parseFlags(args []string, getenv func(string) string) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("bmcd", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage: bmcd [flags]

bmcd is a baseboard management controller: a Redfish service (and IPMI over
LAN) in front of simulated, virtual or real machines.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), `
Environment:
  BMCD_USER, BMCD_PASSWORD  the first administrator, as -user and -password

Without -user/-password and with no accounts yet, bmcd creates "admin" with a
random password, prints it once and keeps it in STATE_DIR/initial-password.
`)
	}
	fs.StringVar(&o.configFile, "config", "", "YAML configuration `file` (systems, listeners, users); optional")
	fs.StringVar(&o.stateDir, "state-dir", defaultStateDir(), "`directory` for persistent state: accounts, boot overrides, media, event logs, TLS certificate")
	fs.StringVar(&o.redfishAddr, "redfish-addr", ":8443", "Redfish listen `address` (port 0 picks a free port, logged at start)")
	fs.BoolVar(&o.tls, "tls", true, "serve HTTPS with the state directory's certificate (self-signed on first start); -tls=false serves plain HTTP")
	fs.StringVar(&o.ipmiAddr, "ipmi-addr", "", "IPMI-over-LAN listen `address` for system 0 (e.g. :623); system i listens on port+i, port 0 picks free ports (logged at start); a system's ipmi_addr in the configuration file overrides it")
	fs.StringVar(&o.vncAddr, "vnc-addr", "", "VNC (RFB) listen `address` for system 0 (e.g. :5900); system i listens on port+i, port 0 picks free ports (logged at start); the console's WebSocket door /kvm/{SystemId}/vnc is always served")
	fs.IntVar(&o.simSystems, "sim-systems", 1, "number of simulated systems, with Ids 0..N-1, when the configuration file lists none")
	fs.StringVar(&o.libvirtURI, "libvirt-uri", "", "serve every domain of this libvirt daemon (e.g. qemu:///system) as a system whose Id is the domain's UUID (its name is accepted too), as sushy-tools and VirtualBMC do; domains defined later appear without a restart")
	fs.StringVar(&o.user, "user", "", "first administrator's user name (or BMCD_USER)")
	fs.StringVar(&o.password, "password", "", "first administrator's password, 8 to 20 bytes (or BMCD_PASSWORD)")
	fs.DurationVar(&o.sessionTimeout, "session-timeout", 30*time.Minute, "idle timeout of Redfish sessions")
	fs.Int64Var(&o.imageMaxSize, "image-max-size", images.DefaultMaxSize, "largest image the image store (STATE_DIR/images) takes, in `bytes`")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.BoolVar(&o.checkConfig, "check-config", false, "check the -config file (its keys, and each system's backend and block) without starting, opening a device or the state directory; exit 0 when bmcd would take it, 1 with the error otherwise")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if err := o.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	if o.simSystems < 0 || o.simSystems > 10000 {
		return nil, fmt.Errorf("-sim-systems must be between 0 and 10000")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.user == "" {
		o.user = getenv("BMCD_USER")
	}
	if o.password == "" {
		o.password = getenv("BMCD_PASSWORD")
	}
	if (o.user == "") != (o.password == "") {
		return nil, fmt.Errorf("-user and -password go together")
	}
	if o.checkConfig && o.configFile == "" {
		return nil, fmt.Errorf("-check-config needs -config FILE")
	}
	o.file = &config.File{}
	if o.configFile != "" {
		f, err := config.Load(o.configFile)
		if err != nil {
			return o, err // o.checkConfig: main exits 1, a refused file
		}
		o.file = f
		if !set["state-dir"] && f.StateDir != "" {
			o.stateDir = f.StateDir
		}
		if !set["redfish-addr"] && f.Redfish.Addr != "" {
			o.redfishAddr = f.Redfish.Addr
		}
		if !set["tls"] && f.Redfish.TLS != nil {
			o.tls = *f.Redfish.TLS
		}
		if !set["ipmi-addr"] && f.IPMI.Addr != "" {
			o.ipmiAddr = f.IPMI.Addr
		}
		if !set["vnc-addr"] && f.Console.VNCAddr != "" {
			o.vncAddr = f.Console.VNCAddr
		}
		if !set["session-timeout"] && f.Redfish.SessionTimeout != 0 {
			o.sessionTimeout = time.Duration(f.Redfish.SessionTimeout)
		}
		if (len(f.Systems) > 0 || len(f.Discover) > 0) && !set["sim-systems"] {
			o.simSystems = 0
		}
	}
	if o.libvirtURI != "" {
		o.file.Discover = append(o.file.Discover, config.Discover{Backend: "libvirt", Params: &yaml.Node{
			Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "uri"},
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: o.libvirtURI},
			}}})
		if !set["sim-systems"] {
			o.simSystems = 0
		}
	}
	if o.imageMaxSize <= 0 {
		return nil, fmt.Errorf("-image-max-size must be positive")
	}
	if o.sessionTimeout < 30*time.Second || o.sessionTimeout > 24*time.Hour {
		return nil, fmt.Errorf("session timeout must be between 30s and 24h")
	}
	return o, nil
}
