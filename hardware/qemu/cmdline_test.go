package qemu

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bmcd/bmcd/hardware"
	"github.com/bmcd/bmcd/hardware/backendconfig"
	"gopkg.in/yaml.v3"
)

// argValue returns the values following each occurrence of flag.
func argValues(args []string, flag string) []string {
	var out []string
	for i, a := range args {
		if a == flag && i+1 < len(args) {
			out = append(out, args[i+1])
		}
	}
	return out
}

func TestArgs(t *testing.T) {
	base := Config{ID: "vm1", Seed: "s", Dir: "/state/qemu/vm1", Machine: "q35", MemoryMB: 512, CPUs: 2,
		Firmware: FirmwareBIOS, Networks: []string{"user", "bridge,br=br0"},
		Disks:     []Disk{{Path: "/var/lib/vm,1.qcow2", Format: "qcow2"}, {Path: "/iso/boot.iso", Format: "raw", ReadOnly: true}},
		ExtraArgs: []string{"-rtc", "base=utc"}}
	p := paths{QMP: "/s/qmp.sock", Serial: "/s/serial.sock", Debug: "/s/debug.sock", VNC: "/s/vnc.sock", Pidfile: "/d/qemu.pid", Vars: "/d/VARS.fd"}
	for _, tc := range []struct {
		name  string
		cfg   func(*Config)
		media string
		boot  map[string]int
		want  map[string][]string // flag -> values that must all be there
		not   []string            // values that must not appear
	}{
		{"SeaBIOS, disks, NICs, boot order", nil, "", map[string]int{"cd0": 1, "disk0": 2, "net1": 3},
			map[string][]string{
				"-machine": {"q35"}, "-accel": {"tcg"}, "-m": {"512"}, "-smp": {"2"}, "-uuid": {"UUID"},
				"-qmp":    {"unix:/s/qmp.sock,server=on,wait=off"},
				"-vnc":    {"unix:/s/vnc.sock"},
				"-serial": {"chardev:ser0"},
				"-chardev": {"socket,id=ser0,path=/s/serial.sock,server=on,wait=off",
					"socket,id=dbg0,path=/s/debug.sock,server=on,wait=off"},
				"-device": {"VGA", "qemu-xhci,id=xhci", "usb-tablet,bus=xhci.0", "isa-debugcon,iobase=0x402,chardev=dbg0",
					"virtio-blk-pci,id=disk0,drive=disk0-fmt,addr=0x10,bootindex=2",
					"virtio-blk-pci,id=disk1,drive=disk1-fmt,addr=0x11",
					"ide-cd,id=cd0,bus=ide.0,bootindex=1",
					"virtio-net-pci,id=net0,netdev=net0-dev,mac=52:54:00:00:00:01,addr=0x8",
					"virtio-net-pci,id=net1,netdev=net1-dev,mac=52:54:00:00:00:02,addr=0x9,bootindex=3"},
				"-blockdev": {"driver=file,node-name=disk0-file,filename=/var/lib/vm,,1.qcow2",
					"driver=qcow2,node-name=disk0-fmt,file=disk0-file",
					"driver=file,node-name=disk1-file,filename=/iso/boot.iso,read-only=on",
					"driver=raw,node-name=disk1-fmt,file=disk1-file,read-only=on"},
				"-netdev": {"user,id=net0-dev", "bridge,br=br0,id=net1-dev"},
				"-rtc":    {"base=utc"},
			}, []string{"if=pflash"}},
		{"OVMF and a CD image", func(c *Config) {
			c.Firmware, c.OVMFCode, c.Machine, c.Disks, c.Networks = FirmwareUEFI, "/usr/share/OVMF/CODE.fd", "pc", nil, nil
		}, "/d/media/CD-1.iso", map[string]int{"cd0": 1},
			map[string][]string{
				"-machine": {"pc"},
				"-drive":   {"if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/CODE.fd", "if=pflash,format=raw,unit=1,file=/d/VARS.fd"},
				"-blockdev": {"driver=file,node-name=cd0-media0-file,filename=/d/media/CD-1.iso,read-only=on",
					"driver=raw,node-name=cd0-media0,file=cd0-media0-file,read-only=on"},
				"-device": {"ide-cd,id=cd0,bus=ide.1,bootindex=1,drive=cd0-media0"},
			}, []string{"isa-debugcon,iobase=0x402,chardev=dbg0", "virtio-net-pci"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			pth := p
			pth.Media = tc.media
			args := cmdline{cfg: cfg, paths: pth, accel: "tcg", macs: []string{"52:54:00:00:00:01", "52:54:00:00:00:02"},
				boot: tc.boot, uuid: "UUID", smbio: "type=1"}.args()
			if !slices.Contains(args, "-S") || !slices.Contains(args, "-nodefaults") {
				t.Errorf("not paused or with default devices: %q", args)
			}
			for flag, vals := range tc.want {
				have := argValues(args, flag)
				for _, v := range vals {
					if !slices.Contains(have, v) {
						t.Errorf("%s %q missing; have %q", flag, v, have)
					}
				}
			}
			joined := strings.Join(args, " ")
			for _, v := range tc.not {
				if strings.Contains(joined, v) {
					t.Errorf("%q should not be there: %s", v, joined)
				}
			}
			if args[len(args)-1] != cfg.ExtraArgs[len(cfg.ExtraArgs)-1] {
				t.Errorf("extra args not last: %q", args)
			}
		})
	}
}

