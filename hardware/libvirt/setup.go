package libvirt

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/bmcd/bmcd/hardware"
)

func init() {
	hardware.Register("libvirt", setup)
	hardware.RegisterDiscovery("libvirt", setupDiscovery)
}

// Params is a system's `libvirt:` block in the configuration file: one
// domain of one daemon.
type Params struct {
	// URI is the daemon's libvirt URI; default qemu:///system.
	URI string `yaml:"uri"`
	// Domain is the domain's name or UUID.
	Domain string `yaml:"domain" validate:"required"`
	// ShutdownTimeout: see Options.ShutdownTimeout; 0 never forces.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" validate:"min=0"`
	// MediaDir: see Options.MediaDir; default STATE_DIR/libvirt/media.
	MediaDir string `yaml:"media_dir"`
}

// connectTimeout bounds the wait for the daemon when bmcd starts.
const connectTimeout = 15 * time.Second

// options are the Options of a block's shutdown_timeout and media_dir,
// with the state directory's default.
func options(shutdown time.Duration, mediaDir, stateDir string, log *slog.Logger) Options {
	o := Options{ShutdownTimeout: shutdown, MediaDir: mediaDir}
	if o.MediaDir == "" {
		o.MediaDir = filepath.Join(stateDir, "libvirt", "media")
		if err := openMediaDir(o.MediaDir, stateDir); err != nil {
			log.Warn("libvirt: virtual media directory not prepared", "media_dir", o.MediaDir, "err", err)
		}
	}
	if dir := searchable(o.MediaDir); dir != "" {
		log.Warn("libvirt: QEMU cannot reach virtual media images here (the directory is not searchable by other users: chmod o+x it, or set media_dir)",
			"media_dir", o.MediaDir, "dir", dir)
	}
	return o
}

// setup is the libvirt backend's hardware.SetupFunc: it connects to the
// daemon (waiting up to connectTimeout) and opens the domain. Errors: the
// block's, a daemon that cannot be reached, a domain it does not define.
func setup(s hardware.Setup) (hardware.Backend, error) {
	var p Params
	if err := s.Config.Decode(&p); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	return Open(ctx, p.URI, p.Domain, options(p.ShutdownTimeout, p.MediaDir, s.StateDir, s.Log), s.Log)
}

// Open is the machine of the domain named name (or whose UUID it is) of
// the daemon at uri. Errors: ErrUnavailable when the daemon cannot be
// reached before ctx ends; ErrNotFound when it defines no such domain.
func Open(ctx context.Context, uri, name string, opts Options, log *slog.Logger) (*Domain, error) {
	d, err := acquire(uri, log)
	if err != nil {
		return nil, err
	}
	if err := d.wait(ctx); err != nil {
		d.release()
		return nil, err
	}
	var dom golibvirt.Domain
	err = d.do(ctx, "look up domain "+name, func(l *golibvirt.Libvirt) error {
		var err error
		if u, ok := parseUUID(name); ok {
			dom, err = l.DomainLookupByUUID(u)
		} else {
			dom, err = l.DomainLookupByName(name)
		}
		return err
	})
	if err != nil {
		d.release()
		if isLibvirt(err, golibvirt.ErrNoDomain) {
			return nil, fmt.Errorf("libvirt %s: no domain %q: %w", d.ep.uri, name, hardware.ErrNotFound)
		}
		return nil, err
	}
	x, err := openDomain(ctx, d, dom, opts, log.With("domain", dom.Name))
	if err != nil {
		d.release()
		return nil, err
	}
	return x, nil
}

// parseUUID reads an RFC 4122 UUID in text.
func parseUUID(s string) (golibvirt.UUID, bool) {
	var u golibvirt.UUID
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 || len(s) != 36 {
		return u, false
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return u, false
	}
	copy(u[:], b)
	return u, true
}

// uuidText is u in RFC 4122 text, lower case.
func uuidText(u golibvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
