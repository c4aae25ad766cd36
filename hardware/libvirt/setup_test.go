package libvirt_test

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"github.com/bmcd/bmcd/hardware/libvirt"
	"github.com/bmcd/bmcd/hardware/libvirt/libvirttest"
)

func node(t *testing.T, text string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

// fromConfig builds system rack1 from text, its `libvirt:` block, as
// cmd/bmcd does.
func fromConfig(t *testing.T, text string) (hardware.Backend, error) {
	t.Helper()
	return hardware.NewBackend("libvirt", hardware.Setup{ID: "rack1", Seed: "seed", StateDir: t.TempDir(),
		Log: quiet(t), Config: backendconfig.New("libvirt", node(t, text))})
}

// TestSetupErrors: bad blocks are refused naming the parameter, before
// any daemon is reached.
func TestSetupErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                                   "system rack1: libvirt.domain: ",
		"{domain: a, uri: 'qemu+ext:///x'}":  `system rack1: libvirt URI "qemu+ext:///x": transport "ext" is not supported`,
		"{domain: a, shutdown_timeout: x}":   `system rack1: libvirt.shutdown_timeout: time: invalid duration "x"`,
		"{domain: a, shutdown_timeout: -1s}": "system rack1: libvirt.shutdown_timeout: -1s is below the minimum 0",
		"{domain: a, domains: [x]}":          "system rack1: libvirt.domains: unknown parameter (known: uri, domain, shutdown_timeout, media_dir)",
	} {
		if _, err := fromConfig(t, text); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q:\n got  %v\n want %s...", text, err, want)
		}
	}
}

// TestSetup: a domain by name and by UUID; one the daemon does not define
// is ErrNotFound, naming it.
func TestSetup(t *testing.T) {
	libvirttest.Daemon(t)
	name, uuid := libvirttest.Define(t, libvirttest.Spec{Name: "setup"})
	for _, ref := range []string{name, uuid, strings.ToUpper(uuid)} {
		b, err := fromConfig(t, "{domain: '"+ref+"', shutdown_timeout: 30s}")
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		x := b.(*libvirt.Domain)
		if x.Name() != name || x.Info().UUID != uuid || x.Info().HostName != name {
			t.Errorf("%s: domain %s %+v", ref, x.Name(), x.Info())
		}
		_ = b.Close()
	}
	_, err := fromConfig(t, "{domain: bmcdtest-no-such-domain}")
	if !errors.Is(err, hardware.ErrNotFound) || !strings.Contains(err.Error(), `no domain "bmcdtest-no-such-domain"`) {
		t.Errorf("an unknown domain: %v", err)
	}
}

// TestSetupDiscoveryErrors: the discovery's block is checked the same way.
func TestSetupDiscoveryErrors(t *testing.T) {
	for text, want := range map[string]string{
		"{domains: ['[a-']}": `discover libvirt: libvirt: domain pattern "[a-": syntax error in pattern`,
		"{domain: x}":        "discover libvirt: libvirt.domain: unknown parameter (known: uri, domains, exclude, shutdown_timeout, media_dir)",
		"{uri: 'x'}":         `discover libvirt: libvirt URI "x": want driver[+transport]://[host]/path`,
	} {
		_, err := hardware.NewDiscovery("libvirt", hardware.DiscoverySetup{StateDir: t.TempDir(), Log: quiet(t), Config: backendconfig.New("libvirt", node(t, text))})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q:\n got  %v\n want %s...", text, err, want)
		}
	}
	g, err := hardware.NewDiscovery("libvirt", hardware.DiscoverySetup{StateDir: t.TempDir(), Log: quiet(t),
		Config: backendconfig.New("libvirt", node(t, "{uri: 'qemu:///system', domains: ['node-*'], exclude: ['node-9'], shutdown_timeout: 1m}"))})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.(*libvirt.Discovery); !ok {
		t.Errorf("discovery %T", g)
	}
}