func TestBootMap(t *testing.T) {
	m := &Machine{cfg: Config{Machine: "q35", Networks: []string{"user"}, Disks: []Disk{{Path: "/a"}, {Path: "/b"}}}}
	m.info, m.macs = inventory(m.cfg)
	opts := m.BootOptions()
	refs := make([]string, len(opts))
	for i, o := range opts {
		refs[i] = o.Reference
	}
	if strings.Join(refs, " ") != "Boot0001 Boot0002 Boot0003 Boot0004" || opts[2].Alias != hardware.BootCd || opts[2].Slot != "CD" ||
		opts[3].Alias != hardware.BootPxe || opts[3].NIC != "NIC1" || opts[0].Disk != "Disk0" {
		t.Fatalf("options %+v", opts)
	}
	if got := m.BootTargets(); !slices.Equal(got, []hardware.BootSource{hardware.BootHdd, hardware.BootCd, hardware.BootPxe}) {
		t.Errorf("targets %v", got)
	}
	for _, tc := range []struct {
		name string
		plan *hardware.BootPlan
		want map[string]int
	}{
		{"no plan yet: the options' order", nil, map[string]int{"disk0": 1, "disk1": 2, "cd0": 3, "net0": 4}},
		{"once from the CD", &hardware.BootPlan{Source: hardware.BootCd, Option: opts[2], Once: true, Order: refs},
			map[string]int{"cd0": 1, "disk0": 2, "disk1": 3, "net0": 4}},
		{"PXE by class, a boot order without disk 1", &hardware.BootPlan{Source: hardware.BootPxe, Order: []string{"Boot0004", "Boot0001"}},
			map[string]int{"net0": 1, "disk0": 2}},
		{"nothing bootable", &hardware.BootPlan{Source: hardware.BootBiosSetup}, map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.planSet = tc.plan != nil
			if tc.plan != nil {
				m.plan = *tc.plan
			}
			got := m.bootMapLocked()
			if len(got) != len(tc.want) {
				t.Fatalf("boot map %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("boot map %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "512": 512, "64M": 64 << 20, "20G": 20 << 30, "1t": 1 << 40, " 2K ": 2048} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"x", "-1G", "0", "1.5G", "G", "99999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestSplitAddr(t *testing.T) {
	for in, want := range map[string][2]string{
		"unix:/run/qmp.sock": {"unix", "/run/qmp.sock"}, "/run/x.sock": {"unix", "/run/x.sock"},
		"tcp:127.0.0.1:4444": {"tcp", "127.0.0.1:4444"}, "127.0.0.1:5901": {"tcp", "127.0.0.1:5901"},
	} {
		if n, a := splitAddr(in); n != want[0] || a != want[1] {
			t.Errorf("splitAddr(%q) = %s %s", in, n, a)
		}
	}
}

// newFromConfig builds system vm1 from text, its `qemu:` block, as
// cmd/bmcd does.
func newFromConfig(t *testing.T, text string) (*Machine, error) {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		t.Fatal(err)
	}
	b, err := hardware.NewBackend("qemu", hardware.Setup{ID: "vm1", Seed: "seed", StateDir: t.TempDir(), Config: backendconfig.New("qemu", &n)})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { b.Close() })
	return b.(*Machine), nil
}

func TestSetup(t *testing.T) {
	m, err := newFromConfig(t, `{accel: tcg, memory_mb: 256, cpus: 2, firmware: bios, shutdown_timeout: 30s,
		disks: [{path: disk0.qcow2, size: 1G}, {path: /srv/boot.iso, format: raw, read_only: true}],
		networks: [user, "bridge,br=br0"], extra_args: [-rtc, base=utc]}`)
	if err != nil {
		t.Fatal(err)
	}
	c := m.cfg
	if c.Accel != "tcg" || c.MemoryMB != 256 || c.CPUs != 2 || c.ShutdownTimeout != 30*time.Second || c.Binary != DefaultBinary ||
		c.Machine != DefaultMachine || len(c.Networks) != 2 || len(c.ExtraArgs) != 2 {
		t.Errorf("config %+v", c)
	}
	if !strings.HasSuffix(c.Dir, filepath.Join("qemu", "vm1")) || c.Disks[0].Path != filepath.Join(c.Dir, "disk0.qcow2") ||
		c.Disks[0].Size != 1<<30 || c.Disks[0].Format != "qcow2" || c.Disks[1].Path != "/srv/boot.iso" || !c.Disks[1].ReadOnly {
		t.Errorf("dir %s, disks %+v", c.Dir, c.Disks)
	}
	info := m.Info()
	if info.Manufacturer != "QEMU" || info.UUID == "" || len(info.NICs) != 2 || info.NICs[0].MAC == info.NICs[1].MAC ||
		info.MemoryGiB != 0.25 || info.ProcessorCount != 2 || len(info.Disks) != 2 || info.Disks[0].CapacityBytes != 1<<30 {
		t.Errorf("inventory %+v", info)
	}
	if again, _ := newFromConfig(t, ""); again.Info().UUID != info.UUID {
		t.Error("the UUID is not derived from the seed and the Id alone")
	}
	if _, err := os.Stat(c.Dir); err != nil {
		t.Errorf("state directory: %v", err)
	}
}

func TestSetupErrors(t *testing.T) {
	for text, want := range map[string]string{
		"{firmware: coreboot}":              "system vm1: qemu.firmware: coreboot is not one of bios uefi",
		"{accel: hvf}":                      "system vm1: qemu.accel: hvf is not one of auto kvm tcg",
		"{disks: [{size: 1G}]}":             "system vm1: qemu.disks[0].path: required",
		"{disks: [{path: a, size: lots}]}":  `system vm1: qemu.disks[0].size: "lots" is not a size (bytes, or a number with K, M, G or T)`,
		"{memory: 1G}":                      "system vm1: qemu.memory: unknown parameter",
		"{firmware: uefi, ovmf_code: /no}":  "system vm1: qemu: OVMF (Debian package ovmf): stat /no: no such file or directory",
		"{attach: {vnc: /x}}":               "system vm1: qemu.attach.qmp: required",
		"{shutdown_timeout: -1s}":           "system vm1: qemu.shutdown_timeout: -1s is below the minimum 0",
		"{disks: [{path: a, format: vdi}]}": "system vm1: qemu.disks[0].format: vdi is not one of qcow2 raw",
	} {
		if _, err := newFromConfig(t, text); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s:\n got  %v\n want %s", text, err, want)
		}
	}
}
